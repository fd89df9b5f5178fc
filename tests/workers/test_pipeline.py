"""The document pipeline on every type with real LibreOffice: render → PDF/A-2b → PDF-LT → checks."""

from __future__ import annotations

import dataclasses
import io
import uuid
import zipfile
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

from templates.pdfa import check_pdfa
from templates.rendering import template_bytes, template_version
from templates.schemas import DocumentTypeId
from templates.types import sample
from tests.support.documents import pdf_text
from tests.support.factories import World
from tiltas.db import transaction
from tiltas.documents import input_sha256
from tiltas.models import Document, Organisation
from tiltas.settings import Settings
from tiltas.storage import FileStore
from workers.pipeline import DocumentPipeline
from workers.tasks import converter_for


@pytest.fixture
def pipeline(world: World, settings: Settings, converter_profiles: Path) -> DocumentPipeline:
    pool_settings = settings.model_copy(update={"converter_profile_dir": converter_profiles})
    database = world.client.app.state.database  # type: ignore[attr-defined]
    return DocumentPipeline(
        database.sessions, FileStore(settings.documents_dir), converter_for(pool_settings)
    )


def _request(pipeline: DocumentPipeline, type_id: str, *, template: str | None = None) -> str:
    envelope, data = sample(type_id)
    envelope_json, data_json = envelope.model_dump(mode="json"), data.model_dump(mode="json")
    public_id = str(uuid.uuid4())
    with transaction(pipeline.sessions) as session:
        author = session.scalars(select(Organisation)).first()
        assert author is not None
        session.add(
            Document(
                public_id=public_id, type_id=type_id, author_organisation_id=author.id, status="requested",
                envelope=envelope_json, data=data_json, input_sha256=input_sha256(envelope_json, data_json),
                template_version=template or template_version(template_bytes(type_id)),
            )
        )  # fmt: skip
    return public_id


def _document(pipeline: DocumentPipeline, public_id: str) -> Document:
    with transaction(pipeline.sessions) as session:
        document = session.scalar(select(Document).where(Document.public_id == public_id))
        assert document is not None
        return document


@pytest.mark.parametrize("type_id", [t.value for t in DocumentTypeId])
def test_every_type_becomes_a_checked_pdfa(
    pipeline: DocumentPipeline, type_id: str, tmp_path: Path
) -> None:
    public_id = _request(pipeline, type_id)
    assert pipeline.generate(public_id).status == "generated"
    document = _document(pipeline, public_id)
    pdf = pipeline.store.get(document.pdf_sha256 or "")
    envelope, _ = sample(type_id)
    assert check_pdfa(pdf, require_recipients=bool(envelope.recipients)) == ()
    text = pdf_text(pdf, tmp_path)
    assert any(letter in text for letter in "ąčęėįšųūžĄČĘĖĮŠŲŪŽ")
    assert document.pdf_size == len(pdf)


def test_generation_is_idempotent(pipeline: DocumentPipeline) -> None:
    public_id = _request(pipeline, "A")
    assert pipeline.generate(public_id).status == "generated"
    first = _document(pipeline, public_id)
    assert pipeline.generate(public_id).status == "generated"
    again = _document(pipeline, public_id)
    assert again.version == first.version and again.pdf_sha256 == first.pdf_sha256


def test_missing_template_version_fails_the_document(pipeline: DocumentPipeline) -> None:
    public_id = _request(pipeline, "A", template="0" * 64)
    assert pipeline.generate(public_id).status == "failed"
    document = _document(pipeline, public_id)
    assert document.pdf_sha256 is None
    assert document.failure is not None and document.failure["code"] == "stored_file_missing"


def test_a_document_requested_before_an_upgrade_is_made_with_its_template(
    pipeline: DocumentPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    public_id = _request(pipeline, "A")  # this release's template; the API stored it at start
    upgraded = _rezipped(template_bytes("A"))  # the next release ships other bytes
    monkeypatch.setattr("workers.pipeline.template_bytes", lambda type_id: upgraded)
    assert pipeline.generate(public_id).status == "generated"


def _rezipped(package: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(package))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_STORED) as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
    assert output.getvalue() != package
    return output.getvalue()


class _PlainPdfConverter:
    """Stands in for LibreOffice and returns a PDF that is not PDF/A (no fonts, no Lang)."""

    def convert(self, docx: bytes, *, timeout: float | None = None) -> bytes:
        pdf = pikepdf.new()
        pdf.add_blank_page()
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def test_a_failing_pdfa_check_stores_nothing(pipeline: DocumentPipeline) -> None:
    broken = dataclasses.replace(pipeline, converter=_PlainPdfConverter())  # type: ignore[arg-type]
    public_id = _request(pipeline, "A")
    stored_before = set(pipeline.store.root.rglob("*"))  # the shipped templates
    assert broken.generate(public_id).status == "failed"
    document = _document(pipeline, public_id)
    assert document.pdf_sha256 is None
    assert document.failure is not None and document.failure["code"] == "pdfa_check_failed"
    assert set(pipeline.store.root.rglob("*")) == stored_before
