"""Making webhook deliveries: claim one, make one attempt with ``tiltas.webhooks.deliver``, log
the attempt, and set the next one (exponential back-off up to a cap) or finish.

Each step is its own short transaction, so no database lock is held while the receiver is
being called: a claim is a lease (``lease_until``) that a crashed worker simply lets expire,
after which the dispatcher hands the delivery out again. Deliveries are therefore made at least
once; receivers de-duplicate on ``Tiltas-Delivery``.

A pending delivery's ``lease_until`` means "already queued until then": the dispatcher does not
queue it again before, so a slow worker does not collect duplicates.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from tiltas.events import DeliveryStatus
from tiltas.models import Event, WebhookAttempt, WebhookDelivery, WebhookSubscription, utcnow
from tiltas.settings import Settings
from tiltas.webhooks import (
    AttemptOutcome,
    DeliveryAttempt,
    DeliveryPolicy,
    Resolver,
    RetryPolicy,
    WebhookEvent,
    WebhookTarget,
    deliver,
    resolve_host,
)


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(
        retry=RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            base_s=settings.webhook_retry_base_s,
            cap_s=settings.webhook_retry_cap_s,
        ),
        connect_timeout_s=min(settings.webhook_timeout_s, 5.0),
        timeout_s=settings.webhook_timeout_s,
        allow_loopback=settings.webhook_allow_loopback,
        allow_private=settings.webhook_allow_private,
    )


def lease_seconds(policy: DeliveryPolicy) -> float:
    """Longer than one attempt can take (connect, send, read the answer)."""
    return max(60.0, 4 * (policy.connect_timeout_s + policy.timeout_s))


def due_deliveries(
    session: Session, now: dt.datetime, *, queue_for_s: float, limit: int = 500
) -> list[str]:
    """Deliveries whose attempt is due and that nobody holds; marks them queued for
    ``queue_for_s`` (the caller enqueues them)."""
    free = or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now)
    rows = list(
        session.scalars(
            select(WebhookDelivery)
            .where(
                or_(
                    and_(
                        WebhookDelivery.status == DeliveryStatus.pending.value,
                        WebhookDelivery.next_attempt_at <= now,
                        free,
                    ),
                    and_(WebhookDelivery.status == DeliveryStatus.sending.value, free),
                )
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        if row.status == DeliveryStatus.pending.value:
            row.lease_until = now + dt.timedelta(seconds=queue_for_s)
    return [row.public_id for row in rows]


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: str
    round: int
    attempt: int
    target: WebhookTarget
    event: WebhookEvent


def _secrets(subscription: WebhookSubscription, now: dt.datetime) -> tuple[str, ...]:
    until = subscription.previous_secret_until
    if subscription.previous_secret and until is not None and until > now:
        return (subscription.secret, subscription.previous_secret)
    return (subscription.secret,)


def claim(
    session: Session, public_id: str, now: dt.datetime, policy: DeliveryPolicy
) -> Claim | None:
    """Take the delivery for one attempt, if it is due and free; None otherwise."""
    delivery = session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.public_id == public_id).with_for_update()
    )
    if delivery is None or delivery.status in (
        DeliveryStatus.delivered.value,
        DeliveryStatus.failed.value,
    ):
        return None
    lease = delivery.lease_until
    if delivery.status == DeliveryStatus.sending.value and lease is not None and lease > now:
        return None
    due = delivery.next_attempt_at
    if delivery.status == DeliveryStatus.pending.value and due is not None and due > now:
        return None
    subscription = session.get_one(WebhookSubscription, delivery.subscription_id)
    if subscription.disabled_at is not None:
        _finish(delivery, DeliveryStatus.failed, now, error="subscription_disabled")
        return None
    if delivery.attempts >= policy.retry.max_attempts:
        # Attempts whose workers died holding the lease count too.
        _finish(delivery, DeliveryStatus.failed, now, error="retries_exhausted")
        return None
    event = session.get_one(Event, delivery.event_id)
    delivery.attempts += 1
    delivery.status = DeliveryStatus.sending.value
    delivery.lease_token = str(uuid.uuid4())
    delivery.lease_until = now + dt.timedelta(seconds=lease_seconds(policy))
    delivery.updated_at = now
    occurred = event.occurred_at
    assert occurred is not None
    return Claim(
        delivery_id=delivery.id,
        token=delivery.lease_token,
        round=delivery.round,
        attempt=delivery.attempts,
        target=WebhookTarget(
            id=subscription.public_id, url=subscription.url, secrets=_secrets(subscription, now)
        ),
        event=WebhookEvent(
            id=event.public_id, type=event.type, occurred_at=occurred, data=event.data
        ),
    )


def _finish(
    delivery: WebhookDelivery, status: DeliveryStatus, now: dt.datetime, *, error: str
) -> None:
    delivery.status = status.value
    delivery.last_error = error
    delivery.next_attempt_at = None
    delivery.lease_token = None
    delivery.lease_until = None
    delivery.updated_at = now


def record_attempt(session: Session, held: Claim, result: DeliveryAttempt) -> bool:
    """Log the attempt and set what comes next; False if the claim was lost meanwhile (the
    attempt is still logged)."""
    session.add(
        WebhookAttempt(
            delivery_id=held.delivery_id,
            round=held.round,
            attempt=held.attempt,
            started_at=result.started_at,
            finished_at=result.finished_at,
            outcome=result.outcome.value,
            status_code=result.status_code,
            error=result.error.value if result.error else None,
            detail=result.detail[:200] if result.detail else None,
            address=result.address,
            retry_at=result.retry_at,
        )
    )
    delivery = session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == held.delivery_id).with_for_update()
    )
    if delivery is None or delivery.lease_token != held.token:
        return False
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error.value if result.error else None
    delivery.lease_token = None
    delivery.lease_until = None
    delivery.updated_at = result.finished_at
    if result.outcome is AttemptOutcome.DELIVERED:
        delivery.status = DeliveryStatus.delivered.value
        delivery.delivered_at = result.finished_at
        delivery.next_attempt_at = None
    elif result.outcome is AttemptOutcome.RETRY:
        delivery.status = DeliveryStatus.pending.value
        delivery.next_attempt_at = result.retry_at
    else:
        delivery.status = DeliveryStatus.failed.value
        delivery.next_attempt_at = None
    return True


def attempt_delivery(
    sessions: sessionmaker[Session],
    public_id: str,
    *,
    client: httpx.Client,
    policy: DeliveryPolicy,
    clock: Callable[[], dt.datetime] = utcnow,
    resolver: Resolver = resolve_host,
) -> DeliveryAttempt | None:
    """Make one attempt of a due delivery (claim → call the receiver → log); None when the
    delivery was not due or someone else holds it."""
    with sessions() as session, session.begin():
        held = claim(session, public_id, clock(), policy)
    if held is None:
        return None
    result = deliver(
        held.target,
        held.event,
        client=client,
        policy=policy,
        now=clock(),
        attempt=held.attempt,
        resolver=resolver,
    )
    with sessions() as session, session.begin():
        record_attempt(session, held, result)
    return result
