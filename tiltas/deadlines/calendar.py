"""The Lithuanian working-day calendar, 2000-01-01 … 2100-12-31.

Working days (darbo dienos) are Monday to Friday that are not public holidays (Labour Code
art. 123). Holidays come from the ``holidays`` package's LT calendar, corrected by an
administrator's ``CalendarOverrides`` (the Seimas may change the list at any time). Each
``WorkingDayCalendar`` is immutable and carries a ``CalendarVersion`` — a content hash — that
every computed deadline records.

All working-day arithmetic is O(1) per date: the calendar precomputes, for every day of the
range, the number of working days up to and including it (``cum``) and the list of all working
days in order (``working_days``), so "the n-th working day after d" is one subtraction and one
list lookup.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _package_version

import holidays as _holidays

from tiltas.deadlines.errors import DateOutOfRange, InvalidCalendarOverrides, InvalidTermInput
from tiltas.errors import FieldProblem

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
EARLIEST_ORDINAL = EARLIEST.toordinal()
LATEST_ORDINAL = LATEST.toordinal()
DAYS_IN_RANGE = LATEST_ORDINAL - EARLIEST_ORDINAL + 1

NO_DAY = -1
"""Marks "no such day inside the range" in the ordinal tables."""

_CALENDAR_SCHEMA = 1
"""Bump when the meaning of the index changes, so old content hashes stop matching."""


def _holidays_package_version() -> str:
    try:
        return _package_version("holidays")
    except PackageNotFoundError:  # pragma: no cover - an unpackaged checkout
        return str(getattr(_holidays, "__version__", "unknown"))


def _check_in_range(day: date, field_name: str) -> int:
    index = day.toordinal() - EARLIEST_ORDINAL
    if not 0 <= index < DAYS_IN_RANGE:
        raise DateOutOfRange(
            day, EARLIEST, LATEST, field=field_name, detail=f"{day.isoformat()} is outside"
        )
    return index


def months_before(day: date, months: int) -> date:
    """``day`` minus ``months`` calendar months, by the Civil Code art. 1.119 month rule.

    The result is the same-numbered day of the earlier month, or that month's last day when
    it has no such day (2027-08-31 minus 6 months is 2027-02-28). No working-day adjustment.
    """
    if months < 0:
        raise InvalidTermInput("months", f"must not be negative, got {months}")
    month_index = day.year * 12 + (day.month - 1) - months
    year, month0 = divmod(month_index, 12)
    if year < 1:
        raise DateOutOfRange(
            day, EARLIEST, LATEST, field="day", detail=f"{months} months before is before year 1"
        )
    last = _stdlib_calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


@dataclass(frozen=True)
class OverrideDay:
    """One day of the administrator's override table."""

    day: date
    reason: str
    """Why, in Lithuanian as the act says it, e.g. the Seimas act that declared the day."""


@dataclass(frozen=True)
class CalendarOverrides:
    """The administrator's corrections to the ``holidays`` package's LT calendar.

    ``extra_holidays`` become non-working days (a new holiday, a one-off day off);
    ``extra_working_days`` become working days even on a weekend or a package holiday (a
    transferred working Saturday, a holiday the Seimas abolished). The two must not share a
    day. Order does not matter: the tables are stored sorted, so equal tables are equal values
    with equal content hashes.
    """

    extra_holidays: tuple[OverrideDay, ...] = ()
    extra_working_days: tuple[OverrideDay, ...] = ()

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        for name in ("extra_holidays", "extra_working_days"):
            seen: set[date] = set()
            for position, item in enumerate(getattr(self, name)):
                where = f"{name}[{position}]"
                if not isinstance(item, OverrideDay) or not isinstance(item.day, date):
                    problems.append(
                        FieldProblem(where, "must be an OverrideDay with a date", "invalid")
                    )
                    continue
                if not EARLIEST <= item.day <= LATEST:
                    problems.append(
                        FieldProblem(
                            f"{where}.day",
                            f"{item.day.isoformat()} is outside "
                            f"{EARLIEST.isoformat()} … {LATEST.isoformat()}",
                            "out_of_range",
                        )
                    )
                if item.day in seen:
                    problems.append(
                        FieldProblem(
                            f"{where}.day", f"{item.day.isoformat()} is listed twice", "duplicate"
                        )
                    )
                seen.add(item.day)
                if not item.reason.strip():
                    problems.append(
                        FieldProblem(f"{where}.reason", "a reason is required", "missing")
                    )
        if not problems:
            both = {o.day for o in self.extra_holidays} & {o.day for o in self.extra_working_days}
            for day in sorted(both):
                problems.append(
                    FieldProblem(
                        "extra_working_days",
                        f"{day.isoformat()} is both an extra holiday and an extra working day",
                        "conflict",
                    )
                )
        if problems:
            raise InvalidCalendarOverrides(problems)
        object.__setattr__(
            self, "extra_holidays", tuple(sorted(self.extra_holidays, key=lambda o: o.day))
        )
        object.__setattr__(
            self, "extra_working_days", tuple(sorted(self.extra_working_days, key=lambda o: o.day))
        )

    @classmethod
    def from_days(
        cls,
        extra_holidays: Mapping[date, str] | None = None,
        extra_working_days: Mapping[date, str] | None = None,
    ) -> CalendarOverrides:
        return cls(
            tuple(OverrideDay(d, r) for d, r in (extra_holidays or {}).items()),
            tuple(OverrideDay(d, r) for d, r in (extra_working_days or {}).items()),
        )

    def canonical_json(self) -> str:
        """The table as canonical JSON (what the content hash covers)."""
        return json.dumps(
            {
                "extra_holidays": [[o.day.isoformat(), o.reason] for o in self.extra_holidays],
                "extra_working_days": [
                    [o.day.isoformat(), o.reason] for o in self.extra_working_days
                ],
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )


@dataclass(frozen=True)
class CalendarVersion:
    """Which calendar computed a date: record it next to every deadline."""

    label: str
    """The administrator's name for this version, e.g. ``2026-03 Seimas XV-123``."""
    content_hash: str
    """SHA-256 (hex) over the override table, the ``holidays`` package version and the
    resulting working-day bitmap: equal hashes mean identical answers for every date."""
    holidays_package_version: str

    def __str__(self) -> str:
        return f"{self.label}@{self.content_hash[:16]}"


@dataclass(frozen=True)
class _Index:
    working: bytes
    cum: Sequence[int]
    working_days: Sequence[int]
    """Ordinals of all working days of the range, ascending."""
    names: Mapping[int, str] = field(repr=False)


class WorkingDayCalendar:
    """The LT holidays calendar plus an override table, with O(1) working-day arithmetic.

    Immutable once built (≈ 0.2 s). Every operation raises ``DateOutOfRange`` for a date, or a
    result, outside 2000-01-01 … 2100-12-31.
    """

    __slots__ = ("__weakref__", "_index", "_overrides", "_tables", "_version")

    def __init__(self, overrides: CalendarOverrides | None = None, label: str = "default") -> None:
        if not isinstance(label, str) or not label.strip():
            raise InvalidTermInput("label", "a calendar version label is required")
        self._overrides = overrides if overrides is not None else CalendarOverrides()
        self._index = _build_index(self._overrides)
        package_version = _holidays_package_version()
        digest = hashlib.sha256()
        digest.update(f"tiltas-lt-working-days/{_CALENDAR_SCHEMA}\n".encode())
        digest.update(f"holidays/{package_version}\n".encode())
        digest.update(self._overrides.canonical_json().encode())
        digest.update(b"\n")
        digest.update(self._index.working)
        self._version = CalendarVersion(label, digest.hexdigest(), package_version)
        self._tables: dict[tuple[str, int], tuple[int, ...]] = {}

    @property
    def version(self) -> CalendarVersion:
        return self._version

    @property
    def overrides(self) -> CalendarOverrides:
        return self._overrides

    # -- single dates -------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        return self._index.working[_check_in_range(day, "day")] == 1

    def holiday_name(self, day: date) -> str | None:
        """The holiday's Lithuanian name (or the override's reason), ``None`` on other days."""
        _check_in_range(day, "day")
        return self._index.names.get(day.toordinal())

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day``; before it when ``count`` is negative.

        Civil Code art. 1.118: a term runs from the day after the event, so ``day`` itself is
        never counted, working or not. ``count == 0`` returns ``day`` unchanged.
        """
        if not isinstance(count, int):
            raise InvalidTermInput("count", "must be an integer")
        index = _check_in_range(day, "day")
        if count == 0:
            return day
        ix = self._index
        # Working days strictly after ``day`` start at position cum[index]; strictly before it
        # they end at position cum[index] - working[index] - 1.
        k = ix.cum[index] + count - 1 if count > 0 else ix.cum[index] - ix.working[index] + count
        if not 0 <= k < len(ix.working_days):
            raise DateOutOfRange(
                day,
                EARLIEST,
                LATEST,
                field="count",
                detail=f"{count} working days from {day.isoformat()} leaves the range",
            )
        return date.fromordinal(ix.working_days[k])

    def next_working_day_on_or_after(self, day: date) -> date:
        index = _check_in_range(day, "day")
        ix = self._index
        if ix.working[index]:
            return day
        k = ix.cum[index]
        if k >= len(ix.working_days):
            raise DateOutOfRange(
                day,
                EARLIEST,
                LATEST,
                field="day",
                detail=f"no working day on or after {day.isoformat()}",
            )
        return date.fromordinal(ix.working_days[k])

    def previous_working_day_on_or_before(self, day: date) -> date:
        index = _check_in_range(day, "day")
        k = self._index.cum[index] - 1
        if k < 0:
            raise DateOutOfRange(
                day,
                EARLIEST,
                LATEST,
                field="day",
                detail=f"no working day on or before {day.isoformat()}",
            )
        return date.fromordinal(self._index.working_days[k])

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end] — ``start`` excluded, ``end`` included (Civil Code 1.118).

        Negative when ``end`` is before ``start``. For a working ``end``,
        ``add_working_days(start, working_days_between(start, end)) == end``.
        """
        i = _check_in_range(start, "start")
        j = _check_in_range(end, "end")
        return self._index.cum[j] - self._index.cum[i]

    def non_working_days(self, start: date, end: date) -> list[date]:
        """Every non-working day in [start, end], weekends included (for printing a calendar)."""
        i = _check_in_range(start, "start")
        j = _check_in_range(end, "end")
        working = self._index.working
        return [date.fromordinal(EARLIEST_ORDINAL + k) for k in range(i, j + 1) if not working[k]]

    # -- whole-range tables for bulk computation ----------------------------------------------

    def previous_working_day_table(self) -> tuple[int, ...]:
        """For each day index (ordinal − ``EARLIEST_ORDINAL``): the ordinal of the previous
        working day on or before it, or ``NO_DAY``. Built once per calendar."""
        return self._table("previous", 0)

    def next_working_day_table(self) -> tuple[int, ...]:
        """As ``previous_working_day_table``, for the next working day on or after."""
        return self._table("next", 0)

    def add_working_days_table(self, count: int) -> tuple[int, ...]:
        """For each day index: the ordinal of ``add_working_days(day, count)``, or ``NO_DAY``
        when that leaves the range. ``count`` must be positive."""
        if not isinstance(count, int) or count <= 0:
            raise InvalidTermInput("count", f"must be a positive integer, got {count!r}")
        return self._table("add", count)

    def _table(self, kind: str, count: int) -> tuple[int, ...]:
        key = (kind, count)
        table = self._tables.get(key)
        if table is None:
            table = _derive_table(self._index, kind, count)
            self._tables[key] = table
        return table


def _derive_table(ix: _Index, kind: str, count: int) -> tuple[int, ...]:
    cum, wds, working = ix.cum, ix.working_days, ix.working
    total = len(wds)
    if kind == "previous":
        return tuple(wds[c - 1] if c > 0 else NO_DAY for c in cum)
    if kind == "next":
        return tuple(
            EARLIEST_ORDINAL + i if working[i] else (wds[c] if c < total else NO_DAY)
            for i, c in enumerate(cum)
        )
    return tuple(wds[c + count - 1] if c + count - 1 < total else NO_DAY for c in cum)


def _package_holidays() -> dict[date, str]:
    lt = _holidays.country_holidays(
        "LT", years=range(EARLIEST.year, LATEST.year + 1), language="lt"
    )
    return {day: str(name) for day, name in lt.items()}


def _build_index(overrides: CalendarOverrides) -> _Index:
    names: dict[int, str] = {d.toordinal(): n for d, n in _package_holidays().items()}
    for item in overrides.extra_holidays:
        names[item.day.toordinal()] = item.reason
    forced_working = {o.day.toordinal() for o in overrides.extra_working_days}
    for ordinal in forced_working:
        names.pop(ordinal, None)
    working = bytearray(DAYS_IN_RANGE)
    cum: list[int] = [0] * DAYS_IN_RANGE
    working_days: list[int] = []
    # 2000-01-01 was a Saturday: weekday() == 5.
    weekday = EARLIEST.weekday()
    running = 0
    for i in range(DAYS_IN_RANGE):
        ordinal = EARLIEST_ORDINAL + i
        if ordinal in forced_working or (weekday < 5 and ordinal not in names):
            working[i] = 1
            running += 1
            working_days.append(ordinal)
        cum[i] = running
        weekday = 0 if weekday == 6 else weekday + 1
    return _Index(bytes(working), tuple(cum), tuple(working_days), names)


__all__ = [
    "DAYS_IN_RANGE",
    "EARLIEST",
    "EARLIEST_ORDINAL",
    "LATEST",
    "LATEST_ORDINAL",
    "NO_DAY",
    "CalendarOverrides",
    "CalendarVersion",
    "OverrideDay",
    "WorkingDayCalendar",
    "months_before",
]
