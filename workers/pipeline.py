"""Producing a requested document: render → convert (PDF/A-2b) → PDF-LT metadata → checks → store.

Idempotent by document id: a document that is no longer ``requested`` is left alone, the
file store is content-addressed, and the state changes under a row lock, so a task that
runs twice (at-least-once delivery) produces one document.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

import pikepdf
from sqlalchemy.orm import Session, sessionmaker

from signing.acknowledgement import place_signature_image
from signing.config import SignatureFieldSpec, SignatureRequest
from signing.errors import RevocationUnavailable, SigningError, TimestampUnavailable
from signing.signature_fields import add_signature_fields
from templates.conversion import (
    ConversionError,
    ConverterBusy,
    ConverterCrashed,
    ConverterPool,
    ConverterTimeout,
)
from templates.pdfa import PdfACheckFailed, ensure_pdfa
from templates.pdflt import (
    PdfLtEntity,
    PdfLtMetadata,
    PdfLtMetadataError,
    PdfLtRegistration,
    apply_pdflt_metadata,
)
from templates.rendering import render_validated, template_bytes, template_version, validate
from templates.schemas import Envelope
from templates.types import DocumentType, TemplateError, document_type
from tiltas import batches, documents
from tiltas.db import transaction
from tiltas.models import Document, utcnow
from tiltas.storage import FileStore, StorageError, StorageFull
from workers.signing_runtime import SigningRuntime

log = logging.getLogger("tiltas.pipeline")

TRANSIENT_CONVERSION_ERRORS = (ConverterBusy, ConverterTimeout, ConverterCrashed)
"""Worth another try later; every other failure is final for this input."""

SIGNING_UNAVAILABLE = (TimestampUnavailable, RevocationUnavailable)
"""No TSA or no revocation data now: nothing was signed; worth another try later."""


def pdflt_metadata(kind: DocumentType, envelope: Envelope) -> PdfLtMetadata:
    author = envelope.author
    registration = envelope.registration
    return PdfLtMetadata(
        title=envelope.title or kind.title,
        authors=(
            PdfLtEntity(
                name=author.name, code=author.code, address=author.address, email=author.email
            ),
        ),
        recipients=tuple(
            PdfLtEntity(name=r.name, code=r.code, address=r.address, email=r.email)
            for r in envelope.recipients
        ),
        registration=(
            PdfLtRegistration(date=registration.date, number=registration.number)
            if registration
            else None
        ),
    )


STAMP_WIDTH = 240
STAMP_HEIGHT = 62
STAMP_MARGIN = 50
STAMP_BOTTOM = 36


def signature_boxes(page_width: float, count: int) -> list[tuple[int, int, int, int]]:
    """Visible stamp boxes at the foot of the last page, two to a row, first signer lowest-left."""
    gap = max(0, int(page_width) - 2 * STAMP_MARGIN - 2 * STAMP_WIDTH)
    boxes = []
    for position in range(count):
        row, column = divmod(position, 2)
        x = STAMP_MARGIN + column * (STAMP_WIDTH + gap)
        y = STAMP_BOTTOM + row * (STAMP_HEIGHT + 8)
        boxes.append((x, y, x + STAMP_WIDTH, y + STAMP_HEIGHT))
    return boxes


def signer_boxes(
    document: pikepdf.Pdf, envelope: dict[str, Any]
) -> tuple[int, dict[int, tuple[int, int, int, int]]]:
    """The last page and each signer's box on it (by 1-based position), convicts included."""
    last_page = len(document.pages) - 1
    media_box = [float(v) for v in document.pages[last_page].mediabox]  # inherited or not
    count = len(envelope.get("signers", []))
    boxes = signature_boxes(media_box[2] - media_box[0], count)
    return last_page, dict(enumerate(boxes, start=1))


def add_official_signature_fields(document: pikepdf.Pdf, envelope: dict[str, Any]) -> None:
    """Create every official's signature field before the first signature (DOMAIN.md §9);
    a convict's box stays free for a signature-pad image."""
    signers = documents.official_signers(envelope)
    if not signers:
        return
    page, boxes = signer_boxes(document, envelope)
    add_signature_fields(
        document,
        [
            SignatureFieldSpec(documents.signature_field_name(index), page=page, box=boxes[index])
            for index, _ in signers
        ],
    )


@dataclass(frozen=True)
class StepOutcome:
    """A pipeline step's result: the document's status afterwards and, in a batch that signs,
    whose signature comes next (read in the step's own last transaction)."""

    status: str
    next_signer: int | None = None

    @classmethod
    def of(cls, session: Session, document: Document) -> StepOutcome:
        return cls(document.status, batches.next_signature(session, document))


@dataclass(frozen=True)
class DocumentPipeline:
    sessions: sessionmaker[Session]
    store: FileStore
    converter: ConverterPool

    def generate(self, public_id: str) -> StepOutcome:
        """Produce the document. Raises only transient conversion errors (for the caller to
        retry)."""
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return StepOutcome("missing")
            if document.status != documents.DocumentStatus.requested:
                return StepOutcome.of(session, document)
            type_id, envelope_json, data_json = document.type_id, document.envelope, document.data
            template_sha = document.template_version

        try:
            kind, envelope, data = validate(type_id, envelope_json, data_json)
            source = self._template(type_id, template_sha)
            docx = render_validated(kind, envelope, data, source)
            pdf = self.converter.convert(docx)
            pdf = apply_pdflt_metadata(
                pdf,
                pdflt_metadata(kind, envelope),
                lambda document: add_official_signature_fields(document, envelope_json),
            )
            ensure_pdfa(pdf, require_recipients=bool(envelope.recipients))
        except TRANSIENT_CONVERSION_ERRORS:
            raise
        except (
            TemplateError,
            ConversionError,
            PdfLtMetadataError,
            PdfACheckFailed,
            StorageError,
            SigningError,
        ) as error:
            return StepOutcome(
                self.fail(public_id, getattr(error, "code", type(error).__name__), str(error))
            )

        try:
            sha256 = self.store.put(pdf)
        except StorageFull as error:
            # Still requested: the re-enqueue sweep makes it once space is freed.
            log.warning("document %s waits: %s", public_id, error.code)
            with transaction(self.sessions) as session:
                document = documents.load_for_generation(session, public_id)
                if document is None:
                    return StepOutcome("missing")
                if document.status == documents.DocumentStatus.requested:
                    documents.record_step_failure(document, error.code, str(error))
                return StepOutcome(document.status)
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return StepOutcome("missing")
            if document.status == documents.DocumentStatus.requested:
                documents.mark_generated(document, sha256, len(pdf), utcnow())
            return StepOutcome.of(session, document)

    def fail(self, public_id: str, code: str, message: str) -> str:
        log.warning("document %s failed: %s", public_id, code)
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return "missing"
            if document.status == documents.DocumentStatus.requested:
                documents.mark_failed(document, code, message[:500])
            return document.status

    def _template(self, type_id: str, template_sha: str) -> bytes:
        shipped = template_bytes(type_id)
        if template_version(shipped) == template_sha:
            return shipped
        return self.store.get(template_sha)


@dataclass(frozen=True)
class DocumentSigner:
    """Signs a document's next signature field with the signer's configured key (PAdES B-LTA).

    Idempotent by (document, signer): a signature already recorded is not made again. With no
    TSA answering nothing is signed; the failure is recorded and the caller retries later.
    """

    sessions: sessionmaker[Session]
    store: FileStore
    runtime: SigningRuntime

    def sign(self, public_id: str, index: int) -> StepOutcome:
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return StepOutcome("missing")
            if any(s["index"] == index for s in document.signatures):
                return StepOutcome.of(session, document)
            signer_entry = dict(document.envelope["signers"][index - 1])
            author_code = document.envelope["author"]["code"]
            title = document.envelope.get("title") or document_type(document.type_id).title
            current = document.pdf_sha256
        if current is None:
            return StepOutcome("missing")
        pdf = self.store.get(current)
        key = self.runtime.signer_for(author_code, signer_entry["role"])
        role = signer_entry.get("position") or signer_entry["role"]
        request = SignatureRequest(
            field_name=documents.signature_field_name(index),
            reason=f"{title}: pasirašo {signer_entry['full_name']}",
            role=role,
        )
        try:
            signed = self.runtime.service.sign_pades(pdf, key, request)
        except SIGNING_UNAVAILABLE:
            raise
        except SigningError as error:
            return StepOutcome(self.record_failure(public_id, error.code, str(error)))
        try:
            sha256 = self.store.put(signed)
        except StorageFull as error:
            return StepOutcome(self.record_failure(public_id, error.code, str(error)))
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return StepOutcome("missing")
            if not any(s["index"] == index for s in document.signatures):
                documents.record_signature(
                    document, index, key.signer_name, role, sha256, len(signed)
                )
            return StepOutcome.of(session, document)

    def record_failure(self, public_id: str, code: str, message: str) -> str:
        log.warning("signing %s failed: %s", public_id, code)
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return "missing"
            documents.record_step_failure(document, code, message)
            return document.status


SCAN_SEAL_FIELD = "e-spaudas"
SCAN_SEAL_ROLE = "e-seal"


@dataclass(frozen=True)
class AcknowledgementRecorder:
    """Records a convict's acknowledgement: a pad image placed in the PDF, or a hand-signed
    paper's scan sealed with the author institution's e-seal. Idempotent by document."""

    sessions: sessionmaker[Session]
    store: FileStore
    runtime: SigningRuntime

    def record(self, public_id: str, kind: str, upload_sha256: str) -> str:
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return "missing"
            if document.acknowledgement is not None:
                return document.status
            envelope = dict(document.envelope)
            current = document.pdf_sha256
        upload = self.store.get(upload_sha256)
        try:
            if kind == documents.AcknowledgementKind.signature_pad:
                if current is None:
                    return "missing"
                position = documents.convict_position(envelope)
                pdf = self.store.get(current)
                with pikepdf.open(io.BytesIO(pdf), inherit_page_attributes=False) as opened:
                    page, boxes = signer_boxes(opened, envelope)
                placed = place_signature_image(pdf, upload, page=page, box=boxes[position or 1])
                changes: dict[str, Any] = {
                    "pdf_sha256": self.store.put(placed),
                    "pdf_size": len(placed),
                }
            else:
                seal = self.runtime.signer_for(envelope["author"]["code"], SCAN_SEAL_ROLE)
                sealed = self.runtime.service.sign_pades(
                    upload,
                    seal,
                    SignatureRequest(
                        field_name=SCAN_SEAL_FIELD,
                        reason="Ranka pasirašyto dokumento skenuota kopija",
                        new_field=SignatureFieldSpec(SCAN_SEAL_FIELD),
                    ),
                )
                changes = {"scan_sha256": self.store.put(sealed)}
        except TimestampUnavailable:
            raise
        except (SigningError, StorageFull) as error:
            with transaction(self.sessions) as session:
                document = documents.load_for_generation(session, public_id)
                if document is not None:
                    documents.record_step_failure(document, error.code, str(error))
            return "failed"
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return "missing"
            if document.acknowledgement is None:
                documents.record_acknowledgement(
                    document, documents.AcknowledgementKind(kind), **changes
                )
            return document.status
