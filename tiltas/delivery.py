"""Where a document is on its way to its recipient, and which state meets which deadline.

A document goes generated → signed → sent → delivered → acknowledged, or ends a sending in
failed / returned (and may then be sent again). Generation and signing are the service's own
record (``Document.generated_at`` / ``signed_at``); the later steps are recorded by the author
organisation's DMS or a clerk as ``DeliveryEvent``s, with who recorded them and when they
happened. For E, F and L the convict's acknowledgement recorded on a signed document (pad image
or sealed scan, ``tiltas.documents``) is the ``acknowledged`` step [design: "supažindinamas
pasirašytinai" — made acquainted by signature — is the acknowledgement].

Errors::

    TiltasError
    ├── InvalidInput                  a bad ``at`` (in the future, or before the last step)
    ├── NotFound / Forbidden          the document is not yours to see / to record steps of
    ├── DocumentNotReady              no PDF yet: nothing to send (409)
    └── InvalidDeliveryTransition     current_state, requested_state, allowed_states (409)
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from tiltas import audit, events
from tiltas.apikeys import Principal
from tiltas.deadlines import DeadlineKind
from tiltas.documents import ACKNOWLEDGED_DOCUMENTS, DocumentNotReady, is_author, read_document
from tiltas.errors import FieldProblem, Forbidden, InvalidInput, NotFound, TiltasError
from tiltas.models import Case, DeliveryEvent, Document, utcnow
from tiltas.schema_types import StrictModel

VILNIUS = ZoneInfo("Europe/Vilnius")
"""Terms end at 24:00 Lithuanian time (Civil Code art. 1.122): a step's day is its day here."""

CLOCK_SKEW = dt.timedelta(minutes=5)
"""How far in the future a recorded ``at`` may lie (the caller's clock may run ahead)."""


class DeliveryState(StrEnum):
    generated = "generated"
    signed = "signed"
    sent = "sent"
    delivered = "delivered"
    acknowledged = "acknowledged"
    failed = "failed"
    """A sending failed (e-delivery bounced, e-mail refused): the document was not sent."""
    returned = "returned"
    """The recipient, or the post, returned it: it did not arrive."""


class RecordedState(StrEnum):
    """The steps a DMS or clerk records; generation and signing the service records itself."""

    sent = "sent"
    delivered = "delivered"
    acknowledged = "acknowledged"
    failed = "failed"
    returned = "returned"


class Channel(StrEnum):
    e_delivery = "e_delivery"
    """The state e-delivery system (e. pristatymas)."""
    dms = "dms"
    email = "email"
    post = "post"
    in_person = "in_person"
    other = "other"


_PROGRESS = {
    DeliveryState.generated: 0,
    DeliveryState.signed: 1,
    DeliveryState.sent: 2,
    DeliveryState.delivered: 3,
    DeliveryState.acknowledged: 4,
}
_VOIDING = frozenset({DeliveryState.failed, DeliveryState.returned})

TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    DeliveryState.generated: frozenset(),  # signing comes first; the service records it
    # [design] Handing a paper over in person is "delivered" without a separate "sent".
    DeliveryState.signed: frozenset({DeliveryState.sent, DeliveryState.delivered}),
    DeliveryState.sent: frozenset(
        {DeliveryState.delivered, DeliveryState.failed, DeliveryState.returned}
    ),
    DeliveryState.delivered: frozenset({DeliveryState.acknowledged, DeliveryState.returned}),
    DeliveryState.acknowledged: frozenset(),
    DeliveryState.failed: frozenset({DeliveryState.sent, DeliveryState.delivered}),
    DeliveryState.returned: frozenset({DeliveryState.sent, DeliveryState.delivered}),
}

# Which state of its document meets each deadline (DOMAIN.md §3–§6).
REQUIRED_STATE: dict[DeadlineKind, DeliveryState] = {
    # Seed: the notice is *sent* ("siuntimas"); Civil Code 1.122(2): sent by 24:00 is in time.
    DeadlineKind.RELEASE_NOTICE: DeliveryState.sent,
    # Seed: the probation service *receives* the list ("gaunamas").
    DeadlineKind.RELEASE_LIST: DeliveryState.delivered,
    # [design] Seed: the plan is drawn up before release; it is submitted and posted later.
    DeadlineKind.SUPERVISION_PLAN: DeliveryState.signed,
    # Seed: the convict is made acquainted by signature ("pasirašytinai supažindinamas").
    DeadlineKind.PROBATION_ACKNOWLEDGEMENT: DeliveryState.acknowledged,
    DeadlineKind.ELECTRONIC_MONITORING_ACKNOWLEDGEMENT: DeliveryState.acknowledged,
    # [design] The visit itself is the supervising officer's record, outside Tiltas: met once
    # the convict has acknowledged the duty (and its date, printed on E).
    DeadlineKind.PROBATION_REPORTING: DeliveryState.acknowledged,
    # Seed V-80 p. 6: the head *hands* the request and questionnaire to the authorised person.
    DeadlineKind.QUESTIONNAIRE_HANDOVER: DeliveryState.delivered,
    # Seed V-80 p. 7: the authorised person *returns* the filled questionnaire to the head.
    DeadlineKind.QUESTIONNAIRE_RETURN: DeliveryState.delivered,
    # Seed V-80 p. 13: the Commission informs the institution by *sending* the protocol's copy.
    DeadlineKind.COMMISSION_PROTOCOL: DeliveryState.sent,
    # Seed V-80 p. 16: the responsible employee *informs* the chair by e-mail.
    DeadlineKind.FREE_PLACES_MONTHLY: DeliveryState.sent,
    DeadlineKind.FREE_PLACE_UNPLANNED: DeliveryState.sent,
}


class InvalidDeliveryTransition(TiltasError):
    code = "invalid_delivery_transition"

    def __init__(
        self, current: DeliveryState, requested: RecordedState, allowed: Iterable[DeliveryState]
    ) -> None:
        allowed_states = sorted(s.value for s in allowed)
        super().__init__(
            f"a {current.value} document cannot become {requested.value}; "
            + (f"next may be: {', '.join(allowed_states)}" if allowed_states else "nothing next")
        )
        self.current_state = current.value
        self.requested_state = requested.value
        self.allowed_states = allowed_states


class DeliveryEventInput(StrictModel):
    state: RecordedState
    at: AwareDatetime | None = Field(
        default=None, description="When it happened (with time zone); default now"
    )
    channel: Channel | None = None
    note: str | None = Field(default=None, min_length=1, max_length=1000)


@dataclass(frozen=True)
class Milestone:
    state: DeliveryState
    at: dt.datetime
    event: DeliveryEvent | None = None
    """The recorded step; None for the service's own steps."""

    @property
    def day(self) -> dt.date:
        return lithuanian_day(self.at)


def lithuanian_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(VILNIUS).date()


def timeline(document: Document, recorded: Iterable[DeliveryEvent]) -> list[Milestone]:
    """Every step of the document so far, oldest first (the service's own steps first when two
    share a moment)."""
    steps: list[tuple[dt.datetime, int, Milestone]] = []
    if document.generated_at is not None:
        at = document.generated_at
        steps.append((at, 0, Milestone(DeliveryState.generated, at)))
    if document.signed_at is not None:
        at = document.signed_at
        steps.append((at, 0, Milestone(DeliveryState.signed, at)))
        acknowledgement = document.acknowledgement
        if document.type_id in ACKNOWLEDGED_DOCUMENTS and acknowledgement:
            acknowledged = dt.datetime.fromisoformat(acknowledgement["recorded_at"])
            at = max(at, acknowledged)
            steps.append((at, 0, Milestone(DeliveryState.acknowledged, at)))
    for event in recorded:
        at = event.at
        steps.append((at, 1, Milestone(DeliveryState(event.state), at, event)))
    steps.sort(key=lambda s: (s[0], s[1], s[2].event.id if s[2].event else 0))
    return [s[2] for s in steps]


def current_state(steps: Sequence[Milestone]) -> DeliveryState | None:
    """The latest step, or None when the document has no PDF yet."""
    return steps[-1].state if steps else None


def reached_at(steps: Sequence[Milestone], required: DeliveryState) -> dt.datetime | None:
    """When the document first reached ``required`` (or a later step) in a sending that was not
    later undone by ``failed`` / ``returned``; None if it has not."""
    goal = _PROGRESS[required]
    reached: dt.datetime | None = None
    for step in steps:
        if step.state in _VOIDING:
            if goal >= _PROGRESS[DeliveryState.sent]:
                reached = None
            continue
        if reached is None and _PROGRESS[step.state] >= goal:
            reached = step.at
    return reached


def events_by_document(
    session: Session, document_ids: Sequence[int]
) -> dict[int, list[DeliveryEvent]]:
    found: dict[int, list[DeliveryEvent]] = defaultdict(list)
    if not document_ids:
        return found
    for event in session.scalars(
        select(DeliveryEvent)
        .where(DeliveryEvent.document_id.in_(document_ids))
        .order_by(DeliveryEvent.id)
    ):
        found[event.document_id].append(event)
    return found


def _events_of(session: Session, document: Document) -> list[DeliveryEvent]:
    return list(
        session.scalars(
            select(DeliveryEvent)
            .where(DeliveryEvent.document_id == document.id)
            .order_by(DeliveryEvent.id)
        )
    )


@dataclass(frozen=True)
class DocumentDelivery:
    document: Document
    case: Case | None
    steps: list[Milestone]

    @property
    def state(self) -> DeliveryState | None:
        return current_state(self.steps)

    @property
    def allowed_next(self) -> list[str]:
        state = self.state
        return sorted(s.value for s in TRANSITIONS[state]) if state is not None else []


def _lock_for_recording(session: Session, document_public_id: str) -> None:
    # The case first, then the document: the order a case update takes its locks in, so that
    # recording a step (which recomputes the case's deadlines) never deadlocks with it.
    found = session.execute(
        select(Document.id, Document.case_id).where(Document.public_id == document_public_id)
    ).first()
    if found is None:
        raise NotFound(f"no document {document_public_id}")
    if found.case_id is not None:
        session.execute(select(Case.id).where(Case.id == found.case_id).with_for_update())
    session.execute(select(Document.id).where(Document.id == found.id).with_for_update())


def record_event(
    session: Session,
    principal: Principal,
    document_public_id: str,
    data: DeliveryEventInput,
    *,
    now: dt.datetime | None = None,
) -> tuple[DeliveryEvent, DocumentDelivery]:
    """Record one step of the document's delivery, if it follows from where the document is,
    and announce it (``document.<state>``). The caller recomputes the case's deadlines."""
    now = now or utcnow()
    _lock_for_recording(session, document_public_id)
    document = read_document(session, principal, document_public_id, purpose="delivery")
    if not is_author(principal, document):
        raise Forbidden("only the author organisation records how its document travels")
    steps = timeline(document, _events_of(session, document))
    state = current_state(steps)
    if state is None:
        raise DocumentNotReady(document.public_id, document.status)
    requested = DeliveryState(data.state.value)
    if requested not in TRANSITIONS[state]:
        raise InvalidDeliveryTransition(state, data.state, TRANSITIONS[state])
    at = data.at.astimezone(dt.UTC) if data.at is not None else now
    if at > now + CLOCK_SKEW:
        raise InvalidInput([FieldProblem("at", "lies in the future", "in_future")])
    if at < steps[-1].at:
        raise InvalidInput(
            [
                FieldProblem(
                    "at",
                    f"is before the document's last step ({steps[-1].state.value} at "
                    f"{steps[-1].at.isoformat()})",
                    "before_previous_step",
                )
            ]
        )
    event = DeliveryEvent(
        public_id=str(uuid.uuid4()),
        document_id=document.id,
        state=requested.value,
        at=at,
        recorded_at=now,
        recorded_by_key_id=principal.key_id,
        recorded_by_organisation_code=principal.organisation_code,
        recorded_by_role=principal.role.value,
        channel=data.channel.value if data.channel else None,
        note=data.note,
    )
    session.add(event)
    session.flush()
    case = session.get(Case, document.case_id) if document.case_id is not None else None
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.create,
        "delivery_event",
        event.public_id,
        case_id=case.public_id if case else None,
        # The note may name people: only what kind of step it was.
        detail={"document": document.public_id, "type": document.type_id, "state": event.state},
    )
    events.emit(
        session,
        events.EventType(f"document.{event.state}"),
        {
            "document_id": document.public_id,
            "type": document.type_id,
            "case_id": case.public_id if case else None,
            "state": event.state,
            "at": at.isoformat(),
            "channel": event.channel,
        },
        organisation_ids=events.document_audience(document, case),
        case=case,
    )
    steps = timeline(document, [*(s.event for s in steps if s.event), event])
    return event, DocumentDelivery(document, case, steps)


def document_delivery(
    session: Session, principal: Principal, document_public_id: str
) -> DocumentDelivery:
    """The document's steps for anyone who may read the document (the read is audited)."""
    document = read_document(session, principal, document_public_id, purpose="delivery")
    case = session.get(Case, document.case_id) if document.case_id is not None else None
    return DocumentDelivery(document, case, timeline(document, _events_of(session, document)))
