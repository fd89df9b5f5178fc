"""Running a POST under an ``Idempotency-Key``."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import Database
from tiltas import idempotency
from tiltas.apikeys import Principal
from tiltas.idempotency import StoredResponse

REPLAYED_HEADER = "Idempotent-Replayed"


def run_post(
    database: Database,
    principal: Principal,
    key: str | None,
    fingerprint_source: tuple[str, str, object],
    perform: Callable[[Session], StoredResponse],
) -> JSONResponse:
    """Run ``perform`` in one transaction; with a key, replay the first response to retries."""
    if key is None:
        with database.transaction() as session:
            response = perform(session)
        return _respond(response, replayed=False)

    idempotency.validate_key(key)
    request_sha256 = idempotency.fingerprint(*fingerprint_source)
    for attempt in range(2):
        try:
            with database.transaction() as session:
                stored = idempotency.find(session, principal.organisation_id, key, request_sha256)
                if stored is not None:
                    return _respond(stored, replayed=True)
                response = perform(session)
                response = StoredResponse(
                    response.status_code, jsonable_encoder(response.body), response.headers
                )
                idempotency.remember(
                    session, principal.organisation_id, key, request_sha256, response
                )
            return _respond(response, replayed=False)
        except IntegrityError:
            # A concurrent request with the same key won; on the second pass we replay it.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _respond(response: StoredResponse, *, replayed: bool) -> JSONResponse:
    headers = dict(response.headers)
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return JSONResponse(
        jsonable_encoder(response.body), status_code=response.status_code, headers=headers
    )
