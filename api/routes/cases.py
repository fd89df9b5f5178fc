"""/v1/cases: create, read, update (If-Match) and list (filters, cursor pagination)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from api.deps import DatabaseDep, IdempotencyKey, IfMatch, PrincipalDep, etag, parse_if_match
from api.idempotent import run_post
from api.schemas import CasePage, CasePublic, CaseWritten
from tiltas import cases
from tiltas.access import CaseKind
from tiltas.apikeys import Principal
from tiltas.idempotency import StoredResponse
from tiltas.models import Case

router = APIRouter(prefix="/v1/cases", tags=["cases"])

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"application/problem+json": {}}}
    for status, description in (
        (401, "No or bad API key"),
        (403, "The role may not do this"),
        (404, "No such case among those your organisation takes part in"),
        (422, "Invalid fields, all listed"),
    )
}


def _public(case: Case, principal: Principal) -> dict[str, Any]:
    return CasePublic.model_validate(cases.case_view(case, principal)).model_dump(
        mode="json", exclude_unset=True
    )


def _written(case: Case, principal: Principal, warnings: list[cases.Warning]) -> dict[str, Any]:
    body = _public(case, principal)
    body["warnings"] = [{"field": w.field, "message": w.message} for w in warnings]
    return body


@router.post(
    "",
    status_code=201,
    response_model=CaseWritten,
    response_model_exclude_unset=True,
    responses=PROBLEM_RESPONSES,
)
def create_case(
    data: cases.CaseCreate,
    principal: PrincipalDep,
    database: DatabaseDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def perform(session: Any) -> StoredResponse:
        case, warnings = cases.create_case(session, principal, data)
        return StoredResponse(
            201,
            _written(case, principal, warnings),
            {"ETag": etag(case.version), "Location": f"/v1/cases/{case.public_id}"},
        )

    return run_post(
        database,
        principal,
        idempotency_key,
        ("POST", "/v1/cases", data.model_dump(mode="json")),
        perform,
    )


@router.get(
    "", response_model=CasePage, response_model_exclude_unset=True, responses=PROBLEM_RESPONSES
)
def list_cases(
    principal: PrincipalDep,
    database: DatabaseDep,
    kind: CaseKind | None = None,
    municipality: str | None = None,
    institution_code: str | None = None,
    release_from: Annotated[
        dt.date | None, Query(description="Possible release date on or after")
    ] = None,
    release_to: Annotated[
        dt.date | None, Query(description="Possible release date on or before")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Response:
    filters = cases.CaseFilter(
        kind=kind,
        municipality=municipality,
        institution_code=institution_code,
        release_from=release_from,
        release_to=release_to,
    )
    with database.transaction() as session:
        page = cases.list_cases(session, principal, filters, limit=limit, cursor=cursor)
    # Sent as stored, not validated again on the way out: the sections were validated when
    # written, and re-checking 50 cases' personal codes was a sixth of a page's CPU.
    # test_a_list_item_is_the_case_as_read_alone holds the shapes equal.
    body = pydantic_core.to_json({"items": page.items, "next_cursor": page.next_cursor})
    return Response(body, media_type="application/json")


@router.get(
    "/{case_id}",
    response_model=CasePublic,
    response_model_exclude_unset=True,
    responses=PROBLEM_RESPONSES,
)
def read_case(case_id: str, principal: PrincipalDep, database: DatabaseDep) -> JSONResponse:
    with database.transaction() as session:
        case = cases.read_case(session, principal, case_id)
        body = _public(case, principal)
    return JSONResponse(body, headers={"ETag": etag(case.version)})


@router.patch(
    "/{case_id}",
    response_model=CaseWritten,
    response_model_exclude_unset=True,
    responses={
        **PROBLEM_RESPONSES,
        412: {
            "description": "If-Match names an old version",
            "content": {"application/problem+json": {}},
        },
        428: {"description": "If-Match is missing", "content": {"application/problem+json": {}}},
    },
)
def update_case(
    case_id: str,
    data: cases.CaseUpdate,
    principal: PrincipalDep,
    database: DatabaseDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    version = parse_if_match(if_match)
    with database.transaction() as session:
        case, warnings = cases.update_case(session, principal, case_id, data, version)
        body = _written(case, principal, warnings)
    return JSONResponse(body, headers={"ETag": etag(case.version)})


__all__ = ["router"]
