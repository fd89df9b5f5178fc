"""Deadlines for many cases at once, for recomputation after a calendar change.

Dates travel as proleptic Gregorian ordinals (``date.toordinal()``), in and out: building a
``date`` per value would cost more than the computation. For each calendar this module derives,
once, a table per term over every day of 2000 … 2100 ("if the anchor is day *i*, the due date
is …"), so each deadline of each case is a single list lookup. Results are identical to
``conditional_release_terms`` / ``social_care_terms`` (the tests check it); anchors are the
same ones those functions use when no actual event is recorded.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from tiltas.deadlines.calendar import (
    EARLIEST,
    EARLIEST_ORDINAL,
    LATEST,
    LATEST_ORDINAL,
    NO_DAY,
    CalendarVersion,
    WorkingDayCalendar,
)
from tiltas.deadlines.errors import DateOutOfRange, InvalidTermInput
from tiltas.deadlines.terms import (
    HANDOVER_WORKING_DAYS,
    LIST_MONTHS,
    NOTICE_MONTHS,
    PROTOCOL_WORKING_DAYS,
    REPORTING_WORKING_DAYS,
    RETURN_WORKING_DAYS,
    STAGE_I_MONTHS,
    DeadlineKind,
)

K = DeadlineKind

Table = tuple[int, ...]


@dataclass(frozen=True)
class BulkTerms:
    calendar_version: CalendarVersion
    due: Mapping[DeadlineKind, Sequence[int]]
    """Due-date ordinals per deadline kind, in the order of the input."""

    def dates(self, kind: DeadlineKind) -> list[date]:
        if kind not in self.due:
            raise InvalidTermInput("kind", f"{kind.value} is not computed in bulk here")
        return [date.fromordinal(o) for o in self.due[kind]]


@cache
def _months_before_table(months: int) -> Table:
    """For each day index: the ordinal of that day minus ``months`` (Civil Code art. 1.119)."""
    out: list[int] = []
    for year in range(EARLIEST.year, LATEST.year + 1):
        for month in range(1, 13):
            length = _stdlib_calendar.monthrange(year, month)[1]
            target_year, target_month0 = divmod(year * 12 + month - 1 - months, 12)
            target_last = _stdlib_calendar.monthrange(target_year, target_month0 + 1)[1]
            base = date(target_year, target_month0 + 1, 1).toordinal() - 1
            out.extend(base + min(day, target_last) for day in range(1, length + 1))
    return tuple(out)


def _compose(outer: Table, inner: Table) -> Table:
    """``outer`` after ``inner``: inner gives an ordinal, outer is indexed by day index."""
    e = EARLIEST_ORDINAL
    return tuple(outer[o - e] if EARLIEST_ORDINAL <= o <= LATEST_ORDINAL else NO_DAY for o in inner)


@dataclass(frozen=True)
class _ByOrdinal:
    """A whole-range table re-indexed by ordinal (padded below 2000-01-01), so a lookup needs
    no subtraction; ``first``…``last`` are the anchors that have a result inside the range."""

    values: list[int]
    first: int
    last: int

    has_gaps: bool
    """Never true for the terms here (each is a non-decreasing function of its anchor, so days
    without a result sit at the ends of the range); if it were, lookups scan their results."""

    @classmethod
    def of(cls, table: Table) -> _ByOrdinal:
        valid = [i for i, v in enumerate(table) if v != NO_DAY]
        first, last = valid[0], valid[-1]
        return cls(
            [NO_DAY] * EARLIEST_ORDINAL + list(table),
            EARLIEST_ORDINAL + first,
            EARLIEST_ORDINAL + last,
            len(valid) != last - first + 1,
        )


@dataclass(frozen=True)
class _Tables:
    stage_i_start: _ByOrdinal
    release_notice: _ByOrdinal
    release_list: _ByOrdinal
    release_day: _ByOrdinal
    reporting: _ByOrdinal
    handover: _ByOrdinal
    questionnaire_return: _ByOrdinal
    protocol: _ByOrdinal


_TABLES: weakref.WeakKeyDictionary[WorkingDayCalendar, _Tables] = weakref.WeakKeyDictionary()


def _tables(calendar: WorkingDayCalendar) -> _Tables:
    found = _TABLES.get(calendar)
    if found is not None:
        return found
    previous = calendar.previous_working_day_table()
    handover = calendar.add_working_days_table(HANDOVER_WORKING_DAYS)
    built = _Tables(
        stage_i_start=_ByOrdinal.of(_compose(previous, _months_before_table(STAGE_I_MONTHS))),
        release_notice=_ByOrdinal.of(_compose(previous, _months_before_table(NOTICE_MONTHS))),
        release_list=_ByOrdinal.of(_compose(previous, _months_before_table(LIST_MONTHS))),
        release_day=_ByOrdinal.of(previous),
        reporting=_ByOrdinal.of(
            _compose(calendar.add_working_days_table(REPORTING_WORKING_DAYS), previous)
        ),
        handover=_ByOrdinal.of(handover),
        questionnaire_return=_ByOrdinal.of(
            _compose(calendar.add_working_days_table(RETURN_WORKING_DAYS), handover)
        ),
        protocol=_ByOrdinal.of(calendar.add_working_days_table(PROTOCOL_WORKING_DAYS)),
    )
    _TABLES[calendar] = built
    return built


@dataclass(frozen=True)
class _Input:
    ordinals: Sequence[int]
    field: str
    low: int
    high: int


def _checked(ordinals: Sequence[int], field: str) -> _Input:
    if not ordinals:
        return _Input(ordinals, field, EARLIEST_ORDINAL, EARLIEST_ORDINAL)
    try:
        low, high = min(ordinals), max(ordinals)
    except TypeError:
        raise InvalidTermInput(field, "must be a sequence of integer day ordinals") from None
    if not (isinstance(low, int) and isinstance(high, int)):
        raise InvalidTermInput(field, "must be a sequence of integer day ordinals")
    for bad in (low, high):
        if not EARLIEST_ORDINAL <= bad <= LATEST_ORDINAL:
            day = date.fromordinal(bad) if 1 <= bad <= date.max.toordinal() else EARLIEST
            raise DateOutOfRange(
                day, EARLIEST, LATEST, field=field, detail=f"ordinal {bad} is outside"
            )
    return _Input(ordinals, field, low, high)


def _lookup(table: _ByOrdinal, given: _Input, kind: DeadlineKind) -> list[int]:
    if given.low < table.first or given.high > table.last:
        position = next(
            i for i, o in enumerate(given.ordinals) if not table.first <= o <= table.last
        )
        raise DateOutOfRange(
            date.fromordinal(given.ordinals[position]),
            EARLIEST,
            LATEST,
            field=f"{given.field}[{position}]",
            detail=f"the {kind.value} term leaves the range",
        )
    try:
        out = list(map(table.values.__getitem__, given.ordinals))
    except TypeError:
        raise InvalidTermInput(given.field, "must be a sequence of integer day ordinals") from None
    if table.has_gaps and NO_DAY in out:
        position = out.index(NO_DAY)
        raise DateOutOfRange(
            date.fromordinal(given.ordinals[position]),
            EARLIEST,
            LATEST,
            field=f"{given.field}[{position}]",
            detail=f"the {kind.value} term leaves the range",
        )
    return out


def conditional_release_bulk(
    calendar: WorkingDayCalendar, pcr_ordinals: Sequence[int]
) -> BulkTerms:
    """Process A deadlines for many PCR dates; release-anchored ones use the computed release day.

    D, E and F (when intensive supervision applies) are due on the release day: they share its list.
    """
    pcr = _checked(pcr_ordinals, "pcr_ordinals")
    t = _tables(calendar)
    release = _lookup(t.release_day, pcr, K.RELEASE_DAY)
    due: dict[DeadlineKind, Sequence[int]] = {
        K.STAGE_I_START: _lookup(t.stage_i_start, pcr, K.STAGE_I_START),
        K.RELEASE_NOTICE: _lookup(t.release_notice, pcr, K.RELEASE_NOTICE),
        K.RELEASE_LIST: _lookup(t.release_list, pcr, K.RELEASE_LIST),
        K.RELEASE_DAY: release,
        K.SUPERVISION_PLAN: release,
        K.PROBATION_ACKNOWLEDGEMENT: release,
        K.ELECTRONIC_MONITORING_ACKNOWLEDGEMENT: release,
        K.PROBATION_REPORTING: _lookup(t.reporting, pcr, K.PROBATION_REPORTING),
    }
    return BulkTerms(calendar.version, due)


def social_care_bulk(
    calendar: WorkingDayCalendar,
    request_ordinals: Sequence[int],
    registration_ordinals: Sequence[int],
) -> BulkTerms:
    """Process B deadlines: hand-over and (projected) return from the request dates, protocol K
    from the registration dates. The two sequences may differ in length."""
    requests = _checked(request_ordinals, "request_ordinals")
    registrations = _checked(registration_ordinals, "registration_ordinals")
    t = _tables(calendar)
    due: dict[DeadlineKind, Sequence[int]] = {
        K.QUESTIONNAIRE_HANDOVER: _lookup(t.handover, requests, K.QUESTIONNAIRE_HANDOVER),
        K.QUESTIONNAIRE_RETURN: _lookup(t.questionnaire_return, requests, K.QUESTIONNAIRE_RETURN),
        K.COMMISSION_PROTOCOL: _lookup(t.protocol, registrations, K.COMMISSION_PROTOCOL),
    }
    return BulkTerms(calendar.version, due)
