"""Verification over HTTP: a stored document's report, any uploaded PDF, the three report
forms, refusals as problem+json, and who may ask."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from api.routes import verification
from signing.errors import VerificationRefused
from signing.report_xml import VR_NAMESPACE
from tests.support.documents import running_worker
from tests.support.factories import World, care_case
from tests.support.verification import flip_signed_byte, signed_protocol, verification_client
from tiltas.access import Role
from tiltas.settings import Settings

pytestmark = pytest.mark.redis

PDF = {"Content-Type": "application/pdf"}
VR = {"vr": VR_NAMESPACE}


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def settings(document_settings: Settings) -> Settings:
    return document_settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with verification_client(settings) as test_client:
        yield test_client


@pytest.fixture
def worker(settings: Settings) -> Iterator[None]:
    with running_worker(settings):
        yield


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


# -- a stored document ----------------------------------------------------------------------


def test_signed_protocol_verifies_total_passed_in_json_xml_and_html(
    world: World, worker: None
) -> None:
    commission, document_id = signed_protocol(world)
    url = f"/v1/documents/{document_id}/verification"
    stored = world.client.get(f"/v1/documents/{document_id}", headers=commission).json()

    as_json = world.client.get(url, headers=commission)
    assert as_json.status_code == 200, as_json.text
    assert as_json.headers["content-type"] == "application/json"
    report = as_json.json()
    assert report["indication"] == "TOTAL-PASSED" and report["sub_indication"] is None
    assert report["document_sha256"] == stored["pdf_sha256"]
    assert [s["indication"] for s in report["signatures"]] == ["TOTAL-PASSED", "TOTAL-PASSED"]
    assert {s["ltv_level"] for s in report["signatures"]} == {"B-LTA"}
    assert report["document_timestamps"] and report["renewal_due"]
    assert report["trust_anchors"], "the development PKI root is the trust anchor"

    as_xml = world.client.get(url, headers={**commission, "Accept": "application/xml"})
    assert as_xml.status_code == 200, as_xml.text
    assert as_xml.headers["content-type"] == "application/xml"
    root = etree.fromstring(as_xml.content)
    assert root.tag == f"{{{VR_NAMESPACE}}}ValidationReport"
    mains = root.findall(".//vr:SignatureValidationStatus/vr:MainIndication", VR)
    assert len(mains) >= 2
    assert {m.text for m in mains} == {"urn:etsi:019102:mainindication:total-passed"}

    # A browser's Accept prefers HTML.
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    as_html = world.client.get(url, headers={**commission, "Accept": browser})
    assert as_html.status_code == 200, as_html.text
    assert as_html.headers["content-type"] == "text/html; charset=utf-8"
    page = as_html.text
    assert page.startswith("<!DOCTYPE html>") and '<html lang="lt">' in page
    assert 'data-verdict="žalia"' in page and "Visi parašai galioja" in page
    assert as_json.headers["vary"] == as_html.headers["vary"] == "Accept"

    # The read is audited with its purpose, like every read of a document.
    auditor = world.orgs["commission"].auth(Role.auditor)
    entries = world.client.get("/v1/audit", headers=auditor, params={"limit": 500}).json()
    parts = [
        e["detail"].get("part")
        for e in entries["items"]
        if e["entity_type"] == "document" and e["entity_id"] == document_id
    ]
    assert parts.count("verification") == 3


def test_only_readers_of_the_document_get_its_verification(world: World, worker: None) -> None:
    director = world.institution.auth(Role.director)
    care_id = world.client.post("/v1/cases", json=care_case(world), headers=director).json()["id"]
    commission = world.orgs["commission"].auth(Role.commission)
    example = world.client.get("/v1/document-types/K", headers=commission).json()["example"]
    document = world.client.post(
        "/v1/documents", json={**example, "case_id": care_id}, headers=commission
    ).json()
    assert document["status"] == "generated", document
    url = f"/v1/documents/{document['id']}/verification"

    assert world.client.get(url, headers=commission).status_code == 200
    for outsider in (
        world.orgs["commission_2"].auth(Role.commission),
        world.orgs["archive"].auth(Role.archivist),
    ):
        _problem(world.client.get(url, headers=outsider), 404)
    _problem(world.client.get("/v1/documents/nope/verification", headers=commission), 404)
    _problem(world.client.get(url), 401)


# -- uploads --------------------------------------------------------------------------------


def test_uploaded_signed_pdf_passes_and_a_flipped_byte_fails(
    world: World, signed_pdf: bytes
) -> None:
    archivist = {**world.orgs["archive"].auth(Role.archivist), **PDF}
    original = world.client.post("/v1/verify", content=signed_pdf, headers=archivist)
    assert original.status_code == 200, original.text
    assert original.json()["indication"] == "TOTAL-PASSED"

    tampered = world.client.post(
        "/v1/verify", content=flip_signed_byte(signed_pdf), headers=archivist
    )
    assert tampered.status_code == 200, tampered.text
    report = tampered.json()
    assert report["indication"] == "TOTAL-FAILED"
    assert report["sub_indication"] == "HASH_FAILURE"
    assert {s["indication"] for s in report["signatures"]} == {"TOTAL-FAILED"}

    page = world.client.post(
        "/v1/verify",
        content=flip_signed_byte(signed_pdf),
        headers={**archivist, "Accept": "text/html"},
    ).text
    assert 'data-verdict="raudona"' in page and "Parašas negalioja" in page


def test_upload_report_forms_follow_accept(world: World, signed_pdf: bytes) -> None:
    headers = {**world.orgs["municipality"].auth(Role.social_worker), **PDF}
    expected = {
        "application/xml": "application/xml",
        "text/html": "text/html; charset=utf-8",
        "application/json": "application/json",
        "*/*": "application/json",
        "application/xml;q=0.5, text/html;q=0.4": "application/xml",
        "text/*": "text/html; charset=utf-8",
    }
    for accept, content_type in expected.items():
        response = world.client.post(
            "/v1/verify", content=signed_pdf, headers={**headers, "Accept": accept}
        )
        assert response.status_code == 200, (accept, response.text)
        assert response.headers["content-type"] == content_type, accept
    for refused in ("image/png", "application/json;q=0, text/plain"):
        response = world.client.post(
            "/v1/verify", content=signed_pdf, headers={**headers, "Accept": refused}
        )
        assert _problem(response, 406)["type"] == "urn:tiltas:problem:not_acceptable", refused


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"Protokolas, ne PDF", "not_pdf"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "malformed"),
    ],
)
def test_a_file_that_cannot_be_verified_is_422_problem(
    world: World, body: bytes, reason: str
) -> None:
    archivist = {**world.orgs["archive"].auth(Role.archivist), **PDF}
    problem = _problem(world.client.post("/v1/verify", content=body, headers=archivist), 422)
    assert problem["type"] == "urn:tiltas:problem:verification_refused"
    assert problem["reason"] == reason


def test_upload_must_be_sent_as_pdf(world: World) -> None:
    archivist = world.orgs["archive"].auth(Role.archivist)
    for content_type in ("application/json", "application/octet-stream"):
        response = world.client.post(
            "/v1/verify", content=b"%PDF-1.7\n", headers={**archivist, "Content-Type": content_type}
        )
        _problem(response, 415)


def test_upload_is_for_archivists_and_case_roles(world: World) -> None:
    body = b"not a pdf"
    for org, role in (("archive", Role.archivist), ("correctional_institution", Role.director)):
        response = world.client.post(
            "/v1/verify", content=body, headers={**world.headers(org, role), **PDF}
        )
        assert response.status_code == 422, (role, response.text)
    for org, role in (("archive", Role.admin), ("commission", Role.auditor)):
        response = world.client.post(
            "/v1/verify", content=body, headers={**world.headers(org, role), **PDF}
        )
        _problem(response, 403)
    _problem(world.client.post("/v1/verify", content=body, headers=PDF), 401)


def test_upload_over_the_body_limit_is_413(world: World, settings: Settings) -> None:
    """Verification takes PDFs larger than the app-wide body limit, up to its own limit."""
    archivist = {**world.orgs["archive"].auth(Role.archivist), **PDF}
    above_app_limit = b"%PDF-1.7\n" + b"0" * settings.max_body_bytes
    response = world.client.post("/v1/verify", content=above_app_limit, headers=archivist)
    assert response.status_code == 422 and response.json()["reason"] == "malformed", response.text

    def chunks() -> Iterator[bytes]:
        yield b"%PDF-1.7\n"

    declared = {**archivist, "Content-Length": str(verification.VERIFICATION_MAX_BYTES + 1)}
    _problem(world.client.post("/v1/verify", content=chunks(), headers=declared), 413)


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("too_large", 413),
        ("not_pdf", 422),
        ("malformed", 422),
        ("encrypted", 422),
        ("too_many_objects", 422),
        ("decompression_limit", 422),
        ("time_limit", 503),
        ("memory_limit", 503),
        ("worker_failed", 503),
    ],
)
def test_every_refusal_has_its_status(reason: str, status: int) -> None:
    response = verification.refusal_problem(
        VerificationRefused("the PDF was not verified", reason=reason, limit=7)
    )
    assert response.status_code == status
    assert response.media_type == "application/problem+json"
    body = bytes(response.body).decode()
    assert f'"reason":"{reason}"' in body and '"limit":7' in body


def test_a_refused_trusted_list_makes_verification_unavailable(
    settings: Settings, signed_pdf: bytes, tmp_path: Path
) -> None:
    trusted_list = tmp_path / "LT-TL.xml"
    trusted_list.write_bytes(
        b'<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#">'
        b"<tsl:SchemeInformation/></tsl:TrustServiceStatusList>"
    )
    unsigned = settings.model_copy(update={"trusted_list_file": trusted_list})
    with verification_client(unsigned) as client:
        world = World.build(client)
        archivist = {**world.orgs["archive"].auth(Role.archivist), **PDF}
        body = _problem(client.post("/v1/verify", content=signed_pdf, headers=archivist), 503)
    assert body["type"] == "urn:tiltas:problem:trusted_list_refused"
    assert body["reason"] == "unsigned" and "LT-TL.xml" in body["detail"]
