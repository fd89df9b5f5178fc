"""/v1/documents/{id}/remote-signatures: signing with a key the service never holds (a card or
a signing app). Prepare → the device signs the challenge → complete; any API or worker process
can take either step, as the session lives in the database."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Database, DatabaseDep, PrincipalDep, SettingsDep
from api.queue import enqueue
from api.routes.documents import document_view, poll
from tiltas import documents, remote_signing
from tiltas.errors import FieldProblem, InvalidInput
from tiltas.messaging import COMPLETE_REMOTE_SIGNATURE, PREPARE_REMOTE_SIGNATURE
from tiltas.models import Document, RemoteSigningSession
from tiltas.remote_signing import SessionStatus

router = APIRouter(tags=["remote signing"])


class RemoteSignatureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signer: int | None = Field(
        default=None, ge=1, description="1-based position in the envelope's signers; default next"
    )
    certificate: str = Field(
        max_length=20_000, description="The signer's certificate, base64 of its DER"
    )
    chain: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Intermediate certificates up to the trust root, base64 DER each",
    )


class SignatureValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signature_value: str = Field(
        max_length=40_000,
        description="Base64 of the raw signature over `signed_attributes` (ECDSA DER or "
        "RSA PKCS#1 v1.5), or of a CMS SignedData whose signed attributes are exactly those",
    )


class Challenge(BaseModel):
    digest: str
    """Base64 SHA-256 of ``signed_attributes``."""
    digest_algorithm: str
    signature_algorithm: str
    signed_attributes: str
    """Base64 DER of the CMS signed attributes, for devices that hash themselves."""
    certificate_sha256: str


class RemoteSignaturePublic(BaseModel):
    id: str
    document_id: str
    signer: int
    status: str
    """preparing, prepared, completing, completed or failed."""
    expires_at: dt.datetime
    challenge: Challenge | None
    failure: dict[str, str] | None
    completed_at: dt.datetime | None


def _view(record: RemoteSigningSession, document: Document) -> dict[str, Any]:
    body = remote_signing.public(record, document)
    return RemoteSignaturePublic.model_validate(body).model_dump(mode="json")


def _location(document_id: str, session_id: str) -> str:
    return f"/v1/documents/{document_id}/remote-signatures/{session_id}"


@router.post(
    "/v1/documents/{document_id}/remote-signatures",
    status_code=201,
    response_model=RemoteSignaturePublic,
)
async def prepare_remote_signature(
    request: Request,
    document_id: str,
    body: RemoteSignatureCreate,
    principal: PrincipalDep,
    database: DatabaseDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Prepare the next signer's signature for a key on a card or in a signing app: the answer's
    ``challenge`` is what the device signs. 201 when prepared within the wait, else 202 (poll
    the Location). The certificate must be the envelope signer's and chain to a trust root."""

    def start() -> str:
        certificate = remote_signing.parse_certificates(body.certificate, body.chain)
        with database.transaction() as session:
            record, _ = remote_signing.start(
                session,
                principal,
                document_id,
                body.signer,
                certificate,
                dt.timedelta(seconds=settings.remote_signing_ttl_s),
            )
            session_id = record.public_id
        enqueue(request.app.state.producer, PREPARE_REMOTE_SIGNATURE, [session_id])
        return session_id

    session_id = await run_in_threadpool(start)
    view = await _wait_for_session(
        database, document_id, session_id, settings.document_wait_s, SessionStatus.preparing
    )
    return JSONResponse(
        view,
        status_code=201 if view["status"] == SessionStatus.prepared else 202,
        headers={"Location": _location(document_id, session_id)},
    )


@router.get(
    "/v1/documents/{document_id}/remote-signatures/{session_id}",
    response_model=RemoteSignaturePublic,
)
def read_remote_signature(
    document_id: str, session_id: str, principal: PrincipalDep, database: DatabaseDep
) -> dict[str, Any]:
    with database.transaction() as session:
        record, document = remote_signing.read(session, principal, document_id, session_id)
        return _view(record, document)


@router.post(
    "/v1/documents/{document_id}/remote-signatures/{session_id}/completion",
    responses={202: {"model": RemoteSignaturePublic}},
)
async def complete_remote_signature(
    request: Request,
    document_id: str,
    session_id: str,
    body: SignatureValue,
    principal: PrincipalDep,
    database: DatabaseDep,
    settings: SettingsDep,
) -> JSONResponse:
    """Hand in the device's signature value. The document is finished to PAdES B-LTA: 200 with
    the document when signed within the wait, else 202 with the session. A replayed, stale or
    mismatched completion is refused (409 / 422) and changes nothing."""
    try:
        value = base64.b64decode(body.signature_value, validate=True)
    except ValueError as error:  # binascii.Error, or a character outside ASCII
        raise InvalidInput([FieldProblem("signature_value", "not base64", "invalid")]) from error

    def hand_in() -> None:
        with database.transaction() as session:
            remote_signing.accept_signature_value(
                session, principal, document_id, session_id, value
            )
        enqueue(request.app.state.producer, COMPLETE_REMOTE_SIGNATURE, [session_id])

    def signed_view() -> JSONResponse:
        with database.transaction() as session:
            signed = documents.by_public_id(session, document_id)
            case_id = documents.case_public_id(session, signed)
            return JSONResponse(
                document_view(signed, case_id),
                headers={"Location": f"/v1/documents/{document_id}"},
            )

    await run_in_threadpool(hand_in)
    view = await _wait_for_session(
        database, document_id, session_id, settings.document_wait_s, SessionStatus.completing
    )
    if view["status"] != SessionStatus.completed:
        return JSONResponse(
            view,
            status_code=202,
            headers={"Location": _location(document_id, session_id)},
        )
    return await run_in_threadpool(signed_view)


async def _wait_for_session(
    database: Database, document_id: str, session_id: str, seconds: float, waiting: str
) -> dict[str, Any]:
    """The session's view once it has left ``waiting`` (or noted a failure), or at timeout."""

    def look(session: Any) -> tuple[bool, dict[str, Any]]:
        record, document = remote_signing.load(session, document_id, session_id)
        left = record.status != waiting or record.failure is not None
        return left, _view(record, document)

    return await poll(database, seconds, look)
