"""/v1/feed-tokens and /v1/feeds/{token}/deadlines.ics: a calendar application subscribes to
the organisation's deadlines with a revocable token in the URL instead of an API key."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import DatabaseDep, IdempotencyKey, PrincipalDep, TodayDep
from api.idempotent import run_post
from api.routes.deadlines import calendar_response
from tiltas import feed_tokens
from tiltas.idempotency import StoredResponse
from tiltas.models import FeedToken

router = APIRouter(tags=["deadlines"])


class FeedTokenPublic(BaseModel):
    id: str
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class FeedTokenIssued(FeedTokenPublic):
    token: str
    """Shown only in this response."""
    feed_path: str
    """Append to the service's address and give to the calendar application."""


def _public(record: FeedToken) -> dict[str, Any]:
    return FeedTokenPublic(
        id=record.token_id,
        label=record.label,
        created_at=record.created_at,
        revoked_at=record.revoked_at,
    ).model_dump(mode="json")


def feed_path(token: str) -> str:
    return f"/v1/feeds/{token}/deadlines.ics"


@router.post("/v1/feed-tokens", status_code=201, response_model=FeedTokenIssued)
def create_feed_token(
    data: feed_tokens.FeedTokenCreate,
    principal: PrincipalDep,
    database: DatabaseDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A token for your organisation's deadlines feed (shown once; revoke it when the calendar
    it was given to should stop seeing the deadlines)."""

    def perform(session: Session) -> StoredResponse:
        issued = feed_tokens.create_feed_token(session, principal, data)
        return StoredResponse(
            201,
            {**_public(issued.record), "token": issued.token, "feed_path": feed_path(issued.token)},
            {"Location": f"/v1/feed-tokens/{issued.record.token_id}"},
        )

    return run_post(
        database,
        principal,
        idempotency_key,
        ("POST", "/v1/feed-tokens", data.model_dump()),
        perform,
    )


@router.get("/v1/feed-tokens", response_model=list[FeedTokenPublic])
def list_feed_tokens(principal: PrincipalDep, database: DatabaseDep) -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [_public(r) for r in feed_tokens.list_feed_tokens(session, principal)]


@router.post("/v1/feed-tokens/{token_id}/revoke", response_model=FeedTokenPublic)
def revoke_feed_token(
    token_id: str, principal: PrincipalDep, database: DatabaseDep
) -> dict[str, Any]:
    with database.transaction() as session:
        return _public(feed_tokens.revoke_feed_token(session, principal, token_id))


@router.get(
    "/v1/feeds/{token}/deadlines.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}},
        404: {"description": "Unknown or revoked token"},
    },
)
def token_feed(token: str, database: DatabaseDep, today: TodayDep) -> Response:
    """The organisation's deadlines feed (as ``GET /v1/deadlines.ics``), for the token's holder."""
    with database.transaction() as session:
        organisation = feed_tokens.organisation_for_token(session, token)
        found = feed_tokens.feed_deadlines(session, organisation, today)
        name = organisation.name
    response = calendar_response(found, name)
    # The URL is the credential: keep it out of shared caches.
    response.headers["Cache-Control"] = "private, no-store"
    return response
