"""Every error leaves the API as RFC 9457 problem+json; domain errors map to HTTP here only."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.queue import QueueUnavailable
from tiltas.delivery import InvalidDeliveryTransition
from tiltas.documents import AcknowledgementRefused, DocumentNotReady, SigningOutOfOrder
from tiltas.errors import (
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    PreconditionRequired,
    TiltasError,
    Unauthenticated,
    VersionConflict,
)
from tiltas.remote_signing import RemoteSigningRefused, SignatureValueMismatch
from tiltas.storage import StorageError, StorageFull
from tiltas.webhook_subscriptions import RedeliveryRefused

log = logging.getLogger("tiltas.api")

PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: dict[type[TiltasError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Forbidden: 403,
    Unauthenticated: 401,
    PreconditionRequired: 428,
    VersionConflict: 412,
    IdempotencyKeyReused: 422,
    DocumentNotReady: 409,
    SigningOutOfOrder: 409,
    AcknowledgementRefused: 409,
    SignatureValueMismatch: 422,
    RemoteSigningRefused: 409,
    StorageFull: 507,
    StorageError: 500,
    InvalidDeliveryTransition: 409,
    RedeliveryRefused: 409,
    QueueUnavailable: 503,
}

TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    428: "Precondition required",
    500: "Internal server error",
    507: "Insufficient storage",
    503: "Service unavailable",
}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"urn:tiltas:problem:{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_of(loc: tuple[Any, ...]) -> tuple[str, str]:
    where = str(loc[0]) if loc else "body"
    parts = (
        [str(p) for p in loc[1:]]
        if where in {"body", "query", "path", "header"}
        else [str(p) for p in loc]
    )
    # A model-level check (e.g. "personal code or birth date") names its model, not a field.
    return ".".join(parts) or where, where


def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TiltasError)
    status = next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(error, cls)), 400)
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(error, InvalidInput):
        extra["errors"] = [
            {"field": p.field, "message": p.message, "code": p.code} for p in error.problems
        ]
    if isinstance(error, VersionConflict):
        extra["current_version"] = error.current_version
        headers["ETag"] = f'"{error.current_version}"'
    if isinstance(error, AcknowledgementRefused | RemoteSigningRefused):
        extra["reason"] = error.reason
    if isinstance(error, SigningOutOfOrder):
        extra["next_signer"] = error.next_signer
    if isinstance(error, InvalidDeliveryTransition):
        extra["current_state"] = error.current_state
        extra["requested_state"] = error.requested_state
        extra["allowed_states"] = error.allowed_states
    if isinstance(error, RedeliveryRefused):
        extra["reason"] = error.reason
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, QueueUnavailable):
        headers["Retry-After"] = "10"
    return problem(status, error.code, error.message, headers=headers or None, **extra)


def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = []
    for item in error.errors():
        field, where = _field_of(tuple(item.get("loc", ())))
        errors.append(
            {
                "field": field,
                "in": where,
                "message": item.get("msg", ""),
                "code": item.get("type", ""),
            }
        )
    return problem(422, "invalid_input", f"{len(errors)} invalid field(s)", errors=errors)


def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
        error.status_code, "http_error"
    )
    return problem(
        error.status_code, code, str(error.detail), headers=getattr(error, "headers", None)
    )


def _database_unavailable(_request: Request, error: Exception) -> JSONResponse:
    # A lost or refused connection (the server restarting, stopped, out of reach). A POST may
    # be retried with its Idempotency-Key. The type only: the message quotes parameters.
    log.warning("database unavailable: %s", type(error).__name__)
    return problem(
        503,
        "database_unavailable",
        "the database is unreachable; try again shortly",
        headers={"Retry-After": "10"},
    )


def _unexpected_error(_request: Request, error: Exception) -> JSONResponse:
    # The exception type only: its message may quote personal data.
    log.error("unhandled %s", type(error).__name__)
    return problem(500, "internal", "the service failed to handle this request; it was logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(TiltasError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected_error)
