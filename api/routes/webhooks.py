"""/v1/webhooks: an organisation's webhook subscriptions, their deliveries with every attempt,
and redelivery. Each delivery is signed (see ``tiltas.webhooks`` for what a receiver checks)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import (
    DatabaseDep,
    IdempotencyKey,
    IfMatch,
    PrincipalDep,
    SettingsDep,
    etag,
    parse_if_match,
)
from api.idempotent import run_post
from api.queue import enqueue_stored
from tiltas import webhook_subscriptions as subscriptions
from tiltas.events import DeliveryStatus, EventType
from tiltas.idempotency import StoredResponse
from tiltas.messaging import DELIVER_WEBHOOK
from tiltas.models import WebhookAttempt, WebhookSubscription
from tiltas.settings import Settings

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def enqueue_deliveries(request: Request, delivery_ids: list[str]) -> None:
    """Hand new deliveries to the workers now; if the broker is unreachable the dispatcher
    (beat) finds them in the database, so the request that made them does not fail."""
    for delivery_id in delivery_ids:
        enqueue_stored(request.app.state.producer, DELIVER_WEBHOOK, [delivery_id])


PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"application/problem+json": {}}}
    for status, description in (
        (403, "Only the organisation's administrators manage its webhooks"),
        (404, "No such subscription or delivery of your organisation"),
        (422, "Invalid fields; a URL the SSRF guard refuses (type webhook_target_refused)"),
    )
}


class SubscriptionPublic(BaseModel):
    id: str
    url: str
    events: list[EventType]
    description: str
    version: int
    created_at: dt.datetime
    disabled_at: dt.datetime | None
    previous_secret_until: dt.datetime | None
    """While a rotated-out secret still signs deliveries."""


class SubscriptionWithSecret(SubscriptionPublic):
    secret: str
    """Shown only in this response: keep it to verify the ``Tiltas-Signature`` header."""


class AttemptPublic(BaseModel):
    round: int
    attempt: int
    started_at: dt.datetime
    finished_at: dt.datetime
    outcome: str
    status_code: int | None
    error: str | None
    detail: str | None
    retry_at: dt.datetime | None


class DeliveryPublic(BaseModel):
    id: str
    """The ``Tiltas-Delivery`` header."""
    event_id: str
    event_type: str
    case_id: str | None
    occurred_at: dt.datetime
    status: DeliveryStatus
    round: int
    attempts: int
    """Attempts in the current round."""
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: dt.datetime | None


class DeliveryDetail(DeliveryPublic):
    attempt_log: list[AttemptPublic]


def _rules(settings: Settings) -> subscriptions.TargetRules:
    return subscriptions.TargetRules(
        allow_loopback=settings.webhook_allow_loopback,
        allow_private=settings.webhook_allow_private,
    )


def _public(subscription: WebhookSubscription) -> dict[str, Any]:
    return SubscriptionPublic(
        id=subscription.public_id,
        url=subscription.url,
        events=[EventType(e) for e in subscription.events],
        description=subscription.description,
        version=subscription.version,
        created_at=subscription.created_at,
        disabled_at=subscription.disabled_at,
        previous_secret_until=subscription.previous_secret_until,
    ).model_dump(mode="json")


def _delivery_public(view: subscriptions.DeliveryView) -> dict[str, Any]:
    delivery, event = view.delivery, view.event
    return {
        "id": delivery.public_id,
        "event_id": event.public_id,
        "event_type": event.type,
        "case_id": event.data.get("case_id"),
        "occurred_at": event.occurred_at,
        "status": delivery.status,
        "round": delivery.round,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": delivery.delivered_at,
    }


def _attempt_public(attempt: WebhookAttempt) -> dict[str, Any]:
    return AttemptPublic(
        round=attempt.round,
        attempt=attempt.attempt,
        started_at=attempt.started_at,
        finished_at=attempt.finished_at,
        outcome=attempt.outcome,
        status_code=attempt.status_code,
        error=attempt.error,
        detail=attempt.detail,
        retry_at=attempt.retry_at,
    ).model_dump(mode="json")


@router.post("", status_code=201, response_model=SubscriptionWithSecret, responses=PROBLEMS)
def create_subscription(
    data: subscriptions.SubscriptionCreate,
    principal: PrincipalDep,
    database: DatabaseDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Subscribe a URL to event types. The answer holds the signing secret, once."""

    def perform(session: Session) -> StoredResponse:
        subscription, secret = subscriptions.create_subscription(
            session, principal, data, _rules(settings)
        )
        return StoredResponse(
            201,
            {**_public(subscription), "secret": secret},
            {
                "Location": f"/v1/webhooks/{subscription.public_id}",
                "ETag": etag(subscription.version),
            },
        )

    return run_post(
        database, principal, idempotency_key, ("POST", "/v1/webhooks", data.model_dump()), perform
    )


@router.get("", response_model=list[SubscriptionPublic], responses=PROBLEMS)
def list_subscriptions(principal: PrincipalDep, database: DatabaseDep) -> list[dict[str, Any]]:
    with database.transaction() as session:
        return [_public(s) for s in subscriptions.list_subscriptions(session, principal)]


@router.get("/{subscription_id}", response_model=SubscriptionPublic, responses=PROBLEMS)
def read_subscription(
    subscription_id: str, principal: PrincipalDep, database: DatabaseDep
) -> JSONResponse:
    with database.transaction() as session:
        subscription = subscriptions.get_subscription(session, principal, subscription_id)
        body = _public(subscription)
    return JSONResponse(body, headers={"ETag": etag(subscription.version)})


@router.patch("/{subscription_id}", response_model=SubscriptionPublic, responses=PROBLEMS)
def update_subscription(
    subscription_id: str,
    data: subscriptions.SubscriptionUpdate,
    principal: PrincipalDep,
    database: DatabaseDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change the URL, the event types or the description (If-Match: the ETag read)."""
    version = parse_if_match(if_match)
    with database.transaction() as session:
        subscription = subscriptions.update_subscription(
            session, principal, subscription_id, data, version, _rules(settings)
        )
        body = _public(subscription)
    return JSONResponse(body, headers={"ETag": etag(subscription.version)})


@router.delete("/{subscription_id}", status_code=204, responses=PROBLEMS)
def disable_subscription(
    subscription_id: str, principal: PrincipalDep, database: DatabaseDep
) -> Response:
    """Stop sending to it; deliveries still waiting are given up. Its log stays readable."""
    with database.transaction() as session:
        subscriptions.disable_subscription(session, principal, subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/secret", response_model=SubscriptionWithSecret, responses=PROBLEMS)
def rotate_secret(
    subscription_id: str, principal: PrincipalDep, database: DatabaseDep
) -> dict[str, Any]:
    """A new secret (shown once). For 24 hours deliveries carry a signature with each, so the
    receiver can switch over without losing any."""
    with database.transaction() as session:
        subscription, secret = subscriptions.rotate_secret(session, principal, subscription_id)
        return {**_public(subscription), "secret": secret}


@router.get(
    "/{subscription_id}/deliveries", response_model=list[DeliveryPublic], responses=PROBLEMS
)
def list_deliveries(
    subscription_id: str,
    principal: PrincipalDep,
    database: DatabaseDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """The subscription's deliveries, newest first."""
    with database.transaction() as session:
        found = subscriptions.list_deliveries(
            session, principal, subscription_id, status=status, limit=limit
        )
        return [
            DeliveryPublic.model_validate(_delivery_public(v)).model_dump(mode="json")
            for v in found
        ]


@router.get(
    "/{subscription_id}/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    responses=PROBLEMS,
)
def read_delivery(
    subscription_id: str, delivery_id: str, principal: PrincipalDep, database: DatabaseDep
) -> dict[str, Any]:
    """One delivery with every attempt made (outcome, HTTP status, error; never the payload)."""
    with database.transaction() as session:
        view = subscriptions.delivery_detail(session, principal, subscription_id, delivery_id)
        return DeliveryDetail.model_validate(
            {**_delivery_public(view), "attempt_log": [_attempt_public(a) for a in view.attempts]}
        ).model_dump(mode="json")


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryPublic,
    responses={
        **PROBLEMS,
        409: {
            "description": "An attempt is in flight, or the subscription is disabled",
            "content": {"application/problem+json": {}},
        },
    },
)
def redeliver(
    request: Request,
    subscription_id: str,
    delivery_id: str,
    principal: PrincipalDep,
    database: DatabaseDep,
) -> dict[str, Any]:
    """Send the delivery again, from a first attempt (same ``Tiltas-Delivery`` id)."""
    with database.transaction() as session:
        subscriptions.redeliver(session, principal, subscription_id, delivery_id)
        view = subscriptions.delivery_detail(session, principal, subscription_id, delivery_id)
        body = DeliveryPublic.model_validate(_delivery_public(view)).model_dump(mode="json")
    enqueue_deliveries(request, [delivery_id])
    return body
