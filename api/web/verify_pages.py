"""Verifying a PDF for archivists (and every case role): drop a file, read the verdict in
words — green, amber or red with the reasons — and take the JSON and ETSI XML reports along.

The verification is the API's (``api/routes/verification.py``): the same policy, trust anchors
and supervised worker processes; the words are those of the Lithuanian HTML report
(``signing/report_html.py``). A dropped file is not kept: its reports are handed to the
browser inside the page (``data:`` links), so nothing about it stays on the server.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api.deps import SettingsDep, require_role
from api.routes.verification import (
    VERIFICATION_MAX_BYTES,
    VERIFIERS_ALLOWED,
    verification_policy_for,
    verifier_of,
)
from api.web.rendering import WebRoute, page
from api.web.session import CheckedForm, CurrentUser, WebUser
from signing.errors import TrustedListError, VerificationRefused
from signing.report_html import VERDICT_TEXT, indication_text, verdict_reasons
from signing.report_xml import validation_report_xml
from signing.verification import Indication, SignatureReport, VerificationReport
from tiltas.settings import Settings

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)

VERIFY_PATH = "/web/tikrinti"

_REFUSAL_TEXT = {
    "too_large": "Failas per didelis patikrinti (daugiausia 64 MiB).",
    "not_pdf": "Tai ne PDF failas.",
    "malformed": "PDF failas sugadintas ir jo nepavyko perskaityti.",
    "encrypted": "PDF failas užšifruotas: tokių patikrinti negalima.",
    "too_many_objects": "PDF faile per daug objektų.",
    "decompression_limit": "PDF faile per daug suspaustų duomenų.",
    "time_limit": "Patikra užtruko per ilgai. Bandykite vėliau.",
    "memory_limit": "Patikrai pritrūko atminties.",
    "worker_failed": "Patikra nepavyko. Bandykite vėliau.",
}

_LEVEL_TEXT = {
    "none": "nėra",
    "B-B": "PAdES B-B",
    "B-T": "PAdES B-T",
    "B-LT": "PAdES B-LT",
    "B-LTA": "PAdES B-LTA",
}


async def verify_pdf(request: Request, settings: Settings, pdf: bytes) -> VerificationReport:
    policy = await run_in_threadpool(verification_policy_for, settings)
    return await verifier_of(request.app).async_verify(pdf, policy)


_COLOUR = {
    Indication.TOTAL_PASSED: "green",
    Indication.INDETERMINATE: "amber",
    Indication.TOTAL_FAILED: "red",
}


def _signature_row(signature: SignatureReport) -> dict[str, Any]:
    colour = _COLOUR[signature.indication]
    signer = signature.signer
    who = (signer.common_name or signer.subject) if signer else "nežinomas"
    if signer is not None and signer.organisation:
        who += f", {signer.organisation}"
    return {
        "field": signature.field_name,
        "who": who,
        "colour": colour,
        "verdict": indication_text(signature.indication, signature.sub_indication),
        "time": signature.timestamp_time or signature.claimed_signing_time,
        "level": (
            _LEVEL_TEXT.get(signature.ltv_level.value, signature.ltv_level.value)
            if signature.kind == "signature"
            else ""
        ),
        "reason": signature.reason,
    }


def report_context(report: VerificationReport) -> dict[str, Any]:
    colour_name, _, verdict = VERDICT_TEXT[report.indication]
    document = report.document
    return {
        "colour": _COLOUR[report.indication],
        "colour_name": colour_name,
        "verdict": verdict,
        "indication": indication_text(report.indication, report.sub_indication),
        "passed": report.indication is Indication.TOTAL_PASSED,
        "reasons": [r for r in verdict_reasons(report) if r != verdict],
        "validation_time": report.validation_time,
        "sha256": report.document_sha256,
        "signatures": [_signature_row(s) for s in report.signatures],
        "timestamps": [_signature_row(s) for s in report.document_timestamps],
        "pdfa": (
            f"PDF/A-{document.pdfa_part}{(document.pdfa_conformance or '').lower()}"
            if document.pdfa_part
            else "neidentifikuotas"
        ),
        "pdf_lt": document.pdf_lt_conformant,
        "renewal_due": report.renewal_due,
        "renewal_needed": report.renewal_needed,
    }


def _data_url(media_type: str, content: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(content).decode()}"


async def report_page(
    request: Request,
    user: WebUser,
    settings: Settings,
    pdf: bytes,
    name: str,
    *,
    document_id: str | None = None,
) -> Response:
    try:
        report = await verify_pdf(request, settings, pdf)
    except VerificationRefused as refused:
        return page(
            request,
            "verify.html",
            user,
            status_code=413 if refused.reason == "too_large" else 422,
            error=_REFUSAL_TEXT.get(refused.reason, refused.message),
            report=None,
        )
    except TrustedListError as refused:
        return page(
            request,
            "verify.html",
            user,
            status_code=503,
            error="Patikra neveikia: nustatytas patikimas sąrašas atmestas "
            f"({refused.reason}). Praneškite administratoriui.",
            report=None,
        )
    downloads: dict[str, str]
    if document_id is not None:
        downloads = {
            "json": f"/web/dokumentai/{document_id}/patikra.json",
            "xml": f"/web/dokumentai/{document_id}/patikra.xml",
        }
    else:
        body = json.dumps(report.to_json(), ensure_ascii=False, indent=2).encode()
        downloads = {
            "json": _data_url("application/json", body),
            "xml": _data_url("application/xml", validation_report_xml(report)),
        }
    return page(
        request,
        "verify.html",
        user,
        error=None,
        report=report_context(report),
        name=name,
        downloads=downloads,
        document_id=document_id,
    )


@router.get("/tikrinti")
def verify_form(request: Request, user: CurrentUser) -> Response:
    require_role(user.principal, *VERIFIERS_ALLOWED)
    return page(request, "verify.html", user, error=None, report=None)


@router.post("/tikrinti")
async def verify_upload(
    request: Request, user: CurrentUser, form: CheckedForm, settings: SettingsDep
) -> Response:
    require_role(user.principal, *VERIFIERS_ALLOWED)
    upload = form.get("pdf")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return page(
            request,
            "verify.html",
            user,
            status_code=422,
            error="Pasirinkite PDF failą.",
            report=None,
        )
    pdf = await upload.read(VERIFICATION_MAX_BYTES + 1)
    name = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:120] or "dokumentas.pdf"
    return await report_page(request, user, settings, pdf, name)
