"""Stored deadlines: what changed, and when a deadline's status moves.

``GET`` computes deadlines afresh (``tiltas.case_deadlines``); the ``deadlines`` table keeps the
last computed due dates and the last announced status of each, so that

* a changed possible release date, calendar or anchor document recomputes the case's stored
  deadlines at once and reports each moved, new or dropped due date (a ``deadlines.changed``
  event; the calendar change's response lists them too);
* the sweep (Celery beat) and the timed re-checks move statuses with the clock (pending → at
  risk → due → overdue) and announce each move once (``deadline.at_risk`` …);
* a recorded delivery step that meets a deadline announces ``deadline.met`` at once.

A timed re-check carries the due date it expects: when it fires after the deadline moved, it
does nothing (the sweep has scheduled the new one). Timers are only scheduled within a horizon
shorter than the broker's visibility timeout (DOMAIN.md §9), so far-off dates wait in the
database, not in Redis.

Statuses are computed for a Lithuanian day (``lithuanian_today``): terms end at 24:00 there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, exists, inspect, or_, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from tiltas import events
from tiltas.case_deadlines import CaseDeadline, calendar_in_force, compute_case_deadlines
from tiltas.deadlines import DeadlineError, DeadlineStatus, WorkingDayCalendar
from tiltas.delivery import VILNIUS
from tiltas.models import Case, Document, Event, StoredDeadline, utcnow

ANCHOR_DOCUMENTS = frozenset({"G"})
"""Documents whose creation (or failed generation) starts or drops a case's terms (process B
starts with request G). Delivery steps that anchor terms are recorded through
``tiltas.delivery``, whose callers refresh the case themselves."""

FINAL_STATUSES = frozenset({DeadlineStatus.MET.value, DeadlineStatus.MET_LATE.value})

TIMER_MINUTE = dt.time(0, 1)
"""A timed re-check fires one minute into the Lithuanian day it waits for (a worker whose clock
is a little behind would still see the day before)."""


class ChangeCause(StrEnum):
    case_created = "case_created"
    release_date = "release_date"
    documents = "documents"
    calendar = "calendar"
    delivery = "delivery"
    sweep = "sweep"
    timer = "timer"


def lithuanian_today(now: dt.datetime | None = None) -> dt.date:
    return (now or utcnow()).astimezone(VILNIUS).date()


@dataclass(frozen=True)
class DeadlineChange:
    case_id: str
    kind: str
    document: str | None
    old_due_date: dt.date | None
    """None: the deadline is new."""
    new_due_date: dt.date | None
    """None: the deadline went away (e.g. its anchor document failed)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "kind": self.kind,
            "document": self.document,
            "old_due_date": self.old_due_date.isoformat() if self.old_due_date else None,
            "new_due_date": self.new_due_date.isoformat() if self.new_due_date else None,
        }


@dataclass(frozen=True)
class StatusChange:
    case_id: str
    kind: str
    old_status: str | None
    new_status: str


@dataclass
class Refresh:
    changes: list[DeadlineChange] = field(default_factory=list)
    status_changes: list[StatusChange] = field(default_factory=list)

    def add(self, other: Refresh) -> None:
        self.changes += other.changes
        self.status_changes += other.status_changes


def _lock_case(session: Session, case_id: int) -> None:
    # Everything that recomputes a case's stored deadlines holds its row (PostgreSQL), so two
    # recomputations never insert the same deadline twice.
    session.connection().execute(select(Case.id).where(Case.id == case_id).with_for_update())


def _computed(
    session: Session, case: Case, calendar: WorkingDayCalendar, today: dt.date
) -> list[CaseDeadline]:
    try:
        return compute_case_deadlines(session, case, calendar, today)
    except DeadlineError:
        # A date outside 2000–2100: nothing can be computed (GET explains why).
        return []


def refresh_case(
    session: Session,
    case: Case,
    *,
    cause: ChangeCause,
    today: dt.date | None,
    calendar: WorkingDayCalendar | None = None,
) -> Refresh:
    """Recompute the case's deadlines, store them and announce what changed.

    Due dates are always brought up to date; statuses only when ``today`` is given (the sweep,
    a timer, a recorded delivery step), since a status belongs to a day.
    """
    _lock_case(session, case.id)
    calendar = calendar or calendar_in_force(session)
    computed = _computed(session, case, calendar, today or lithuanian_today())
    stored = {
        row.kind: row
        for row in session.scalars(select(StoredDeadline).where(StoredDeadline.case_id == case.id))
    }
    result = Refresh()
    now = utcnow()
    for item in computed:
        deadline = item.deadline
        kind = deadline.kind.value
        row = stored.pop(kind, None)
        if row is None:
            row = StoredDeadline(case_id=case.id, kind=kind, status=None)
            session.add(row)
            result.changes.append(
                DeadlineChange(case.public_id, kind, deadline.document_id, None, deadline.due_date)
            )
        elif row.due_date != deadline.due_date:
            result.changes.append(
                DeadlineChange(
                    case.public_id, kind, deadline.document_id, row.due_date, deadline.due_date
                )
            )
            row.timer_at = None
        values = {
            "document_type": deadline.document_id,
            "anchor_date": deadline.anchor_date,
            "anchor_is_projected": deadline.anchor_is_projected,
            "due_date": deadline.due_date,
            "at_risk_from": deadline.at_risk_from,
            "calendar_version": str(deadline.calendar_version),
        }
        if any(getattr(row, name, None) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.computed_at = now
        if today is not None and row.status != item.status.value:
            result.status_changes.append(
                StatusChange(case.public_id, kind, row.status, item.status.value)
            )
            _announce_status(session, case, item, row.status)
            row.status = item.status.value
            row.status_on = today
            row.met_on = item.met_on
    for row in stored.values():
        result.changes.append(
            DeadlineChange(case.public_id, row.kind, row.document_type, row.due_date, None)
        )
        session.delete(row)
    if result.changes:
        events.emit(
            session,
            events.EventType.deadlines_changed,
            {
                "case_id": case.public_id,
                "cause": cause.value,
                "calendar_version": str(calendar.version),
                "changes": [c.as_json() for c in result.changes],
            },
            organisation_ids=events.case_audience(case),
            case=case,
        )
    return result


def _announce_status(
    session: Session, case: Case, item: CaseDeadline, previous: str | None
) -> None:
    event_type = events.STATUS_EVENTS.get(item.status)
    if event_type is None:
        return
    deadline = item.deadline
    events.emit(
        session,
        event_type,
        {
            "case_id": case.public_id,
            "kind": deadline.kind.value,
            "document": deadline.document_id,
            "actor": deadline.actor.value,
            "status": item.status.value,
            "previous_status": previous,
            "due_date": deadline.due_date.isoformat(),
            "met_on": item.met_on.isoformat() if item.met_on else None,
            "calendar_version": str(deadline.calendar_version),
        },
        organisation_ids=events.case_audience(case),
        case=case,
    )


def _all_cases(session: Session, batch: int) -> Iterator[list[Case]]:
    last_id = 0
    while True:
        cases = list(
            session.scalars(select(Case).where(Case.id > last_id).order_by(Case.id).limit(batch))
        )
        if not cases:
            return
        yield cases
        last_id = cases[-1].id


def refresh_all(
    session: Session, *, cause: ChangeCause, today: dt.date | None = None, batch: int = 500
) -> Refresh:
    """Recompute every case's deadlines (after a calendar change), in the caller's transaction."""
    calendar = calendar_in_force(session)
    result = Refresh()
    for cases in _all_cases(session, batch):
        for case in cases:
            result.add(refresh_case(session, case, cause=cause, today=today, calendar=calendar))
    return result


# ---------------------------------------------------------------- the clock: sweep and timers


@dataclass(frozen=True)
class Timer:
    """A timed re-check of one deadline: fire at ``fire_at``, expecting ``expected_due_date``."""

    deadline_id: int
    expected_due_date: dt.date
    fire_at: dt.datetime


@dataclass
class SweepReport:
    cases: int = 0
    changes: list[DeadlineChange] = field(default_factory=list)
    status_changes: list[StatusChange] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    deliveries: list[str] = field(default_factory=list)
    """Webhook deliveries made by the sweep's events, to be enqueued."""


def next_transition(row: StoredDeadline, today: dt.date) -> dt.date | None:
    """The next day on which the unmet deadline's status moves by the clock alone."""
    if row.status in FINAL_STATUSES or row.status == DeadlineStatus.OVERDUE.value:
        return None
    for day in (row.at_risk_from, row.due_date, row.due_date + dt.timedelta(days=1)):
        if day > today:
            return day
    return None


def _schedule_timers(
    session: Session, case_ids: Sequence[int], today: dt.date, now: dt.datetime, horizon_s: float
) -> list[Timer]:
    timers = []
    for row in session.scalars(
        select(StoredDeadline)
        .where(StoredDeadline.case_id.in_(case_ids))
        .order_by(StoredDeadline.id)
    ):
        day = next_transition(row, today)
        if day is None:
            continue
        fire_at = dt.datetime.combine(day, TIMER_MINUTE, VILNIUS).astimezone(dt.UTC)
        if (fire_at - now).total_seconds() > horizon_s:
            continue
        if row.timer_at is not None and row.timer_at == fire_at:
            continue
        row.timer_at = fire_at
        timers.append(Timer(row.id, row.due_date, fire_at))
    return timers


def _active_case_ids(session: Session, after: int, batch: int) -> list[int]:
    """Cases whose deadlines may still move: some unsettled, or none stored yet. Settled: met
    (in time or late), or overdue with no document that could still meet it (the stage I
    start, the release day), so old cases stop costing the sweep."""
    unsettled = or_(
        StoredDeadline.status.is_(None),
        and_(
            StoredDeadline.status.not_in(FINAL_STATUSES),
            or_(
                StoredDeadline.status != DeadlineStatus.OVERDUE.value,
                StoredDeadline.document_type.is_not(None),
            ),
        ),
    )
    unfinished = exists().where(StoredDeadline.case_id == Case.id, unsettled)
    none_stored = ~exists().where(StoredDeadline.case_id == Case.id)
    return list(
        session.scalars(
            select(Case.id)
            .where(Case.id > after, or_(unfinished, none_stored))
            .order_by(Case.id)
            .limit(batch)
        )
    )


def sweep(
    sessions: sessionmaker[Session],
    *,
    now: dt.datetime | None = None,
    horizon_s: float,
    batch: int = 200,
) -> SweepReport:
    """Bring every unfinished case's deadlines up to date for today (Lithuanian time), announce
    status moves, and schedule timed re-checks due within ``horizon_s``. One transaction per
    batch of cases; safe to run twice, or beside a timer."""
    now = now or utcnow()
    today = lithuanian_today(now)
    report = SweepReport()
    last_id = 0
    while True:
        with sessions() as session, session.begin():
            case_ids = _active_case_ids(session, last_id, batch)
            if not case_ids:
                break
            calendar = calendar_in_force(session)
            for case in session.scalars(
                select(Case).where(Case.id.in_(case_ids)).order_by(Case.id)
            ):
                refreshed = refresh_case(
                    session, case, cause=ChangeCause.sweep, today=today, calendar=calendar
                )
                report.changes += refreshed.changes
                report.status_changes += refreshed.status_changes
                report.cases += 1
            report.timers += _schedule_timers(session, case_ids, today, now, horizon_s)
            report.deliveries += events.take_new_deliveries(session)
        last_id = case_ids[-1]
    return report


class TimerOutcome(StrEnum):
    checked = "checked"
    stale = "stale"
    """The deadline moved or went away since the timer was set: nothing to do."""


@dataclass(frozen=True)
class TimerResult:
    outcome: TimerOutcome
    status_changes: list[StatusChange]
    deliveries: list[str]


def fire_timer(
    session: Session, deadline_id: int, expected_due_date: dt.date, today: dt.date
) -> TimerResult:
    """Re-check one deadline's case when its timer fires, if the deadline is still the one the
    timer was set for."""
    case_id = session.scalar(select(StoredDeadline.case_id).where(StoredDeadline.id == deadline_id))
    if case_id is None:
        return TimerResult(TimerOutcome.stale, [], [])
    _lock_case(session, case_id)
    row = session.get(StoredDeadline, deadline_id, populate_existing=True)
    if row is None or row.due_date != expected_due_date:
        return TimerResult(TimerOutcome.stale, [], [])
    case = session.get_one(Case, case_id)
    refreshed = refresh_case(session, case, cause=ChangeCause.timer, today=today)
    return TimerResult(
        TimerOutcome.checked, refreshed.status_changes, events.take_new_deliveries(session)
    )


# ---------------------------------------------------------------- following the inputs


_NOTED = "tiltas.deadline_tracking.noted"


def track_deadline_inputs(sessions: sessionmaker[Session]) -> None:
    """Have every session of ``sessions`` recompute a case's stored deadlines before it commits
    a change to the case's possible release date or to its anchor document (request G), and
    report the change. Case updates live in ``tiltas.cases``, which need not know of this."""
    # Marked on the factory itself: ``event.contains`` keys by ``id()``, and a new factory that
    # reuses a collected one's id looked registered when it was not (tests create many).
    if getattr(sessions, "_tiltas_tracks_deadlines", False):
        return
    sa_event.listen(sessions, "before_flush", _note_inputs)
    # Before the audit chain's append (``tiltas.audit.append_on_commit``), which comes last.
    sa_event.listen(sessions, "before_commit", _refresh_noted, insert=True)
    sessions._tiltas_tracks_deadlines = True  # type: ignore[attr-defined]


def _release_date_changed(case: Case) -> bool:
    history = inspect(case).attrs.release_date.history
    return bool(history.added) and list(history.added) != list(history.deleted)


def _note_inputs(session: Session, _context: Any, _instances: Any) -> None:
    noted: dict[tuple[str, int], tuple[Case | int, ChangeCause]] = session.info.setdefault(
        _NOTED, {}
    )
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, Case):
            if obj in session.new:
                noted["object", id(obj)] = (obj, ChangeCause.case_created)
            elif _release_date_changed(obj):
                _lock_case(session, obj.id)
                noted["object", id(obj)] = (obj, ChangeCause.release_date)
        elif (
            isinstance(obj, Document)
            and obj.type_id in ANCHOR_DOCUMENTS
            and obj.case_id is not None
        ):
            # Taken now, before the document's audit entry: the order a case update locks in.
            _lock_case(session, obj.case_id)
            noted.setdefault(("case", obj.case_id), (obj.case_id, ChangeCause.documents))


def _refresh_noted(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()
    noted: dict[tuple[str, int], tuple[Case | int, ChangeCause]] = session.info.pop(_NOTED, {})
    done: set[int] = set()
    for target, cause in noted.values():
        case = target if isinstance(target, Case) else session.get(Case, target)
        if case is None or case.id in done:
            continue
        done.add(case.id)
        refresh_case(session, case, cause=cause, today=None)


def change_reports(session: Session, case: Case, *, limit: int = 100) -> list[Event]:
    """The case's ``deadlines.changed`` events, newest first."""
    return list(
        session.scalars(
            select(Event)
            .where(Event.case_id == case.id, Event.type == events.EventType.deadlines_changed)
            .order_by(Event.id.desc())
            .limit(limit)
        )
    )
