"""The worker's half of remote signing: prepare a session's signature, finish it once the
device's value is in. Both steps are idempotent by session, so a redelivered task is safe."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signing.config import SignatureRequest
from signing.errors import SigningError, TimestampUnavailable
from signing.remote import PendingRemoteSignature, RemoteSigning
from templates.types import document_type
from tiltas import documents
from tiltas.db import transaction
from tiltas.models import Document, RemoteSigningSession, utcnow
from tiltas.remote_signing import SessionStatus
from tiltas.storage import FileStore
from workers.signing_runtime import SigningRuntime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteSignatures:
    sessions: sessionmaker[Session]
    store: FileStore
    runtime: SigningRuntime

    def prepare(self, session_id: str) -> str:
        """Lay out the signature and compute the challenge; a failure other than a TSA outage
        (which the caller retries) ends the session as failed."""
        with transaction(self.sessions) as session:
            found = _load(session, session_id)
            if found is None:
                return "missing"
            record, document = found
            if record.status != SessionStatus.preparing:
                return record.status
            signer = dict(document.envelope["signers"][record.signer_index - 1])
            title = document.envelope.get("title") or document_type(document.type_id).title
            certificate = x509.Certificate.load(record.certificate)
            chain = [x509.Certificate.load(base64.b64decode(c)) for c in record.chain]
            source = record.source_pdf_sha256
        role = signer.get("position") or signer["role"]
        request = SignatureRequest(
            field_name=documents.signature_field_name(record.signer_index),
            reason=f"{title}: pasirašo {signer['full_name']}",
            role=role,
        )
        try:
            challenge, pending = RemoteSigning(self.runtime.service).prepare(
                self.store.get(source),
                certificate,
                chain,
                signer_name=signer["full_name"],
                position=role,
                request=request,
            )
        except TimestampUnavailable as error:
            self._note_failure(session_id, error.code, str(error), end=False)
            raise
        except SigningError as error:
            return self._note_failure(session_id, error.code, str(error), end=True)
        prepared_sha256 = self.store.put(pending.prepared_pdf)
        with transaction(self.sessions) as session:
            found = _load(session, session_id)
            if found is None:
                return "missing"
            record, _ = found
            if record.status == SessionStatus.preparing:
                record.state = {**pending.state(), "prepared_pdf_sha256": prepared_sha256}
                record.challenge = {
                    "digest": _b64(challenge.digest),
                    "digest_algorithm": challenge.digest_algorithm,
                    "signature_algorithm": challenge.signature_algorithm,
                    "signed_attributes": _b64(challenge.signed_attributes),
                    "certificate_sha256": challenge.certificate_sha256,
                }
                record.status = SessionStatus.prepared.value
                record.failure = None
            return record.status

    def complete(self, session_id: str) -> str:
        """Finish the PDF with the accepted value and record the signature on the document."""
        with transaction(self.sessions) as session:
            found = _load(session, session_id)
            if found is None:
                return "missing"
            record, document = found
            if record.status != SessionStatus.completing:
                return record.status
            assert record.state is not None and record.signature_value is not None
            state, value = dict(record.state), record.signature_value
        pending = PendingRemoteSignature.from_state(
            state, self.store.get(state["prepared_pdf_sha256"])
        )
        try:
            signed = RemoteSigning(self.runtime.service).complete(pending, value)
        except TimestampUnavailable as error:
            self._note_failure(session_id, error.code, str(error), end=False)
            raise
        except SigningError as error:
            return self._note_failure(session_id, error.code, str(error), end=True)
        sha256 = self.store.put(signed)
        with transaction(self.sessions) as session:
            found = _load(session, session_id)
            if found is None:
                return "missing"
            record, document = found
            if record.status != SessionStatus.completing:
                return record.status
            if document.pdf_sha256 != record.source_pdf_sha256:
                # Another signature landed meanwhile; ours was made on an older version.
                record.status = SessionStatus.failed.value
                record.failure = {"code": "stale", "message": "the document changed meanwhile"}
                return record.status
            documents.record_signature(
                document,
                record.signer_index,
                pending.signer_name,
                pending.position,
                sha256,
                len(signed),
            )
            record.status = SessionStatus.completed.value
            record.completed_at = utcnow()
            return record.status

    def _note_failure(self, session_id: str, code: str, message: str, *, end: bool) -> str:
        log.warning("remote signing session failed: %s", code)
        with transaction(self.sessions) as session:
            found = _load(session, session_id)
            if found is None:
                return "missing"
            record, _ = found
            record.failure = {"code": code, "message": message[:500]}
            if end:
                record.status = SessionStatus.failed.value
            return record.status


def _load(session: Session, session_id: str) -> tuple[RemoteSigningSession, Document] | None:
    record = session.scalar(
        select(RemoteSigningSession)
        .where(RemoteSigningSession.public_id == session_id)
        .with_for_update()
    )
    if record is None:
        return None
    document = session.get(Document, record.document_id, with_for_update=True)
    assert document is not None
    return record, document


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")
