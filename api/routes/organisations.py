"""/v1/organisations: any key reads them; an administrator creates them and changes its own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import (
    DatabaseDep,
    IdempotencyKey,
    IfMatch,
    PrincipalDep,
    etag,
    parse_if_match,
    require_role,
)
from api.idempotent import run_post
from api.schemas import OrganisationPublic
from tiltas import organisations
from tiltas.access import OrganisationKind, Role
from tiltas.errors import Forbidden
from tiltas.idempotency import StoredResponse
from tiltas.models import Organisation

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])


def _public(organisation: Organisation) -> dict[str, Any]:
    return OrganisationPublic.model_validate(organisation, from_attributes=True).model_dump(
        mode="json"
    )


@router.post("", status_code=201, response_model=OrganisationPublic)
def create_organisation(
    data: organisations.OrganisationCreate,
    principal: PrincipalDep,
    database: DatabaseDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    require_role(principal, Role.admin)

    def perform(session: Any) -> StoredResponse:
        organisation = organisations.create_organisation(session, data)
        return StoredResponse(
            201,
            _public(organisation),
            {
                "ETag": etag(organisation.version),
                "Location": f"/v1/organisations/{organisation.code}",
            },
        )

    return run_post(
        database,
        principal,
        idempotency_key,
        ("POST", "/v1/organisations", data.model_dump(mode="json")),
        perform,
    )


@router.get("", response_model=list[OrganisationPublic])
def list_organisations(
    principal: PrincipalDep, database: DatabaseDep, kind: OrganisationKind | None = None
) -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [_public(o) for o in organisations.list_organisations(session, kind)]


@router.get("/{code}", response_model=OrganisationPublic)
def read_organisation(code: str, principal: PrincipalDep, database: DatabaseDep) -> JSONResponse:
    with database.transaction() as session:
        organisation = organisations.get_organisation(session, code)
        return JSONResponse(_public(organisation), headers={"ETag": etag(organisation.version)})


@router.patch("/{code}", response_model=OrganisationPublic)
def update_organisation(
    code: str,
    data: organisations.OrganisationUpdate,
    principal: PrincipalDep,
    database: DatabaseDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    require_role(principal, Role.admin)
    if code != principal.organisation_code:
        raise Forbidden("an administrator changes its own organisation only")
    version = parse_if_match(if_match)
    with database.transaction() as session:
        organisation = organisations.update_organisation(session, code, data, version)
        return JSONResponse(_public(organisation), headers={"ETag": etag(organisation.version)})
