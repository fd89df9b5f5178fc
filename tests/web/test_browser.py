"""The main flows in a real browser (Debian's headless Chromium) against the app served over
HTTP, with a real Celery worker, Redis, LibreOffice and the development PKI: sign in, open a
case, prepare a document from its form, sign it and download the signed PDF, record that it was
sent, have the convict sign on the pad, and verify a tampered PDF as an archivist.

Screenshots of every step are kept under ``test-artifacts/web/<test>/``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from api.app import create_app
from tests.support.documents import running_worker
from tests.support.factories import World, personal_code
from tests.web.browser import CHROMIUM, TABLET, Screens, new_page, serving
from tests.web.conftest import PASSWORD, make_person
from tiltas.access import Role
from tiltas.settings import Settings

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Debian's Chromium; Playwright downloads no browser of its own.
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield launched
    launched.close()


@pytest.fixture
def settings(document_settings: Settings) -> Settings:
    return document_settings


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def world(app: FastAPI) -> World:
    return World.build(TestClient(app))


@pytest.fixture
def base_url(app: FastAPI, settings: Settings) -> Iterator[str]:
    with running_worker(settings), serving(app) as url:
        yield url


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name)


def _sign_in_with_keyboard(page: Page, email: str) -> None:
    """Signing in without a mouse: Tab to the fields, type, Enter."""
    page.goto("/web/bylos")
    expect(page).to_have_url(re.compile(r"/web/prisijungti\?next="))
    page.keyboard.press("Tab")  # the skip link comes first
    page.keyboard.press("Tab")  # the brand link
    page.keyboard.press("Tab")
    expect(page.locator("#email")).to_be_focused()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/web/prisijungti" not in url)


def _sign_in(page: Page, email: str) -> None:
    page.goto("/web/prisijungti")
    page.get_by_label("El. paštas").fill(email)
    page.get_by_label("Slaptažodis").fill(PASSWORD)
    page.get_by_role("button", name="Prisijungti").click()
    page.wait_for_url(lambda url: "/web/prisijungti" not in url)


DOCUMENT_PAGE = re.compile(r"/web/dokumentai/[0-9a-f-]{36}(\?po=[0-9]+)?$")


def _click_and_wait_for_worker(page: Page, button: Locator) -> None:
    """Click, land on the document page, and wait while it asks for the worker's result (it
    reloads itself once the result is there)."""
    with page.expect_navigation(url=DOCUMENT_PAGE):
        button.click()
    expect(page.locator("[data-poll]")).to_have_count(0, timeout=120_000)


def _tampered(signed: bytes) -> bytes:
    """A forger's incremental update that rewrites the first page after the signature."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 16 Tf 72 760 Td (Suklastota) Tj ET")
    )
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_clerk_opens_a_case_signs_a_notice_and_an_archivist_finds_the_forgery(
    world: World, base_url: str, browser: Browser, screens: Screens, tmp_path: Path
) -> None:
    director = make_person(world.client, world.institution.code, Role.director, "d@ex.lt")
    make_person(world.client, world.orgs["archive"].code, Role.archivist, "a@ex.lt")
    page = new_page(browser, base_url)

    _sign_in_with_keyboard(page, director.email)
    expect(page.get_by_role("heading", name="Bylos")).to_be_visible()
    screens.shot(page, "bylos-tuscias")

    # A new case: the first try has a wrong personal code, shown next to its field.
    page.get_by_role("link", name="Nauja byla").click()
    page.locator("#f-kind").select_option("conditional_release")
    page.locator("#f-subject-first_name").fill("Jonas")
    page.locator("#f-subject-last_name").fill("Žemaitis")
    page.get_by_label("Asmens kodas", exact=True).fill("38502141230")
    release = dt.date.today() + dt.timedelta(days=170)  # notice A (6 months before) is late
    page.get_by_label("Galimo lygtinio paleidimo data").fill(release.isoformat())
    page.locator("#f-subject-intended_residence-address").fill("Žalgirio g. 5-12, Vilnius")
    page.locator("#f-subject-intended_residence-municipality").select_option("vilniaus-m")
    page.get_by_label("Vilniaus miesto savivaldybės administracija (Savivaldybė)").check()
    page.get_by_role("button", name="Sukurti bylą").click()
    error = page.locator("#f-subject-personal_code-error1")
    expect(error).to_contain_text("Neteisingas asmens kodas")
    expect(page.locator("#f-subject-personal_code")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Patikrinkite laukus")
    screens.shot(page, "byla-klaida-prie-lauko")

    page.get_by_label("Asmens kodas", exact=True).fill(personal_code(3, "850214", "123"))
    page.get_by_role("button", name="Sukurti bylą").click()
    expect(page.get_by_role("heading", name="Jonas Žemaitis")).to_be_visible()
    late = page.locator("tr.attention-overdue", has_text="Pranešimas savivaldybei (A)")
    expect(late).to_contain_text("Praleistas terminas")
    expect(late).to_contain_text("likus ne mažiau kaip 6 mėnesiams")
    screens.shot(page, "byla")

    # Notice A from its form; a required contact left empty is reported at its field.
    page.get_by_label("Naujas dokumentas").select_option("A")
    page.get_by_role("button", name="Rengti").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("A. Pranešimas savivaldybės")
    page.locator("#f-data-needs-0-area").select_option("housing")
    page.locator("#f-data-needs-0-description").fill("Neturi gyvenamosios vietos; skolos ≥ 1000 €")
    page.locator("#f-envelope-signers-0-full_name").fill("Petras Kazlauskas")
    page.locator("#f-envelope-signers-0-position").fill("direktorius")
    page.get_by_role("button", name="Parengti dokumentą").click()
    expect(page.locator("#f-data-institution_social_worker-full_name-error1")).to_have_text(
        "Klaida: Privalomas laukas."
    )
    screens.shot(page, "dokumentas-klaida")
    page.locator("#f-data-institution_social_worker-full_name").fill("Rūta Kazlauskienė")
    page.locator("#f-data-institution_social_worker-email").fill("ruta.k@example.lt")
    _click_and_wait_for_worker(page, page.get_by_role("button", name="Parengti dokumentą"))
    expect(page.locator(".doc-status")).to_have_text("Parengtas, nepasirašytas")
    screens.shot(page, "dokumentas-parengtas")

    _click_and_wait_for_worker(
        page, page.get_by_role("button", name="Pasirašyti kaip Petras Kazlauskas")
    )
    expect(page.locator(".doc-status")).to_have_text("Pasirašytas")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Atsisiųsti PDF").click()
    signed = Path(download_info.value.path()).read_bytes()
    assert signed.startswith(b"%PDF-1.7") and b"/ETSI.CAdES.detached" in signed
    screens.shot(page, "dokumentas-pasirasytas")

    # Sent today: the late deadline is now met, late.
    page.get_by_label("Kas įvyko").select_option("sent")
    page.get_by_label("Kaip").select_option("e_delivery")
    page.get_by_role("button", name="Įrašyti").click()
    expect(page.locator("ol.timeline")).to_contain_text("Išsiųstas")
    screens.shot(page, "dokumentas-issiustas")
    page.get_by_role("link", name="Byla", exact=True).click()
    expect(page.locator("tr", has_text="Pranešimas savivaldybei (A)")).to_contain_text(
        "Įvykdyta pavėluotai"
    )
    page.get_by_role("link", name="Bylos").first.click()
    page.get_by_label("Vardas, pavardė ar asmens kodas").fill("žemaitis")
    page.get_by_role("button", name="Ieškoti").click()
    expect(page.locator("table.cases tbody tr")).to_have_count(1)
    screens.shot(page, "bylos-paieska")

    # An archivist drops the PDF and a forged copy of it.
    page.get_by_role("button", name="Atsijungti").click()
    _sign_in(page, "a@ex.lt")
    expect(page.get_by_role("heading", name="Elektroninio dokumento patikra")).to_be_visible()
    original = tmp_path / "A-pasirasytas.pdf"
    original.write_bytes(signed)
    page.get_by_label("Pasirinkite arba nutempkite").set_input_files(str(original))
    page.get_by_role("button", name="Tikrinti").click()
    expect(page.locator(".verdict")).to_have_attribute("data-verdict", "žalia")
    expect(page.locator(".verdict")).to_contain_text("Parašas galioja")
    screens.shot(page, "patikra-zalia")

    forged = tmp_path / "A-suklastotas.pdf"
    forged.write_bytes(_tampered(signed))
    page.get_by_role("link", name="Tikrinti kitą failą").click()
    page.get_by_label("Pasirinkite arba nutempkite").set_input_files(str(forged))
    page.get_by_role("button", name="Tikrinti").click()
    expect(page.locator(".verdict")).to_have_attribute("data-verdict", "raudona")
    expect(page.locator("ul.reasons")).to_contain_text("pakeistas po pasirašymo")
    screens.shot(page, "patikra-raudona")
    with page.expect_download() as json_download:
        page.get_by_role("link", name="Atsisiųsti ataskaitą (JSON)").click()
    report = json.loads(Path(json_download.value.path()).read_text("utf-8"))
    assert report["indication"] == "TOTAL-FAILED"
    assert json_download.value.suggested_filename == "A-suklastotas.pdf.verification.json"
    with page.expect_download() as xml_download:
        page.get_by_role("link", name="Atsisiųsti ataskaitą (ETSI XML)").click()
    xml = Path(xml_download.value.path()).read_bytes()
    assert b"ValidationReport" in xml and b"total-failed" in xml


def test_convict_signs_on_the_pad_before_the_officer_at_tablet_width(
    world: World, base_url: str, browser: Browser, screens: Screens
) -> None:
    officer = make_person(
        world.client, world.orgs["probation"].code, Role.probation_officer, "p@ex.lt"
    )
    case = world.client.post(
        "/v1/cases",
        json={
            "kind": "conditional_release",
            "subject": {
                "first_name": "Ąžuolas",
                "last_name": "Čiūrlionis",
                "personal_code": personal_code(3, "900101", "222"),
                "institution_code": world.institution.code,
                "possible_release_date": (dt.date.today() + dt.timedelta(days=20)).isoformat(),
            },
            "participants": [world.orgs["probation"].code],
        },
        headers=world.institution.auth(Role.director),
    ).json()
    page = new_page(browser, base_url, TABLET)
    _sign_in(page, officer.email)
    page.get_by_role("link", name="Ąžuolas Čiūrlionis").click()
    screens.shot(page, "byla-plansete")

    page.get_by_label("Naujas dokumentas").select_option("E")
    page.get_by_role("button", name="Rengti").click()
    release = dt.date.today() + dt.timedelta(days=20)
    page.locator("#f-data-conditions").fill("Neišvykti iš gyvenamosios vietos be leidimo")
    page.locator("#f-data-release_date").fill(release.isoformat())
    page.locator("#f-data-reporting_office-name").fill("Vilniaus regiono skyrius")
    page.locator("#f-data-reporting_office-address").fill("Vilniaus g. 1, Vilnius")
    page.locator("#f-data-reporting_deadline").fill((release + dt.timedelta(days=5)).isoformat())
    # The convict's row is filled from the case; the officer's name is typed.
    expect(page.locator("#f-envelope-signers-0-full_name")).to_have_value("Ąžuolas Čiūrlionis")
    page.locator("#f-envelope-signers-1-full_name").fill("Ona Petraitienė")
    screens.shot(page, "e-forma")
    _click_and_wait_for_worker(page, page.get_by_role("button", name="Parengti dokumentą"))

    # Saving an empty pad is refused; a mouse stroke and a pen stroke then sign it.
    page.get_by_role("button", name="Išsaugoti nuteistojo parašą").click()
    expect(page.locator(".pad-message")).to_have_text(
        "Laukelis tuščias: nuteistasis dar nepasirašė."
    )
    pad = page.locator("canvas.pad")
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + 120)
    page.mouse.down()
    for step in range(1, 30):
        page.mouse.move(box["x"] + 30 + step * 9, box["y"] + 120 - 50 * ((step % 6) / 6))
    page.mouse.up()
    for kind, x in (("pointerdown", 320), ("pointermove", 380), ("pointermove", 430)):
        pad.dispatch_event(
            kind,
            {
                "pointerType": "pen",
                "pressure": 0.9,
                "clientX": box["x"] + x,
                "clientY": box["y"] + 60 + (x - 320) / 3,
                "pointerId": 7,
                "bubbles": True,
            },
        )
    pad.dispatch_event("pointerup", {"pointerType": "pen", "pointerId": 7, "bubbles": True})
    # The pen's stroke (right of the mouse's) is on the canvas.
    inked = pad.evaluate(
        """canvas => {
            const scale = canvas.width / canvas.getBoundingClientRect().width;
            const pixels = canvas.getContext("2d").getImageData(
                320 * scale, 50 * scale, 120 * scale, 60 * scale).data;
            let dark = 0;
            for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 128) dark += 1;
            return dark;
        }"""
    )
    assert inked > 50, inked
    screens.shot(page, "plansete-pasirasyta")
    pad_size = tuple(pad.evaluate("canvas => [canvas.width, canvas.height]"))
    _click_and_wait_for_worker(page, page.get_by_role("button", name="Išsaugoti nuteistojo parašą"))
    expect(page.locator("ol.signers")).to_contain_text("pasirašė planšetėje")
    screens.shot(page, "nuteistasis-pasirase")

    _click_and_wait_for_worker(
        page, page.get_by_role("button", name="Pasirašyti kaip Ona Petraitienė")
    )
    expect(page.locator(".doc-status")).to_have_text("Pasirašytas")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Atsisiųsti PDF").click()
    signed = Path(download_info.value.path()).read_bytes()
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        images = {
            (int(o.Width), int(o.Height))
            for o in pdf.objects
            if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image"
        }
    # The pad's PNG, at the canvas's size, is in the signed PDF.
    assert pad_size in images, (pad_size, images)
    screens.shot(page, "e-pasirasytas")
    assert case["id"]
