"""/v1/api-keys: an administrator issues, lists and revokes the keys of its own organisation
(a key of another organisation would read that organisation's cases)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DatabaseDep, IdempotencyKey, PrincipalDep, require_role
from api.idempotent import run_post
from api.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyPublic
from tiltas import apikeys, audit
from tiltas.access import Role
from tiltas.errors import Forbidden
from tiltas.idempotency import StoredResponse
from tiltas.models import ApiKey

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


def _public(api_key: ApiKey) -> dict[str, Any]:
    return ApiKeyPublic(
        key_id=api_key.key_id,
        organisation_code=api_key.organisation.code,
        role=Role(api_key.role),
        label=api_key.label,
        created_at=api_key.created_at,
        revoked_at=api_key.revoked_at,
    ).model_dump(mode="json")


@router.post("", status_code=201, response_model=ApiKeyIssued)
def create_api_key(
    data: ApiKeyCreate,
    principal: PrincipalDep,
    database: DatabaseDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.admin)
    if data.organisation_code != principal.organisation_code:
        raise Forbidden("an administrator issues keys of its own organisation only")

    def perform(session: Any) -> StoredResponse:
        issued = apikeys.create_api_key(session, data.organisation_code, data.role, data.label)
        session.refresh(issued.api_key)
        audit.record(session, principal.actor, audit.AuditAction.create, "api_key", issued.key_id)
        return StoredResponse(201, {**_public(issued.api_key), "api_key": issued.secret_key}, {})

    # The key is shown once: a retry with the same Idempotency-Key returns it again, so the
    # stored response holds it; such records matter only until the DMS has the key.
    return run_post(
        database,
        principal,
        idempotency_key,
        ("POST", "/v1/api-keys", data.model_dump(mode="json")),
        perform,
    )


@router.get("", response_model=list[ApiKeyPublic])
def list_api_keys(principal: PrincipalDep, database: DatabaseDep) -> list[dict[str, Any]]:
    require_role(principal, Role.admin)
    with database.transaction() as session:
        return [_public(k) for k in apikeys.list_api_keys(session, principal.organisation_id)]


@router.post("/{key_id}/revoke", response_model=ApiKeyPublic)
def revoke_api_key(key_id: str, principal: PrincipalDep, database: DatabaseDep) -> dict[str, Any]:
    require_role(principal, Role.admin)
    with database.transaction() as session:
        api_key = apikeys.revoke_api_key(session, key_id, principal.organisation_id)
        audit.record(session, principal.actor, audit.AuditAction.revoke, "api_key", key_id)
        return _public(api_key)
