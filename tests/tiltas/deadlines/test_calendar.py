"""The working-day calendar: holidays across years, arithmetic, overrides, versions, range.

Expected dates are worked out by hand from the printed calendars in the comments and the
Labour Code art. 123 list (Jan 1, Feb 16, Mar 11, Easter Sunday and Monday, May 1, first Sunday
of May and of June, Jun 24, Jul 6, Aug 15, Nov 1, Nov 2, Dec 24, 25, 26).
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib.metadata import version as package_version

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tiltas.deadlines import (
    CalendarOverrides,
    DateOutOfRange,
    InvalidCalendarOverrides,
    InvalidTermInput,
    OverrideDay,
    WorkingDayCalendar,
    months_before,
)
from tiltas.errors import InvalidInput, TiltasError

D = date


# --- which days are working days -------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # 2026: Jan 1 Thu, Feb 16 Mon, Mar 11 Wed, Easter Mon Apr 6, May 1 Fri, Jun 24 Wed,
        # Jul 6 Mon, Nov 2 Mon, Dec 24 Thu, Dec 25 Fri are weekday holidays.
        (D(2026, 1, 1), False),
        (D(2026, 1, 2), True),
        (D(2026, 1, 6), True),  # Epiphany is not a Lithuanian holiday
        (D(2026, 2, 16), False),
        (D(2026, 3, 11), False),
        (D(2026, 4, 3), True),  # Good Friday is not a holiday
        (D(2026, 4, 6), False),
        (D(2026, 5, 1), False),
        (D(2026, 6, 24), False),
        (D(2026, 7, 6), False),
        (D(2026, 8, 14), True),
        (D(2026, 11, 2), False),
        (D(2026, 12, 24), False),
        (D(2026, 12, 25), False),
        (D(2026, 12, 31), True),  # New Year's Eve is a working day
        (D(2026, 12, 26), False),  # a Saturday anyway
        # Easter Mondays of other years
        (D(2024, 4, 1), False),
        (D(2025, 4, 21), False),
        (D(2027, 3, 29), False),
        (D(2030, 4, 22), False),
        (D(2038, 4, 26), False),
        (D(2100, 3, 29), False),
        # the day after each Easter Monday is an ordinary Tuesday
        (D(2024, 4, 2), True),
        (D(2038, 4, 27), True),
        # weekends
        (D(2026, 10, 31), False),
        (D(2026, 11, 1), False),
        (D(2000, 1, 1), False),
        (D(2100, 12, 31), True),  # a Friday
    ],
)
def test_working_days(lt_calendar: WorkingDayCalendar, day: date, working: bool) -> None:
    assert lt_calendar.is_working_day(day) is working


def test_holiday_names_are_lithuanian(lt_calendar: WorkingDayCalendar) -> None:
    assert lt_calendar.holiday_name(D(2026, 12, 24)) == "Kūčių diena"
    assert lt_calendar.holiday_name(D(2026, 11, 2)) == "Mirusiųjų atminimo (Vėlinių) diena"
    assert lt_calendar.holiday_name(D(2026, 11, 3)) is None


class TestHolidaysPackageAcrossYears:
    """What the holidays package's LT calendar gives outside 2025–2027 (documented in the report)."""

    def test_all_souls_day_only_from_2020(self, lt_calendar: WorkingDayCalendar) -> None:
        assert lt_calendar.is_working_day(D(2018, 11, 2))  # Friday
        assert not lt_calendar.is_working_day(D(2021, 11, 2))  # Tuesday

    def test_st_johns_day_only_from_2003(self, lt_calendar: WorkingDayCalendar) -> None:
        assert lt_calendar.is_working_day(D(2002, 6, 24))  # Monday
        assert not lt_calendar.is_working_day(D(2003, 6, 24))  # Tuesday

    def test_statehood_day_every_year_of_the_range(self, lt_calendar: WorkingDayCalendar) -> None:
        assert not lt_calendar.is_working_day(D(2000, 7, 6))  # Thursday

    def test_christmas_eve_every_year_even_before_2011(
        self, lt_calendar: WorkingDayCalendar
    ) -> None:
        # The package lists Dec 24 for every year since 1990; the Labour Code added it later
        # (in force from 2011, with 2010-12-24 a one-off day off). Fix old years with overrides.
        assert not lt_calendar.is_working_day(D(2008, 12, 24))  # Wednesday
        fixed = WorkingDayCalendar(
            CalendarOverrides.from_days(
                extra_working_days={D(2008, 12, 24): "Kūčios dar ne šventė"}
            )
        )
        assert fixed.is_working_day(D(2008, 12, 24))

    def test_mothers_and_fathers_days_always_fall_on_sunday(self) -> None:
        lt = holidays.country_holidays("LT", years=range(2000, 2101), language="lt")
        for day, name in lt.items():
            if name in {"Motinos diena", "Tėvo diena"}:
                assert day.weekday() == 6, (day, name)
        # … so they never change a working-day count.
        assert D(2026, 5, 3) in lt and D(2026, 6, 7) in lt


# --- arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        #      April 2026            Easter Sun Apr 5, Easter Mon Apr 6
        # Mo Tu We Th Fr Sa Su
        #        1  2  3  4  5
        #  6  7  8  9 10 11 12
        # 13 14 15 16 17 18 19
        (D(2026, 4, 2), 1, D(2026, 4, 3)),
        (D(2026, 4, 2), 2, D(2026, 4, 7)),
        (D(2026, 4, 2), 10, D(2026, 4, 17)),
        (D(2026, 4, 4), 1, D(2026, 4, 7)),  # from a Saturday: Sun, Easter Mon skipped
        #    December 2026         Dec 24 Thu, 25 Fri holidays; Jan 1 2027 Fri
        # Mo Tu We Th Fr Sa Su
        # 21 22 23 24 25 26 27
        # 28 29 30 31  1  2  3
        #  4  5  6
        (D(2026, 12, 23), 3, D(2026, 12, 30)),
        (D(2026, 12, 23), 5, D(2027, 1, 4)),
        (D(2026, 12, 31), 1, D(2027, 1, 4)),
        # backwards
        (D(2026, 4, 7), -1, D(2026, 4, 3)),
        (D(2026, 4, 6), -1, D(2026, 4, 3)),  # from a holiday
        (D(2027, 1, 4), -3, D(2026, 12, 29)),  # Dec 31, 30, 29 (Jan 1 is a holiday)
        (D(2026, 4, 17), -10, D(2026, 4, 2)),
        (D(2026, 4, 17), 0, D(2026, 4, 17)),
        (D(2026, 4, 5), 0, D(2026, 4, 5)),  # zero days: the day itself, working or not
    ],
)
def test_add_working_days(
    lt_calendar: WorkingDayCalendar, start: date, count: int, expected: date
) -> None:
    assert lt_calendar.add_working_days(start, count) == expected


def test_next_and_previous_working_day(lt_calendar: WorkingDayCalendar) -> None:
    #   October / November 2026: Sat Oct 31, Sun Nov 1 (All Saints), Mon Nov 2 (All Souls)
    assert lt_calendar.previous_working_day_on_or_before(D(2026, 11, 2)) == D(2026, 10, 30)
    assert lt_calendar.next_working_day_on_or_after(D(2026, 10, 31)) == D(2026, 11, 3)
    assert lt_calendar.next_working_day_on_or_after(D(2026, 11, 3)) == D(2026, 11, 3)
    assert lt_calendar.previous_working_day_on_or_before(D(2026, 11, 3)) == D(2026, 11, 3)


def test_working_days_between(lt_calendar: WorkingDayCalendar) -> None:
    # (Apr 2, Apr 17] in 2026: 3, 7, 8, 9, 10, 13, 14, 15, 16, 17
    assert lt_calendar.working_days_between(D(2026, 4, 2), D(2026, 4, 17)) == 10
    assert lt_calendar.working_days_between(D(2026, 4, 17), D(2026, 4, 2)) == -10
    assert lt_calendar.working_days_between(D(2026, 4, 4), D(2026, 4, 6)) == 0
    # 2026: 365 days − 104 weekend days − 10 weekday holidays (Jan 1, Feb 16, Mar 11, Apr 6,
    # May 1, Jun 24, Jul 6, Nov 2, Dec 24, Dec 25; Aug 15 and Dec 26 are Saturdays) = 251
    assert lt_calendar.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 251


def test_non_working_days_print(lt_calendar: WorkingDayCalendar) -> None:
    assert lt_calendar.non_working_days(D(2026, 4, 1), D(2026, 4, 12)) == [
        D(2026, 4, 4),
        D(2026, 4, 5),
        D(2026, 4, 6),
        D(2026, 4, 11),
        D(2026, 4, 12),
    ]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2028, 8, 29), 6, D(2028, 2, 29)),  # leap year: Feb 29 exists
        (D(2027, 8, 31), 6, D(2027, 2, 28)),  # no Feb 31: the month's last day
        (D(2028, 8, 31), 6, D(2028, 2, 29)),
        (D(2026, 3, 31), 1, D(2026, 2, 28)),
        (D(2026, 5, 31), 6, D(2025, 11, 30)),
        (D(2026, 1, 15), 1, D(2025, 12, 15)),
        (D(2028, 2, 29), 12, D(2027, 2, 28)),
        (D(2026, 11, 2), 0, D(2026, 11, 2)),
    ],
)
def test_months_before_follows_civil_code_1_119(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected


# --- overrides and versions ------------------------------------------------------------------


def test_extra_holiday_moves_a_count() -> None:
    calendar = WorkingDayCalendar(
        CalendarOverrides.from_days(
            extra_holidays={D(2026, 4, 13): "Seimo paskelbta poilsio diena"}
        )
    )
    assert not calendar.is_working_day(D(2026, 4, 13))
    assert calendar.holiday_name(D(2026, 4, 13)) == "Seimo paskelbta poilsio diena"
    # 3, 7, 8, 9, 10, (13 off), 14, 15, 16, 17, 20
    assert calendar.add_working_days(D(2026, 4, 2), 10) == D(2026, 4, 20)


def test_extra_working_saturday_counts() -> None:
    calendar = WorkingDayCalendar(
        CalendarOverrides.from_days(extra_working_days={D(2026, 4, 11): "perkelta darbo diena"})
    )
    assert calendar.is_working_day(D(2026, 4, 11))
    assert calendar.holiday_name(D(2026, 4, 11)) is None
    # 3, 7, 8, 9, 10, Sat 11, 13, 14, 15, 16
    assert calendar.add_working_days(D(2026, 4, 2), 10) == D(2026, 4, 16)
    assert calendar.next_working_day_on_or_after(D(2026, 4, 11)) == D(2026, 4, 11)


def test_extra_working_day_on_a_package_holiday() -> None:
    calendar = WorkingDayCalendar(
        CalendarOverrides.from_days(extra_working_days={D(2026, 11, 2): "Vėlinės panaikintos"})
    )
    assert calendar.is_working_day(D(2026, 11, 2))
    assert calendar.holiday_name(D(2026, 11, 2)) is None


def test_version_changes_with_the_overrides(lt_calendar: WorkingDayCalendar) -> None:
    one = CalendarOverrides.from_days(
        {D(2026, 4, 13): "a", D(2027, 1, 13): "b"}, {D(2026, 4, 11): "c"}
    )
    same_other_order = CalendarOverrides.from_days(
        {D(2027, 1, 13): "b", D(2026, 4, 13): "a"}, {D(2026, 4, 11): "c"}
    )
    assert one == same_other_order
    v_one = WorkingDayCalendar(one, "v1").version
    v_same = WorkingDayCalendar(same_other_order, "v1-again").version
    assert v_one.content_hash == v_same.content_hash
    assert v_one.label != v_same.label
    # an override on a Sunday changes no date, but it changes the table: a new version
    sunday = CalendarOverrides.from_days({D(2026, 4, 12): "sekmadienis"})
    versions = {
        lt_calendar.version.content_hash,
        v_one.content_hash,
        WorkingDayCalendar(sunday).version.content_hash,
        WorkingDayCalendar(
            CalendarOverrides.from_days({D(2026, 4, 13): "kita priežastis"})
        ).version.content_hash,
    }
    assert len(versions) == 4
    assert lt_calendar.version.content_hash == WorkingDayCalendar(label="x").version.content_hash
    assert lt_calendar.version.holidays_package_version == package_version("holidays")
    assert str(v_one) == f"v1@{v_one.content_hash[:16]}"


def test_inconsistent_overrides_are_refused_with_every_problem() -> None:
    with pytest.raises(InvalidCalendarOverrides) as caught:
        CalendarOverrides(
            extra_holidays=(
                OverrideDay(D(2026, 4, 13), "a"),
                OverrideDay(D(2026, 4, 13), "again"),
                OverrideDay(D(1999, 12, 31), "too early"),
                OverrideDay(D(2026, 5, 4), " "),
            ),
        )
    fields = [(p.field, p.code) for p in caught.value.problems]
    assert fields == [
        ("extra_holidays[1].day", "duplicate"),
        ("extra_holidays[2].day", "out_of_range"),
        ("extra_holidays[3].reason", "missing"),
    ]
    with pytest.raises(InvalidCalendarOverrides) as conflict:
        CalendarOverrides.from_days({D(2026, 4, 13): "a"}, {D(2026, 4, 13): "b"})
    assert conflict.value.problems[0].code == "conflict"
    assert isinstance(conflict.value, InvalidInput)


def test_blank_label_is_refused() -> None:
    with pytest.raises(InvalidTermInput):
        WorkingDayCalendar(label=" ")


# --- range -----------------------------------------------------------------------------------


@pytest.mark.parametrize("day", [D(1999, 12, 31), D(2101, 1, 1), D(1, 1, 1), D(9999, 12, 31)])
def test_dates_outside_the_range_raise_a_domain_error(
    lt_calendar: WorkingDayCalendar, day: date
) -> None:
    for call in (
        lambda: lt_calendar.is_working_day(day),
        lambda: lt_calendar.add_working_days(day, 1),
        lambda: lt_calendar.next_working_day_on_or_after(day),
        lambda: lt_calendar.previous_working_day_on_or_before(day),
        lambda: lt_calendar.working_days_between(D(2026, 1, 1), day),
        lambda: lt_calendar.holiday_name(day),
    ):
        with pytest.raises(DateOutOfRange) as caught:
            call()
        assert caught.value.day == day
        assert (caught.value.earliest, caught.value.latest) == (D(2000, 1, 1), D(2100, 12, 31))
        assert isinstance(caught.value, TiltasError)


def test_results_leaving_the_range_raise(lt_calendar: WorkingDayCalendar) -> None:
    with pytest.raises(DateOutOfRange, match="leaves the range"):
        lt_calendar.add_working_days(D(2100, 12, 30), 5)
    # 2000-01-01 Sat (holiday), 2000-01-02 Sun: nothing working before Mon 2000-01-03
    with pytest.raises(DateOutOfRange):
        lt_calendar.add_working_days(D(2000, 1, 3), -1)
    with pytest.raises(DateOutOfRange):
        lt_calendar.previous_working_day_on_or_before(D(2000, 1, 2))
    assert lt_calendar.add_working_days(D(2000, 1, 4), -1) == D(2000, 1, 3)
    assert lt_calendar.add_working_days(D(2100, 12, 30), 1) == D(2100, 12, 31)


def test_bad_count_is_a_domain_error(lt_calendar: WorkingDayCalendar) -> None:
    with pytest.raises(InvalidTermInput):
        lt_calendar.add_working_days(D(2026, 1, 5), 1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidTermInput):
        lt_calendar.add_working_days_table(0)
    with pytest.raises(InvalidTermInput):
        months_before(D(2026, 1, 5), -1)


# --- the O(1) index against a day-by-day loop ------------------------------------------------

_PACKAGE = holidays.country_holidays("LT", years=range(2000, 2101))
_OVERRIDES = CalendarOverrides.from_days(
    {D(2026, 4, 13): "x", D(2031, 7, 7): "x", D(2050, 1, 3): "x", D(2000, 1, 3): "x"},
    {D(2026, 4, 11): "y", D(2044, 12, 24): "y", D(2100, 12, 26): "y", D(2000, 1, 1): "y"},
)
_EXTRA_HOLIDAYS = {o.day for o in _OVERRIDES.extra_holidays}
_EXTRA_WORKING = {o.day for o in _OVERRIDES.extra_working_days}


def _naive_working(day: date) -> bool:
    if day in _EXTRA_WORKING:
        return True
    if day in _EXTRA_HOLIDAYS:
        return False
    return day.weekday() < 5 and day not in _PACKAGE


def _naive_add(day: date, count: int) -> date:
    step = timedelta(days=1 if count > 0 else -1)
    remaining = abs(count)
    while remaining:
        day += step
        if _naive_working(day):
            remaining -= 1
    return day


@pytest.fixture(scope="module")
def overridden() -> WorkingDayCalendar:
    return WorkingDayCalendar(_OVERRIDES, "property")


# far enough from the range's ends that ±300 working days / ±400 days stay inside
_days = st.dates(min_value=D(2001, 6, 1), max_value=D(2099, 6, 1))


@settings(max_examples=400, deadline=None)
@given(day=_days, count=st.integers(min_value=-300, max_value=300))
def test_add_working_days_matches_a_day_by_day_loop(
    overridden: WorkingDayCalendar, day: date, count: int
) -> None:
    assert overridden.add_working_days(day, count) == _naive_add(day, count)


@settings(max_examples=400, deadline=None)
@given(day=_days, span=st.integers(min_value=-400, max_value=400))
def test_other_operations_match_a_day_by_day_loop(
    overridden: WorkingDayCalendar, day: date, span: int
) -> None:
    assert overridden.is_working_day(day) is _naive_working(day)
    nxt = day
    while not _naive_working(nxt):
        nxt += timedelta(days=1)
    assert overridden.next_working_day_on_or_after(day) == nxt
    prev = day
    while not _naive_working(prev):
        prev -= timedelta(days=1)
    assert overridden.previous_working_day_on_or_before(day) == prev
    other = day + timedelta(days=span)
    low, high = sorted((day, other))
    count = sum(
        1 for k in range(1, (high - low).days + 1) if _naive_working(low + timedelta(days=k))
    )
    assert overridden.working_days_between(day, other) == (count if other >= day else -count)


def test_every_day_of_the_range_matches_the_package(overridden: WorkingDayCalendar) -> None:
    day = D(2000, 1, 1)
    while day <= D(2100, 12, 31):
        assert overridden.is_working_day(day) is _naive_working(day), day
        day += timedelta(days=1)


def test_whole_range_tables_match_single_date_answers(overridden: WorkingDayCalendar) -> None:
    previous = overridden.previous_working_day_table()
    following = overridden.next_working_day_table()
    plus_three = overridden.add_working_days_table(3)
    base = D(2000, 1, 1).toordinal()
    for day in (D(2000, 1, 1), D(2000, 1, 3), D(2026, 4, 4), D(2026, 12, 23), D(2100, 12, 31)):
        i = day.toordinal() - base
        try:
            assert previous[i] == overridden.previous_working_day_on_or_before(day).toordinal()
        except DateOutOfRange:
            assert previous[i] == -1
        assert following[i] == overridden.next_working_day_on_or_after(day).toordinal()
        try:
            assert plus_three[i] == overridden.add_working_days(day, 3).toordinal()
        except DateOutOfRange:
            assert plus_three[i] == -1
