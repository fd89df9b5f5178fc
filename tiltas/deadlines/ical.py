"""An organisation's deadlines as an iCalendar (RFC 5545) feed for calendar applications.

One all-day ``VEVENT`` per deadline, on its due date. Its ``UID`` is derived from the case, the
deadline kind and (for kinds that repeat) an occurrence key, never from the date: when a due date
moves, calendar applications update the event instead of adding a second one.

No personal data goes into the feed (it is fetched by calendar apps on phones and kept by
third-party calendar services): cases appear by their id only, and every text field is refused
if it holds a run of 11 digits, the shape of a personal code (asmens kodas, DOMAIN.md §7).

Line folding (75 octets, never inside a UTF-8 character) and escaping (``,`` ``;`` ``\\``
and newlines) are the ``icalendar`` library's.

Errors: ``InvalidCalendarFeedInput`` (a ``tiltas.errors.InvalidInput``: the API answers 422).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Alarm, Calendar, Event, vDuration, vText

from tiltas.deadlines.terms import ActorRole, Deadline, DeadlineKind, DeadlineStatus
from tiltas.errors import FieldProblem, InvalidInput

__all__ = [
    "DEFAULT_REMINDER_DAYS",
    "CalendarDeadline",
    "InvalidCalendarFeedInput",
    "deadline_uid",
    "deadlines_calendar",
]

DEFAULT_REMINDER_DAYS = 5
"""Calendar days: an iCalendar alarm is a duration and knows no working days. Five calendar days
before a due date can be as few as three working days (over a weekend), so the reminder comes at
or after the moment the service marks the deadline ``at_risk`` (5 working days by default)."""
REMINDER_HOUR = 9
"""The reminder goes off at 09:00 (the calendar app's local time) of the reminder day."""

PRODID = "-//Tiltas//Terminai//LT"
_UID_NAMESPACE = uuid.UUID("2b7e0c1e-9c4a-5d3e-8f61-7469c174a5ca")
_UID_DOMAIN = "terminai.tiltas"
_CASE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,79}")
_OCCURRENCE = re.compile(r"[A-Za-z0-9._:-]{0,40}")
_DOCUMENT_ID = re.compile(r"[A-N]2?")
_PERSONAL_CODE_SHAPE = re.compile(r"\d{11}")

_TITLES: dict[DeadlineKind, str] = {
    DeadlineKind.STAGE_I_START: "pasirengimo lygtiniam paleidimui (I etapo) pradžia",
    DeadlineKind.RELEASE_NOTICE: "pranešimas savivaldybės administracijai",
    DeadlineKind.RELEASE_LIST: (
        "lygtinai paleisti planuojamų nuteistųjų sąrašas probacijos tarnybai"
    ),
    DeadlineKind.RELEASE_DAY: "paleidimo diena",
    DeadlineKind.SUPERVISION_PLAN: "pirminis individualus probuojamojo priežiūros planas",
    DeadlineKind.PROBATION_ACKNOWLEDGEMENT: "supažindinimas su probacijos vykdymo tvarka",
    DeadlineKind.ELECTRONIC_MONITORING_ACKNOWLEDGEMENT: (
        "supažindinimas su elektroninio stebėjimo priemonių atmintine"
    ),
    DeadlineKind.PROBATION_REPORTING: "atvykimas į probacijos tarnybą",
    DeadlineKind.QUESTIONNAIRE_HANDOVER: "prašymo ir anketos perdavimas įgaliotam asmeniui",
    DeadlineKind.QUESTIONNAIRE_RETURN: "užpildytos anketos grąžinimas sveikatos priežiūros vadovui",
    DeadlineKind.COMMISSION_PROTOCOL: "Komisijos posėdžio protokolas",
    DeadlineKind.FREE_PLACES_MONTHLY: (
        "informacija apie laisvas vietas socialinės globos sektoriuje"
    ),
    DeadlineKind.FREE_PLACE_UNPLANNED: "pranešimas apie neplanuotai atsilaisvinusią vietą",
}
_EVENTS_NOT_TERMS = frozenset({DeadlineKind.RELEASE_DAY})
"""Shown as the day itself, without "– terminas"."""

_STATUS_LT: dict[DeadlineStatus, str] = {
    DeadlineStatus.PENDING: "laukiama",
    DeadlineStatus.AT_RISK: "artėja terminas",
    DeadlineStatus.DUE: "terminas šiandien",
    DeadlineStatus.OVERDUE: "terminas praleistas",
    DeadlineStatus.MET: "įvykdyta",
    DeadlineStatus.MET_LATE: "įvykdyta pavėluotai",
}
_DONE = frozenset({DeadlineStatus.MET, DeadlineStatus.MET_LATE})

_ACTOR_LT: dict[ActorRole, str] = {
    ActorRole.CORRECTIONAL_INSTITUTION: "pataisos įstaiga",
    ActorRole.PREPARATORY_PROBATION_OFFICER: (
        "parengiamuosius darbus atliekantis probacijos pareigūnas"
    ),
    ActorRole.ELECTRONIC_MONITORING_OFFICER: "už elektroninį stebėjimą atsakingas pareigūnas",
    ActorRole.CONVICT: "nuteistasis",
    ActorRole.HEAD_OF_HEALTH_CARE_UNIT: "sveikatos priežiūros padalinio vadovas",
    ActorRole.AUTHORISED_PERSON: "įgaliotas asmuo",
    ActorRole.COMMISSION: "Komisija",
    ActorRole.RESPONSIBLE_EMPLOYEE: "atsakingas darbuotojas",
}


class InvalidCalendarFeedInput(InvalidInput):
    """A deadline or argument that cannot go into the feed; ``field`` names it."""

    code = "invalid_calendar_feed_input"

    def __init__(self, field: str, reason: str) -> None:
        message = f"{field}: {reason}"
        super().__init__([FieldProblem(field, message, self.code)], message)
        self.field = field
        self.reason = reason


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def _refuse_personal_code(value: str, field: str) -> None:
    if _PERSONAL_CODE_SHAPE.search(value):
        raise InvalidCalendarFeedInput(
            field,
            "holds 11 consecutive digits (a personal code?); the feed carries no personal data",
        )


@dataclass(frozen=True)
class CalendarDeadline:
    """One deadline as the calendar feed shows it: ids, dates and legal text, no personal data."""

    case_id: str | None
    """The case's id (never the convict's name or personal code); ``None`` for the
    organisation's own deadlines (the monthly free-places report M)."""
    document_id: str | None
    """The document of DOMAIN.md §5 (A…N) that meets the deadline; ``None`` for events."""
    kind: DeadlineKind
    due_date: date
    status: DeadlineStatus
    """The status on the day the feed was generated."""
    legal_basis_lt: str
    """The legal basis in Lithuanian (``Deadline.legal_basis.lt``)."""
    actor: ActorRole
    occurrence: str = ""
    """Tells apart deadlines of one kind that repeat in a case or an organisation (``2026-05``
    for that month's report M, a round of process B …). Part of the UID, so it must not change
    when the due date moves."""

    def __post_init__(self) -> None:
        if self.case_id is not None:
            if not isinstance(self.case_id, str) or not _CASE_ID.fullmatch(self.case_id):
                raise InvalidCalendarFeedInput(
                    "case_id", "must be 1–80 characters of A–Z, a–z, 0–9, '.', '_', ':', '/', '-'"
                )
            if not _is_uuid(self.case_id):  # ours are random UUIDs: their digits mean nothing
                _refuse_personal_code(self.case_id, "case_id")
        if self.document_id is not None and (
            not isinstance(self.document_id, str) or not _DOCUMENT_ID.fullmatch(self.document_id)
        ):
            raise InvalidCalendarFeedInput("document_id", "must be a document id A…N (or B2)")
        if not isinstance(self.kind, DeadlineKind):
            raise InvalidCalendarFeedInput("kind", "must be a DeadlineKind")
        if not isinstance(self.due_date, date) or isinstance(self.due_date, datetime):
            raise InvalidCalendarFeedInput("due_date", "must be a date")
        if not isinstance(self.status, DeadlineStatus):
            raise InvalidCalendarFeedInput("status", "must be a DeadlineStatus")
        if not isinstance(self.actor, ActorRole):
            raise InvalidCalendarFeedInput("actor", "must be an ActorRole")
        if not isinstance(self.legal_basis_lt, str) or not self.legal_basis_lt.strip():
            raise InvalidCalendarFeedInput("legal_basis_lt", "must be a non-empty text")
        _refuse_personal_code(self.legal_basis_lt, "legal_basis_lt")
        if not isinstance(self.occurrence, str) or not _OCCURRENCE.fullmatch(self.occurrence):
            raise InvalidCalendarFeedInput(
                "occurrence", "must be at most 40 characters of A–Z, a–z, 0–9, '.', '_', ':', '-'"
            )
        _refuse_personal_code(self.occurrence, "occurrence")

    @classmethod
    def from_deadline(
        cls,
        deadline: Deadline,
        *,
        case_id: str | None,
        status: DeadlineStatus,
        occurrence: str | None = None,
    ) -> CalendarDeadline:
        """The feed's view of a computed ``Deadline``.

        Without ``occurrence``, the monthly report M is keyed by its month and an unplanned
        vacancy by the day the place was vacated; other kinds occur once per case.
        """
        if occurrence is None:
            if deadline.kind is DeadlineKind.FREE_PLACES_MONTHLY:
                occurrence = deadline.anchor_date.strftime("%Y-%m")
            elif deadline.kind is DeadlineKind.FREE_PLACE_UNPLANNED:
                occurrence = deadline.anchor_date.isoformat()
            else:
                occurrence = ""
        return cls(
            case_id=case_id,
            document_id=deadline.document_id,
            kind=deadline.kind,
            due_date=deadline.due_date,
            status=status,
            legal_basis_lt=deadline.legal_basis.lt,
            actor=deadline.actor,
            occurrence=occurrence,
        )


def deadline_uid(deadline: CalendarDeadline) -> str:
    """The event's UID: a function of case, kind and occurrence only, never of the dates."""
    key = "\x1f".join((deadline.case_id or "", deadline.kind.value, deadline.occurrence))
    return f"{uuid.uuid5(_UID_NAMESPACE, key)}@{_UID_DOMAIN}"


def _summary(deadline: CalendarDeadline) -> str:
    title = _TITLES[deadline.kind]
    text = (
        f"{deadline.document_id}: {title}"
        if deadline.document_id
        else title[:1].upper() + title[1:]
    )
    if deadline.kind not in _EVENTS_NOT_TERMS:
        text += " – terminas"
    if deadline.status in _DONE:
        text = f"✓ {text}"
    if deadline.case_id is not None:
        text += f" (byla {deadline.case_id})"
    return text


def _description(deadline: CalendarDeadline, generated_on: date) -> str:
    lines = []
    if deadline.case_id is not None:
        lines.append(f"Byla: {deadline.case_id}")
    lines += [
        f"Terminas: {deadline.due_date.isoformat()}",
        f"Būsena {generated_on.isoformat()}: {_STATUS_LT[deadline.status]}",
        f"Atsakingas: {_ACTOR_LT[deadline.actor]}",
        f"Teisinis pagrindas: {deadline.legal_basis_lt}",
    ]
    return "\n".join(lines)


def deadlines_calendar(
    deadlines: Iterable[CalendarDeadline],
    *,
    organisation_name: str,
    generated_at: datetime,
    reminder_days: int | None = DEFAULT_REMINDER_DAYS,
) -> bytes:
    """The feed for one organisation: ``text/calendar; charset=utf-8`` bytes.

    Events are sorted (due date, kind, case), so the same input gives the same bytes.
    ``DTSTAMP`` is ``generated_at`` in UTC. Deadlines not yet met get a ``VALARM`` at 09:00,
    ``reminder_days`` calendar days before the due date (``None``: no reminders). Deadlines are
    ``TRANSP:TRANSPARENT``: a day with a deadline is not a busy day.
    """
    if not isinstance(generated_at, datetime) or generated_at.utcoffset() is None:
        raise InvalidCalendarFeedInput("generated_at", "must be a timezone-aware datetime")
    if not isinstance(organisation_name, str) or not organisation_name.strip():
        raise InvalidCalendarFeedInput("organisation_name", "must be a non-empty text")
    _refuse_personal_code(organisation_name, "organisation_name")
    if reminder_days is not None and (
        not isinstance(reminder_days, int)
        or isinstance(reminder_days, bool)
        or not 0 <= reminder_days <= 60
    ):
        raise InvalidCalendarFeedInput("reminder_days", "must be an integer 0…60 or None")
    items = list(deadlines)
    for index, item in enumerate(items):
        if not isinstance(item, CalendarDeadline):
            raise InvalidCalendarFeedInput(f"deadlines[{index}]", "must be a CalendarDeadline")
    items.sort(key=lambda d: (d.due_date, d.kind.value, d.case_id or "", d.occurrence))

    stamp = generated_at.astimezone(UTC)
    name = f"Tiltas – {organisation_name.strip()}: terminai"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # icalendar types NAME (RFC 7986) and the X- properties as "unknown" and would write them
    # unescaped and durations as "1:00:00": give their types explicitly.
    calendar.add("name", vText(name))
    calendar.add("x-wr-calname", vText(name))
    calendar.add(
        "refresh-interval", vDuration(timedelta(hours=1)), parameters={"VALUE": "DURATION"}
    )
    calendar.add("x-published-ttl", vDuration(timedelta(hours=1)))

    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        uid = deadline_uid(item)
        if uid in seen:
            raise InvalidCalendarFeedInput(
                "deadlines",
                f"two deadlines of kind {item.kind.value} for the same case and occurrence; "
                "give each an occurrence key",
            )
        seen[uid] = index
        event = Event()
        event.add("uid", uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.due_date)
        event.add("dtend", item.due_date + timedelta(days=1))
        event.add("summary", _summary(item))
        event.add("description", _description(item, stamp.date()))
        event.add("transp", "TRANSPARENT")
        event.add("categories", ["Tiltas", item.kind.value])
        if reminder_days is not None and item.status not in _DONE:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", _summary(item))
            # Relative to the start of the all-day event (00:00 of the due date).
            alarm.add("trigger", -timedelta(days=reminder_days, hours=-REMINDER_HOUR))
            event.add_component(alarm)
        calendar.add_component(event)
    feed: bytes = calendar.to_ical()
    return feed
