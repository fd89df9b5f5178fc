"""Recompute every deadline of 1,000,000 cases after a calendar change, against a naive loop.

Each case has a PCR date (2026–2035) and process-B anchors (request G filed, documents
registered at the Prison Department). Its 8 computed dates: stage I start, notice A, list C,
release day (= D/E/F due), reporting after release, hand-over of G/H, return of H, protocol K.

    fast   : build a new ``WorkingDayCalendar`` from new overrides, then
             ``conditional_release_bulk`` + ``social_care_bulk`` over all 1M cases.
    naive  : a straightforward loop that walks day by day and asks the ``holidays`` LT
             calendar about each day. Timed on a sample and extrapolated to 1M (it says so).

Both run in this process; the naive results are checked equal to the fast ones on the sample.

    .venv/bin/python bench/bench_deadlines.py [--cases 1000000] [--sample 20000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta

import holidays

from tiltas.deadlines import (
    CalendarOverrides,
    DeadlineKind,
    WorkingDayCalendar,
    conditional_release_bulk,
    conditional_release_terms,
    social_care_bulk,
    social_care_terms,
)

K = DeadlineKind
ONE_DAY = timedelta(days=1)

# The "calendar change": the Seimas adds a holiday and the administrator moves a working day.
NEW_OVERRIDES = CalendarOverrides.from_days(
    {date(2027, 1, 13): "Laisvės gynėjų diena (pavyzdys)", date(2031, 10, 24): "pavyzdys"},
    {date(2027, 1, 16): "perkelta darbo diena (pavyzdys)"},
)

KINDS = (
    K.STAGE_I_START,
    K.RELEASE_NOTICE,
    K.RELEASE_LIST,
    K.RELEASE_DAY,
    K.PROBATION_REPORTING,
    K.QUESTIONNAIRE_HANDOVER,
    K.QUESTIONNAIRE_RETURN,
    K.COMMISSION_PROTOCOL,
)


def make_naive(overrides: CalendarOverrides) -> Callable[[date, date, date], tuple[date, ...]]:
    lt = holidays.country_holidays("LT")
    extra_holidays = {o.day for o in overrides.extra_holidays}
    extra_working = {o.day for o in overrides.extra_working_days}

    def working(day: date) -> bool:
        if day in extra_working:
            return True
        if day in extra_holidays:
            return False
        return day.weekday() < 5 and day not in lt

    def previous(day: date) -> date:
        while not working(day):
            day -= ONE_DAY
        return day

    def add(day: date, count: int) -> date:
        while count:
            day += ONE_DAY
            if working(day):
                count -= 1
        return day

    def months_before(day: date, months: int) -> date:
        year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
        for last in (31, 30, 29, 28):
            try:
                return date(year, month0 + 1, min(day.day, last))
            except ValueError:
                continue
        raise AssertionError("unreachable")

    def case(pcr: date, request: date, registered: date) -> tuple[date, ...]:
        release = previous(pcr)
        handover = add(request, 5)
        return (
            previous(months_before(pcr, 12)),
            previous(months_before(pcr, 6)),
            previous(months_before(pcr, 1)),
            release,
            add(release, 3),
            handover,
            add(handover, 5),
            add(registered, 10),
        )

    return case


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    n, sample = args.cases, min(args.sample, args.cases)

    rng = random.Random(args.seed)
    low, high = date(2026, 1, 1).toordinal(), date(2035, 12, 31).toordinal()
    pcr = [rng.randint(low, high) for _ in range(n)]
    requests = [rng.randint(low, high) for _ in range(n)]
    registrations = [rng.randint(low, high) for _ in range(n)]

    # Warm the process (imports, the calendar-independent month tables) with the old calendar.
    old = WorkingDayCalendar(label="before")
    conditional_release_bulk(old, pcr[:10])

    t0 = time.perf_counter()
    calendar = WorkingDayCalendar(NEW_OVERRIDES, "after-change")
    t1 = time.perf_counter()
    process_a = conditional_release_bulk(calendar, pcr)
    process_b = social_care_bulk(calendar, requests, registrations)
    t2 = time.perf_counter()
    fast_total = t2 - t0
    fast_rate = n / fast_total

    naive_case = make_naive(NEW_OVERRIDES)
    sample_rows = [
        (
            date.fromordinal(pcr[i]),
            date.fromordinal(requests[i]),
            date.fromordinal(registrations[i]),
        )
        for i in range(sample)
    ]
    t3 = time.perf_counter()
    naive_results = [naive_case(*row) for row in sample_rows]
    t4 = time.perf_counter()
    naive_rate = sample / (t4 - t3)

    columns = [process_a.due[k] if k in process_a.due else process_b.due[k] for k in KINDS]
    mismatches = sum(
        1
        for i, expected in enumerate(naive_results)
        if tuple(date.fromordinal(column[i]) for column in columns) != expected
    )

    # The per-case object API (Deadline values with legal bases), for scale.
    t5 = time.perf_counter()
    for p, r, g in sample_rows:
        conditional_release_terms(calendar, p)
        social_care_terms(calendar, r, registered_on=g)
    t6 = time.perf_counter()
    object_rate = sample / (t6 - t5)

    print(f"cases: {n:,} (PCR dates 2026–2035; 8 computed dates each)")
    print(f"calendar after the change: {calendar.version}")
    print(f"fast  : new calendar built in {t1 - t0:.3f} s, bulk recompute {t2 - t1:.3f} s")
    print(f"fast  : {fast_total:.3f} s for {n:,} cases = {fast_rate:,.0f} cases/s (measured)")
    print(
        f"naive : {sample:,}-case sample in {t4 - t3:.3f} s = {naive_rate:,.0f} cases/s; "
        f"extrapolated to {n:,} cases: {n / naive_rate:.1f} s (NOT measured on all cases)"
    )
    print(f"ratio : fast is {fast_rate / naive_rate:.1f}x the naive loop")
    print(
        f"per-case Deadline API: {object_rate:,.0f} cases/s "
        f"({n / object_rate:.1f} s for {n:,}, extrapolated from the sample)"
    )
    print(f"check : naive == bulk on all {sample:,} sample cases: {mismatches == 0}")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
