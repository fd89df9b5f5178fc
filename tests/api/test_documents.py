"""Documents end to end: API → Redis → Celery worker → LibreOffice → checks → store → download."""

from __future__ import annotations

import copy
import hashlib
import io
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from fastapi.testclient import TestClient

from templates.pdfa import check_pdfa
from templates.rendering import template_bytes, template_version
from tests.support.documents import pdf_text, running_worker
from tests.support.factories import World, care_case, release_case
from tiltas.access import Role
from tiltas.documents import input_sha256
from tiltas.settings import Settings

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(document_settings: Settings) -> Settings:
    return document_settings


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    with running_worker(settings):
        yield


def _example(
    client: TestClient, headers: dict[str, str], type_id: str, case_id: str | None
) -> dict[str, Any]:
    example = client.get(f"/v1/document-types/{type_id}", headers=headers).json()["example"]
    return {**example, "case_id": case_id}


def _case(world: World) -> str:
    response = world.client.post(
        "/v1/cases", json=release_case(world), headers=world.institution.auth(Role.director)
    )
    return str(response.json()["id"])


def test_release_notice_is_generated_checked_and_downloadable(
    world: World, worker: None, tmp_path: Path
) -> None:
    client = world.client
    staff = world.institution.auth(Role.institution_staff)
    case_id = _case(world)
    body = _example(client, staff, "A", case_id)
    response = client.post("/v1/documents", json=body, headers=staff)
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["status"] == "generated", document
    assert document["template_version"] == template_version(template_bytes("A"))
    assert document["generated_at"] is not None

    pdf_response = client.get(f"/v1/documents/{document['id']}/pdf", headers=staff)
    assert pdf_response.status_code == 200
    assert pdf_response.headers["content-type"] == "application/pdf"
    pdf = pdf_response.content
    assert (
        hashlib.sha256(pdf).hexdigest()
        == document["pdf_sha256"]
        == pdf_response.headers["ETag"].strip('"')
    )
    assert check_pdfa(pdf) == ()
    assert pdf.startswith(b"%PDF-1.7")
    text = pdf_text(pdf, tmp_path)
    # The subject comes from the case, diacritics intact in the text layer.
    assert "Jonas Žemaitis" in text
    for letter in "ąčęėįšųūž":
        assert letter in text.lower() or letter.upper() in text, letter
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert str(opened.Root.Lang) == "lt-LT"
        xmp = str(opened.open_metadata())
    assert "PDF-LT-V1.0" in xmp and world.institution.code in xmp

    listed = client.get(f"/v1/cases/{case_id}/documents", headers=staff).json()
    assert [d["id"] for d in listed] == [document["id"]]


def test_input_hash_names_what_the_document_was_built_from(world: World, worker: None) -> None:
    """Same input → same hash; the hash covers the resolved envelope and the data."""
    staff = world.institution.auth(Role.institution_staff)
    case_id = _case(world)
    body = _example(world.client, staff, "A", case_id)
    first = world.client.post("/v1/documents", json=body, headers=staff).json()
    second = world.client.post("/v1/documents", json=body, headers=staff).json()
    assert first["id"] != second["id"]
    assert first["input_sha256"] == second["input_sha256"]
    changed = copy.deepcopy(body)
    changed["data"]["needs"][0]["description"] = "Kitas poreikis"
    third = world.client.post("/v1/documents", json=changed, headers=staff).json()
    assert third["input_sha256"] != first["input_sha256"]
    assert len(first["input_sha256"]) == 64 and input_sha256({}, {}) != first["input_sha256"]


def test_ampersand_and_angle_brackets_survive(world: World, worker: None, tmp_path: Path) -> None:
    staff = world.institution.auth(Role.institution_staff)
    body = _example(world.client, staff, "A", _case(world))
    body["data"]["needs"][0]["description"] = "Skolos <UAB „Kreditas & Co“> > 1000 €"
    document = world.client.post("/v1/documents", json=body, headers=staff).json()
    assert document["status"] == "generated", document
    pdf = world.client.get(f"/v1/documents/{document['id']}/pdf", headers=staff).content
    assert "<UAB „Kreditas & Co“> > 1000 €" in pdf_text(pdf, tmp_path).replace("\n", " ")


@pytest.mark.parametrize(
    ("mutate", "status", "field"),
    [
        (lambda b: b.update(type="Z"), 422, "type"),
        (lambda b: b["envelope"].update(signers=[]), 422, "envelope.signers"),
        (lambda b: b["envelope"].update(colour="žalia"), 422, "envelope.colour"),
        (
            lambda b: b["data"].pop("institution_social_worker"),
            422,
            "data.institution_social_worker",
        ),
        (lambda b: b["data"]["needs"][0].update(area="holidays"), 422, "data.needs.0.area"),
        (lambda b: b.update(case_id=None), 422, "case_id"),
        (lambda b: b.update(case_id="00000000-0000-0000-0000-000000000000"), 422, "case_id"),
    ],
)
def test_bad_requests_are_refused_and_store_nothing(
    world: World, mutate: Any, status: int, field: str
) -> None:
    staff = world.institution.auth(Role.institution_staff)
    case_id = _case(world)
    body = _example(world.client, staff, "A", case_id)
    mutate(body)
    response = world.client.post("/v1/documents", json=body, headers=staff)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()
    assert world.client.get(f"/v1/cases/{case_id}/documents", headers=staff).json() == []


def test_role_may_ask_only_for_its_documents(world: World) -> None:
    case_id = _case(world)
    social_worker = world.orgs["municipality"].auth(Role.social_worker)
    body = _example(world.client, social_worker, "A", case_id)
    response = world.client.post("/v1/documents", json=body, headers=social_worker)
    assert response.status_code == 403


def test_incomplete_questionnaire_is_refused_and_complete_one_summarised(
    world: World, worker: None
) -> None:
    director = world.institution.auth(Role.director)
    care_id = world.client.post("/v1/cases", json=care_case(world), headers=director).json()["id"]
    body = _example(world.client, director, "H", care_id)
    incomplete = copy.deepcopy(body)
    incomplete["data"]["marked"] = incomplete["data"]["marked"][1:]
    refused = world.client.post("/v1/documents", json=incomplete, headers=director)
    assert refused.status_code == 422
    assert refused.json()["errors"]

    document = world.client.post("/v1/documents", json=body, headers=director).json()
    assert document["status"] == "generated", document
    summary = document["questionnaire_summary"]
    assert set(summary) == {"social", "physical"}
    assert (
        summary["social"]["count_s"] + summary["social"]["count_ids"] + summary["social"]["count_n"]
        == 6
    )
    assert (
        summary["physical"]["count_s"]
        + summary["physical"]["count_ids"]
        + summary["physical"]["count_n"]
        == 5
    )
    flat = str(summary).lower()
    assert "total" not in flat and "verdict" not in flat and "score" not in flat

    # Health documents are not for a municipality's eyes.
    social_worker = world.orgs["municipality"].auth(Role.social_worker)
    world.client.patch(
        f"/v1/cases/{care_id}",
        json={"participants": [world.orgs["municipality"].code]},
        headers={**director, "If-Match": "*"},
    )
    assert (
        world.client.get(f"/v1/documents/{document['id']}", headers=social_worker).status_code
        == 404
    )
    assert (
        world.client.get(f"/v1/documents/{document['id']}/pdf", headers=social_worker).status_code
        == 404
    )
    assert world.client.get(f"/v1/cases/{care_id}/documents", headers=social_worker).json() == []


def test_idempotent_document_request(world: World, worker: None) -> None:
    staff = {**world.institution.auth(Role.institution_staff), "Idempotency-Key": "dms-doc-1"}
    case_id = _case(world)
    body = _example(world.client, staff, "A", case_id)
    first = world.client.post("/v1/documents", json=body, headers=staff).json()
    again = world.client.post("/v1/documents", json=body, headers=staff)
    assert again.json()["id"] == first["id"]
    assert len(world.client.get(f"/v1/cases/{case_id}/documents", headers=staff).json()) == 1


def test_not_ready_answers_202_then_completes(world: World, settings: Settings) -> None:
    """Without a worker the request is stored and answered 202; a worker started later
    produces it."""
    client = world.client
    client.app.state.settings = settings.model_copy(update={"document_wait_s": 0.2})  # type: ignore[attr-defined]
    staff = world.institution.auth(Role.institution_staff)
    body = _example(client, staff, "A", _case(world))
    response = client.post("/v1/documents", json=body, headers=staff)
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    assert client.get(f"{location}/pdf", headers=staff).status_code == 409
    with running_worker(settings):
        deadline = time.monotonic() + 90
        while (
            client.get(location, headers=staff).json()["status"] == "requested"
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
    assert client.get(location, headers=staff).json()["status"] == "generated"
    assert client.get(f"{location}/pdf", headers=staff).status_code == 200


def _docx_with_extra_paragraph(source: bytes, text: str) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(source)) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for item in zin.infolist():
            content = zin.read(item.filename)
            if item.filename == "word/document.xml":
                marker = b"<w:body>"
                content = content.replace(
                    marker, marker + f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode(), 1
                )
            zout.writestr(item, content)
    return out.getvalue()


def test_template_upload_checks_and_versions(world: World, worker: None, tmp_path: Path) -> None:
    admin = world.institution.auth(Role.admin)
    staff = world.institution.auth(Role.institution_staff)
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    shipped = template_bytes("A")

    broken = _docx_with_extra_paragraph(shipped, "{{ envelope.author.name ")
    unknown = _docx_with_extra_paragraph(shipped, "{{ data.favourite_colour }}")
    for bad in (broken, unknown, b"not a docx"):
        response = world.client.post(
            "/v1/document-types/A/templates",
            content=bad,
            headers={**admin, "Content-Type": docx_type},
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"], response.json()
    assert (
        world.client.post(
            "/v1/document-types/A/templates",
            content=shipped,
            headers={**staff, "Content-Type": docx_type},
        ).status_code
        == 403
    )

    better = _docx_with_extra_paragraph(shipped, "Nauja šablono versija")
    uploaded = world.client.post(
        "/v1/document-types/A/templates",
        content=better,
        headers={**admin, "Content-Type": docx_type},
    )
    assert uploaded.status_code == 201, uploaded.text
    version = uploaded.json()["version"]
    assert version == hashlib.sha256(better).hexdigest()
    versions = world.client.get("/v1/document-types/A/templates", headers=admin).json()
    assert versions["shipped"]["active"] is False and versions["uploaded"][0]["active"] is True

    document = world.client.post(
        "/v1/documents", json=_example(world.client, staff, "A", _case(world)), headers=staff
    ).json()
    assert document["template_version"] == version
    pdf = world.client.get(f"/v1/documents/{document['id']}/pdf", headers=staff).content
    assert "Nauja šablono versija" in pdf_text(pdf, tmp_path)


def test_document_type_schema_is_published(world: World) -> None:
    headers = world.institution.auth(Role.director)
    types = world.client.get("/v1/document-types", headers=headers).json()
    assert [t["id"] for t in types] == [
        "A",
        "B",
        "B2",
        "C",
        "D",
        "E",
        "F",
        "G",
        "H",
        "I",
        "J",
        "K",
        "L",
        "M",
        "N",
    ]
    k = world.client.get("/v1/document-types/K", headers=headers).json()
    assert {"meeting_date", "decision", "members_present", "reasons"} <= set(
        k["data_schema"]["properties"]
    )
    assert world.client.get("/v1/document-types/Q", headers=headers).status_code == 404


def test_openapi_carries_every_types_schema(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    body = spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert body["discriminator"]["propertyName"] == "type"
    assert len(body["oneOf"]) == 15
    k = spec["components"]["schemas"]["DocumentCreateK"]
    data_ref = k["properties"]["data"]["$ref"].rsplit("/", 1)[1]
    assert "decision" in spec["components"]["schemas"][data_ref]["properties"]


def _commission_protocol(world: World) -> tuple[dict[str, str], str]:
    director = world.institution.auth(Role.director)
    care_id = world.client.post("/v1/cases", json=care_case(world), headers=director).json()["id"]
    commission = world.orgs["commission"].auth(Role.commission)
    body = _example(world.client, commission, "K", care_id)
    document = world.client.post("/v1/documents", json=body, headers=commission).json()
    assert document["status"] == "generated", document
    return commission, document["id"]


def test_protocol_is_signed_by_chair_then_secretary(
    world: World, worker: None, dev_pki_root: Path, tmp_path: Path
) -> None:
    import asyncio

    from signing.dev_pki import ensure_dev_pki
    from signing.keys import load_certificates
    from signing.validation import async_validate_signed_pdf

    commission, document_id = _commission_protocol(world)
    client = world.client
    unsigned = client.get(f"/v1/documents/{document_id}", headers=commission).json()
    assert unsigned["next_signer"] == 1 and unsigned["signatures"] == []
    with pikepdf.open(
        io.BytesIO(client.get(f"/v1/documents/{document_id}/pdf", headers=commission).content)
    ) as pdf:
        fields = [str(f.T) for f in pdf.Root.AcroForm.Fields]
    assert fields == ["parasas-1", "parasas-2"], "every field exists before the first signature"

    out_of_order = client.post(
        f"/v1/documents/{document_id}/signatures", json={"signer": 2}, headers=commission
    )
    assert out_of_order.status_code == 409 and out_of_order.json()["next_signer"] == 1
    foreign = world.orgs["commission_2"].auth(Role.commission)
    assert (
        client.post(f"/v1/documents/{document_id}/signatures", json={}, headers=foreign).status_code
        == 404
    )

    first = client.post(f"/v1/documents/{document_id}/signatures", json={}, headers=commission)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "generated" and first.json()["next_signer"] == 2
    second = client.post(
        f"/v1/documents/{document_id}/signatures", json={"signer": 2}, headers=commission
    )
    assert second.status_code == 200, second.text
    signed = second.json()
    assert signed["status"] == "signed" and signed["next_signer"] is None and signed["signed_at"]
    assert [s["index"] for s in signed["signatures"]] == [1, 2]
    again = client.post(f"/v1/documents/{document_id}/signatures", json={}, headers=commission)
    assert again.status_code == 409

    pdf = client.get(f"/v1/documents/{document_id}/pdf", headers=commission).content
    assert hashlib.sha256(pdf).hexdigest() == signed["pdf_sha256"]
    roots = load_certificates([ensure_dev_pki(dev_pki_root).root_cert_path])
    validation = asyncio.run(async_validate_signed_pdf(pdf, roots))
    assert len(validation.signatures) == 2 and validation.reaches_lta
    # PDF/A and PDF-LT metadata survive both signatures; the stamps are in Lithuanian.
    assert check_pdfa(pdf, require_recipients=False) == ()
    text = pdf_text(pdf, tmp_path)
    assert text.count("Pasirašyta elektroniniu parašu") == 2
    assert "Nekvalifikuotas" in text


def test_no_timestamp_no_signature(world: World, settings: Settings) -> None:
    """With the only TSA unreachable nothing is signed; the failure is recorded."""
    commission, document_id = None, None
    with running_worker(settings):
        commission, document_id = _commission_protocol(world)
    dead_tsa = settings.model_copy(
        update={"tsa_urls": ("http://127.0.0.1:9/tsa",), "document_wait_s": 30}
    )
    world.client.app.state.settings = dead_tsa  # type: ignore[attr-defined]
    before = world.client.get(f"/v1/documents/{document_id}", headers=commission).json()
    with running_worker(dead_tsa):
        response = world.client.post(
            f"/v1/documents/{document_id}/signatures", json={}, headers=commission
        )
    assert response.status_code == 202, response.text
    after = response.json()
    assert after["signatures"] == [] and after["status"] == "generated"
    assert after["pdf_sha256"] == before["pdf_sha256"]
    assert after["failure"]["code"] == "timestamp_unavailable"


def _pad_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 90), (255, 255, 255, 0))
    ImageDraw.Draw(image).line(
        [(10, 70), (80, 20), (150, 60), (290, 15)], fill=(20, 20, 120, 255), width=4
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _acknowledgement_document(world: World) -> tuple[dict[str, str], str]:
    officer = world.orgs["probation"].auth(Role.probation_officer)
    body = _example(world.client, officer, "E", _case(world))
    document = world.client.post("/v1/documents", json=body, headers=officer).json()
    assert document["status"] == "generated", document
    return officer, document["id"]


def _validate(pdf: bytes, dev_pki_root: Path) -> Any:
    import asyncio

    from signing.dev_pki import ensure_dev_pki
    from signing.keys import load_certificates
    from signing.validation import async_validate_signed_pdf

    roots = load_certificates([ensure_dev_pki(dev_pki_root).root_cert_path])
    return asyncio.run(async_validate_signed_pdf(pdf, roots))


def test_signature_pad_then_officer_seals(world: World, worker: None, dev_pki_root: Path) -> None:
    client = world.client
    officer, document_id = _acknowledgement_document(world)
    before = client.get(f"/v1/documents/{document_id}", headers=officer).json()
    assert before["next_signer"] == 2, "the convict (signer 1) signs by hand, not electronically"
    png = {**officer, "Content-Type": "image/png"}
    placed = client.post(
        f"/v1/documents/{document_id}/acknowledgement", content=_pad_png(), headers=png
    )
    assert placed.status_code == 200, placed.text
    assert placed.json()["acknowledgement"]["kind"] == "signature_pad"
    assert placed.json()["pdf_sha256"] != before["pdf_sha256"]
    again = client.post(
        f"/v1/documents/{document_id}/acknowledgement", content=_pad_png(), headers=png
    )
    assert again.status_code == 409 and again.json()["reason"] == "already_recorded"

    signed = client.post(f"/v1/documents/{document_id}/signatures", json={}, headers=officer)
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "signed"
    pdf = client.get(f"/v1/documents/{document_id}/pdf", headers=officer).content
    validation = _validate(pdf, dev_pki_root)
    assert len(validation.signatures) == 1 and validation.reaches_lta
    assert check_pdfa(pdf, require_recipients=False) == ()  # E has no addressee
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        images = [
            obj
            for obj in opened.objects
            if isinstance(obj, pikepdf.Stream)
            and obj.get("/Subtype") == "/Image"
            and obj.get("/Width") == 300
        ]
    assert images, "the pad image is in the sealed PDF"


def test_pad_image_after_signature_is_refused_but_a_scan_is_sealed(
    world: World, worker: None, dev_pki_root: Path
) -> None:
    client = world.client
    officer, document_id = _acknowledgement_document(world)
    assert (
        client.post(f"/v1/documents/{document_id}/signatures", json={}, headers=officer).status_code
        == 200
    )
    late = client.post(
        f"/v1/documents/{document_id}/acknowledgement",
        content=_pad_png(),
        headers={**officer, "Content-Type": "image/png"},
    )
    assert late.status_code == 409 and late.json()["reason"] == "already_signed"

    paper = pikepdf.new()
    paper.add_blank_page(page_size=(595, 842))
    scan = io.BytesIO()
    paper.save(scan)
    recorded = client.post(
        f"/v1/documents/{document_id}/acknowledgement",
        content=scan.getvalue(),
        headers={**officer, "Content-Type": "application/pdf"},
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["acknowledgement"]["kind"] == "paper_scan"
    sealed = client.get(f"/v1/documents/{document_id}/acknowledgement/scan", headers=officer)
    assert sealed.status_code == 200
    validation = _validate(sealed.content, dev_pki_root)
    assert len(validation.signatures) == 1 and validation.reaches_lta


def test_acknowledgement_bad_input(world: World, worker: None) -> None:
    officer, document_id = _acknowledgement_document(world)
    for content, media_type in (
        (b"GIF89a", "image/gif"),
        (b"not a png", "image/png"),
        (b"not a pdf", "application/pdf"),
    ):
        response = world.client.post(
            f"/v1/documents/{document_id}/acknowledgement",
            content=content,
            headers={**officer, "Content-Type": media_type},
        )
        assert response.status_code == 422, (media_type, response.text)
    staff = world.institution.auth(Role.institution_staff)
    notice = world.client.post(
        "/v1/documents", json=_example(world.client, staff, "A", _case(world)), headers=staff
    ).json()
    wrong_type = world.client.post(
        f"/v1/documents/{notice['id']}/acknowledgement",
        content=_pad_png(),
        headers={**staff, "Content-Type": "image/png"},
    )
    assert wrong_type.status_code == 409 and wrong_type.json()["reason"] == "not_acknowledged_type"
