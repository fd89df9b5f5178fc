"""One record of every kind an organisation holds — cases with needs, risk and health data,
documents with stored PDFs (a health document among them), a batch, a webhook subscription with
a delivery, a feed token, an API key, a remote-signing session — made for the organisations of
one side of a :class:`~tests.support.factories.World` (``""`` or its ``"_2"`` twins), so that
tests can call every endpoint on objects that really exist, their own and another's."""

from __future__ import annotations

import base64
import datetime as dt
import io
import uuid
from dataclasses import dataclass
from typing import Any

import pikepdf
from sqlalchemy import select

from tests.support.factories import World, care_case, release_case
from tiltas.access import Role
from tiltas.db import transaction
from tiltas.models import Case, Document, Organisation, RemoteSigningSession, utcnow
from tiltas.storage import FileStore

HEALTH_NOTE = "Sveikatos-žymė"
"""Prefix of the health notes of the care cases: a page or answer holding it shows health data."""


class RecordingProducer:
    """Stands in for the broker: tasks are recorded, no worker runs them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any]]] = []

    def send_task(self, name: str, args: list[Any], **_options: Any) -> None:
        self.sent.append((name, args))


def blank_pdf(title: str) -> bytes:
    with pikepdf.new() as pdf:
        pdf.add_blank_page()
        pdf.docinfo["/Title"] = title
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


@dataclass(frozen=True)
class Records:
    side: str
    """``""`` (the World's first organisation of each kind) or ``"_2"`` (the twins)."""
    case_a: str
    case_b: str
    document_a: str
    """Release notice A of case A, generated, no signature yet (director signs)."""
    document_signed: str
    """Release notice A of case A, signed and sent (a webhook delivery announced it)."""
    document_g: str
    """Request G of case B: health data."""
    document_e: str
    """Acknowledgement E of case A by probation, the convict's scan recorded."""
    batch: str
    subscription: str
    delivery: str
    feed_token_id: str
    feed_token: str
    api_key_id: str
    remote_session: str
    """A prepared remote signature of ``document_a``."""
    subject_last_name: str
    health_note: str

    def org(self, world: World, kind: str) -> Any:
        return world.orgs[kind + self.side]


def _store(world: World, content: bytes) -> str:
    settings = world.client.app.state.settings  # type: ignore[attr-defined]
    return FileStore(settings.documents_dir).put(content)


def insert_document(
    world: World,
    type_id: str,
    *,
    author: str,
    case_id: str | None,
    signers: list[dict[str, str]],
    signed: bool = False,
    scan: bool = False,
) -> str:
    """A generated (or signed) document with a real PDF in the store, as a worker leaves it."""
    database = world.client.app.state.database  # type: ignore[attr-defined]
    pdf_sha256 = _store(world, blank_pdf(f"{type_id} {uuid.uuid4()}"))
    now = utcnow()
    acknowledgement = None
    if scan:
        acknowledgement = {
            "kind": "paper_scan",
            "recorded_at": now.isoformat(),
            "scan_sha256": _store(world, blank_pdf("skenuotė")),
        }
    signatures = []
    if signed:
        first = signers[0]
        signatures.append(
            {"index": 1, "field": "parasas-1", "signer_name": first["full_name"],
             "role": first["role"], "signed_at": now.isoformat(), "pdf_sha256": pdf_sha256}
        )  # fmt: skip
    with transaction(database.sessions) as session:
        organisation_id = session.scalar(
            select(Organisation.id).where(Organisation.code == world.orgs[author].code)
        )
        case = session.scalar(select(Case).where(Case.public_id == case_id)) if case_id else None
        document = Document(
            public_id=str(uuid.uuid4()),
            type_id=type_id,
            case_id=case.id if case else None,
            author_organisation_id=organisation_id,
            status="signed" if signed else "generated",
            version=2,
            created_at=now,
            updated_at=now,
            envelope={"document_type": type_id, "signers": signers},
            data={},
            input_sha256="0" * 64,
            template_version="test",
            generated_at=now,
            pdf_sha256=pdf_sha256,
            pdf_size=1000,
            signatures=signatures,
            signed_at=now if signed else None,
            acknowledgement=acknowledgement,
            pdf_history=[],
            renewals=[],
        )
        session.add(document)
        session.flush()
        return document.public_id


def self_signed_certificate(common_name: str) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.DER)


def insert_remote_session(world: World, document_id: str, signer_name: str) -> str:
    """A remote signature prepared for signer 1, waiting for the device's value."""
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        document = session.scalar(select(Document).where(Document.public_id == document_id))
        assert document is not None and document.pdf_sha256 is not None
        now = utcnow()
        record = RemoteSigningSession(
            public_id=uuid.uuid4().hex,
            document_id=document.id,
            signer_index=1,
            status="prepared",
            requested_by="test",
            created_at=now,
            expires_at=now + dt.timedelta(days=1),
            certificate=self_signed_certificate(signer_name),
            chain=[],
            source_pdf_sha256=document.pdf_sha256,
            state={},
            challenge={
                "digest": base64.b64encode(b"\0" * 32).decode(),
                "digest_algorithm": "sha256",
                "signature_algorithm": "ecdsa",
                "signed_attributes": base64.b64encode(b"\x31\x00").decode(),
                "certificate_sha256": "0" * 64,
            },
        )
        session.add(record)
        session.flush()
        return record.public_id


DIRECTOR = {"full_name": "Petras Kazlauskas", "position": "direktorius", "role": "director"}
PROBATION_OFFICER = {
    "full_name": "Ona Jonaitienė",
    "position": "probacijos pareigūnė",
    "role": "probation_officer",
}
CONVICT = {"full_name": "Jonas Žemaitis", "position": "nuteistasis", "role": "convict"}
HEALTH_HEAD = {"full_name": "Rasa Petraitienė", "position": "gydytoja", "role": "health_unit_head"}


def make_records(world: World, side: str, subject_last_name: str) -> Records:
    """Every kind of record for the organisations of ``side``; each case has every organisation
    of that side among its participants. The app's producer must be a recording one."""
    client = world.client
    orgs = {name: org for name, org in world.orgs.items() if name.endswith("_2") == bool(side)}
    institution = world.orgs["correctional_institution" + side]
    director = institution.auth(Role.director)
    admin = institution.auth(Role.admin)
    everyone = [org.code for org in orgs.values()]
    health_note = f"{HEALTH_NOTE} {subject_last_name}"

    payload_a = release_case(world, participants=everyone)
    payload_a["subject"]["institution_code"] = institution.code
    payload_a["subject"]["last_name"] = subject_last_name
    case_a = client.post("/v1/cases", json=payload_a, headers=director)
    assert case_a.status_code == 201, case_a.text
    payload_b = care_case(world, participants=everyone)
    payload_b["subject"]["institution_code"] = institution.code
    payload_b["subject"]["last_name"] = subject_last_name
    payload_b["health"]["notes"] = health_note
    case_b = client.post("/v1/cases", json=payload_b, headers=director)
    assert case_b.status_code == 201, case_b.text
    case_a_id, case_b_id = str(case_a.json()["id"]), str(case_b.json()["id"])

    author = "correctional_institution" + side
    document_a = insert_document(world, "A", author=author, case_id=case_a_id, signers=[DIRECTOR])
    document_signed = insert_document(
        world, "A", author=author, case_id=case_a_id, signers=[DIRECTOR], signed=True
    )
    document_g = insert_document(
        world, "G", author=author, case_id=case_b_id, signers=[HEALTH_HEAD]
    )
    document_e = insert_document(
        world, "E", author="probation" + side, case_id=case_a_id,
        signers=[CONVICT, PROBATION_OFFICER], scan=True,
    )  # fmt: skip

    example = client.get("/v1/document-types/A", headers=director).json()["example"]
    batch = client.post(
        "/v1/batches",
        json={"documents": [{**example, "case_id": case_a_id}], "sign": False},
        headers=director,
    )
    assert batch.status_code == 202, batch.text

    subscription = client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["document.sent"]},
        headers=admin,
    )
    assert subscription.status_code == 201, subscription.text
    subscription_id = str(subscription.json()["id"])
    sent = client.post(
        f"/v1/documents/{document_signed}/delivery-events",
        json={"state": "sent"},
        headers=director,
    )
    assert sent.status_code == 201, sent.text
    deliveries = client.get(f"/v1/webhooks/{subscription_id}/deliveries", headers=admin).json()
    assert len(deliveries) == 1, deliveries

    feed = client.post("/v1/feed-tokens", json={"label": "kalendorius"}, headers=director)
    assert feed.status_code == 201, feed.text
    key = client.post(
        "/v1/api-keys",
        json={"organisation_code": institution.code, "role": "auditor", "label": "spare"},
        headers=admin,
    )
    assert key.status_code == 201, key.text

    return Records(
        side=side,
        case_a=case_a_id,
        case_b=case_b_id,
        document_a=document_a,
        document_signed=document_signed,
        document_g=document_g,
        document_e=document_e,
        batch=str(batch.json()["id"]),
        subscription=subscription_id,
        delivery=str(deliveries[0]["id"]),
        feed_token_id=str(feed.json()["id"]),
        feed_token=str(feed.json()["token"]),
        api_key_id=str(key.json()["key_id"]),
        remote_session=insert_remote_session(world, document_a, DIRECTOR["full_name"]),
        subject_last_name=subject_last_name,
        health_note=health_note,
    )
