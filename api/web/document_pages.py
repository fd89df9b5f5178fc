"""Documents: a new one from its type's schema, its page (status, signers, signing, the
convict's acknowledgement on a pad or as a scan, delivery steps), the PDF and its verification.

Each action calls the same domain checks and worker tasks as ``api/routes/documents.py`` and
``api/routes/deliveries.py``; the page answers at once and then waits for the worker by asking
``…/busena`` (the document's version) until it changes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from api.deps import DatabaseDep, SettingsDep, TodayDep
from api.idempotent import REPLAYED_HEADER, run_post
from api.queue import enqueue, enqueue_stored
from api.routes.documents import (
    DocumentCreate,
    EnvelopeInput,
    request_checked_document,
    start_acknowledgement,
)
from api.routes.webhooks import enqueue_deliveries
from api.web import forms, labels
from api.web.rendering import VILNIUS, WebRoute, error_message, page, status_of
from api.web.session import CheckedForm, CurrentUser, WebUser
from api.web.verify_pages import report_page, verify_pdf
from signing.errors import VerificationRefused
from signing.report_xml import validation_report_xml
from templates.questionnaire import (
    ITEMS,
    LABEL_TEXT,
    MATRIX_COLUMN_TEXT,
    SECTIONS,
    Label,
)
from templates.schemas import DocumentTypeId, SignerRole
from templates.types import DOCUMENT_TYPES, DocumentType, document_type
from tiltas import deadline_tracking, delivery, documents, events
from tiltas.apikeys import Principal
from tiltas.errors import FieldProblem, InvalidInput, TiltasError
from tiltas.idempotency import StoredResponse
from tiltas.messaging import GENERATE_DOCUMENT, SIGN_DOCUMENT
from tiltas.models import Document, Organisation
from tiltas.settings import Settings
from tiltas.storage import FileStore

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)

PAD_IMAGE_MAX_BYTES = 2 * 1024 * 1024


# ---------------------------------------------------------------- a new document


def _envelope_spec(kind: DocumentType) -> forms.FormSpec:
    return forms.FormSpec(
        schema=EnvelopeInput.model_json_schema(),
        prefix="envelope",
        initial_rows=False,
        options={
            "envelope.signers.*.role": [
                (role.value, labels.SIGNER_ROLE[role.value]) for role in kind.signer_roles
            ]
        },
    )


def _data_spec(kind: DocumentType) -> forms.FormSpec:
    widgets = {"data.marked": "questionnaire"} if kind.id is DocumentTypeId.H else {}
    return forms.FormSpec(schema=kind.schema.model_json_schema(), prefix="data", widgets=widgets)


def _initial_envelope(kind: DocumentType, subject: dict[str, Any] | None) -> dict[str, Any]:
    roles = kind.required_signer_roles or kind.signer_roles[:1]
    signers = []
    for role in roles:
        signer: dict[str, Any] = {"role": role.value}
        if role is SignerRole.convict and subject is not None:
            signer["full_name"] = subject["full_name"]
        signers.append(signer)
    return {"signers": signers}


def _document_form(
    request: Request,
    user: WebUser,
    kind: DocumentType,
    case_id: str | None,
    subject: dict[str, Any] | None,
    values: dict[str, Any],
    problems: list[FieldProblem],
    idempotency_key: str,
    *,
    initial: bool = False,
    status_code: int = 200,
) -> Response:
    envelope_spec, data_spec = _envelope_spec(kind), _data_spec(kind)
    envelope_values = values.get("envelope", {})
    data_values = values.get("data", {})
    drawn = [
        *forms.build_form(envelope_spec, envelope_values, initial=initial),
        *forms.build_form(data_spec, data_values, initial=initial),
    ]
    item_names = [f"data.marked.{item.id}" for item in ITEMS]
    by_field, shown = forms.place_problems(problems, drawn, item_names)
    return page(
        request,
        "document_new.html",
        user,
        status_code=status_code,
        kind=kind,
        case_id=case_id,
        subject=subject,
        envelope_fields=forms.build_form(envelope_spec, envelope_values, by_field, initial=initial),
        data_fields=forms.build_form(data_spec, data_values, by_field, initial=initial),
        problems=shown,
        idempotency_key=idempotency_key,
        questionnaire={
            "sections": SECTIONS,
            "marked": set(data_values.get("marked", []) or []),
            "errors": by_field,
            "matrix_columns": [(label, MATRIX_COLUMN_TEXT[label]) for label in Label],
            "label_text": LABEL_TEXT,
        },
    )


def _subject(session: Session, principal: Principal, case_id: str | None) -> dict[str, Any] | None:
    if case_id is None:
        return None
    _case, subject = documents.subject_of(session, principal, case_id)
    return subject


@router.get("/dokumentai/naujas")
def new_document_form(
    request: Request,
    user: CurrentUser,
    database: DatabaseDep,
    tipas: str,
    byla: str | None = None,
) -> Response:
    kind = document_type(tipas)
    documents.check_may_author(user.principal, kind.id.value, byla)
    with database.transaction() as session:
        subject = _subject(session, user.principal, byla)
    values = {"envelope": _initial_envelope(kind, subject), "data": {}}
    return _document_form(
        request, user, kind, byla, subject, values, [], str(uuid.uuid4()), initial=True
    )


def _check_input(
    kind: DocumentType, values: dict[str, Any]
) -> tuple[EnvelopeInput | None, list[FieldProblem]]:
    """Every problem of the form that can be found without the database."""
    problems: list[FieldProblem] = []
    envelope: EnvelopeInput | None = None
    try:
        envelope = EnvelopeInput.model_validate(values.get("envelope", {}))
    except ValidationError as error:
        problems += forms.problems_of(error, "envelope")
    data = values.get("data", {})
    if kind.id is DocumentTypeId.H:
        problems += forms.questionnaire_problems(data.get("marked", []))
    try:
        kind.schema.model_validate(data)
    except ValidationError as error:
        problems += forms.problems_of(error, "data")
    return envelope, problems


def _without_duplicates(kind: DocumentType, problems: list[FieldProblem]) -> list[FieldProblem]:
    # Questionnaire completeness is told item by item (in Lithuanian) by the form itself.
    if kind.id is not DocumentTypeId.H:
        return problems
    return [p for p in problems if not p.code.startswith("questionnaire_")]


@router.post("/dokumentai/naujas")
def create_document(
    request: Request,
    user: CurrentUser,
    form: CheckedForm,
    database: DatabaseDep,
    tipas: str,
    byla: str | None = None,
) -> Response:
    principal = user.principal
    kind = document_type(tipas)
    type_id = kind.id.value
    documents.check_may_author(principal, type_id, byla)
    posted = forms.FormData([(k, str(v)) for k, v in form.multi_items()])
    idempotency_key = posted.get("idempotency_key") or str(uuid.uuid4())
    action = posted.get("_action")
    values = {
        "envelope": forms.parse_form(_envelope_spec(kind), posted, keep_blank_rows=bool(action)),
        "data": forms.parse_form(_data_spec(kind), posted, keep_blank_rows=bool(action)),
    }
    with database.transaction() as session:
        subject = _subject(session, principal, byla)
    if action:
        forms.apply_action(values, action)
        return _document_form(request, user, kind, byla, subject, values, [], idempotency_key)
    envelope_input, problems = _check_input(kind, values)
    if problems or envelope_input is None:
        return _document_form(
            request, user, kind, byla, subject, values, problems, idempotency_key, status_code=422
        )
    data_values = values["data"]

    def perform(session: Session) -> StoredResponse:
        body = DocumentCreate(type=kind.id, case_id=byla, envelope=envelope_input, data=data_values)
        document = request_checked_document(session, principal, body)
        return StoredResponse(
            202, {"id": document.public_id}, {"Location": f"/web/dokumentai/{document.public_id}"}
        )

    try:
        response = run_post(
            database,
            principal,
            idempotency_key,
            ("POST", "/web/dokumentai/naujas", {"type": type_id, "case": byla, **values}),
            perform,
        )
    except InvalidInput as error:
        return _document_form(
            request,
            user,
            kind,
            byla,
            subject,
            values,
            _without_duplicates(kind, error.problems),
            idempotency_key,
            status_code=422,
        )
    location = response.headers["Location"]
    if REPLAYED_HEADER not in response.headers:
        enqueue_stored(request.app.state.producer, GENERATE_DOCUMENT, [location.rsplit("/", 1)[1]])
    return RedirectResponse(location, 303)


# ---------------------------------------------------------------- a document


def _may(check: Any, *args: Any) -> bool:
    try:
        check(*args)
    except TiltasError:
        return False
    return True


def _document_context(session: Session, principal: Principal, document: Document) -> dict[str, Any]:
    kind = DOCUMENT_TYPES[DocumentTypeId(document.type_id)]
    envelope = document.envelope
    signed = {s["index"]: s for s in document.signatures}
    signers = [
        {
            "index": index,
            "signer": signer,
            "signed": signed.get(index),
            "convict": signer.get("role") == documents.CONVICT_ROLE,
        }
        for index, signer in enumerate(envelope.get("signers", []), start=1)
    ]
    ready = document.status != documents.DocumentStatus.requested
    next_index = documents.next_signer(document) if ready else None
    may_sign = next_index is not None and _may(
        documents.check_may_sign, principal, document, next_index
    )
    acknowledged_type = (
        document.type_id in documents.ACKNOWLEDGED_DOCUMENTS
        and documents.convict_position(envelope) is not None
    )
    kinds = documents.AcknowledgementKind
    steps = delivery.timeline(
        document, delivery.events_by_document(session, [document.id]).get(document.id, [])
    )
    state = delivery.current_state(steps)
    is_author = documents.is_author(principal, document)
    allowed_next = sorted(s.value for s in delivery.TRANSITIONS[state]) if state else []
    author = session.get(Organisation, document.author_organisation_id)
    return {
        "document": document,
        "kind": kind,
        "case_id": documents.case_public_id(session, document),
        "author": author.name if author else "",
        "subject": envelope.get("subject"),
        "signers": signers,
        "next_index": next_index,
        "may_sign": may_sign,
        "acknowledged_type": acknowledged_type,
        "may_pad": acknowledged_type
        and _may(documents.check_may_acknowledge, principal, document, kinds.signature_pad),
        "may_scan": acknowledged_type
        and _may(documents.check_may_acknowledge, principal, document, kinds.paper_scan),
        "steps": steps,
        "delivery_state": state.value if state else None,
        "may_record_delivery": is_author and bool(allowed_next),
        "allowed_next": allowed_next,
        "channels": list(labels.DELIVERY_CHANNEL.items()),
        "delivery_errors": [],
        "delivery_values": {},
        "scan_error": None,
        "idempotency_key": str(uuid.uuid4()),
    }


def _document_page(
    request: Request,
    user: WebUser,
    database: DatabaseDep,
    document_id: str,
    *,
    waiting_for: int | None = None,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    with database.transaction() as session:
        document = documents.read_document(session, user.principal, document_id, purpose="metadata")
        context = _document_context(session, user.principal, document)
    context.update(extra)
    waiting = document.status == documents.DocumentStatus.requested or (
        waiting_for is not None and document.version == waiting_for
    )
    return page(
        request,
        "document.html",
        user,
        status_code=status_code,
        waiting=waiting,
        **context,
    )


@router.get("/dokumentai/{document_id}")
def document_page(
    request: Request,
    document_id: str,
    user: CurrentUser,
    database: DatabaseDep,
    po: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    return _document_page(request, user, database, document_id, waiting_for=po)


@router.get("/dokumentai/{document_id}/busena")
def document_state(document_id: str, user: CurrentUser, database: DatabaseDep) -> JSONResponse:
    """The document's version and status, for the page waiting on a worker: no personal data,
    so not audited; the same visibility as reading the document."""
    with database.transaction() as session:
        document = session.scalar(
            documents.visible_documents(user.principal).where(Document.public_id == document_id)
        )
        if document is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return JSONResponse({"version": document.version, "status": document.status})


@router.get("/dokumentai/{document_id}/pdf")
def download_pdf(
    document_id: str, user: CurrentUser, database: DatabaseDep, settings: SettingsDep
) -> Response:
    with database.transaction() as session:
        document = documents.read_document(session, user.principal, document_id, purpose="pdf")
        if document.pdf_sha256 is None:
            raise documents.DocumentNotReady(document.public_id, document.status)
        sha256 = document.pdf_sha256
        filename = f"{document.type_id}-{document.public_id}.pdf"
    return Response(
        FileStore(settings.documents_dir).get(sha256),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/dokumentai/{document_id}/pasirasyti")
def sign(
    request: Request,
    document_id: str,
    user: CurrentUser,
    form: CheckedForm,
    database: DatabaseDep,
) -> Response:
    with database.transaction() as session:
        document = documents.read_document(session, user.principal, document_id, purpose="sign")
        index = documents.next_signer(document) or 0
        expected = str(form.get("signer", ""))
        if expected and expected != str(index):
            # The page was old: someone else signed meanwhile.
            raise documents.SigningOutOfOrder("the next signer changed", index or None)
        documents.check_may_sign(user.principal, document, index)
        version = document.version
    enqueue(request.app.state.producer, SIGN_DOCUMENT, [document_id, index])
    return RedirectResponse(f"/web/dokumentai/{document_id}?po={version}", 303)


async def _upload(form: Any, name: str, limit: int) -> bytes | None:
    upload = form.get(name)
    if not isinstance(upload, UploadFile):
        return None
    content = await upload.read(limit + 1)
    return content if len(content) <= limit else b""


@router.post("/dokumentai/{document_id}/parasas")
async def signature_pad(
    request: Request,
    document_id: str,
    user: CurrentUser,
    form: CheckedForm,
    database: DatabaseDep,
    settings: SettingsDep,
) -> JSONResponse:
    """The convict's signature drawn on the pad, as a PNG posted by the page's script."""
    image = await _upload(form, "image", PAD_IMAGE_MAX_BYTES)
    if not image or not image.startswith(b"\x89PNG"):
        return JSONResponse({"error": "Parašo paveikslėlis netinkamas."}, status_code=422)
    try:
        _case_id, version = await run_in_threadpool(
            start_acknowledgement,
            request,
            user.principal,
            database,
            settings,
            document_id,
            documents.AcknowledgementKind.signature_pad,
            image,
        )
    except TiltasError as error:
        return JSONResponse({"error": error_message(error)}, status_code=status_of(error))
    return JSONResponse({"redirect": f"/web/dokumentai/{document_id}?po={version}"})


@router.post("/dokumentai/{document_id}/skenuote")
async def paper_scan(
    request: Request,
    document_id: str,
    user: CurrentUser,
    form: CheckedForm,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """The scan of the paper the convict signed by hand (a PDF)."""
    scan = await _upload(form, "scan", settings.max_body_bytes)
    if not scan or not scan.startswith(b"%PDF-"):
        return await run_in_threadpool(
            _document_page,
            request,
            user,
            database,
            document_id,
            status_code=422,
            scan_error="Pasirinkite skenuotą dokumentą PDF formatu.",
        )
    _case_id, version = await run_in_threadpool(
        start_acknowledgement,
        request,
        user.principal,
        database,
        settings,
        document_id,
        documents.AcknowledgementKind.paper_scan,
        scan,
    )
    return RedirectResponse(f"/web/dokumentai/{document_id}?po={version}", 303)


@router.get("/dokumentai/{document_id}/skenuote")
def download_scan(
    document_id: str, user: CurrentUser, database: DatabaseDep, settings: SettingsDep
) -> Response:
    with database.transaction() as session:
        document = documents.read_document(
            session, user.principal, document_id, purpose="acknowledgement_scan"
        )
        scan = (document.acknowledgement or {}).get("scan_sha256")
        if scan is None:
            raise documents.DocumentNotReady(document.public_id, "no sealed scan")
    return Response(
        FileStore(settings.documents_dir).get(scan),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="skenuote-{document_id}.pdf"'},
    )


# ---------------------------------------------------------------- delivery steps


def _delivery_input(form: Any) -> tuple[delivery.DeliveryEventInput | None, list[str]]:
    at_text = str(form.get("at", "")).strip()
    try:
        at = dt.datetime.fromisoformat(at_text).replace(tzinfo=VILNIUS) if at_text else None
    except ValueError:
        return None, ["Įrašykite datą ir laiką."]
    try:
        return (
            delivery.DeliveryEventInput.model_validate(
                {
                    "state": str(form.get("state", "")),
                    "at": at,
                    "channel": str(form.get("channel", "")) or None,
                    "note": str(form.get("note", "")).strip() or None,
                }
            ),
            [],
        )
    except ValidationError as error:
        return None, [forms.lithuanian_message(p) for p in forms.problems_of(error)]


@router.post("/dokumentai/{document_id}/pristatymas")
def record_delivery(
    request: Request,
    document_id: str,
    user: CurrentUser,
    form: CheckedForm,
    database: DatabaseDep,
    today: TodayDep,
) -> Response:
    principal = user.principal
    data, errors = _delivery_input(form)
    values = {name: str(form.get(name, "")) for name in ("state", "at", "channel", "note")}
    if data is None:
        return _document_page(
            request,
            user,
            database,
            document_id,
            status_code=422,
            delivery_errors=errors,
            delivery_values=values,
        )
    made: list[str] = []

    def perform(session: Session) -> StoredResponse:
        # The same steps as POST /v1/documents/{id}/delivery-events.
        event, view = delivery.record_event(session, principal, document_id, data)
        if view.case is not None:
            deadline_tracking.refresh_case(
                session, view.case, cause=deadline_tracking.ChangeCause.delivery, today=today
            )
        made.extend(events.take_new_deliveries(session))
        return StoredResponse(201, {"id": event.public_id}, {})

    try:
        run_post(
            database,
            principal,
            str(form.get("idempotency_key", "")) or None,
            (
                "POST",
                f"/v1/documents/{document_id}/delivery-events",
                data.model_dump(mode="json"),
            ),
            perform,
        )
    except (InvalidInput, delivery.InvalidDeliveryTransition) as error:
        messages = (
            [forms.lithuanian_message(p) for p in error.problems]
            if isinstance(error, InvalidInput)
            else ["Šis žingsnis dabar negalimas."]
        )
        return _document_page(
            request,
            user,
            database,
            document_id,
            status_code=422 if isinstance(error, InvalidInput) else 409,
            delivery_errors=messages,
            delivery_values=values,
        )
    enqueue_deliveries(request, made)
    return RedirectResponse(f"/web/dokumentai/{document_id}#pristatymas", 303)


# ---------------------------------------------------------------- verification


def _stored_pdf(
    database: DatabaseDep, settings: Settings, principal: Principal, document_id: str
) -> tuple[bytes, str]:
    with database.transaction() as session:
        document = documents.read_document(session, principal, document_id, purpose="verification")
        if document.pdf_sha256 is None:
            raise documents.DocumentNotReady(document.public_id, document.status)
        sha256 = document.pdf_sha256
        name = f"{document.type_id}-{document.public_id}"
    return FileStore(settings.documents_dir).get(sha256), name


@router.get("/dokumentai/{document_id}/patikra")
async def verify_document(
    request: Request,
    document_id: str,
    user: CurrentUser,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    pdf, name = await run_in_threadpool(
        _stored_pdf, database, settings, user.principal, document_id
    )
    return await report_page(request, user, settings, pdf, name, document_id=document_id)


@router.get("/dokumentai/{document_id}/patikra.{form}")
async def download_verification(
    request: Request,
    document_id: str,
    form: str,
    user: CurrentUser,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    if form not in ("json", "xml"):
        raise documents.DocumentNotReady(document_id, "no such report form")
    pdf, name = await run_in_threadpool(
        _stored_pdf, database, settings, user.principal, document_id
    )
    try:
        report = await verify_pdf(request, settings, pdf)
    except VerificationRefused as refused:
        raise InvalidInput([FieldProblem("pdf", refused.message, refused.reason)]) from None
    disposition = {"Content-Disposition": f'attachment; filename="{name}.verification.{form}"'}
    if form == "xml":
        return Response(
            validation_report_xml(report), media_type="application/xml", headers=disposition
        )
    return JSONResponse(report.to_json(), headers=disposition)
