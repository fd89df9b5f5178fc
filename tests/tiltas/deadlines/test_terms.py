"""The terms of process A and process B, worked out by hand.

Each expected date below was counted on the printed calendar next to it, with the Labour Code
art. 123 holidays marked; nothing here is computed by the code under test.

        April 2026             Easter Sun 5, Easter Mon 6
    Mo Tu We Th Fr Sa Su
           1  2  3  4  5
     6  7  8  9 10 11 12
    13 14 15 16 17 18 19
    20 21 22 23 24 25 26
    27 28 29 30

        May 2026               May 1 Fri holiday
    Mo Tu We Th Fr Sa Su
                 1  2  3
     4  5  6  7  8  9 10

      October 2026            November 2026        Nov 1 Sun, Nov 2 Mon holidays
    Mo Tu We Th Fr Sa Su    Mo Tu We Th Fr Sa Su
              1  2  3  4                       1
     5  6  7  8  9 10 11     2  3  4  5  6  7  8
    ...                      9 10 11 12 13 14 15
    26 27 28 29 30 31       16 17 18 19 20 21 22

      December 2026            January 2027        Dec 24 Thu, 25 Fri, Jan 1 Fri holidays
    Mo Tu We Th Fr Sa Su    Mo Tu We Th Fr Sa Su
    14 15 16 17 18 19 20                 1  2  3
    21 22 23 24 25 26 27     4  5  6  7  8  9 10
    28 29 30 31
"""

from __future__ import annotations

import random
from datetime import date

import pytest

from tiltas.deadlines import (
    ActorRole,
    AnchorEvent,
    CalendarOverrides,
    DateOutOfRange,
    DeadlineKind,
    DeadlineStatus,
    InvalidTermInput,
    Provenance,
    TermPolicy,
    WorkingDayCalendar,
    commission_protocol_deadline,
    conditional_release_bulk,
    conditional_release_terms,
    deadline_status,
    free_places_report_deadline,
    questionnaire_handover_deadline,
    questionnaire_return_deadline,
    release_day,
    social_care_bulk,
    social_care_terms,
    unplanned_vacancy_deadline,
)

D = date
K = DeadlineKind


# --- the three worked examples of DOMAIN.md §6 -----------------------------------------------


def test_domain_example_pcr_on_all_souls_day(lt_calendar: WorkingDayCalendar) -> None:
    terms = conditional_release_terms(lt_calendar, D(2026, 11, 2))
    release = terms[K.RELEASE_DAY]
    assert release.nominal_date == D(2026, 11, 2)  # the PCR date, shown as given
    assert release.due_date == D(2026, 10, 30)  # Mon holiday, Sun, Sat → Fri
    notice = terms[K.RELEASE_NOTICE]
    assert notice.nominal_date == D(2026, 5, 2)  # a Saturday
    assert notice.due_date == D(2026, 4, 30)  # May 1 is a holiday → Thu Apr 30
    assert terms[K.RELEASE_LIST].due_date == D(2026, 10, 2)


def test_domain_example_reporting_over_christmas(lt_calendar: WorkingDayCalendar) -> None:
    terms = conditional_release_terms(lt_calendar, D(2026, 12, 23))
    assert terms[K.RELEASE_DAY].due_date == D(2026, 12, 23)
    # Dec 24, 25 holidays, 26–27 weekend; Mon 28 (1), Tue 29 (2), Wed 30 (3)
    assert terms[K.PROBATION_REPORTING].due_date == D(2026, 12, 30)


def test_domain_example_commission_over_easter(lt_calendar: WorkingDayCalendar) -> None:
    # Fri 3 (1), Easter Mon 6 skipped, 7–10 (2–5), 13–17 (6–10)
    protocol = commission_protocol_deadline(lt_calendar, D(2026, 4, 2))
    assert protocol.due_date == D(2026, 4, 17)


# --- process A, many PCR dates ---------------------------------------------------------------

# (PCR date, stage I start, notice A, list C, release day, reporting due)
PROCESS_A_CASES = [
    # Aug 2028: Tue 29. Feb 29 2028 is a Tuesday (leap year); Jul 29 2028 Sat; Aug 29 2027 Sun.
    # Reporting: Wed 30, Thu 31, Fri Sep 1.
    (D(2028, 8, 29), D(2027, 8, 27), D(2028, 2, 29), D(2028, 7, 28), D(2028, 8, 29), D(2028, 9, 1)),
    # Tue 2027-08-31: Feb has no 31st → Sun Feb 28 → Fri Feb 26; Jul 31 Sat → Fri Jul 30;
    # Aug 31 2026 Mon. Reporting: Sep 1, 2, Fri 3.
    (D(2027, 8, 31), D(2026, 8, 31), D(2027, 2, 26), D(2027, 7, 30), D(2027, 8, 31), D(2027, 9, 3)),
    # Easter Monday 2027-03-29: notice A nominal on it → Sun 28, Sat 27 → Fri Mar 26.
    # C: Aug 29 2027 Sun → Fri 27. Stage I: Tue 2026-09-29. Reporting: Thu 30, Fri Oct 1, Mon 4.
    (
        D(2027, 9, 29),
        D(2026, 9, 29),
        D(2027, 3, 26),
        D(2027, 8, 27),
        D(2027, 9, 29),
        D(2027, 10, 4),
    ),
    # Easter 2024 (Sun Mar 31, Mon Apr 1): A → Sat Mar 30 → Fri Mar 29 (Good Friday works).
    # C: Sun Sep 1 2024 → Fri Aug 30. Stage I: Sun 2023-10-01 → Fri 2023-09-29.
    # Reporting from Tue Oct 1: Wed 2, Thu 3, Fri 4.
    (
        D(2024, 10, 1),
        D(2023, 9, 29),
        D(2024, 3, 29),
        D(2024, 8, 30),
        D(2024, 10, 1),
        D(2024, 10, 4),
    ),
    # Easter 2025 (Mon Apr 21): A → Fri Apr 18. C: Sun Sep 21 2025 → Fri 19.
    # Stage I: Mon 2024-10-21. Reporting from Tue Oct 21: Wed 22, Thu 23, Fri 24.
    (
        D(2025, 10, 21),
        D(2024, 10, 21),
        D(2025, 4, 18),
        D(2025, 9, 19),
        D(2025, 10, 21),
        D(2025, 10, 24),
    ),
    # Easter 2030 (Mon Apr 22): list C nominal on it → Fri Apr 19. A: Thu 2029-11-22.
    # Stage I: Tue 2029-05-22. Reporting from Wed May 22: Thu 23, Fri 24, Mon 27.
    (
        D(2030, 5, 22),
        D(2029, 5, 22),
        D(2029, 11, 22),
        D(2030, 4, 19),
        D(2030, 5, 22),
        D(2030, 5, 27),
    ),
    # PCR Fri 2027-12-24 (Kūčios): released Thu Dec 23; reporting Dec 27, 28, 29.
    # A: Thu 2027-06-24 is a holiday → Wed Jun 23. C: Wed Nov 24. Stage I: Thu 2026-12-24 → Wed 23.
    (
        D(2027, 12, 24),
        D(2026, 12, 23),
        D(2027, 6, 23),
        D(2027, 11, 24),
        D(2027, 12, 23),
        D(2027, 12, 29),
    ),
    # PCR Mon 2027-12-27: A Sun Jun 27 → Sat 26 → Fri Jun 25; C Sat Nov 27 → Fri 26;
    # stage I Sun 2026-12-27 → Sat 26, Fri 25, Thu 24 holidays → Wed Dec 23.
    # Reporting from Mon Dec 27: 28, 29, 30.
    (
        D(2027, 12, 27),
        D(2026, 12, 23),
        D(2027, 6, 25),
        D(2027, 11, 26),
        D(2027, 12, 27),
        D(2027, 12, 30),
    ),
    # PCR Fri 2027-01-01 (New Year): released Thu 2026-12-31; reporting Jan 4, 5, 6.
    # A: Wed 2026-07-01. C: Tue 2026-12-01. Stage I: Thu 2026-01-01 holiday → Wed 2025-12-31.
    (D(2027, 1, 1), D(2025, 12, 31), D(2026, 7, 1), D(2026, 12, 1), D(2026, 12, 31), D(2027, 1, 6)),
    # PCR Mon 2026-07-06 (Statehood Day): released Fri Jul 3. A: Tue 2026-01-06 (works).
    # C: Sat Jun 6 → Fri Jun 5. Stage I: Sun 2025-07-06 → Fri Jul 4. Reporting from Fri Jul 3:
    # Mon 6 holiday → Tue 7, Wed 8, Thu 9.
    (D(2026, 7, 6), D(2025, 7, 4), D(2026, 1, 6), D(2026, 6, 5), D(2026, 7, 3), D(2026, 7, 9)),
    # PCR Sun 2026-08-16: Sat 15 (Žolinė) → released Fri Aug 14. A: Mon Feb 16 holiday → Fri 13.
    # C: Thu Jul 16. Stage I: Sat 2025-08-16 → Fri Aug 15 holiday → Thu Aug 14.
    # Reporting from Fri Aug 14: Mon 17, Tue 18, Wed 19.
    (
        D(2026, 8, 16),
        D(2025, 8, 14),
        D(2026, 2, 13),
        D(2026, 7, 16),
        D(2026, 8, 14),
        D(2026, 8, 19),
    ),
    # PCR Fri 2026-09-11: A Wed Mar 11 holiday → Tue Mar 10. C Tue Aug 11. Stage I Thu 2025-09-11.
    # Reporting: Mon 14, Tue 15, Wed 16.
    (
        D(2026, 9, 11),
        D(2025, 9, 11),
        D(2026, 3, 10),
        D(2026, 8, 11),
        D(2026, 9, 11),
        D(2026, 9, 16),
    ),
    # PCR Tue 2026-03-31: A → Sep 30 2025 (Tue; September has 30 days). C → Feb 28 Sat → Fri 27.
    # Stage I Mon 2025-03-31. Reporting: Apr 1, 2, 3.
    (D(2026, 3, 31), D(2025, 3, 31), D(2025, 9, 30), D(2026, 2, 27), D(2026, 3, 31), D(2026, 4, 3)),
    # PCR Sun 2026-05-31: released Fri May 29. A → Nov 30 2025 Sun → Fri Nov 28. C Thu Apr 30.
    # Stage I Sat 2025-05-31 → Fri May 30. Reporting from Fri May 29: Jun 1, 2, 3.
    (
        D(2026, 5, 31),
        D(2025, 5, 30),
        D(2025, 11, 28),
        D(2026, 4, 30),
        D(2026, 5, 29),
        D(2026, 6, 3),
    ),
    # PCR Tue 2027-11-02 (Vėlinės): Mon Nov 1 holiday, weekend → released Fri Oct 29.
    # Reporting: Nov 1, 2 holidays → Wed 3, Thu 4, Fri 5. A: Sun May 2 → Sat 1 → Fri Apr 30.
    # C: Sat Oct 2 → Fri Oct 1. Stage I: Mon 2026-11-02 holiday → Fri 2026-10-30.
    (
        D(2027, 11, 2),
        D(2026, 10, 30),
        D(2027, 4, 30),
        D(2027, 10, 1),
        D(2027, 10, 29),
        D(2027, 11, 5),
    ),
    # PCR Tue 2028-02-29: stage I → 2027-02-28 Sun → Fri Feb 26. A → Sun 2027-08-29 → Fri 27.
    # C → Sat 2028-01-29 → Fri 28.
    # Reporting: Wed Mar 1, Thu 2, Fri 3.
    (D(2028, 2, 29), D(2027, 2, 26), D(2027, 8, 27), D(2028, 1, 28), D(2028, 2, 29), D(2028, 3, 3)),
]


@pytest.mark.parametrize(
    ("pcr", "stage_i", "notice", "list_c", "release", "reporting"), PROCESS_A_CASES
)
def test_process_a_terms(
    lt_calendar: WorkingDayCalendar,
    pcr: date,
    stage_i: date,
    notice: date,
    list_c: date,
    release: date,
    reporting: date,
) -> None:
    terms = conditional_release_terms(lt_calendar, pcr)
    got = (
        terms[K.STAGE_I_START].due_date,
        terms[K.RELEASE_NOTICE].due_date,
        terms[K.RELEASE_LIST].due_date,
        terms[K.RELEASE_DAY].due_date,
        terms[K.PROBATION_REPORTING].due_date,
    )
    assert got == (stage_i, notice, list_c, release, reporting)
    assert release_day(lt_calendar, pcr) == release
    for deadline in terms:
        assert lt_calendar.is_working_day(deadline.due_date), deadline.kind
        assert deadline.calendar_version == lt_calendar.version


def test_process_a_descriptions(lt_calendar: WorkingDayCalendar) -> None:
    terms = conditional_release_terms(lt_calendar, D(2026, 11, 2), intensive_supervision=True)
    rows = [(d.kind, d.document_id, d.actor, d.anchor_event) for d in terms]
    assert rows == [
        (K.STAGE_I_START, None, ActorRole.CORRECTIONAL_INSTITUTION, AnchorEvent.PCR_DATE),
        (K.RELEASE_NOTICE, "A", ActorRole.CORRECTIONAL_INSTITUTION, AnchorEvent.PCR_DATE),
        (K.RELEASE_LIST, "C", ActorRole.CORRECTIONAL_INSTITUTION, AnchorEvent.PCR_DATE),
        (K.RELEASE_DAY, None, ActorRole.CORRECTIONAL_INSTITUTION, AnchorEvent.PCR_DATE),
        (K.SUPERVISION_PLAN, "D", ActorRole.PREPARATORY_PROBATION_OFFICER, AnchorEvent.RELEASE),
        (
            K.PROBATION_ACKNOWLEDGEMENT,
            "E",
            ActorRole.PREPARATORY_PROBATION_OFFICER,
            AnchorEvent.RELEASE,
        ),
        (
            K.ELECTRONIC_MONITORING_ACKNOWLEDGEMENT,
            "F",
            ActorRole.ELECTRONIC_MONITORING_OFFICER,
            AnchorEvent.RELEASE,
        ),
        (K.PROBATION_REPORTING, "E", ActorRole.CONVICT, AnchorEvent.RELEASE),
    ]
    notice = terms[K.RELEASE_NOTICE]
    assert notice.anchor_date == D(2026, 11, 2)
    assert "likus ne mažiau kaip 6 mėnesiams iki galimo lygtinio paleidimo" in notice.legal_basis.lt
    assert "Civilinio kodekso 1.119 straipsnis" in notice.legal_basis.lt
    assert "Civil Code art. 1.119" in notice.legal_basis.en
    assert {c.provenance for c in notice.legal_basis.citations} == {
        Provenance.SEED,
        Provenance.LAW,
        Provenance.DESIGN,
    }
    assert "94 straipsnio 3 dalis" in terms[K.RELEASE_DAY].legal_basis.lt
    assert "art. 94(3)" in terms[K.RELEASE_DAY].legal_basis.en
    assert "per 3 darbo dienas" in terms[K.PROBATION_REPORTING].legal_basis.lt
    # without intensive supervision there is no F
    assert (
        conditional_release_terms(lt_calendar, D(2026, 11, 2)).get(
            K.ELECTRONIC_MONITORING_ACKNOWLEDGEMENT
        )
        is None
    )


def test_release_anchored_terms_follow_the_actual_release(lt_calendar: WorkingDayCalendar) -> None:
    projected = conditional_release_terms(lt_calendar, D(2026, 11, 2))
    assert projected[K.PROBATION_REPORTING].anchor_is_projected
    assert projected[K.PROBATION_REPORTING].anchor_date == D(2026, 10, 30)
    # Fri Oct 30 → Mon Nov 2 holiday → Tue 3, Wed 4, Thu 5
    assert projected[K.PROBATION_REPORTING].due_date == D(2026, 11, 5)
    # actually released on Wed 2026-12-23: reporting due Wed Dec 30 (DOMAIN.md example)
    actual = conditional_release_terms(
        lt_calendar, D(2026, 11, 2), actual_release_date=D(2026, 12, 23)
    )
    reporting = actual[K.PROBATION_REPORTING]
    assert not reporting.anchor_is_projected
    assert reporting.due_date == D(2026, 12, 30)
    assert actual[K.PROBATION_ACKNOWLEDGEMENT].due_date == D(2026, 12, 23)
    assert actual[K.RELEASE_DAY].due_date == D(2026, 10, 30)  # the legal release day stays


# --- process B -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filed", "handover", "returned"),
    [
        # Fri 2026-12-18: Mon 21 (1), 22, 23 (3), Dec 24–27 off, Mon 28 (4), Tue 29 (5).
        # Return from Tue 29: 30, 31, Jan 1 off, Mon Jan 4 (3), 5, Wed 6 (5).
        (D(2026, 12, 18), D(2026, 12, 29), D(2027, 1, 6)),
        # Fri 2030-04-19: Easter Mon 22 off → 23, 24, 25, 26, Mon 29.
        # Return: Tue 30, May 1 Wed off, Thu 2, Fri 3, Mon 6, Tue 7.
        (D(2030, 4, 19), D(2030, 4, 29), D(2030, 5, 7)),
        # Thu 2024-03-28: Fri 29 (1), Easter Mon Apr 1 off, 2, 3, 4, Fri 5 (5).
        # Return: Apr 8, 9, 10, 11, Fri 12.
        (D(2024, 3, 28), D(2024, 4, 5), D(2024, 4, 12)),
        # Fri 2026-03-27: Mar 30, 31, Apr 1, 2, Fri 3. Return: Easter Mon 6 off → 7, 8, 9, 10, Mon 13.
        (D(2026, 3, 27), D(2026, 4, 3), D(2026, 4, 13)),
        # filed on a Sunday 2026-06-21: Mon 22, Tue 23, (Jun 24 off), Thu 25, Fri 26, Mon 29.
        # Return: 30, Jul 1, 2, 3, Jul 6 off → Tue 7.
        (D(2026, 6, 21), D(2026, 6, 29), D(2026, 7, 7)),
    ],
)
def test_questionnaire_terms(
    lt_calendar: WorkingDayCalendar, filed: date, handover: date, returned: date
) -> None:
    terms = social_care_terms(lt_calendar, filed)
    assert terms[K.QUESTIONNAIRE_HANDOVER].due_date == handover
    assert terms[K.QUESTIONNAIRE_RETURN].due_date == returned
    assert terms[K.QUESTIONNAIRE_RETURN].anchor_is_projected
    assert terms.get(K.COMMISSION_PROTOCOL) is None
    assert questionnaire_handover_deadline(lt_calendar, filed).due_date == handover


def test_questionnaire_return_counts_from_the_actual_handover(
    lt_calendar: WorkingDayCalendar,
) -> None:
    # handed over Tue 2026-12-22 (early): Dec 23 (1), Dec 24–27 off, 28, 29, 30, 31 (5)
    terms = social_care_terms(lt_calendar, D(2026, 12, 18), handed_over_on=D(2026, 12, 22))
    back = terms[K.QUESTIONNAIRE_RETURN]
    assert (back.anchor_date, back.due_date, back.anchor_is_projected) == (
        D(2026, 12, 22),
        D(2026, 12, 31),
        False,
    )
    assert back.document_id == "H" and back.actor is ActorRole.AUTHORISED_PERSON
    assert questionnaire_return_deadline(lt_calendar, D(2026, 12, 22)).due_date == D(2026, 12, 31)


@pytest.mark.parametrize(
    ("registered", "due"),
    [
        (D(2026, 4, 2), D(2026, 4, 17)),  # DOMAIN.md example
        # Mon 2026-06-22: 23 (1), Jun 24 off, 25, 26, 29, 30, Jul 1, 2, 3 (8), Jul 6 off, 7, Wed 8.
        (D(2026, 6, 22), D(2026, 7, 8)),
        # Sat 2026-10-31: Sun, Mon Nov 2 off; Nov 3–6 (1–4), 9–13 (5–9), Mon 16 (10).
        (D(2026, 10, 31), D(2026, 11, 16)),
        # Thu 2025-04-17: Fri 18 (1), Easter Mon 21 off, 22–25 (2–5), 28, 29, 30 (6–8),
        # May 1 Thu off, Fri 2 (9), Mon 5 (10).
        (D(2025, 4, 17), D(2025, 5, 5)),
        # Fri 2038-04-23: Easter Mon 26 off, 27–30 (1–4), May 1–2 weekend, 3–7 (5–9), Mon 10.
        (D(2038, 4, 23), D(2038, 5, 10)),
        # Fri 2026-12-18: 21, 22, 23 (3), 24–27 off, 28–31 (4–7), Jan 1–3 off, Jan 4, 5, 6 (10).
        (D(2026, 12, 18), D(2027, 1, 6)),
    ],
)
def test_commission_protocol(lt_calendar: WorkingDayCalendar, registered: date, due: date) -> None:
    protocol = commission_protocol_deadline(lt_calendar, registered)
    assert protocol.due_date == due
    assert (protocol.document_id, protocol.actor) == ("K", ActorRole.COMMISSION)
    assert "13 punktas" in protocol.legal_basis.lt and "point 13" in protocol.legal_basis.en
    with_k = social_care_terms(lt_calendar, D(2026, 1, 5), registered_on=registered)
    assert with_k[K.COMMISSION_PROTOCOL].due_date == due


@pytest.mark.parametrize(
    ("year", "month", "due", "remind_from"),
    [
        (2026, 4, D(2026, 4, 7), D(2026, 4, 1)),  # Sun 5 (Easter), Mon 6 (Easter Mon) → Tue 7
        (2026, 7, D(2026, 7, 7), D(2026, 7, 1)),  # Sun 5, Mon 6 (Statehood Day) → Tue 7
        (2026, 9, D(2026, 9, 7), D(2026, 9, 1)),  # Sat 5 → Mon 7
        (2027, 1, D(2027, 1, 5), D(2027, 1, 4)),  # Tue 5; Jan 1 Fri holiday, 2–3 weekend
        (2026, 2, D(2026, 2, 5), D(2026, 2, 2)),  # Thu 5; Feb 1 is a Sunday
    ],
)
def test_monthly_free_places(
    lt_calendar: WorkingDayCalendar, year: int, month: int, due: date, remind_from: date
) -> None:
    report = free_places_report_deadline(lt_calendar, year, month)
    assert report.nominal_date == D(year, month, 5)
    assert (report.due_date, report.at_risk_from) == (due, remind_from)
    assert (report.document_id, report.actor) == ("M", ActorRole.RESPONSIBLE_EMPLOYEE)
    assert "iki kiekvieno mėnesio 5 d." in report.legal_basis.lt


def test_unplanned_vacancy_is_due_the_same_day(lt_calendar: WorkingDayCalendar) -> None:
    vacancy = unplanned_vacancy_deadline(lt_calendar, D(2026, 8, 15))  # a Saturday and a holiday
    assert vacancy.due_date == D(2026, 8, 15)
    assert deadline_status(vacancy, D(2026, 8, 15)) is DeadlineStatus.DUE
    assert deadline_status(vacancy, D(2026, 8, 16)) is DeadlineStatus.OVERDUE
    assert "nedelsdamas" in vacancy.legal_basis.lt


# --- overrides and versions ------------------------------------------------------------------


def test_an_extra_holiday_moves_due_dates() -> None:
    calendar = WorkingDayCalendar(
        CalendarOverrides.from_days(
            {D(2026, 4, 13): "papildoma poilsio diena", D(2026, 4, 30): "papildoma poilsio diena"}
        ),
        "2026-04",
    )
    # 3 (1), 7–10 (2–5), 13 off, 14–17 (6–9), Mon 20 (10)
    protocol = commission_protocol_deadline(calendar, D(2026, 4, 2))
    assert protocol.due_date == D(2026, 4, 20)
    assert protocol.calendar_version == calendar.version
    # notice A for PCR 2026-11-02: May 2 Sat, May 1 holiday, Apr 30 now off → Wed Apr 29
    assert conditional_release_terms(calendar, D(2026, 11, 2))[K.RELEASE_NOTICE].due_date == D(
        2026, 4, 29
    )


def test_an_extra_working_saturday_moves_due_dates() -> None:
    calendar = WorkingDayCalendar(
        CalendarOverrides.from_days(extra_working_days={D(2026, 4, 11): "perkelta darbo diena"})
    )
    # 3, 7, 8, 9, 10, Sat 11 (6), 13, 14, 15, 16 (10)
    assert commission_protocol_deadline(calendar, D(2026, 4, 2)).due_date == D(2026, 4, 16)


def test_an_abolished_holiday_changes_the_release_day() -> None:
    calendar = WorkingDayCalendar(
        CalendarOverrides.from_days(extra_working_days={D(2026, 11, 2): "nebe šventė"})
    )
    terms = conditional_release_terms(calendar, D(2026, 11, 2))
    assert terms[K.RELEASE_DAY].due_date == D(2026, 11, 2)
    assert terms[K.PROBATION_REPORTING].due_date == D(2026, 11, 5)  # Nov 3, 4, 5


def test_deadlines_record_the_calendar_version(lt_calendar: WorkingDayCalendar) -> None:
    other = WorkingDayCalendar(CalendarOverrides.from_days({D(2030, 1, 2): "x"}), "other")
    a = commission_protocol_deadline(lt_calendar, D(2026, 4, 2))
    b = commission_protocol_deadline(other, D(2026, 4, 2))
    assert a.due_date == b.due_date
    assert a.calendar_version != b.calendar_version
    assert a.calendar_version.content_hash != b.calendar_version.content_hash


# --- status ----------------------------------------------------------------------------------


def test_status_transitions(lt_calendar: WorkingDayCalendar) -> None:
    protocol = commission_protocol_deadline(lt_calendar, D(2026, 4, 2))  # due Fri Apr 17
    # 5 working days before: 16, 15, 14, 13, Fri 10
    assert protocol.at_risk_from == D(2026, 4, 10)
    expected = {
        D(2026, 4, 2): DeadlineStatus.PENDING,
        D(2026, 4, 9): DeadlineStatus.PENDING,
        D(2026, 4, 10): DeadlineStatus.AT_RISK,
        D(2026, 4, 12): DeadlineStatus.AT_RISK,
        D(2026, 4, 16): DeadlineStatus.AT_RISK,
        D(2026, 4, 17): DeadlineStatus.DUE,
        D(2026, 4, 18): DeadlineStatus.OVERDUE,
        D(2027, 1, 1): DeadlineStatus.OVERDUE,
    }
    assert {today: deadline_status(protocol, today) for today in expected} == expected
    assert deadline_status(protocol, D(2026, 4, 20), met_on=D(2026, 4, 17)) is DeadlineStatus.MET
    assert deadline_status(protocol, D(2026, 4, 5), met_on=D(2026, 4, 3)) is DeadlineStatus.MET
    assert (
        deadline_status(protocol, D(2026, 4, 20), met_on=D(2026, 4, 20)) is DeadlineStatus.MET_LATE
    )
    with pytest.raises(InvalidTermInput, match="after today"):
        deadline_status(protocol, D(2026, 4, 10), met_on=D(2026, 4, 11))


def test_lead_time_is_configurable(lt_calendar: WorkingDayCalendar) -> None:
    none = commission_protocol_deadline(lt_calendar, D(2026, 4, 2), policy=TermPolicy(0))
    assert none.at_risk_from == D(2026, 4, 17)
    assert deadline_status(none, D(2026, 4, 16)) is DeadlineStatus.PENDING
    # 10 working days before Apr 17: 16, 15, 14, 13, 10, 9, 8, 7, (Easter Mon), 3, Thu 2
    ten = commission_protocol_deadline(lt_calendar, D(2026, 4, 2), policy=TermPolicy(10))
    assert ten.at_risk_from == D(2026, 4, 2)
    for bad in (-1, 251, True):
        with pytest.raises(InvalidTermInput):
            TermPolicy(bad)


def test_monthly_report_is_at_risk_from_the_first_working_day(
    lt_calendar: WorkingDayCalendar,
) -> None:
    report = free_places_report_deadline(lt_calendar, 2026, 4)
    assert deadline_status(report, D(2026, 3, 31)) is DeadlineStatus.PENDING
    assert deadline_status(report, D(2026, 4, 1)) is DeadlineStatus.AT_RISK
    assert deadline_status(report, D(2026, 4, 7)) is DeadlineStatus.DUE


# --- bad input and range ---------------------------------------------------------------------


def test_terms_outside_the_range(lt_calendar: WorkingDayCalendar) -> None:
    with pytest.raises(DateOutOfRange) as caught:
        conditional_release_terms(lt_calendar, D(2000, 6, 1))  # stage I would be in 1999
    assert caught.value.field == "pcr_date"
    with pytest.raises(DateOutOfRange):
        conditional_release_terms(lt_calendar, D(2101, 1, 4))
    with pytest.raises(DateOutOfRange):
        conditional_release_terms(lt_calendar, D(2100, 12, 30))  # reporting leaves 2100
    with pytest.raises(DateOutOfRange):
        commission_protocol_deadline(lt_calendar, D(1999, 12, 31))
    with pytest.raises(DateOutOfRange):
        commission_protocol_deadline(lt_calendar, D(2100, 12, 24))
    with pytest.raises(InvalidTermInput):
        free_places_report_deadline(lt_calendar, 2026, 13)
    with pytest.raises(InvalidTermInput):
        free_places_report_deadline(lt_calendar, 2101, 1)
    with pytest.raises(InvalidTermInput):
        conditional_release_terms(lt_calendar, "2026-11-02")  # type: ignore[arg-type]
    with pytest.raises(InvalidTermInput):
        conditional_release_terms(lt_calendar, D(2026, 11, 2))[K.COMMISSION_PROTOCOL]


# --- bulk == per case ------------------------------------------------------------------------


def test_bulk_gives_the_per_case_results(lt_calendar: WorkingDayCalendar) -> None:
    rng = random.Random(20260402)
    first, last = D(2001, 2, 1).toordinal(), D(2100, 12, 20).toordinal()
    pcrs = [rng.randint(first, last) for _ in range(3000)]
    pcrs += [c[0].toordinal() for c in PROCESS_A_CASES]
    bulk = conditional_release_bulk(lt_calendar, pcrs)
    assert bulk.calendar_version == lt_calendar.version
    for position, ordinal in enumerate(pcrs):
        terms = conditional_release_terms(
            lt_calendar, D.fromordinal(ordinal), intensive_supervision=True
        )
        for deadline in terms:
            assert bulk.due[deadline.kind][position] == deadline.due_date.toordinal(), (
                D.fromordinal(ordinal),
                deadline.kind,
            )
    requests = [rng.randint(first, last) for _ in range(2000)]
    registrations = [rng.randint(first, last) for _ in range(1500)]
    b = social_care_bulk(lt_calendar, requests, registrations)
    for position, ordinal in enumerate(requests):
        terms = social_care_terms(lt_calendar, D.fromordinal(ordinal))
        assert (
            b.due[K.QUESTIONNAIRE_HANDOVER][position]
            == terms[K.QUESTIONNAIRE_HANDOVER].due_date.toordinal()
        )
        assert (
            b.due[K.QUESTIONNAIRE_RETURN][position]
            == terms[K.QUESTIONNAIRE_RETURN].due_date.toordinal()
        )
    for position, ordinal in enumerate(registrations):
        due = commission_protocol_deadline(lt_calendar, D.fromordinal(ordinal)).due_date
        assert b.due[K.COMMISSION_PROTOCOL][position] == due.toordinal()
    assert b.dates(K.COMMISSION_PROTOCOL)[0] == D.fromordinal(b.due[K.COMMISSION_PROTOCOL][0])


def test_bulk_with_overrides_matches_per_case() -> None:
    calendar = WorkingDayCalendar(
        CalendarOverrides.from_days({D(2026, 4, 13): "x"}, {D(2026, 4, 11): "y"})
    )
    bulk = social_care_bulk(calendar, [], [D(2026, 4, 2).toordinal()])
    assert bulk.dates(K.COMMISSION_PROTOCOL) == [D(2026, 4, 17)]  # +Sat 11, −Mon 13
    assert bulk.dates(K.QUESTIONNAIRE_HANDOVER) == []


def test_bulk_errors(lt_calendar: WorkingDayCalendar) -> None:
    with pytest.raises(DateOutOfRange) as caught:
        conditional_release_bulk(
            lt_calendar, [D(2026, 1, 5).toordinal(), D(2000, 6, 1).toordinal()]
        )
    assert caught.value.field == "pcr_ordinals[1]"
    with pytest.raises(DateOutOfRange):
        conditional_release_bulk(lt_calendar, [D(1999, 12, 31).toordinal()])
    with pytest.raises(DateOutOfRange):
        social_care_bulk(lt_calendar, [], [D(2101, 1, 1).toordinal()])
    with pytest.raises(InvalidTermInput):
        conditional_release_bulk(lt_calendar, [D(2026, 1, 5)])  # type: ignore[list-item]
    with pytest.raises(InvalidTermInput):
        social_care_bulk(lt_calendar, [D(2026, 1, 5).toordinal()], []).dates(K.RELEASE_DAY)
    # PCR Tue 2001-01-02: stage I on Sun 2000-01-02, and 2000-01-01 is a Saturday — no working
    # day on or before it inside the range; both APIs refuse it the same way
    with pytest.raises(DateOutOfRange):
        conditional_release_terms(lt_calendar, D(2001, 1, 2))
    with pytest.raises(DateOutOfRange, match="stage_i_start"):
        conditional_release_bulk(lt_calendar, [D(2001, 1, 2).toordinal()])
    # at the other end: released Thu 2100-12-30, reporting would fall in 2101
    with pytest.raises(DateOutOfRange):
        conditional_release_terms(lt_calendar, D(2100, 12, 30))
    with pytest.raises(DateOutOfRange, match="probation_reporting") as late:
        conditional_release_bulk(
            lt_calendar, [D(2100, 1, 4).toordinal(), D(2100, 12, 30).toordinal()]
        )
    assert late.value.field == "pcr_ordinals[1]"
    # the last PCR date with every term inside the range: Tue 2100-12-28 → reporting Fri 31
    last = conditional_release_bulk(lt_calendar, [D(2100, 12, 28).toordinal()])
    assert last.dates(K.PROBATION_REPORTING) == [D(2100, 12, 31)]
    assert conditional_release_terms(lt_calendar, D(2100, 12, 28))[
        K.PROBATION_REPORTING
    ].due_date == D(2100, 12, 31)
