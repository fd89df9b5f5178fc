"""/v1/verify and /v1/documents/{id}/verification: the archivist's verification report.

The report's form is chosen by the ``Accept`` header (RFC 9110 content negotiation, q-values
honoured, ties go to JSON): ``application/json`` (default, also for a missing Accept or
``*/*``), ``application/xml`` (ETSI TS 119 102-2) or ``text/html`` (Lithuanian, for people).
Any other Accept is answered 406 before anything is read or verified.

Verification runs in the supervised worker processes of one :class:`Verifier` per app,
created at the first request and kept on ``app.state``; :func:`close_verifier` stops them
(call it from the app's lifespan at shutdown).

A PDF that is not verified at all (:class:`VerificationRefused`) is a problem+json document
with the refusal's ``reason`` and ``limit``: 413 for ``too_large``, 422 for a file that is not
a (readable) PDF, 503 when a time or memory limit or the worker gave out.

With ``TILTAS_TRUSTED_LIST_FILE`` set, the trusted list is read and its XML signature verified
before the first verification; a list that is refused (unsigned, changed after signing, signed
by a key not configured) makes every verification a 503 problem ``trusted_list_refused`` with
the refusal's ``reason`` until the configuration is fixed: reports without the list would
silently say nobody is qualified.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import State

from api.deps import Database, DatabaseDep, PrincipalDep, SettingsDep, require_role
from api.errors import problem
from signing.dev_pki import ensure_dev_pki
from signing.errors import TrustedListError, VerificationRefused
from signing.key_file import load_key_file
from signing.keys import load_certificates
from signing.report_html import validation_report_html
from signing.report_xml import validation_report_xml
from signing.trusted_list import TrustedList, load_trusted_list
from signing.verification import VerificationPolicy, VerificationReport, Verifier
from tiltas import documents
from tiltas.access import CASE_ROLES, Role
from tiltas.apikeys import Principal
from tiltas.settings import Settings
from tiltas.storage import FileStore

router = APIRouter(tags=["verification"])

PDF_MEDIA_TYPE = "application/pdf"

VERIFICATION_MAX_BYTES = 64 * 1024 * 1024
"""Largest PDF verified (the policy's ``max_input_bytes``). The app-wide body limit
(``TILTAS_MAX_BODY_BYTES``) applies first to uploads, so an upload is refused above the
smaller of the two."""

VERIFIER_WORKERS = 2
"""Verifications that run at once per app process; more requests wait for a free worker."""

STATUS_BY_REFUSAL = {
    "too_large": 413,
    "not_pdf": 422,
    "malformed": 422,
    "encrypted": 422,
    "too_many_objects": 422,
    "decompression_limit": 422,
    "time_limit": 503,
    "memory_limit": 503,
    "worker_failed": 503,
}
_TITLE_BY_STATUS = {
    413: "PDF too large to verify",
    422: "PDF cannot be verified",
    503: "Verification did not finish",
}

VERIFIERS_ALLOWED = frozenset({Role.archivist, *CASE_ROLES})


class ReportFormat(StrEnum):
    """The forms of a report, in the order preferred when the client accepts several equally."""

    json = "application/json"
    xml = "application/xml"
    html = "text/html"


AcceptHeader = Annotated[
    str | None,
    Header(description="application/json (default), application/xml or text/html"),
]

_REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The verification report in the form the Accept header asked for",
        "content": {"application/json": {}, "application/xml": {}, "text/html": {}},
    },
    406: {"description": "Accept names none of application/json, application/xml, text/html"},
    413: {"description": "The PDF is larger than verification allows"},
    422: {"description": "Not a PDF, or a PDF that cannot be read (encrypted, malformed, ...)"},
    503: {
        "description": "Verification exceeded its time or memory limit, or the configured "
        "trusted list was refused (problem type trusted_list_refused)"
    },
}


# -- trust anchors and the verifier -----------------------------------------------------------


def trust_root_paths(settings: Settings) -> tuple[Path, ...]:
    """The trust anchors of this deployment: the development PKI's root in development, the
    key file's ``trust_roots`` in production (the same roots the signing workers use)."""
    if settings.uses_dev_pki:
        return (ensure_dev_pki(settings.resolved_dev_pki_dir).root_cert_path,)
    assert settings.signing_keys_file is not None
    return load_key_file(settings.signing_keys_file).trust_roots


def trusted_list_for(settings: Settings) -> TrustedList | None:
    """The configured trusted list, its signature verified (``None`` when none is configured).

    :raises TrustedListError: the list or its signing certificates cannot be read, or the list
        is refused (``reason``: ``unsigned``, ``tampered``, ``signer_not_trusted``, ...).
    """
    if settings.trusted_list_file is None:
        return None
    try:
        certificates = load_certificates(settings.trusted_list_signing_certificates)
    except (OSError, ValueError) as error:
        raise TrustedListError(
            "a trusted-list signing certificate file cannot be read",
            source=settings.trusted_list_file.name,
            reason="bad_signing_certificate",
        ) from error
    return load_trusted_list(
        settings.trusted_list_file,
        signing_certificates=[certificate.dump() for certificate in certificates],
        allow_unsigned=settings.trusted_list_allow_unsigned,
    )


@cache
def verification_policy_for(settings: Settings) -> VerificationPolicy:
    """:raises TrustedListError: the configured trusted list is refused (not cached)."""
    return VerificationPolicy.from_files(
        trust_root_paths(settings),
        max_input_bytes=VERIFICATION_MAX_BYTES,
        trusted_list=trusted_list_for(settings),
    )


_verifier_lock = threading.Lock()


def verifier_of(app: FastAPI) -> Verifier:
    """The app's verifier, started at first use."""
    state: State = app.state
    with _verifier_lock:
        verifier: Verifier | None = getattr(state, "verifier", None)
        if verifier is None:
            verifier = Verifier(workers=VERIFIER_WORKERS)
            state.verifier = verifier
        return verifier


def close_verifier(app: FastAPI) -> None:
    """Stop the app's verification worker processes, if any were started."""
    with _verifier_lock:
        verifier: Verifier | None = getattr(app.state, "verifier", None)
        app.state.verifier = None
    if verifier is not None:
        verifier.close()


# -- content negotiation and responses --------------------------------------------------------


def negotiate_report_format(accept: str | None) -> ReportFormat | None:
    """The report form the ``Accept`` header prefers; ``None`` when it accepts none of them."""
    if accept is None or not accept.strip():
        return ReportFormat.json
    ranges: list[tuple[str, float]] = []
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        if not media_range:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((media_range.lower(), quality))

    def quality_of(offer: ReportFormat) -> float:
        # The most specific matching range decides (RFC 9110 §12.5.1).
        kind = offer.value.split("/")[0]
        for candidate in (offer.value, f"{kind}/*", "*/*"):
            qualities = [q for media_range, q in ranges if media_range == candidate]
            if qualities:
                return max(qualities)
        return 0.0

    best = max(ReportFormat, key=quality_of)  # max keeps the first of equals: JSON first
    return best if quality_of(best) > 0 else None


def _not_acceptable() -> JSONResponse:
    return problem(
        406,
        "not_acceptable",
        "the report is available as " + ", ".join(f.value for f in ReportFormat),
        title="Not acceptable",
        headers={"Vary": "Accept"},
    )


def refusal_problem(refused: VerificationRefused) -> JSONResponse:
    """problem+json for a PDF that was not verified; ``reason`` says why, ``limit`` the bound."""
    status = STATUS_BY_REFUSAL.get(refused.reason, 422)
    return problem(
        status,
        "verification_refused",
        refused.message,
        title=_TITLE_BY_STATUS[status],
        reason=refused.reason,
        limit=refused.limit,
    )


def trusted_list_problem(refused: TrustedListError) -> JSONResponse:
    """503 problem+json: verification is unavailable while the configured list is refused."""
    return problem(
        503,
        "trusted_list_refused",
        f"the configured trusted list {refused.source} was refused: {refused.message}",
        title="Verification unavailable",
        reason=refused.reason,
    )


def report_response(report: VerificationReport, report_format: ReportFormat) -> Response:
    # The verdict depends on the time of validation: never serve it from a cache.
    headers = {"Vary": "Accept", "Cache-Control": "no-store"}
    if report_format is ReportFormat.xml:
        return Response(
            validation_report_xml(report), media_type=ReportFormat.xml.value, headers=headers
        )
    if report_format is ReportFormat.html:
        return HTMLResponse(validation_report_html(report), headers=headers)
    return JSONResponse(report.to_json(), headers=headers)


async def _verify(request: Request, settings: Settings, pdf: bytes) -> VerificationReport:
    policy = await run_in_threadpool(verification_policy_for, settings)
    return await verifier_of(request.app).async_verify(pdf, policy)


# -- routes -------------------------------------------------------------------------------


@router.post(
    "/v1/verify",
    response_class=Response,
    responses={**_REPORT_RESPONSES, 415: {"description": "The body is not application/pdf"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def verify_uploaded_pdf(
    request: Request,
    principal: PrincipalDep,
    settings: SettingsDep,
    content_type: Annotated[str | None, Header(include_in_schema=False)] = None,
    accept: AcceptHeader = None,
) -> Response:
    """Verify any PDF (the raw body, ``Content-Type: application/pdf``) for archivists and
    every case role: the overall ETSI EN 319 102-1 indication, each signature's chain,
    revocation data, timestamps and LTV level, and when the archive timestamp must be renewed.
    The form follows ``Accept``: JSON (default), ETSI TS 119 102-2 XML or Lithuanian HTML."""
    require_role(principal, *VERIFIERS_ALLOWED)
    if (content_type or "").split(";")[0].strip().lower() != PDF_MEDIA_TYPE:
        return problem(415, "unsupported_media_type", f"send the PDF as {PDF_MEDIA_TYPE}")
    report_format = negotiate_report_format(accept)
    if report_format is None:
        return _not_acceptable()
    pdf = await request.body()
    try:
        report = await _verify(request, settings, pdf)
    except VerificationRefused as refused:
        return refusal_problem(refused)
    except TrustedListError as refused:
        return trusted_list_problem(refused)
    return report_response(report, report_format)


def _stored_pdf(
    database: Database, settings: Settings, principal: Principal, document_id: str
) -> bytes:
    with database.transaction() as session:
        # Same visibility as reading the document; the read is audited as "verification".
        document = documents.read_document(session, principal, document_id, purpose="verification")
        if document.pdf_sha256 is None:
            raise documents.DocumentNotReady(document.public_id, document.status)
        sha256 = document.pdf_sha256
    return FileStore(settings.documents_dir).get(sha256)


@router.get(
    "/v1/documents/{document_id}/verification",
    response_class=Response,
    responses={**_REPORT_RESPONSES, 404: {"description": "No such document visible to you"}},
)
async def verify_stored_document(
    request: Request,
    document_id: str,
    principal: PrincipalDep,
    database: DatabaseDep,
    settings: SettingsDep,
    accept: AcceptHeader = None,
) -> Response:
    """The verification report of one of our documents, for whoever may read the document
    (others get 404). Same forms as ``POST /v1/verify``; 409 while it has no PDF yet."""
    report_format = negotiate_report_format(accept)
    if report_format is None:
        return _not_acceptable()
    pdf = await run_in_threadpool(_stored_pdf, database, settings, principal, document_id)
    try:
        report = await _verify(request, settings, pdf)
    except VerificationRefused as refused:
        return refusal_problem(refused)
    except TrustedListError as refused:
        return trusted_list_problem(refused)
    return report_response(report, report_format)
