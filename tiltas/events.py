"""Events: what happened, written in the same transaction as the change itself, with one
webhook delivery per subscribed organisation (an outbox: nothing is sent from here).

Who hears of what [design]: a deadline's events go to every organisation taking part in the
case (the same ones that see the deadline in ``GET /v1/deadlines``); a document's delivery
steps go to its author and to the case's organisations of a kind that may read that document
type (``tiltas.access``). Event data holds ids, kinds, states and dates, never personal data.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiltas.access import (
    ROLES_BY_ORGANISATION_KIND,
    OrganisationKind,
    may_read_document,
)
from tiltas.deadlines import DeadlineStatus
from tiltas.models import Case, Document, Event, WebhookDelivery, WebhookSubscription, utcnow
from tiltas.webhooks import delivery_id_for


class EventType(StrEnum):
    deadline_at_risk = "deadline.at_risk"
    deadline_due = "deadline.due"
    deadline_overdue = "deadline.overdue"
    deadline_met = "deadline.met"
    deadline_met_late = "deadline.met_late"
    deadlines_changed = "deadlines.changed"
    """Due dates of a case moved, appeared or went away (release date, calendar, documents)."""
    document_sent = "document.sent"
    document_delivered = "document.delivered"
    document_acknowledged = "document.acknowledged"
    document_failed = "document.failed"
    document_returned = "document.returned"


STATUS_EVENTS: dict[DeadlineStatus, EventType] = {
    DeadlineStatus.AT_RISK: EventType.deadline_at_risk,
    DeadlineStatus.DUE: EventType.deadline_due,
    DeadlineStatus.OVERDUE: EventType.deadline_overdue,
    DeadlineStatus.MET: EventType.deadline_met,
    DeadlineStatus.MET_LATE: EventType.deadline_met_late,
}
"""A deadline going (back) to ``pending`` is not announced: ``deadlines.changed`` says why."""

_NEW_DELIVERIES = "tiltas.events.new_deliveries"
_SUBSCRIPTIONS = "tiltas.events.subscriptions"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    delivered = "delivered"
    failed = "failed"


def _subscriptions(session: Session, audience: tuple[int, ...]) -> list[WebhookSubscription]:
    # Many events of one transaction (a sweep batch) go to the same organisations: ask once.
    cache: dict[tuple[int, ...], list[WebhookSubscription]] = session.info.setdefault(
        _SUBSCRIPTIONS, {}
    )
    if audience not in cache:
        cache[audience] = list(
            session.scalars(
                select(WebhookSubscription)
                .where(
                    WebhookSubscription.organisation_id.in_(audience),
                    WebhookSubscription.disabled_at.is_(None),
                )
                .order_by(WebhookSubscription.id)
            )
        )
    return cache[audience]


def emit(
    session: Session,
    event_type: EventType,
    data: dict[str, Any],
    *,
    organisation_ids: Iterable[int],
    case: Case | None = None,
    occurred_at: dt.datetime | None = None,
) -> Event:
    """Record an event and a pending delivery for each subscription that wants it."""
    now = utcnow()
    event = Event(
        public_id=str(uuid.uuid4()),
        type=event_type.value,
        occurred_at=occurred_at or now,
        case_id=case.id if case is not None else None,
        data=data,
    )
    session.add(event)
    audience = tuple(sorted(set(organisation_ids)))
    wanted = (
        [s for s in _subscriptions(session, audience) if event_type.value in s.events]
        if audience
        else []
    )
    if not wanted:
        return event
    session.flush()
    created = session.info.setdefault(_NEW_DELIVERIES, [])
    for subscription in wanted:
        delivery = WebhookDelivery(
            public_id=delivery_id_for(subscription.public_id, event.public_id),
            event_id=event.id,
            subscription_id=subscription.id,
            status=DeliveryStatus.pending.value,
            round=1,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(delivery)
        created.append(delivery.public_id)
    return event


def take_new_deliveries(session: Session) -> list[str]:
    """The deliveries made in this session so far (and forget them): a caller that can reach
    the workers enqueues them after commit; the dispatcher finds any it does not."""
    found: list[str] = session.info.pop(_NEW_DELIVERIES, [])
    return found


def case_audience(case: Case) -> list[int]:
    return [p.organisation_id for p in case.participants]


def _kind_may_read(kind: str, type_id: str) -> bool:
    roles = ROLES_BY_ORGANISATION_KIND.get(OrganisationKind(kind), frozenset())
    return any(may_read_document(role, type_id) for role in roles)


def document_audience(document: Document, case: Case | None) -> list[int]:
    audience = {document.author_organisation_id}
    if case is not None:
        audience.update(
            p.organisation_id
            for p in case.participants
            if _kind_may_read(p.organisation.kind, document.type_id)
        )
    return sorted(audience)
