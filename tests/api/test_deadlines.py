"""Case deadlines through the API, with the calendar overrides an administrator keeps."""

from __future__ import annotations

from typing import Any

from tests.support.deliveries import new_case, on_day
from tests.support.factories import World, release_case
from tiltas.access import Role


def _case_with_release(world: World, pcr: str) -> str:
    payload = release_case(world)
    payload["subject"]["possible_release_date"] = pcr
    return new_case(world, payload)


def _deadlines(
    world: World, case_id: str, today: str, role: Role = Role.director
) -> dict[str, dict[str, Any]]:
    with on_day(world, today):
        response = world.client.get(
            f"/v1/cases/{case_id}/deadlines", headers=world.institution.auth(role)
        )
    assert response.status_code == 200, response.text
    return {d["kind"]: d for d in response.json()}


def test_domain_worked_example(world: World) -> None:
    """PCR Mon 2026-11-02 (a holiday): release Fri 2026-10-30; notice A by Thu 2026-04-30;
    list C by Fri 2026-10-02 (DOMAIN.md §6)."""
    case_id = _case_with_release(world, "2026-11-02")
    deadlines = _deadlines(world, case_id, "2026-03-01")
    notice = deadlines["process_a.release_notice"]
    assert notice["document"] == "A" and notice["due_date"] == "2026-04-30"
    assert notice["status"] == "pending"
    assert (
        "6 mėnesiams" in notice["legal_basis"]["lt"] and "6 months" in notice["legal_basis"]["en"]
    )
    assert deadlines["process_a.release_list"]["due_date"] == "2026-10-02"
    assert deadlines["process_a.release_day"]["due_date"] == "2026-10-30"
    assert all(d["calendar_version"] == notice["calendar_version"] for d in deadlines.values())


def test_status_moves_with_today(world: World) -> None:
    case_id = _case_with_release(world, "2026-11-02")
    assert (
        _deadlines(world, case_id, "2026-04-27")["process_a.release_notice"]["status"] == "at_risk"
    )
    assert _deadlines(world, case_id, "2026-04-30")["process_a.release_notice"]["status"] == "due"
    assert (
        _deadlines(world, case_id, "2026-05-04")["process_a.release_notice"]["status"] == "overdue"
    )


def test_an_extra_holiday_moves_the_date_and_the_version(world: World) -> None:
    case_id = _case_with_release(world, "2026-11-02")
    before = _deadlines(world, case_id, "2026-03-01")["process_a.release_notice"]
    admin = world.institution.auth(Role.admin)
    overrides = {"extra_holidays": [{"day": "2026-04-30", "reason": "Seimo nutarimas (bandymas)"}]}
    response = world.client.put("/v1/calendar/overrides", json=overrides, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["version"] != before["calendar_version"]
    after = _deadlines(world, case_id, "2026-03-01")["process_a.release_notice"]
    # Not later than: a non-working result rolls back to the previous working day.
    assert after["due_date"] == "2026-04-29"
    assert after["calendar_version"] == response.json()["version"]
    assert (
        world.client.get("/v1/calendar", headers=admin).json()["extra_holidays"][0]["day"]
        == "2026-04-30"
    )


def test_bad_overrides_are_refused_and_change_nothing(world: World) -> None:
    admin = world.institution.auth(Role.admin)
    version = world.client.get("/v1/calendar", headers=admin).json()["version"]
    both = {
        "extra_holidays": [{"day": "2026-05-02", "reason": "a"}],
        "extra_working_days": [{"day": "2026-05-02", "reason": "b"}],
    }
    for bad in (
        both,
        {"extra_holidays": [{"day": "2150-01-01", "reason": "per toli"}]},
        {"holidays": []},
    ):
        response = world.client.put("/v1/calendar/overrides", json=bad, headers=admin)
        assert response.status_code == 422, response.text
        assert response.json()["errors"]
    assert world.client.get("/v1/calendar", headers=admin).json()["version"] == version
    staff = world.institution.auth(Role.director)
    assert world.client.put("/v1/calendar/overrides", json={}, headers=staff).status_code == 403


def test_changed_release_date_is_reflected(world: World) -> None:
    case_id = _case_with_release(world, "2026-11-02")
    director = world.institution.auth(Role.director)
    case = world.client.get(f"/v1/cases/{case_id}", headers=director).json()
    subject = {**case["subject"], "possible_release_date": "2027-03-15"}
    world.client.patch(
        f"/v1/cases/{case_id}", json={"subject": subject}, headers={**director, "If-Match": '"1"'}
    )
    # 2027-03-15 minus 6 months is Tue 2026-09-15, a working day.
    assert (
        _deadlines(world, case_id, "2026-03-01")["process_a.release_notice"]["due_date"]
        == "2026-09-15"
    )


def test_only_participants_see_deadlines(world: World) -> None:
    case_id = _case_with_release(world, "2026-11-02")
    foreign = world.orgs["correctional_institution_2"].auth(Role.director)
    assert world.client.get(f"/v1/cases/{case_id}/deadlines", headers=foreign).status_code == 404
    social_worker = world.orgs["municipality"].auth(Role.social_worker)
    assert (
        world.client.get(f"/v1/cases/{case_id}/deadlines", headers=social_worker).status_code == 200
    )


def test_organisation_deadlines_filtered_and_as_a_feed(world: World) -> None:
    from icalendar import Calendar

    early = _case_with_release(world, "2026-11-02")
    late = _case_with_release(world, "2027-06-15")
    director = world.institution.auth(Role.director)
    with on_day(world, "2026-04-28"):
        everything = world.client.get("/v1/deadlines", headers=director).json()
        at_risk = world.client.get(
            "/v1/deadlines", params={"status": "at_risk"}, headers=director
        ).json()
        notices = world.client.get(
            "/v1/deadlines", params={"document": "A", "due_before": "2026-12-31"}, headers=director
        ).json()
        feed = world.client.get("/v1/deadlines.ics", headers=director)
    assert {d["case_id"] for d in everything} == {early, late}
    assert [d["due_date"] for d in everything] == sorted(d["due_date"] for d in everything)
    assert [(d["case_id"], d["kind"]) for d in at_risk] == [(early, "process_a.release_notice")]
    assert [(d["case_id"], d["due_date"]) for d in notices] == [
        (early, "2026-04-30"),
        (late, "2026-12-15"),
    ]
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = [c for c in Calendar.from_ical(feed.content).walk("VEVENT")]
    assert len(events) == len(everything)
    assert "Žemaitis" not in feed.content.decode() and "38502141" not in feed.content.decode()
    foreign = world.orgs["correctional_institution_2"].auth(Role.director)
    assert world.client.get("/v1/deadlines", headers=foreign).json() == []
    bad = world.client.get("/v1/deadlines", params={"status": "late"}, headers=director)
    assert bad.status_code == 422
