"""The deadlines feed (RFC 5545): parses back, stable UIDs, folding and escaping, no personal data."""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any, cast

import pytest
from icalendar import Calendar, Component, vCategory

from tiltas.deadlines import (
    ActorRole,
    DeadlineKind,
    DeadlineStatus,
    WorkingDayCalendar,
    conditional_release_terms,
    free_places_report_deadline,
)
from tiltas.deadlines.ical import (
    CalendarDeadline,
    InvalidCalendarFeedInput,
    deadline_uid,
    deadlines_calendar,
)
from tiltas.errors import InvalidInput

GENERATED = dt.datetime(2026, 3, 2, 7, 30, tzinfo=dt.UTC)
ORGANISATION = "Marijampolės pataisos namai"


def case_feed(
    lt_calendar: WorkingDayCalendar,
    pcr_date: dt.date,
    *,
    case_id: str = "case-17",
    generated_at: dt.datetime = GENERATED,
) -> bytes:
    terms = conditional_release_terms(lt_calendar, pcr_date, intensive_supervision=True)
    items = [
        CalendarDeadline.from_deadline(d, case_id=case_id, status=DeadlineStatus.PENDING)
        for d in terms
    ]
    return deadlines_calendar(items, organisation_name=ORGANISATION, generated_at=generated_at)


def events_by_kind(feed: bytes) -> dict[str, Component]:
    parsed = Calendar.from_ical(feed)
    return {str(cast(vCategory, e["categories"]).cats[1]): e for e in parsed.walk("VEVENT")}


def unfolded_lines(feed: bytes) -> list[str]:
    return feed.decode("utf-8").replace("\r\n ", "").split("\r\n")


def notice(**changes: object) -> CalendarDeadline:
    values: dict[str, object] = {
        "case_id": "case-17",
        "document_id": "A",
        "kind": DeadlineKind.RELEASE_NOTICE,
        "due_date": dt.date(2026, 4, 30),
        "status": DeadlineStatus.AT_RISK,
        "legal_basis_lt": "Bendradarbiavimo algoritmas, 1 dalis",
        "actor": ActorRole.CORRECTIONAL_INSTITUTION,
    }
    values.update(changes)
    return CalendarDeadline(**values)  # type: ignore[arg-type]


def test_the_feed_parses_back_with_one_all_day_event_per_deadline(
    lt_calendar: WorkingDayCalendar,
) -> None:
    # DOMAIN.md §6: PCR date Mon 2026-11-02 → notice A due Thu 2026-04-30, list C Fri 2026-10-02,
    # release day Fri 2026-10-30.
    feed = case_feed(lt_calendar, dt.date(2026, 11, 2))
    parsed = Calendar.from_ical(feed)

    assert str(parsed["version"]) == "2.0"
    assert str(parsed["prodid"]) == "-//Tiltas//Terminai//LT"
    assert str(parsed["x-wr-calname"]) == f"Tiltas – {ORGANISATION}: terminai"
    lines = unfolded_lines(feed)
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in lines
    assert "X-PUBLISHED-TTL:PT1H" in lines
    events = events_by_kind(feed)
    assert len(events) == len(parsed.walk("VEVENT")) == 8
    notice_a = events[DeadlineKind.RELEASE_NOTICE.value]
    assert notice_a.decoded("dtstart") == dt.date(2026, 4, 30)
    assert notice_a.decoded("dtend") == dt.date(2026, 5, 1)
    assert notice_a["dtstart"].params["VALUE"] == "DATE"
    assert str(notice_a["summary"]) == (
        "A: pranešimas savivaldybės administracijai – terminas (byla case-17)"
    )
    assert notice_a.decoded("dtstamp") == GENERATED
    assert str(notice_a["transp"]) == "TRANSPARENT"
    description = str(notice_a["description"])
    assert "Byla: case-17" in description
    assert "Terminas: 2026-04-30" in description
    assert "Būsena 2026-03-02: laukiama" in description
    assert "Atsakingas: pataisos įstaiga" in description
    assert "likus ne mažiau kaip 6 mėnesiams iki galimo lygtinio paleidimo" in description
    assert events[DeadlineKind.RELEASE_LIST.value].decoded("dtstart") == dt.date(2026, 10, 2)
    release = events[DeadlineKind.RELEASE_DAY.value]
    assert release.decoded("dtstart") == dt.date(2026, 10, 30)
    assert str(release["summary"]) == "Paleidimo diena (byla case-17)"

    [alarm] = notice_a.walk("VALARM")
    assert str(alarm["action"]) == "DISPLAY"
    # 09:00 five calendar days before the all-day event's start: Sat 2026-04-25.
    assert alarm.decoded("trigger") == -dt.timedelta(days=4, hours=15)
    start = dt.datetime.combine(dt.date(2026, 4, 30), dt.time())
    assert start + alarm.decoded("trigger") == dt.datetime(2026, 4, 25, 9, 0)
    assert "TRIGGER:-P4DT15H" in lines


def test_uids_are_stable_across_regenerations_and_moved_due_dates(
    lt_calendar: WorkingDayCalendar,
) -> None:
    first = events_by_kind(case_feed(lt_calendar, dt.date(2026, 11, 2)))
    regenerated = events_by_kind(
        case_feed(lt_calendar, dt.date(2026, 11, 2), generated_at=GENERATED + dt.timedelta(days=3))
    )
    moved = events_by_kind(case_feed(lt_calendar, dt.date(2026, 12, 15)))
    other_case = events_by_kind(case_feed(lt_calendar, dt.date(2026, 11, 2), case_id="case-18"))

    for kind, event in first.items():
        assert str(regenerated[kind]["uid"]) == str(event["uid"])
        assert str(moved[kind]["uid"]) == str(event["uid"]), kind
        assert moved[kind].decoded("dtstart") != event.decoded("dtstart")
        assert str(other_case[kind]["uid"]) != str(event["uid"])
    uids = [str(e["uid"]) for e in first.values()]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"[0-9a-f-]{36}@terminai\.tiltas", uid) for uid in uids)


def test_monthly_reports_are_one_event_per_month(lt_calendar: WorkingDayCalendar) -> None:
    reports = [
        CalendarDeadline.from_deadline(
            free_places_report_deadline(lt_calendar, 2026, month),
            case_id=None,
            status=DeadlineStatus.PENDING,
        )
        for month in (4, 5)
    ]
    assert [r.occurrence for r in reports] == ["2026-04", "2026-05"]
    assert deadline_uid(reports[0]) != deadline_uid(reports[1])
    events = Calendar.from_ical(
        deadlines_calendar(reports, organisation_name=ORGANISATION, generated_at=GENERATED)
    ).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == [
        "M: informacija apie laisvas vietas socialinės globos sektoriuje – terminas"
    ] * 2
    # 2026-04-05 is Easter Sunday, 04-06 Easter Monday: due Tue 2026-04-07.
    assert [e.decoded("dtstart") for e in events] == [dt.date(2026, 4, 7), dt.date(2026, 5, 5)]


def test_lithuanian_text_with_commas_semicolons_and_newlines_is_escaped_and_folded() -> None:
    basis = (
        "Civilinio kodekso 1.119 straipsnis; „ne vėliau kaip“, t. y. ąčęėįšųūž ĄČĘĖĮŠŲŪŽ;\n"
        "antra eilutė, su kableliu \\ ir atgaliniu brūkšniu"
    )
    organisation = "Pravieniškių pataisos namai, atviroji kolonija; skyrius"
    feed = deadlines_calendar(
        [notice(legal_basis_lt=basis)], organisation_name=organisation, generated_at=GENERATED
    )

    physical = feed.split(b"\r\n")
    assert physical[-1] == b"" and b"\n" not in b"".join(physical)
    for line in physical:
        assert len(line) <= 75, line
        line.decode("utf-8")  # folding never splits a multi-byte character
    assert any(line.startswith(b" ") for line in physical)  # something was folded

    lines = unfolded_lines(feed)
    # The event's DESCRIPTION; the alarm's (its summary) comes after BEGIN:VALARM.
    description_line = next(line for line in lines if line.startswith("DESCRIPTION:"))
    assert lines.index(description_line) < lines.index("BEGIN:VALARM")
    assert (
        "Teisinis pagrindas: Civilinio kodekso 1.119 straipsnis\\; „ne vėliau kaip“\\, "
        "t. y. ąčęėįšųūž ĄČĘĖĮŠŲŪŽ\\;\\nantra eilutė\\, su kableliu \\\\ ir atgaliniu brūkšniu"
    ) in description_line
    assert (
        "NAME:Tiltas – Pravieniškių pataisos namai\\, atviroji kolonija\\; skyrius: terminai"
        in lines
    )
    assert (
        "X-WR-CALNAME:Tiltas – Pravieniškių pataisos namai\\, atviroji kolonija\\; skyrius: terminai"
        in lines
    )

    [event] = Calendar.from_ical(feed).walk("VEVENT")
    assert str(event["description"]).endswith(f"Teisinis pagrindas: {basis}")


def test_met_deadlines_are_marked_and_get_no_reminder() -> None:
    feed = deadlines_calendar(
        [
            notice(status=DeadlineStatus.MET),
            notice(kind=DeadlineKind.RELEASE_LIST, document_id="C"),
        ],
        organisation_name=ORGANISATION,
        generated_at=GENERATED,
    )
    by_kind = events_by_kind(feed)
    met = by_kind[DeadlineKind.RELEASE_NOTICE.value]
    pending = by_kind[DeadlineKind.RELEASE_LIST.value]
    assert str(met["summary"]).startswith("✓ A: ")
    assert "Būsena 2026-03-02: įvykdyta" in str(met["description"])
    assert met.walk("VALARM") == []
    assert len(pending.walk("VALARM")) == 1

    without = deadlines_calendar(
        [notice()], organisation_name=ORGANISATION, generated_at=GENERATED, reminder_days=None
    )
    assert b"VALARM" not in without


def test_the_same_deadlines_give_the_same_bytes_in_any_order(
    lt_calendar: WorkingDayCalendar,
) -> None:
    items = [
        CalendarDeadline.from_deadline(d, case_id=case, status=DeadlineStatus.PENDING)
        for case in ("case-1", "case-2", "case-3")
        for d in conditional_release_terms(lt_calendar, dt.date(2027, 3, 1))
    ]
    shuffled = items[:]
    random.Random(4).shuffle(shuffled)
    feed = deadlines_calendar(items, organisation_name=ORGANISATION, generated_at=GENERATED)
    assert feed == deadlines_calendar(
        shuffled, organisation_name=ORGANISATION, generated_at=GENERATED
    )
    starts = [e.decoded("dtstart") for e in Calendar.from_ical(feed).walk("VEVENT")]
    assert starts == sorted(starts)


def test_duplicate_deadlines_need_an_occurrence_key() -> None:
    with pytest.raises(InvalidCalendarFeedInput) as raised:
        deadlines_calendar(
            [notice(), notice(due_date=dt.date(2026, 5, 4))],
            organisation_name=ORGANISATION,
            generated_at=GENERATED,
        )
    assert raised.value.field == "deadlines"
    feed = deadlines_calendar(
        [notice(occurrence="round-1"), notice(occurrence="round-2")],
        organisation_name=ORGANISATION,
        generated_at=GENERATED,
    )
    assert len(Calendar.from_ical(feed).walk("VEVENT")) == 2


# --- no personal data --------------------------------------------------------------------------

PERSONAL_CODE = "39001011234"


@pytest.mark.parametrize(
    "make",
    [
        lambda: notice(case_id=PERSONAL_CODE),
        lambda: notice(case_id=f"byla-{PERSONAL_CODE}"),
        lambda: notice(legal_basis_lt=f"Jonas Jonaitis, a. k. {PERSONAL_CODE}"),
        lambda: notice(occurrence=PERSONAL_CODE),
        lambda: deadlines_calendar(
            [notice()], organisation_name=f"Asmuo {PERSONAL_CODE}", generated_at=GENERATED
        ),
    ],
)
def test_a_personal_code_is_refused_wherever_it_is_put(make: object) -> None:
    with pytest.raises(InvalidCalendarFeedInput) as raised:
        make()  # type: ignore[operator]
    assert "personal data" in raised.value.message
    assert isinstance(raised.value, InvalidInput)


def test_a_case_uuid_whose_digits_happen_to_run_eleven_long_is_a_case_id() -> None:
    """About one random case id in a hundred has 11 digits in a row; the feed took it for a
    personal code and refused the organisation's whole feed."""
    case_id = "0b6f6a3e-2f4c-4d1e-9a7b-a90123456789"
    assert notice(case_id=case_id).case_id == case_id


def test_events_carry_only_the_whitelisted_properties(lt_calendar: WorkingDayCalendar) -> None:
    feed = case_feed(lt_calendar, dt.date(2026, 11, 2))
    for event in Calendar.from_ical(feed).walk("VEVENT"):
        assert set(event.keys()) == {
            "UID",
            "DTSTAMP",
            "DTSTART",
            "DTEND",
            "SUMMARY",
            "DESCRIPTION",
            "TRANSP",
            "CATEGORIES",
        }
    for forbidden in (b"ATTENDEE", b"ORGANIZER", b"CONTACT", b"LOCATION", b"GEO", b"URL"):
        assert forbidden not in feed


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"case_id": ""}, "case_id"),
        ({"case_id": "Jonas Jonaitis"}, "case_id"),
        ({"document_id": "Z"}, "document_id"),
        ({"kind": "process_a.release_notice"}, "kind"),
        ({"due_date": dt.datetime(2026, 4, 30, 12, 0)}, "due_date"),
        ({"status": "pending"}, "status"),
        ({"actor": "convict"}, "actor"),
        ({"legal_basis_lt": "  "}, "legal_basis_lt"),
        ({"occurrence": "a b"}, "occurrence"),
    ],
)
def test_bad_deadlines_are_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidCalendarFeedInput) as raised:
        notice(**changes)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"generated_at": dt.datetime(2026, 3, 2, 7, 30)}, "generated_at"),
        ({"organisation_name": " "}, "organisation_name"),
        ({"reminder_days": -1}, "reminder_days"),
        ({"reminder_days": True}, "reminder_days"),
    ],
)
def test_bad_feed_arguments_are_refused(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"organisation_name": ORGANISATION, "generated_at": GENERATED}
    arguments.update(kwargs)
    with pytest.raises(InvalidCalendarFeedInput) as raised:
        deadlines_calendar([notice()], **arguments)  # type: ignore[arg-type]
    assert raised.value.field == field
    with pytest.raises(InvalidCalendarFeedInput):
        not_deadlines: list[Any] = ["not a deadline"]
        deadlines_calendar(not_deadlines, organisation_name=ORGANISATION, generated_at=GENERATED)
