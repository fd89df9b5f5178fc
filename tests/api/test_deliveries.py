"""Delivery steps through the API (who may record which step, when) and the deadlines they meet,
worked out by hand across day boundaries in Lithuanian time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.support.deliveries import deadlines_on, moment, new_case, on_day, stored_document
from tests.support.factories import World, care_case, release_case
from tiltas.access import Role
from tiltas.db import transaction
from tiltas.models import AuditEntry

STAFF = Role.institution_staff


def _record(
    world: World,
    document_id: str,
    state: str,
    *,
    at: str | None = None,
    org: str = "correctional_institution",
    role: Role = STAFF,
    **extra: Any,
) -> Any:
    body: dict[str, Any] = {"state": state, **extra}
    if at is not None:
        body["at"] = moment(at).isoformat()
    return world.client.post(
        f"/v1/documents/{document_id}/delivery-events",
        json=body,
        headers=world.orgs[org].auth(role),
    )


def _release_case(world: World, pcr: str = "2026-11-02") -> str:
    payload = release_case(world)
    payload["subject"]["possible_release_date"] = pcr
    return new_case(world, payload)


def _signed(world: World, case_id: str, type_id: str, signed: str, **kwargs: Any) -> str:
    author = kwargs.pop("author", "correctional_institution")
    return stored_document(
        world,
        type_id,
        author=author,
        case_id=case_id,
        generated_at=moment(signed),
        signed_at=moment(signed),
        **kwargs,
    )


def test_a_step_is_recorded_with_who_and_when_and_the_steps_listed(world: World) -> None:
    case_id = _release_case(world)
    notice = _signed(world, case_id, "A", "2026-04-20T09:00")
    response = _record(
        world,
        notice,
        "sent",
        at="2026-04-21T10:15",
        channel="e_delivery",
        note="Išsiųsta per e. pristatymą",
    )
    assert response.status_code == 201, response.text
    recorded = response.json()
    assert recorded["state"] == "sent" and recorded["channel"] == "e_delivery"
    assert recorded["recorded_by"]["organisation_code"] == world.institution.code
    assert recorded["recorded_by"]["role"] == "institution_staff"
    assert recorded["at"].startswith("2026-04-21T07:15")  # 10:15 EEST is 07:15 UTC
    assert recorded["document"]["state"] == "sent"
    assert recorded["document"]["allowed_next"] == ["delivered", "failed", "returned"]

    listed = world.client.get(
        f"/v1/documents/{notice}/delivery-events",
        headers=world.orgs["municipality"].auth(Role.social_worker),
    )
    assert listed.status_code == 200, listed.text
    steps = listed.json()["steps"]
    assert [s["state"] for s in steps] == ["generated", "signed", "sent"]
    assert steps[0]["event"] is None and steps[2]["event"]["note"] == "Išsiųsta per e. pristatymą"

    database = world.client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "delivery_event")
        ).one()
    assert entry.entity_id == recorded["id"] and entry.case_id == case_id
    assert entry.detail == {"document": notice, "type": "A", "state": "sent"}
    assert "pristatym" not in str(entry.detail)  # the note is not audited


def test_a_step_that_does_not_follow_is_409_with_what_may_come_next(world: World) -> None:
    case_id = _release_case(world)
    unsigned = stored_document(
        world, "A", author="correctional_institution", case_id=case_id,
        generated_at=moment("2026-04-20T09:00"),
    )  # fmt: skip
    refused = _record(world, unsigned, "sent")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "urn:tiltas:problem:invalid_delivery_transition"
    assert (problem["current_state"], problem["requested_state"]) == ("generated", "sent")
    assert problem["allowed_states"] == []

    notice = _signed(world, case_id, "A", "2026-04-20T09:00")
    early = _record(world, notice, "acknowledged").json()
    assert early["current_state"] == "signed"
    assert early["allowed_states"] == ["delivered", "sent"]
    for state in ("failed", "returned"):
        assert _record(world, notice, state).status_code == 409

    assert _record(world, notice, "delivered", at="2026-04-21T10:00").status_code == 201
    assert _record(world, notice, "acknowledged", at="2026-04-22T10:00").status_code == 201
    last = _record(world, notice, "sent")
    assert last.status_code == 409 and last.json()["allowed_states"] == []


def test_bad_steps_and_times_are_422_and_change_nothing(world: World) -> None:
    case_id = _release_case(world)
    notice = _signed(world, case_id, "A", "2026-04-20T09:00")
    for body, field in (
        ({"state": "signed"}, "state"),
        ({"state": "generated"}, "state"),
        ({"state": "lost"}, "state"),
        ({"state": "sent", "at": "2026-04-21T10:00"}, "at"),  # no time zone
        ({"state": "sent", "channel": "pigeon"}, "channel"),
        ({"state": "sent", "extra": 1}, "extra"),
        ({"state": "sent", "at": "2099-01-01T00:00:00+00:00"}, "at"),  # in the future
        ({"state": "sent", "at": moment("2026-04-19T09:00").isoformat()}, "at"),  # before signing
    ):
        response = world.client.post(
            f"/v1/documents/{notice}/delivery-events",
            json=body,
            headers=world.institution.auth(STAFF),
        )
        assert response.status_code == 422, (body, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], body
    steps = world.client.get(
        f"/v1/documents/{notice}/delivery-events", headers=world.institution.auth(STAFF)
    ).json()["steps"]
    assert [s["state"] for s in steps] == ["generated", "signed"]


def test_only_the_author_organisations_authoring_roles_record_steps(world: World) -> None:
    case_id = _release_case(world)
    notice = _signed(world, case_id, "A", "2026-04-20T09:00")
    expected = {
        ("correctional_institution", Role.director): 201,
        ("correctional_institution", Role.health_unit): 403,  # may not author A
        ("probation", Role.probation_officer): 403,  # sees A, did not write it
        ("municipality", Role.social_worker): 403,
        ("correctional_institution_2", Role.director): 404,  # not in the case
        ("correctional_institution", Role.admin): 404,  # sees no documents
    }
    got = {
        (org, role): _record(world, notice, "sent", org=org, role=role).status_code
        for org, role in expected
    }
    assert got == expected
    unknown = _record(world, "00000000-0000-0000-0000-000000000000", "sent")
    assert unknown.status_code == 404
    foreign_read = world.client.get(
        f"/v1/documents/{notice}/delivery-events",
        headers=world.orgs["correctional_institution_2"].auth(Role.director),
    )
    assert foreign_read.status_code == 404


def test_a_retried_post_with_the_same_key_records_one_step(world: World) -> None:
    case_id = _release_case(world)
    notice = _signed(world, case_id, "A", "2026-04-20T09:00")
    headers = {**world.institution.auth(STAFF), "Idempotency-Key": "dms-17"}
    body = {"state": "sent", "at": moment("2026-04-21T10:00").isoformat()}
    first = world.client.post(f"/v1/documents/{notice}/delivery-events", json=body, headers=headers)
    again = world.client.post(f"/v1/documents/{notice}/delivery-events", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"]
    steps = world.client.get(
        f"/v1/documents/{notice}/delivery-events", headers=world.institution.auth(STAFF)
    ).json()["steps"]
    assert [s["state"] for s in steps] == ["generated", "signed", "sent"]


# --- which step meets which deadline -------------------------------------------------------------

NOTICE = "process_a.release_notice"


def test_notice_a_is_met_when_sent_by_the_end_of_its_lithuanian_last_day(world: World) -> None:
    """PCR Mon 2026-11-02: notice A is due Thu 2026-04-30 (DOMAIN.md §6). Signing alone does
    not meet it; sending does, until 24:00 Lithuanian time (Civil Code art. 1.122)."""
    case_id = _release_case(world)
    notice = _signed(world, case_id, "A", "2026-04-20T09:00")
    assert deadlines_on(world, case_id, "2026-04-29")[NOTICE]["status"] == "at_risk"
    # 23:30 in Vilnius on the last day is 20:30 UTC: in time.
    assert _record(world, notice, "sent", at="2026-04-30T23:30").status_code == 201
    met = deadlines_on(world, case_id, "2026-05-04")[NOTICE]
    assert (met["status"], met["met_on"]) == ("met", "2026-04-30")
    # Seen from the day before the step, the step has not happened yet.
    assert deadlines_on(world, case_id, "2026-04-29")[NOTICE]["status"] == "at_risk"


def test_notice_a_sent_half_an_hour_after_midnight_is_late(world: World) -> None:
    # 00:30 on 1 May in Vilnius is still 30 April in UTC: the Lithuanian day counts.
    case_id = _release_case(world)
    notice = _signed(world, case_id, "A", "2026-04-20T09:00")
    assert deadlines_on(world, case_id, "2026-05-01")[NOTICE]["status"] == "overdue"
    assert _record(world, notice, "sent", at="2026-05-01T00:30").status_code == 201
    late = deadlines_on(world, case_id, "2026-05-04")[NOTICE]
    assert (late["status"], late["met_on"]) == ("met_late", "2026-05-01")


def test_a_failed_or_returned_sending_does_not_count(world: World) -> None:
    case_id = _release_case(world)
    notice = _signed(world, case_id, "A", "2026-04-20T09:00")
    for state, at in (("sent", "2026-04-27T10:00"), ("failed", "2026-04-27T10:05")):
        assert _record(world, notice, state, at=at).status_code == 201
    assert deadlines_on(world, case_id, "2026-05-04")[NOTICE]["status"] == "overdue"
    for state, at in (
        ("sent", "2026-05-05T09:00"),
        ("delivered", "2026-05-05T09:30"),
        ("returned", "2026-05-07T12:00"),
    ):
        assert _record(world, notice, state, at=at).status_code == 201
    # Delivered and then returned: from the 7th it has not arrived after all.
    assert deadlines_on(world, case_id, "2026-05-06")[NOTICE]["status"] == "met_late"
    assert deadlines_on(world, case_id, "2026-05-08")[NOTICE]["status"] == "overdue"
    assert _record(world, notice, "delivered", at="2026-05-08T08:00").status_code == 201
    handed = deadlines_on(world, case_id, "2026-05-08")[NOTICE]
    assert (handed["status"], handed["met_on"]) == ("met_late", "2026-05-08")


def test_list_c_is_met_when_the_probation_service_receives_it(world: World) -> None:
    """List C due Fri 2026-10-02 for PCR 2026-11-02; the seed says the probation service
    *receives* it, so sending is not enough."""
    case_id = _release_case(world)
    listing = _signed(world, case_id, "C", "2026-09-28T09:00")
    assert _record(world, listing, "sent", at="2026-10-01T16:00").status_code == 201
    assert deadlines_on(world, case_id, "2026-10-05")["process_a.release_list"]["status"] == (
        "overdue"
    )
    assert _record(world, listing, "delivered", at="2026-10-02T09:00").status_code == 201
    met = deadlines_on(world, case_id, "2026-10-05")["process_a.release_list"]
    assert (met["status"], met["met_on"]) == ("met", "2026-10-02")


def test_the_convicts_acknowledgement_meets_e(world: World) -> None:
    """E is met when the convict has acknowledged it by signature on the signed document:
    the later of the officer's signature and the recorded acknowledgement."""
    case_id = _release_case(world)
    plain = _signed(world, case_id, "E", "2026-10-20T09:00", author="probation")
    before = deadlines_on(world, case_id, "2026-10-30")["process_a.probation_acknowledgement"]
    assert before["status"] == "due" and before["due_date"] == "2026-10-30"
    assert plain  # signed, but no acknowledgement yet

    acknowledged = _signed(
        world,
        case_id,
        "E",
        "2026-10-21T09:00",
        author="probation",
        acknowledged_at=moment("2026-10-22T11:00"),
    )
    after = deadlines_on(world, case_id, "2026-10-30")
    assert after["process_a.probation_acknowledgement"]["met_on"] == "2026-10-22"
    assert after["process_a.probation_acknowledgement"]["status"] == "met"
    assert after["process_a.probation_reporting"]["status"] == "met"
    steps = world.client.get(
        f"/v1/documents/{acknowledged}/delivery-events",
        headers=world.orgs["probation"].auth(Role.probation_officer),
    ).json()
    assert [s["state"] for s in steps["steps"]][-1] == "acknowledged"
    assert steps["allowed_next"] == []
    refused = _record(
        world, acknowledged, "sent", org="probation", role=Role.probation_officer
    ).json()
    assert refused["current_state"] == "acknowledged"


def test_supervision_plan_d_is_met_when_signed(world: World) -> None:
    case_id = _release_case(world)
    _signed(world, case_id, "D", "2026-10-29T15:00", author="probation")
    plan = deadlines_on(world, case_id, "2026-10-30")["process_a.supervision_plan"]
    assert (plan["status"], plan["met_on"]) == ("met", "2026-10-29")


def _care_case(world: World) -> str:
    payload = care_case(world)
    payload["participants"] = [world.orgs["commission"].code]
    return new_case(world, payload)


def test_process_b_anchors_follow_the_hand_over_and_the_registration(world: World) -> None:
    """G filed Tue 2026-03-24: hand-over due Tue 2026-03-31. Handed over (delivered) Fri
    2026-03-27: the return of H is then due Fri 2026-04-03, no longer projected. Application J
    delivered to the Prison Department Thu 2026-04-02: protocol K due Fri 2026-04-17 (Easter
    Monday skipped, DOMAIN.md §6), met when the Commission sends it."""
    case_id = _care_case(world)
    request = _signed(
        world, case_id, "G", "2026-03-24T09:00", author="correctional_institution",
        registration_date="2026-03-24",
    )  # fmt: skip
    first = deadlines_on(world, case_id, "2026-03-25")
    assert first["process_b.questionnaire_handover"]["due_date"] == "2026-03-31"
    assert first["process_b.questionnaire_return"]["anchor_is_projected"] is True
    assert "process_b.commission_protocol" not in first

    health = Role.health_unit
    assert (
        _record(world, request, "delivered", at="2026-03-27T10:00", role=health).status_code == 201
    )
    handed = deadlines_on(world, case_id, "2026-03-30")
    assert handed["process_b.questionnaire_handover"]["status"] == "met"
    back = handed["process_b.questionnaire_return"]
    assert (back["anchor_date"], back["anchor_is_projected"], back["due_date"]) == (
        "2026-03-27",
        False,
        "2026-04-03",
    )

    questionnaire = _signed(world, case_id, "H", "2026-04-01T09:00")
    assert (
        _record(world, questionnaire, "delivered", at="2026-04-01T12:00", role=health).status_code
        == 201
    )
    application = _signed(world, case_id, "J", "2026-04-01T15:00")
    assert (
        _record(world, application, "sent", at="2026-04-01T16:00", role=Role.director).status_code
        == 201
    )
    assert (
        _record(
            world, application, "delivered", at="2026-04-02T09:00", role=Role.director
        ).status_code
        == 201
    )
    registered = deadlines_on(world, case_id, "2026-04-03")
    assert registered["process_b.questionnaire_return"]["status"] == "met"
    protocol = registered["process_b.commission_protocol"]
    assert (protocol["anchor_date"], protocol["due_date"]) == ("2026-04-02", "2026-04-17")

    decision = _signed(world, case_id, "K", "2026-04-16T10:00", author="commission")
    assert (
        _record(
            world, decision, "sent", at="2026-04-17T18:00", org="commission", role=Role.commission
        ).status_code
        == 201
    )
    assert (
        deadlines_on(world, case_id, "2026-04-20")["process_b.commission_protocol"]["status"]
        == "met"
    )


def test_organisation_deadlines_see_delivery_steps(world: World) -> None:
    case_id = _release_case(world)
    notice = _signed(world, case_id, "A", "2026-04-20T09:00")
    _record(world, notice, "sent", at="2026-04-28T10:00")
    with on_day(world, "2026-05-04"):
        met = world.client.get(
            "/v1/deadlines", params={"status": "met"}, headers=world.institution.auth(STAFF)
        ).json()
    assert [(d["case_id"], d["kind"], d["met_on"]) for d in met] == [
        (case_id, NOTICE, "2026-04-28")
    ]
