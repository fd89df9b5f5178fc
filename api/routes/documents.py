"""/v1/documents and /v1/document-types: ask for a document, follow it, download its PDF;
read the types' schemas; upload new template versions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import DatabaseDep, IdempotencyKey, PrincipalDep, SettingsDep, require_role
from api.idempotent import run_post
from api.queue import enqueue, enqueue_stored
from templates.questionnaire import IncompleteQuestionnaire, summarise
from templates.rendering import template_bytes, template_version, validate
from templates.schemas import (
    Annex,
    DocumentTypeId,
    Preparer,
    Recipient,
    Registration,
    RelatedDocument,
    Signer,
)
from templates.template_check import TemplateProblem, check_template
from templates.types import DOCUMENT_TYPES, TemplateRejected, document_type, sample
from tiltas import documents
from tiltas.access import CASELESS_DOCUMENTS, DOCUMENT_AUTHORS, DOCUMENT_SECTION, Role
from tiltas.apikeys import Principal
from tiltas.errors import FieldProblem, InvalidInput
from tiltas.idempotency import StoredResponse
from tiltas.messaging import GENERATE_DOCUMENT, RECORD_ACKNOWLEDGEMENT, SIGN_DOCUMENT
from tiltas.models import Document
from tiltas.settings import Settings
from tiltas.storage import FileStore

router = APIRouter(tags=["documents"])

_T = TypeVar("_T")

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class EnvelopeInput(BaseModel):
    """The envelope fields the caller gives; the author (your organisation), the subject (from
    the case) and the document type are filled in by the service."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = None
    registration: Registration | None = None
    place: str | None = None
    recipients: list[Recipient] = Field(default_factory=list, max_length=20)
    signers: list[Signer] = Field(min_length=1, max_length=20)
    annexes: list[Annex] = Field(default_factory=list, max_length=50)
    preparer: Preparer | None = None
    related_documents: list[RelatedDocument] = Field(default_factory=list, max_length=20)


class DocumentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: DocumentTypeId
    case_id: str | None = Field(
        default=None, description="Required except for lists C and reports M"
    )
    envelope: EnvelopeInput
    data: dict[str, Any] = Field(description="The type's own data: see GET /v1/document-types/{id}")


class DocumentPublic(BaseModel):
    id: str
    type: str
    case_id: str | None
    status: str
    version: int
    created_at: dt.datetime
    generated_at: dt.datetime | None
    template_version: str
    input_sha256: str
    pdf_sha256: str | None
    pdf_size: int | None
    failure: dict[str, str] | None
    signatures: list[dict[str, Any]]
    next_signer: int | None
    """1-based position in the envelope's signers of who signs next; None when all signed."""
    signed_at: dt.datetime | None
    acknowledgement: dict[str, Any] | None = None
    questionnaire_summary: dict[str, Any] | None = None


def document_view(document: Document, case_public_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": document.public_id,
        "type": document.type_id,
        "case_id": case_public_id,
        "status": document.status,
        "version": document.version,
        "created_at": document.created_at,
        "generated_at": document.generated_at,
        "template_version": document.template_version,
        "input_sha256": document.input_sha256,
        "pdf_sha256": document.pdf_sha256,
        "pdf_size": document.pdf_size,
        "failure": document.failure,
        "signatures": document.signatures,
        "next_signer": None
        if document.status == documents.DocumentStatus.requested
        else documents.next_signer(document),
        "signed_at": document.signed_at,
        "acknowledgement": document.acknowledgement,
    }
    if document.type_id == DocumentTypeId.H:
        body["questionnaire_summary"] = _questionnaire_summary(document.data)
    return DocumentPublic.model_validate(body).model_dump(mode="json")


def _questionnaire_summary(data: dict[str, Any]) -> dict[str, Any] | None:
    # Counts per part and every N answer word for word; never a verdict (DOMAIN.md §4).
    try:
        summary = summarise(data.get("marked", []))
    except IncompleteQuestionnaire:
        return None
    return dataclasses.asdict(summary)


@router.get("/v1/document-types")
def list_document_types(principal: PrincipalDep) -> list[dict[str, Any]]:
    return [
        {
            "id": kind.id.value,
            "title": kind.title,
            "requires_case": kind.id.value not in CASELESS_DOCUMENTS,
            "authors": sorted(r.value for r in DOCUMENT_AUTHORS[kind.id.value]),
            "section": DOCUMENT_SECTION[kind.id.value].value,
        }
        for kind in DOCUMENT_TYPES.values()
    ]


@router.get("/v1/document-types/{type_id}")
def read_document_type(type_id: str, principal: PrincipalDep) -> dict[str, Any]:
    kind = document_type(type_id)
    envelope, data = sample(kind.id)
    return {
        "id": kind.id.value,
        "title": kind.title,
        "requires_case": kind.id.value not in CASELESS_DOCUMENTS,
        "authors": sorted(r.value for r in DOCUMENT_AUTHORS[kind.id.value]),
        "data_schema": kind.schema.model_json_schema(),
        "envelope_schema": EnvelopeInput.model_json_schema(),
        "example": {
            "type": kind.id.value,
            "envelope": envelope.model_dump(
                mode="json", exclude={"author", "subject", "document_type"}, exclude_none=True
            ),
            "data": data.model_dump(mode="json"),
        },
    }


def request_checked_document(
    session: Any,
    principal: Principal,
    body: DocumentCreate,
    lookups: documents.RequestLookups | None = None,
) -> Document:
    """Check everything (bad input is a 422 and nothing is stored), then store the request.
    Documents asked for together share ``lookups``."""
    lookups = lookups or documents.RequestLookups(session, principal)
    type_id = body.type.value
    documents.check_may_author(principal, type_id, body.case_id)
    case = None
    envelope: dict[str, Any] = body.envelope.model_dump(mode="json", exclude_none=True)
    envelope["document_type"] = type_id
    envelope["author"] = lookups.author()
    if body.case_id is not None:
        case, envelope["subject"] = lookups.subject(body.case_id)
    _kind, checked_envelope, checked_data = validate(type_id, envelope, body.data)
    envelope_json = checked_envelope.model_dump(mode="json")
    data_json = checked_data.model_dump(mode="json")
    active = lookups.active_template(type_id)
    version = active or template_version(template_bytes(type_id))
    return documents.request_document(
        session, principal, type_id, case, envelope_json, data_json, version
    )


async def poll(database: Any, seconds: float, look: Callable[[Any], tuple[bool, _T]]) -> _T:
    """What ``look`` finds once it says it is done, or at the end of ``seconds`` (a worker is
    doing the work; each look is its own transaction, in the thread pool). The waits between
    looks hold no thread: the pool is small (``Settings.api_threads``), and requests waiting
    for a worker must not keep the others out of it."""
    deadline = time.monotonic() + seconds

    def look_once() -> tuple[bool, _T]:
        with database.transaction() as session:
            return look(session)

    while True:
        done, found = await run_in_threadpool(look_once)
        if done or time.monotonic() >= deadline:
            return found
        await anyio.sleep(0.05)


async def wait_for_document(
    database: Any, public_id: str, seconds: float, done: Callable[[Document], bool]
) -> Document:
    def look(session: Any) -> tuple[bool, Document]:
        document = documents.by_public_id(session, public_id)
        return done(document), document

    return await poll(database, seconds, look)


@router.post("/v1/documents", status_code=201, response_model=DocumentPublic)
async def create_document(
    request: Request,
    body: DocumentCreate,
    principal: PrincipalDep,
    database: DatabaseDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Ask for a document: it is rendered, converted to PDF/A-2b, checked and stored by a
    worker. The answer is 201 with the document when that finished within the wait, else 202;
    follow ``Location`` either way."""

    def perform(session: Any) -> StoredResponse:
        document = request_checked_document(session, principal, body)
        return StoredResponse(
            202,
            document_view(document, body.case_id),
            {"Location": f"/v1/documents/{document.public_id}"},
        )

    def request_it() -> tuple[JSONResponse, bool]:
        documents.check_may_author(principal, body.type.value, body.case_id)
        response = run_post(
            database,
            principal,
            idempotency_key,
            ("POST", "/v1/documents", body.model_dump(mode="json")),
            perform,
        )
        if response.status_code != 202:
            return response, False
        public_id = response.headers["Location"].rsplit("/", 1)[1]
        queued = "Idempotent-Replayed" in response.headers or enqueue_stored(
            request.app.state.producer, GENERATE_DOCUMENT, [public_id]
        )
        return response, queued

    response, queued = await run_in_threadpool(request_it)
    if response.status_code != 202:
        return response
    public_id = response.headers["Location"].rsplit("/", 1)[1]
    document = await wait_for_document(
        database,
        public_id,
        settings.document_wait_s if queued else 0.0,
        lambda d: d.status != documents.DocumentStatus.requested,
    )
    finished = document.status != documents.DocumentStatus.requested
    return JSONResponse(
        document_view(document, body.case_id),
        status_code=201 if finished else 202,
        headers={"Location": f"/v1/documents/{public_id}"},
    )


class SignatureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signer: int | None = Field(
        default=None,
        ge=1,
        description="1-based position in the envelope's signers; default the next",
    )


@router.post("/v1/documents/{document_id}/signatures", response_model=DocumentPublic)
async def sign_document(
    request: Request,
    document_id: str,
    body: SignatureCreate,
    principal: PrincipalDep,
    database: DatabaseDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Sign the document for the next signer with that signer's configured key: PAdES B-LTA
    with a visible stamp, signers strictly in the envelope's order. 200 when the signature is
    made within the wait, else 202 (a TSA outage is retried; the document stays unsigned and
    its ``failure`` says why)."""

    def ask() -> tuple[int, str | None, int]:
        with database.transaction() as session:
            document = documents.read_document(session, principal, document_id, purpose="sign")
            index = body.signer or documents.next_signer(document) or 0
            documents.check_may_sign(principal, document, index)
            case_id = documents.case_public_id(session, document)
            version = document.version
        enqueue(request.app.state.producer, SIGN_DOCUMENT, [document_id, index])
        return index, case_id, version

    index, case_id, version = await run_in_threadpool(ask)
    signed = await wait_for_document(
        database,
        document_id,
        settings.document_wait_s,
        # Signed, or a failure recorded (then the task retries on its own).
        lambda d: d.version != version,
    )
    done = any(s["index"] == index for s in signed.signatures)
    return JSONResponse(
        document_view(signed, case_id),
        status_code=200 if done else 202,
        headers={"Location": f"/v1/documents/{document_id}"},
    )


ACKNOWLEDGEMENT_MEDIA_TYPES = {
    "image/png": documents.AcknowledgementKind.signature_pad,
    "application/pdf": documents.AcknowledgementKind.paper_scan,
}


@router.post(
    "/v1/documents/{document_id}/acknowledgement",
    response_model=DocumentPublic,
    openapi_extra={
        "requestBody": {
            "content": {
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
async def record_acknowledgement(
    request: Request,
    document_id: str,
    principal: PrincipalDep,
    database: DatabaseDep,
    settings: SettingsDep,
) -> JSONResponse:
    """The convict's acknowledgement of E, F or L: a signature-pad image (``image/png``), placed
    in the convict's box before the officer signs, or a scan of the paper signed by hand
    (``application/pdf``), stored with the document and sealed with the institution's e-seal."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip()
    kind = ACKNOWLEDGEMENT_MEDIA_TYPES.get(media_type)
    if kind is None:
        raise InvalidInput(
            [
                FieldProblem(
                    "Content-Type",
                    "send image/png (signature pad) or application/pdf (scan)",
                    "media_type",
                )
            ]
        )
    upload = await request.body()
    if kind is documents.AcknowledgementKind.paper_scan and not upload.startswith(b"%PDF-"):
        raise InvalidInput([FieldProblem("body", "the scan is not a PDF", "not_pdf")])
    if kind is documents.AcknowledgementKind.signature_pad and not upload.startswith(b"\x89PNG"):
        raise InvalidInput([FieldProblem("body", "the signature image is not a PNG", "not_png")])
    case_id, version = await run_in_threadpool(
        start_acknowledgement, request, principal, database, settings, document_id, kind, upload
    )
    recorded = await wait_for_document(
        database, document_id, settings.document_wait_s, lambda d: d.version != version
    )
    return JSONResponse(
        document_view(recorded, case_id),
        status_code=200 if recorded.acknowledgement is not None else 202,
        headers={"Location": f"/v1/documents/{document_id}"},
    )


def start_acknowledgement(
    request: Request,
    principal: Principal,
    database: Any,
    settings: Settings,
    document_id: str,
    kind: documents.AcknowledgementKind,
    upload: bytes,
) -> tuple[str | None, int]:
    """Check the acknowledgement may be recorded, store the upload and hand it to a worker;
    returns the document's case id and its version before."""
    with database.transaction() as session:
        document = documents.read_document(
            session, principal, document_id, purpose="acknowledgement"
        )
        documents.check_may_acknowledge(principal, document, kind)
        case_id = documents.case_public_id(session, document)
        version = document.version
    upload_sha256 = FileStore(settings.documents_dir).put(upload)
    enqueue(
        request.app.state.producer, RECORD_ACKNOWLEDGEMENT, [document_id, kind.value, upload_sha256]
    )
    return case_id, version


@router.get(
    "/v1/documents/{document_id}/acknowledgement/scan",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def download_acknowledgement_scan(
    document_id: str, principal: PrincipalDep, database: DatabaseDep, settings: SettingsDep
) -> Response:
    with database.transaction() as session:
        document = documents.read_document(
            session, principal, document_id, purpose="acknowledgement_scan"
        )
        scan = (document.acknowledgement or {}).get("scan_sha256")
        if scan is None:
            raise documents.DocumentNotReady(document.public_id, "no sealed scan")
    return Response(FileStore(settings.documents_dir).get(scan), media_type="application/pdf")


@router.get("/v1/documents/{document_id}", response_model=DocumentPublic)
def read_document(
    document_id: str, principal: PrincipalDep, database: DatabaseDep
) -> dict[str, Any]:
    with database.transaction() as session:
        document = documents.read_document(session, principal, document_id, purpose="metadata")
        return document_view(document, documents.case_public_id(session, document))


@router.get(
    "/v1/documents/{document_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def download_pdf(
    document_id: str, principal: PrincipalDep, database: DatabaseDep, settings: SettingsDep
) -> Response:
    with database.transaction() as session:
        document = documents.read_document(session, principal, document_id, purpose="pdf")
        if document.pdf_sha256 is None:
            raise documents.DocumentNotReady(document.public_id, document.status)
        sha256 = document.pdf_sha256
        filename = f"{document.type_id}-{document.public_id}.pdf"
    pdf = FileStore(settings.documents_dir).get(sha256)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "ETag": f'"{sha256}"',
        },
    )


@router.get("/v1/cases/{case_id}/documents", response_model=list[DocumentPublic])
def list_case_documents(
    case_id: str, principal: PrincipalDep, database: DatabaseDep
) -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [
            document_view(d, case_id)
            for d in documents.list_case_documents(session, principal, case_id)
        ]


def _template_problem(problem: TemplateProblem) -> FieldProblem:
    where = f"{problem.part}#{problem.paragraph}" if problem.paragraph else problem.part
    message = f"{problem.message} ({problem.text})" if problem.text else problem.message
    return FieldProblem(where or "template", message, problem.kind.value)


@router.post("/v1/document-types/{type_id}/templates", status_code=201, tags=["templates"])
def upload_template(
    type_id: str,
    principal: PrincipalDep,
    database: DatabaseDep,
    settings: SettingsDep,
    template: Annotated[bytes, Body(media_type=DOCX_MEDIA_TYPE)],
) -> dict[str, Any]:
    """Upload a new version of a type's DOCX template (administrators). A template with Jinja
    syntax errors, undeclared variables or variables the type's schema lacks is refused with
    the list of problems; an accepted one is used for every document asked for afterwards."""
    require_role(principal, Role.admin)
    kind = document_type(type_id)
    report = check_template(kind.id.value, template)
    if not report.ok:
        raise TemplateRejected([_template_problem(p) for p in report.problems])
    sha256 = FileStore(settings.documents_dir).put(template)
    with database.transaction() as session:
        documents.add_template_version(session, kind.id.value, sha256, principal.key_id)
    return {"type": kind.id.value, "version": sha256, "active": True}


@router.get("/v1/document-types/{type_id}/templates", tags=["templates"])
def list_templates(type_id: str, principal: PrincipalDep, database: DatabaseDep) -> dict[str, Any]:
    kind = document_type(type_id)
    with database.transaction() as session:
        uploaded = documents.template_versions(session, kind.id.value)
        active = next((v.sha256 for v in uploaded if v.active), None)
        shipped = template_version(template_bytes(kind.id.value))
        return {
            "type": kind.id.value,
            "shipped": {"version": shipped, "active": active is None},
            "uploaded": [
                {"version": v.sha256, "uploaded_at": v.uploaded_at, "active": v.active}
                for v in uploaded
            ],
        }
