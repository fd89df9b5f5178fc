"""The calendar in force (administrator's overrides, versioned) and a case's deadlines.

Deadlines are computed from the case, its documents and their delivery steps each time they
are read, so a changed possible release date, calendar or delivery is reflected at once; each
deadline names the calendar version that computed it. A deadline is met on the day its document
reached the state ``tiltas.delivery.REQUIRED_STATE`` names for it (Lithuanian time).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from tiltas.access import CaseKind
from tiltas.apikeys import Principal
from tiltas.cases import visible_case, visible_cases
from tiltas.deadlines import (
    CalendarOverrides,
    CaseTerms,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    OverrideDay,
    WorkingDayCalendar,
    conditional_release_terms,
    deadline_status,
    social_care_terms,
)
from tiltas.delivery import (
    REQUIRED_STATE,
    DeliveryState,
    Milestone,
    events_by_document,
    lithuanian_day,
    reached_at,
    timeline,
)
from tiltas.documents import DocumentStatus
from tiltas.models import CalendarRevision, Case, CaseParticipant, DeliveryEvent, Document
from tiltas.schema_types import StrictModel, Text


class OverrideDayInput(StrictModel):
    day: dt.date
    reason: Text


class CalendarOverridesInput(StrictModel):
    """Days the Seimas added or moved since the ``holidays`` package was released."""

    extra_holidays: list[OverrideDayInput] = Field(default_factory=list, max_length=500)
    extra_working_days: list[OverrideDayInput] = Field(default_factory=list, max_length=500)


def _overrides(data: dict[str, Any]) -> CalendarOverrides:
    return CalendarOverrides(
        extra_holidays=tuple(
            OverrideDay(dt.date.fromisoformat(d["day"]), d["reason"])
            for d in data["extra_holidays"]
        ),
        extra_working_days=tuple(
            OverrideDay(dt.date.fromisoformat(d["day"]), d["reason"])
            for d in data["extra_working_days"]
        ),
    )


@lru_cache(maxsize=8)
def _calendar(revision_id: int, overrides: CalendarOverrides) -> WorkingDayCalendar:
    return WorkingDayCalendar(overrides, label=f"r{revision_id}")


def calendar_in_force(session: Session) -> WorkingDayCalendar:
    revision = session.scalar(
        select(CalendarRevision).order_by(CalendarRevision.id.desc()).limit(1)
    )
    if revision is None:
        return _calendar(0, CalendarOverrides())
    return _calendar(revision.id, _overrides(revision.overrides))


def set_overrides(session: Session, data: CalendarOverridesInput, actor: str) -> WorkingDayCalendar:
    """A new calendar version; invalid tables (duplicates, days outside 2000–2100, a day both
    a holiday and a working day) are refused with every problem listed."""
    stored = data.model_dump(mode="json")
    _overrides(stored)  # raises InvalidCalendarOverrides (422) before anything is stored
    revision = CalendarRevision(overrides=stored, created_by=actor)
    session.add(revision)
    session.flush()
    return _calendar(revision.id, _overrides(stored))


def overrides_json(calendar: WorkingDayCalendar) -> dict[str, Any]:
    return {
        "extra_holidays": [
            {"day": d.day, "reason": d.reason} for d in calendar.overrides.extra_holidays
        ],
        "extra_working_days": [
            {"day": d.day, "reason": d.reason} for d in calendar.overrides.extra_working_days
        ],
    }


@dataclass(frozen=True)
class CaseDeadline:
    deadline: Deadline
    status: DeadlineStatus
    met_on: dt.date | None


def _first_made(documents: list[Document], type_id: str) -> dt.date | None:
    dates = [
        (
            dt.date.fromisoformat(d.envelope["registration"]["date"])
            if d.envelope.get("registration")
            else d.created_at.date()
        )
        for d in documents
        if d.type_id == type_id and d.status != DocumentStatus.failed
    ]
    return min(dates) if dates else None


@dataclass(frozen=True)
class _Progress:
    """How far the case's documents had got by the end of ``today``."""

    documents: list[Document]
    steps: dict[int, list[Milestone]]
    today: dt.date

    def reached_on(self, type_id: str, state: DeliveryState) -> dt.date | None:
        """The first day a document of this type reached ``state`` (Lithuanian time)."""
        days = [
            lithuanian_day(at)
            for d in self.documents
            if d.type_id == type_id and (at := reached_at(self.steps[d.id], state)) is not None
        ]
        return min(days) if days else None


def _progress(
    documents: list[Document], events: dict[int, list[DeliveryEvent]], today: dt.date
) -> _Progress:
    # Steps after today have not happened yet as far as ``today`` is concerned.
    steps = {
        d.id: [s for s in timeline(d, events.get(d.id, [])) if s.day <= today] for d in documents
    }
    return _Progress(documents, steps, today)


_DEADLINE_COLUMNS = load_only(
    Document.id,
    Document.case_id,
    Document.type_id,
    Document.status,
    Document.created_at,
    Document.envelope,
    Document.generated_at,
    Document.signed_at,
    Document.acknowledgement,
)
"""The columns of a document that deadlines are computed from: its other JSON (data,
signatures, history, renewals) cost more to decode than the computation, and a case's
deadlines are recomputed whenever its request G changes."""


@lru_cache(maxsize=4096)
def _release_terms(calendar: WorkingDayCalendar, release_date: dt.date) -> CaseTerms:
    """Process A's terms depend only on the (immutable) calendar and the date: a list of an
    organisation's deadlines computes them once per release date, not once per case."""
    return conditional_release_terms(calendar, release_date)


class CaseKey(Protocol):
    """What deadlines are computed from: a ``Case`` or a row of these columns."""

    @property
    def id(self) -> int: ...
    @property
    def public_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def release_date(self) -> dt.date | None: ...


def _deadlines_of(
    case: CaseKey,
    documents: list[Document],
    events: dict[int, list[DeliveryEvent]],
    calendar: WorkingDayCalendar,
    today: dt.date,
    *,
    due_before: dt.date | None = None,
) -> list[CaseDeadline]:
    """``due_before``: only those due on or before it."""
    progress = _progress(documents, events, today)
    if case.kind == CaseKind.conditional_release:
        if case.release_date is None:
            return []
        terms = _release_terms(calendar, case.release_date)
    else:
        # Process B starts with the doctor's request G (its registration date, else when it
        # was made); without G there is no term yet.
        request_filed_on = _first_made(documents, "G")
        if request_filed_on is None:
            return []
        terms = social_care_terms(
            calendar,
            request_filed_on,
            handed_over_on=progress.reached_on(
                "G", REQUIRED_STATE[DeadlineKind.QUESTIONNAIRE_HANDOVER]
            ),
            # [design] Registration at the Prison Department is the day application J is
            # delivered there (its DMS registers what it receives).
            registered_on=progress.reached_on("J", DeliveryState.delivered),
        )
    result = []
    for deadline in terms:
        if due_before is not None and deadline.due_date > due_before:
            continue
        required = REQUIRED_STATE.get(deadline.kind)
        met_on = (
            progress.reached_on(deadline.document_id, required)
            if documents and deadline.document_id is not None and required is not None
            else None
        )
        result.append(CaseDeadline(deadline, deadline_status(deadline, today, met_on), met_on))
    return result


def compute_case_deadlines(
    session: Session, case: Case, calendar: WorkingDayCalendar, today: dt.date
) -> list[CaseDeadline]:
    """The case's deadlines from its documents and their delivery steps (not audited)."""
    documents = list(
        session.scalars(
            select(Document).options(_DEADLINE_COLUMNS).where(Document.case_id == case.id)
        )
    )
    events = events_by_document(session, [d.id for d in documents])
    return _deadlines_of(case, documents, events, calendar, today)


def case_deadlines(
    session: Session, principal: Principal, case_public_id: str, today: dt.date
) -> list[CaseDeadline]:
    case = visible_case(session, principal, case_public_id)
    return compute_case_deadlines(session, case, calendar_in_force(session), today)


@dataclass(frozen=True)
class OrganisationDeadline:
    case_id: str
    item: CaseDeadline


def deadlines_of_cases(
    session: Session,
    cases: Sequence[CaseKey],
    today: dt.date,
    *,
    statuses: frozenset[DeadlineStatus] | None = None,
    due_before: dt.date | None = None,
    document: str | None = None,
    of_organisation: int | None = None,
) -> list[OrganisationDeadline]:
    """The deadlines of these cases, soonest first. ``of_organisation``: the cases are every
    case this organisation takes part in (its documents are then found by a subquery: a
    list of hundreds of case ids cost more to send than the documents to read)."""
    # Four queries in all: the documents, their delivery steps, the calendar (and the cases).
    documents_by_case: dict[int, list[Document]] = defaultdict(list)
    if of_organisation is None:
        case_ids: Any = [c.id for c in cases]
    else:
        case_ids = select(CaseParticipant.case_id).where(
            CaseParticipant.organisation_id == of_organisation
        )
    for row in session.scalars(
        select(Document).options(_DEADLINE_COLUMNS).where(Document.case_id.in_(case_ids))
    ):
        documents_by_case[row.case_id or 0].append(row)
    events = events_by_document(
        session, [d.id for docs in documents_by_case.values() for d in docs]
    )
    calendar = calendar_in_force(session)
    found: list[OrganisationDeadline] = []
    for case in cases:
        for item in _deadlines_of(
            case, documents_by_case[case.id], events, calendar, today, due_before=due_before
        ):
            if statuses is not None and item.status not in statuses:
                continue
            if document is not None and item.deadline.document_id != document:
                continue
            found.append(OrganisationDeadline(case.public_id, item))
    found.sort(key=lambda d: (d.item.deadline.due_date, d.case_id, d.item.deadline.kind.value))
    return found


def organisation_deadlines(
    session: Session,
    principal: Principal,
    today: dt.date,
    *,
    statuses: frozenset[DeadlineStatus] | None = None,
    due_before: dt.date | None = None,
    document: str | None = None,
) -> list[OrganisationDeadline]:
    """The deadlines of every case the caller's organisation takes part in, soonest first."""
    return deadlines_of_cases(
        session,
        visible_cases(session, principal),
        today,
        statuses=statuses,
        due_before=due_before,
        document=document,
        of_organisation=principal.organisation_id,
    )
