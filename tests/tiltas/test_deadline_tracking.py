"""Stored deadlines: change reports after a moved release date, a calendar change or a changed
anchor document; the sweep and the timed re-checks moving statuses and announcing each move once.
Dates worked out by hand (DOMAIN.md §6)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.support.deliveries import moment, new_case, on_day, stored_document
from tests.support.factories import World, care_case, release_case
from tiltas import deadline_tracking
from tiltas.access import Role
from tiltas.db import make_sessionmaker, transaction
from tiltas.models import Case, Document, Event, StoredDeadline

VILNIUS = ZoneInfo("Europe/Vilnius")
NOTICE = "process_a.release_notice"


def _sessions(world: World) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = world.client.app.state.database.sessions  # type: ignore[attr-defined]
    return sessions


def _case(world: World, pcr: str = "2026-11-02") -> str:
    payload = release_case(world)
    payload["subject"]["possible_release_date"] = pcr
    return new_case(world, payload)


def _reports(world: World, case_id: str) -> list[dict[str, Any]]:
    response = world.client.get(
        f"/v1/cases/{case_id}/deadline-changes", headers=world.institution.auth(Role.director)
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def _changes(report: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    return {c["kind"]: (c["old_due_date"], c["new_due_date"]) for c in report["changes"]}


def _status_events(world: World, case_id: str) -> list[tuple[str, str]]:
    with transaction(_sessions(world)) as session:
        rows = session.scalars(
            select(Event)
            .join(Case, Case.id == Event.case_id)
            .where(Case.public_id == case_id, Event.type.like("deadline.%"))
            .order_by(Event.id)
        )
        return [(e.type, e.data["kind"]) for e in rows]


def _sweep(world: World, when: str, horizon_s: float = 1800.0) -> deadline_tracking.SweepReport:
    now = dt.datetime.fromisoformat(when).replace(tzinfo=VILNIUS).astimezone(dt.UTC)
    return deadline_tracking.sweep(_sessions(world), now=now, horizon_s=horizon_s)


def _patch_release_date(world: World, case_id: str, pcr: str) -> None:
    director = world.institution.auth(Role.director)
    case = world.client.get(f"/v1/cases/{case_id}", headers=director)
    subject = {**case.json()["subject"], "possible_release_date": pcr}
    response = world.client.patch(
        f"/v1/cases/{case_id}",
        json={"subject": subject},
        headers={**director, "If-Match": case.headers["ETag"]},
    )
    assert response.status_code == 200, response.text


def test_a_new_case_stores_its_deadlines_and_says_so(world: World) -> None:
    case_id = _case(world)
    [report] = _reports(world, case_id)
    assert report["cause"] == "case_created" and report["case_id"] == case_id
    changes = _changes(report)
    assert changes[NOTICE] == (None, "2026-04-30")
    assert changes["process_a.release_day"] == (None, "2026-10-30")
    with transaction(_sessions(world)) as session:
        stored = session.scalars(select(StoredDeadline)).all()
    assert {row.kind for row in stored} == set(changes)
    assert {row.status for row in stored} == {None}  # statuses belong to a day: the sweep's


def test_a_moved_release_date_reports_every_moved_due_date(world: World) -> None:
    case_id = _case(world)
    _patch_release_date(world, case_id, "2027-03-15")
    latest = _reports(world, case_id)[0]
    assert latest["cause"] == "release_date"
    changes = _changes(latest)
    assert changes[NOTICE] == ("2026-04-30", "2026-09-15")
    # Stage I, PCR minus 12 months rolled back to a working day:
    # Sun 2025-11-02 → Fri 2025-10-31; Sun 2026-03-15 → Fri 2026-03-13.
    assert changes["process_a.stage_i_start"] == ("2025-10-31", "2026-03-13")
    assert changes["process_a.release_day"] == ("2026-10-30", "2027-03-15")
    assert all(old != new for old, new in changes.values())

    # A change that leaves the release date alone reports nothing.
    director = world.institution.auth(Role.director)
    response = world.client.patch(
        f"/v1/cases/{case_id}", json={"people": []}, headers={**director, "If-Match": "*"}
    )
    assert response.status_code == 200
    assert len(_reports(world, case_id)) == 2
    # GET still computes from the case as it is now.
    with on_day(world, "2026-03-01"):
        notice = world.client.get(f"/v1/cases/{case_id}/deadlines", headers=director).json()
    assert {d["kind"]: d["due_date"] for d in notice}[NOTICE] == "2026-09-15"


def test_a_moved_release_date_is_announced_to_the_cases_organisations(world: World) -> None:
    """``deadlines.changed`` goes to subscribers among the case's organisations."""
    from tiltas.models import WebhookDelivery, WebhookSubscription

    case_id = _case(world)
    with transaction(_sessions(world)) as session:
        session.add(
            WebhookSubscription(
                public_id="8d6f2f4e-7b8e-4d0c-9a55-0c3c1b2d9e11",
                organisation_id=session.get_one(
                    Case, session.scalar(select(Case.id).where(Case.public_id == case_id))
                )
                .participants[0]
                .organisation_id,
                url="http://127.0.0.1:9/hook",
                events=["deadlines.changed"],
                description="",
                secret="whsec_test-secret-0123456789",
                version=1,
                created_by="test",
            )
        )
    _patch_release_date(world, case_id, "2027-03-15")
    with transaction(_sessions(world)) as session:
        made = session.execute(
            select(WebhookDelivery.status, Event.data).join(
                Event, Event.id == WebhookDelivery.event_id
            )
        ).all()
    assert [(status, data["cause"]) for status, data in made] == [("pending", "release_date")]


def test_a_calendar_change_lists_the_due_dates_it_moved(world: World) -> None:
    early = _case(world, "2026-11-02")
    _case(world, "2027-06-15")
    admin = world.institution.auth(Role.admin)
    holiday = {"extra_holidays": [{"day": "2026-04-30", "reason": "Seimo nutarimas (bandymas)"}]}
    response = world.client.put("/v1/calendar/overrides", json=holiday, headers=admin)
    assert response.status_code == 200, response.text
    # Only notice A of the early case falls on the new holiday: it rolls back to Wed 04-29.
    assert response.json()["changed_deadlines"] == [
        {
            "case_id": early,
            "kind": NOTICE,
            "document": "A",
            "old_due_date": "2026-04-30",
            "new_due_date": "2026-04-29",
        }
    ]
    assert _reports(world, early)[0]["cause"] == "calendar"
    back = world.client.put("/v1/calendar/overrides", json={}, headers=admin).json()
    assert [(c["old_due_date"], c["new_due_date"]) for c in back["changed_deadlines"]] == [
        ("2026-04-29", "2026-04-30")
    ]


def test_the_sweep_moves_statuses_and_announces_each_move_once(world: World) -> None:
    case_id = _case(world)
    _sweep(world, "2026-03-01T10:00")
    # Stage I should have started by Fri 2025-10-31; everything else is still ahead.
    assert _status_events(world, case_id) == [("deadline.overdue", "process_a.stage_i_start")]
    _sweep(world, "2026-03-01T18:00")
    assert len(_status_events(world, case_id)) == 1

    # Notice A (due Thu 04-30) is at risk from Thu 04-23, five working days before.
    _sweep(world, "2026-04-22T12:00")
    assert len(_status_events(world, case_id)) == 1
    _sweep(world, "2026-04-23T00:05")
    _sweep(world, "2026-04-30T08:00")
    _sweep(world, "2026-05-01T08:00")
    notice_events = [t for t, kind in _status_events(world, case_id) if kind == NOTICE]
    assert notice_events == ["deadline.at_risk", "deadline.due", "deadline.overdue"]

    # A late sending is announced when it is recorded, not at the next sweep.
    notice = stored_document(
        world, "A", author="correctional_institution", case_id=case_id,
        generated_at=moment("2026-04-20T09:00"), signed_at=moment("2026-04-20T09:00"),
    )  # fmt: skip
    with on_day(world, "2026-05-04"):
        recorded = world.client.post(
            f"/v1/documents/{notice}/delivery-events",
            json={"state": "sent", "at": moment("2026-05-04T09:00").isoformat()},
            headers=world.institution.auth(Role.institution_staff),
        )
    assert recorded.status_code == 201, recorded.text
    assert _status_events(world, case_id)[-1] == ("deadline.met_late", NOTICE)
    _sweep(world, "2026-05-04T12:00")
    assert _status_events(world, case_id)[-1] == ("deadline.met_late", NOTICE)


def test_timers_carry_the_due_date_they_expect(world: World) -> None:
    case_id = _case(world)
    _case(world, "2027-06-15")  # nothing of it moves tonight
    _sweep(world, "2026-04-29T12:00")
    report = _sweep(world, "2026-04-29T23:40")
    [timer] = report.timers
    assert timer.expected_due_date == dt.date(2026, 4, 30)
    assert timer.fire_at == dt.datetime(2026, 4, 30, 0, 1, tzinfo=VILNIUS)
    assert _sweep(world, "2026-04-29T23:45").timers == []  # set once

    with transaction(_sessions(world)) as session:
        fired = deadline_tracking.fire_timer(
            session, timer.deadline_id, timer.expected_due_date, dt.date(2026, 4, 30)
        )
    assert fired.outcome is deadline_tracking.TimerOutcome.checked
    assert [(c.kind, c.old_status, c.new_status) for c in fired.status_changes] == [
        (NOTICE, "at_risk", "due")
    ]
    with transaction(_sessions(world)) as session:
        again = deadline_tracking.fire_timer(
            session, timer.deadline_id, timer.expected_due_date, dt.date(2026, 4, 30)
        )
    assert again.outcome is deadline_tracking.TimerOutcome.checked and again.status_changes == []

    # Rescheduled: the release date moves, so the timer set for 04-30 finds another deadline.
    _patch_release_date(world, case_id, "2027-03-15")
    before = _status_events(world, case_id)
    with transaction(_sessions(world)) as session:
        stale = deadline_tracking.fire_timer(
            session, timer.deadline_id, timer.expected_due_date, dt.date(2026, 5, 1)
        )
    assert stale.outcome is deadline_tracking.TimerOutcome.stale
    assert _status_events(world, case_id) == before


def test_the_sweep_repairs_what_changed_outside_the_api(world: World, database_url: str) -> None:
    """Request G failing in a worker drops the process-B terms: the sweep notices."""
    payload = care_case(world)
    case_id = new_case(world, payload)
    request = stored_document(
        world, "G", author="correctional_institution", case_id=case_id,
        generated_at=moment("2026-03-24T09:00"), registration_date="2026-03-24",
    )  # fmt: skip
    assert _changes(_reports(world, case_id)[0]) == {
        "process_b.questionnaire_handover": (None, "2026-03-31"),
        "process_b.questionnaire_return": (None, "2026-04-08"),
    }
    # A worker's session (no deadline tracking) marks G failed.
    from tiltas.db import make_engine

    engine = make_engine(database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            session.execute(
                update(Document).where(Document.public_id == request).values(status="failed")
            )
    finally:
        engine.dispose()
    report = _sweep(world, "2026-03-25T10:00")
    assert {(c.kind, c.new_due_date) for c in report.changes} == {
        ("process_b.questionnaire_handover", None),
        ("process_b.questionnaire_return", None),
    }
    assert _reports(world, case_id)[0]["cause"] == "sweep"


def test_a_settled_case_is_left_out_of_later_sweeps(world: World) -> None:
    """Every document's deadline met; only the stage I start and the release day (no document
    can meet them) overdue: nothing can move any more."""
    settled = _case(world)
    busy = _case(world)
    signed = {"generated_at": moment("2026-03-02T09:00"), "signed_at": moment("2026-03-02T09:00")}
    institution = {"author": "correctional_institution", "case_id": settled}
    for type_id, state in (("A", "sent"), ("C", "delivered")):
        document = stored_document(world, type_id, **institution, **signed)
        recorded = world.client.post(
            f"/v1/documents/{document}/delivery-events",
            json={"state": state, "at": moment("2026-03-03T09:00").isoformat()},
            headers=world.institution.auth(Role.institution_staff),
        )
        assert recorded.status_code == 201, recorded.text
    stored_document(world, "D", author="probation", case_id=settled, **signed)
    stored_document(
        world, "E", author="probation", case_id=settled,
        acknowledged_at=moment("2026-03-02T10:00"), **signed,
    )  # fmt: skip
    assert _sweep(world, "2026-11-10T09:00").cases == 2
    assert _sweep(world, "2026-11-10T10:00").cases == 1  # only the case with unmet documents
    assert {kind for _type, kind in _status_events(world, busy)} >= {NOTICE}


def test_a_recomputation_decodes_only_what_deadlines_are_computed_from(world: World) -> None:
    """A case's deadlines are recomputed whenever its request G changes (every pipeline step
    of G): its documents' other JSON (data, signatures, history, renewals) is left in the
    database, and the terms still start from G's registration date."""
    case_id = new_case(world, care_case(world))
    stored_document(
        world, "G", author="correctional_institution", case_id=case_id,
        generated_at=moment("2026-03-02T09:00"), registration_date="2026-03-04",
    )  # fmt: skip
    stored_document(
        world, "H", author="correctional_institution", case_id=case_id,
        generated_at=moment("2026-03-05T09:00"),
    )  # fmt: skip
    with transaction(_sessions(world)) as session:
        case = session.scalars(select(Case).where(Case.public_id == case_id)).one()
        read: list[Document] = []
        event.listen(
            session,
            "loaded_as_persistent",
            lambda _s, loaded: read.append(loaded) if isinstance(loaded, Document) else None,
        )
        cause = deadline_tracking.ChangeCause.documents
        deadline_tracking.refresh_case(session, case, cause=cause, today=dt.date(2026, 3, 10))
        assert sorted(d.type_id for d in read) == ["G", "H"]
        for document in read:
            unloaded = inspect(document).unloaded
            assert {"data", "signatures", "pdf_history", "renewals", "failure"} <= unloaded
        stored = session.scalars(
            select(StoredDeadline).where(StoredDeadline.case_id == case.id)
        ).all()
    anchors = {row.anchor_date for row in stored}
    assert dt.date(2026, 3, 4) in anchors, anchors
