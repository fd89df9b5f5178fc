"""Remote signatures as sessions any process can pick up: an official's qualified key is on a
card or in a signing app, so the service prepares what is to be signed, hands it out, and
finishes the PDF when the signature value comes back.

preparing → prepared → completing → completed, or failed (preparation refused). A completion
is refused, and changes nothing, when the session is unknown, already completed or being
completed (replayed), expired or prepared on a PDF version that is no longer current (stale),
or when the value does not verify with the certificate (mismatch).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from signing.errors import RemoteSigningRefused as ValueDoesNotVerify
from signing.remote import signature_value_of
from tiltas import audit, documents
from tiltas.apikeys import Principal
from tiltas.errors import FieldProblem, InvalidInput, NotFound, TiltasError
from tiltas.models import Document, RemoteSigningSession, utcnow


class SessionStatus(StrEnum):
    preparing = "preparing"
    prepared = "prepared"
    completing = "completing"
    completed = "completed"
    failed = "failed"


class RemoteSigningRefused(TiltasError):
    """A completion that cannot be accepted; ``reason``: replayed, stale, not_prepared,
    failed or mismatch."""

    code = "remote_signing_refused"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class SignatureValueMismatch(RemoteSigningRefused):
    code = "signature_value_mismatch"

    def __init__(self, message: str) -> None:
        super().__init__(message, "mismatch")


@dataclass(frozen=True)
class SignerCertificate:
    certificate: bytes
    chain: tuple[bytes, ...]


def parse_certificates(certificate_b64: str, chain_b64: list[str]) -> SignerCertificate:
    """Base64 DER certificates; every unreadable one named at once."""
    problems: list[FieldProblem] = []
    parsed: list[bytes] = []
    for field, value in [("certificate", certificate_b64)] + [
        (f"chain.{i}", v) for i, v in enumerate(chain_b64)
    ]:
        try:
            der = base64.b64decode(value, validate=True)
            x509.Certificate.load(der).native  # noqa: B018 - parses every field
            parsed.append(der)
        except ValueError:
            problems.append(FieldProblem(field, "not a base64 DER X.509 certificate", "invalid"))
    if problems:
        raise InvalidInput(problems)
    return SignerCertificate(parsed[0], tuple(parsed[1:]))


def _normalised(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def check_certificate_names_signer(certificate: bytes, signer: dict[str, Any]) -> None:
    # [design] The stamp shows the envelope's name, so the certificate must be that person's:
    # its common name, or given name + surname, equal to the signer's full name (case aside).
    subject = x509.Certificate.load(certificate).subject.native
    names = {
        _normalised(str(subject.get("common_name", ""))),
        _normalised(f"{subject.get('given_name', '')} {subject.get('surname', '')}"),
    }
    if _normalised(signer["full_name"]) not in names:
        raise InvalidInput(
            [
                FieldProblem(
                    "certificate",
                    "the certificate is not the signer's (its name differs from the envelope's)",
                    "certificate_not_of_signer",
                )
            ]
        )


def start(
    session: Session,
    principal: Principal,
    document_public_id: str,
    signer_index: int | None,
    certificate: SignerCertificate,
    time_to_live: dt.timedelta,
) -> tuple[RemoteSigningSession, Document]:
    """Open a session for the next signer (or ``signer_index``); the worker prepares it."""
    document = documents.read_document(
        session, principal, document_public_id, purpose="remote-sign"
    )
    index = signer_index or documents.next_signer(document) or 0
    documents.check_may_sign(principal, document, index)
    check_certificate_names_signer(certificate.certificate, document.envelope["signers"][index - 1])
    assert document.pdf_sha256 is not None  # check_may_sign refuses documents not generated
    now = utcnow()
    record = RemoteSigningSession(
        public_id=secrets.token_urlsafe(24),
        document_id=document.id,
        signer_index=index,
        status=SessionStatus.preparing.value,
        requested_by=principal.key_id,
        created_at=now,
        expires_at=now + time_to_live,
        certificate=certificate.certificate,
        chain=[base64.b64encode(c).decode("ascii") for c in certificate.chain],
        source_pdf_sha256=document.pdf_sha256,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.create,
        "remote_signing_session",
        record.public_id,
        case_id=documents.case_public_id(session, document),
        detail={"document": document.public_id, "signer": index},
    )
    return record, document


def read(
    session: Session, principal: Principal, document_public_id: str, session_id: str
) -> tuple[RemoteSigningSession, Document]:
    document = documents.read_document(
        session, principal, document_public_id, purpose="remote-sign"
    )
    return _session_of(session, document, session_id), document


def load(
    session: Session, document_public_id: str, session_id: str
) -> tuple[RemoteSigningSession, Document]:
    """Not audited: for following a session the caller was already allowed to read."""
    document = documents.by_public_id(session, document_public_id)
    return _session_of(session, document, session_id), document


def _session_of(session: Session, document: Document, session_id: str) -> RemoteSigningSession:
    record = session.scalar(
        select(RemoteSigningSession).where(
            RemoteSigningSession.public_id == session_id,
            RemoteSigningSession.document_id == document.id,
        )
    )
    if record is None:
        raise NotFound(f"no remote signing session {session_id} for this document")
    return record


def accept_signature_value(
    session: Session,
    principal: Principal,
    document_public_id: str,
    session_id: str,
    signature_value: bytes,
) -> RemoteSigningSession:
    """Check the value and hand the session to a worker to finish; refusals change nothing."""
    record, document = read(session, principal, document_public_id, session_id)
    session.refresh(record, with_for_update=True)
    check_open(record, document, utcnow())
    documents.check_may_sign(principal, document, record.signer_index)
    assert record.state is not None and record.challenge is not None
    signed_attributes = base64.b64decode(record.challenge["signed_attributes"])
    try:
        signature_value_of(record.certificate, signed_attributes, signature_value)
    except ValueDoesNotVerify as refused:
        raise SignatureValueMismatch(refused.message) from refused
    record.signature_value = signature_value
    record.status = SessionStatus.completing.value
    record.failure = None
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.update,
        "remote_signing_session",
        record.public_id,
        case_id=documents.case_public_id(session, document),
        detail={"document": document.public_id, "signer": record.signer_index, "to": "complete"},
    )
    return record


def check_open(record: RemoteSigningSession, document: Document, now: dt.datetime) -> None:
    """Refuse a completion of a session that is not waiting for one."""
    if record.status in {SessionStatus.completing, SessionStatus.completed}:
        raise RemoteSigningRefused("this signature was already completed", "replayed")
    if record.status == SessionStatus.failed:
        raise RemoteSigningRefused("the signature could not be prepared", "failed")
    if record.status == SessionStatus.preparing:
        raise RemoteSigningRefused("the signature is still being prepared", "not_prepared")
    if now >= record.expires_at:
        raise RemoteSigningRefused("the signing session has expired", "stale")
    if document.pdf_sha256 != record.source_pdf_sha256:
        raise RemoteSigningRefused("the document changed after the signature was prepared", "stale")


def public(record: RemoteSigningSession, document: Document) -> dict[str, Any]:
    challenge = record.challenge
    return {
        "id": record.public_id,
        "document_id": document.public_id,
        "signer": record.signer_index,
        "status": record.status,
        "expires_at": record.expires_at.isoformat(),
        "challenge": challenge,
        "failure": record.failure,
        "completed_at": record.completed_at.isoformat() if record.completed_at else None,
    }
