"""Producing a requested document: render → convert (PDF/A-2b) → PDF-LT metadata → checks → store.

Idempotent by document id: a document that is no longer ``requested`` is left alone, the
file store is content-addressed, and the state changes under a row lock, so a task that
runs twice (at-least-once delivery) produces one document.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

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
from templates.rendering import render_validated, template_bytes, validate
from templates.schemas import Envelope
from templates.types import DocumentType, TemplateError
from tiltas import documents
from tiltas.db import transaction
from tiltas.models import utcnow
from tiltas.storage import FileStore, StorageError

log = logging.getLogger("tiltas.pipeline")

TRANSIENT_CONVERSION_ERRORS = (ConverterBusy, ConverterTimeout, ConverterCrashed)
"""Worth another try later; every other failure is final for this input."""


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


@dataclass(frozen=True)
class DocumentPipeline:
    sessions: sessionmaker[Session]
    store: FileStore
    converter: ConverterPool

    def generate(self, public_id: str) -> str:
        """Produce the document; returns its status afterwards. Raises only transient
        conversion errors (for the caller to retry)."""
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return "missing"
            if document.status != documents.DocumentStatus.requested:
                return document.status
            type_id, envelope_json, data_json = document.type_id, document.envelope, document.data
            template_sha = document.template_version

        try:
            kind, envelope, data = validate(type_id, envelope_json, data_json)
            source = self._template(type_id, template_sha)
            docx = render_validated(kind, envelope, data, source)
            pdf = self.converter.convert(docx)
            pdf = apply_pdflt_metadata(pdf, pdflt_metadata(kind, envelope))
            ensure_pdfa(pdf, require_recipients=bool(envelope.recipients))
        except TRANSIENT_CONVERSION_ERRORS:
            raise
        except (
            TemplateError,
            ConversionError,
            PdfLtMetadataError,
            PdfACheckFailed,
            StorageError,
        ) as error:
            return self._fail(public_id, getattr(error, "code", type(error).__name__), str(error))

        sha256 = self.store.put(pdf)
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, public_id)
            if document is None:
                return "missing"
            if document.status == documents.DocumentStatus.requested:
                documents.mark_generated(document, sha256, len(pdf), utcnow())
            return document.status

    def fail(self, public_id: str, code: str, message: str) -> str:
        return self._fail(public_id, code, message)

    def _fail(self, public_id: str, code: str, message: str) -> str:
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
        from templates.rendering import template_version

        if template_version(shipped) == template_sha:
            return shipped
        return self.store.get(template_sha)
