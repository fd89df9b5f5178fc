"""An organisation's webhook subscriptions (URL, event types, secret), their deliveries and the
attempts made, and redelivery on request.

Subscriptions are integration settings of one organisation: its administrators keep them
[design, like API keys]. The secret is shown once, when made or rotated; while a secret is
rotated, deliveries are signed with both (``tiltas.webhooks``) for ``ROTATION_OVERLAP``.
A URL must pass the SSRF guard (``tiltas.webhooks.check_target``) when it is set and again at
every attempt.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tiltas import audit
from tiltas.access import Role
from tiltas.apikeys import Principal
from tiltas.concurrency import check_version
from tiltas.errors import Forbidden, NotFound, TiltasError
from tiltas.events import DeliveryStatus, EventType
from tiltas.models import Event, WebhookAttempt, WebhookDelivery, WebhookSubscription, utcnow
from tiltas.schema_types import StrictModel
from tiltas.webhooks import Resolver, check_target, new_webhook_secret, resolve_host

ROTATION_OVERLAP = dt.timedelta(hours=24)
"""After a rotation, the previous secret still signs deliveries this long."""


class RedeliveryRefused(TiltasError):
    code = "redelivery_refused"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class SubscriptionCreate(StrictModel):
    url: str = Field(min_length=1, max_length=2000, description="http(s) URL of your receiver")
    events: list[EventType] = Field(min_length=1, max_length=len(EventType))
    description: str = Field(default="", max_length=200)


class SubscriptionUpdate(StrictModel):
    """Fields given replace the stored ones."""

    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[EventType] | None = Field(default=None, min_length=1, max_length=len(EventType))
    description: str | None = Field(default=None, max_length=200)


@dataclass(frozen=True)
class TargetRules:
    """Which receivers may be reached (``Settings``: development and tests allow loopback)."""

    allow_loopback: bool = False
    allow_private: bool = False
    resolver: Resolver = resolve_host


def _require_admin(principal: Principal) -> None:
    if principal.role is not Role.admin:
        raise Forbidden(f"role {principal.role.value} may not manage webhooks")


def _check_url(url: str, rules: TargetRules) -> None:
    check_target(
        url,
        allow_loopback=rules.allow_loopback,
        allow_private=rules.allow_private,
        resolver=rules.resolver,
    )


def _events(values: list[EventType]) -> list[str]:
    return sorted({v.value for v in values})


def create_subscription(
    session: Session, principal: Principal, data: SubscriptionCreate, rules: TargetRules
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (returned once)."""
    _require_admin(principal)
    _check_url(data.url, rules)
    secret = new_webhook_secret()
    subscription = WebhookSubscription(
        public_id=str(uuid.uuid4()),
        organisation_id=principal.organisation_id,
        url=data.url,
        events=_events(data.events),
        description=data.description,
        secret=secret,
        version=1,
        created_at=utcnow(),
        created_by=principal.key_id,
    )
    session.add(subscription)
    session.flush()
    _audit(session, principal, audit.AuditAction.create, subscription)
    return subscription, secret


def _audit(
    session: Session,
    principal: Principal,
    action: audit.AuditAction,
    subscription: WebhookSubscription,
) -> None:
    # Never the URL: receivers put tokens in it.
    audit.record(
        session,
        principal.actor,
        action,
        "webhook_subscription",
        subscription.public_id,
        detail={"events": subscription.events, "version": subscription.version},
    )


def list_subscriptions(session: Session, principal: Principal) -> list[WebhookSubscription]:
    _require_admin(principal)
    return list(
        session.scalars(
            select(WebhookSubscription)
            .where(WebhookSubscription.organisation_id == principal.organisation_id)
            .order_by(WebhookSubscription.id)
        )
    )


def get_subscription(
    session: Session, principal: Principal, public_id: str, *, for_update: bool = False
) -> WebhookSubscription:
    _require_admin(principal)
    query = select(WebhookSubscription).where(
        WebhookSubscription.public_id == public_id,
        WebhookSubscription.organisation_id == principal.organisation_id,
    )
    if for_update:
        query = query.with_for_update()
    subscription = session.scalar(query)
    if subscription is None:
        raise NotFound(f"no webhook subscription {public_id}")
    return subscription


def update_subscription(
    session: Session,
    principal: Principal,
    public_id: str,
    data: SubscriptionUpdate,
    if_match: int | None,
    rules: TargetRules,
) -> WebhookSubscription:
    subscription = get_subscription(session, principal, public_id, for_update=True)
    check_version(subscription.version, if_match)
    if data.url is not None:
        _check_url(data.url, rules)
        subscription.url = data.url
    if data.events is not None:
        subscription.events = _events(data.events)
    if data.description is not None:
        subscription.description = data.description
    subscription.version += 1
    _audit(session, principal, audit.AuditAction.update, subscription)
    return subscription


def disable_subscription(
    session: Session, principal: Principal, public_id: str
) -> WebhookSubscription:
    """Stop sending to it; deliveries not yet made are given up."""
    subscription = get_subscription(session, principal, public_id, for_update=True)
    if subscription.disabled_at is None:
        now = utcnow()
        subscription.disabled_at = now
        subscription.version += 1
        for delivery in session.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.subscription_id == subscription.id,
                WebhookDelivery.status == DeliveryStatus.pending.value,
            )
        ):
            delivery.status = DeliveryStatus.failed.value
            delivery.last_error = "subscription_disabled"
            delivery.next_attempt_at = None
            delivery.updated_at = now
        _audit(session, principal, audit.AuditAction.revoke, subscription)
    return subscription


def rotate_secret(
    session: Session, principal: Principal, public_id: str
) -> tuple[WebhookSubscription, str]:
    subscription = get_subscription(session, principal, public_id, for_update=True)
    secret = new_webhook_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = utcnow() + ROTATION_OVERLAP
    subscription.secret = secret
    subscription.version += 1
    _audit(session, principal, audit.AuditAction.update, subscription)
    return subscription, secret


@dataclass(frozen=True)
class DeliveryView:
    delivery: WebhookDelivery
    event: Event
    attempts: list[WebhookAttempt]


def list_deliveries(
    session: Session,
    principal: Principal,
    subscription_public_id: str,
    *,
    status: DeliveryStatus | None,
    limit: int,
) -> list[DeliveryView]:
    """The subscription's deliveries, newest first (attempts not included)."""
    subscription = get_subscription(session, principal, subscription_public_id)
    query = (
        select(WebhookDelivery, Event)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == subscription.id)
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status.value)
    rows = session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    return [DeliveryView(delivery, event, []) for delivery, event in rows]


def _delivery(
    session: Session, subscription: WebhookSubscription, delivery_public_id: str
) -> WebhookDelivery:
    delivery = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.public_id == delivery_public_id,
            WebhookDelivery.subscription_id == subscription.id,
        )
    )
    if delivery is None:
        raise NotFound(f"no delivery {delivery_public_id} for this subscription")
    return delivery


def delivery_detail(
    session: Session, principal: Principal, subscription_public_id: str, delivery_public_id: str
) -> DeliveryView:
    subscription = get_subscription(session, principal, subscription_public_id)
    delivery = _delivery(session, subscription, delivery_public_id)
    attempts = list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id)
        )
    )
    return DeliveryView(delivery, session.get_one(Event, delivery.event_id), attempts)


def redeliver(
    session: Session, principal: Principal, subscription_public_id: str, delivery_public_id: str
) -> WebhookDelivery:
    """Send a delivery again from its first attempt (a new round; the same delivery id, so a
    receiver that already has it can tell)."""
    subscription = get_subscription(session, principal, subscription_public_id)
    if subscription.disabled_at is not None:
        raise RedeliveryRefused("the subscription is disabled", "subscription_disabled")
    delivery = session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == _delivery(session, subscription, delivery_public_id).id)
        .with_for_update()
    )
    assert delivery is not None
    now = utcnow()
    lease = delivery.lease_until
    if delivery.status == DeliveryStatus.sending.value and lease is not None and lease > now:
        raise RedeliveryRefused("an attempt is being made right now", "in_flight")
    delivery.status = DeliveryStatus.pending.value
    delivery.round += 1
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_token = None
    delivery.lease_until = None
    delivery.updated_at = now
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.update,
        "webhook_delivery",
        delivery.public_id,
        detail={"redelivery": True, "round": delivery.round},
    )
    return delivery
