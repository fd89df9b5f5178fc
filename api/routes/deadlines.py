"""/v1/calendar and /v1/cases/{id}/deadlines: the working-day calendar in force and what is
due when in a case, with the legal basis of every date."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import DatabaseDep, PrincipalDep, TodayDep, require_role
from templates.schemas import DocumentTypeId
from tiltas import case_deadlines, deadline_tracking
from tiltas.access import Role
from tiltas.cases import visible_case
from tiltas.deadlines import DeadlineStatus, WorkingDayCalendar
from tiltas.deadlines.ical import CalendarDeadline, deadlines_calendar
from tiltas.organisations import get_organisation

router = APIRouter(tags=["deadlines"])


def _calendar_public(calendar: WorkingDayCalendar) -> dict[str, Any]:
    return {"version": str(calendar.version), **case_deadlines.overrides_json(calendar)}


@router.get("/v1/calendar")
def read_calendar(principal: PrincipalDep, database: DatabaseDep) -> dict[str, Any]:
    """The calendar in force: the LT public holidays of the ``holidays`` package plus the
    administrator's overrides, and its version."""
    with database.transaction() as session:
        return _calendar_public(case_deadlines.calendar_in_force(session))


@router.put("/v1/calendar/overrides")
def replace_overrides(
    data: case_deadlines.CalendarOverridesInput, principal: PrincipalDep, database: DatabaseDep
) -> dict[str, Any]:
    """Replace the overrides (administrators): a new calendar version; deadlines read
    afterwards are computed with it and name it. Every case's stored deadlines are recomputed
    at once: ``changed_deadlines`` lists each due date that moved (also announced to webhooks
    as ``deadlines.changed``, per case)."""
    require_role(principal, Role.admin)
    with database.transaction() as session:
        calendar = case_deadlines.set_overrides(session, data, principal.key_id)
        refreshed = deadline_tracking.refresh_all(
            session, cause=deadline_tracking.ChangeCause.calendar
        )
        return {
            **_calendar_public(calendar),
            "changed_deadlines": [c.as_json() for c in refreshed.changes],
        }


def _public(item: case_deadlines.CaseDeadline, case_id: str | None = None) -> dict[str, Any]:
    """JSON-ready (dates as ISO strings): a list is sent with ``_json``, not FastAPI's
    validating serialiser, which walked every value of a few hundred deadlines."""
    deadline = item.deadline
    body: dict[str, Any] = {"case_id": case_id} if case_id is not None else {}
    return body | {
        "kind": deadline.kind.value,
        "document": deadline.document_id,
        "actor": deadline.actor.value,
        "anchor_event": deadline.anchor_event.value,
        "anchor_date": deadline.anchor_date.isoformat(),
        "anchor_is_projected": deadline.anchor_is_projected,
        "due_date": deadline.due_date.isoformat(),
        "at_risk_from": deadline.at_risk_from.isoformat(),
        "status": item.status.value,
        "met_on": item.met_on.isoformat() if item.met_on else None,
        "legal_basis": {"lt": deadline.legal_basis.lt, "en": deadline.legal_basis.en},
        "calendar_version": str(deadline.calendar_version),
    }


def _json(body: list[dict[str, Any]]) -> Response:
    # pydantic-core's encoder: a third of json.dumps's time on an organisation's few hundred
    # deadlines, which was a third of that request's CPU.
    return Response(pydantic_core.to_json(body), media_type="application/json")


@router.get("/v1/deadlines", response_model=list[dict[str, Any]])
def list_organisation_deadlines(
    principal: PrincipalDep,
    database: DatabaseDep,
    today: TodayDep,
    status: Annotated[
        list[DeadlineStatus] | None, Query(description="Any of these statuses")
    ] = None,
    due_before: Annotated[dt.date | None, Query(description="Due on or before")] = None,
    document: Annotated[DocumentTypeId | None, Query(description="Only this document's")] = None,
) -> Response:
    """Your organisation's deadlines across its cases, soonest first."""
    with database.transaction() as session:
        found = case_deadlines.organisation_deadlines(
            session,
            principal,
            today,
            statuses=frozenset(status) if status else None,
            due_before=due_before,
            document=document.value if document else None,
        )
    return _json([_public(d.item, d.case_id) for d in found])


@router.get(
    "/v1/deadlines.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
def deadlines_feed(principal: PrincipalDep, database: DatabaseDep, today: TodayDep) -> Response:
    """The same deadlines as an iCalendar feed: case ids and legal bases only, no names or
    personal codes; a moved due date updates its event (stable UIDs). Calendar applications,
    which cannot send an API key, subscribe to ``/v1/feeds/{token}/deadlines.ics`` instead."""
    with database.transaction() as session:
        found = case_deadlines.organisation_deadlines(session, principal, today)
        organisation = get_organisation(session, principal.organisation_code)
        name = organisation.name
    return calendar_response(found, name)


def calendar_response(
    found: list[case_deadlines.OrganisationDeadline], organisation_name: str
) -> Response:
    feed = deadlines_calendar(
        (
            CalendarDeadline.from_deadline(d.item.deadline, case_id=d.case_id, status=d.item.status)
            for d in found
        ),
        organisation_name=organisation_name,
        generated_at=dt.datetime.now(dt.UTC),
    )
    return Response(feed, media_type="text/calendar; charset=utf-8")


@router.get("/v1/cases/{case_id}/deadlines", response_model=list[dict[str, Any]])
def list_case_deadlines(
    case_id: str, principal: PrincipalDep, database: DatabaseDep, today: TodayDep
) -> Response:
    """Every deadline of the case: due date, who must act, the anchor it counts from, the
    legal basis (Lithuanian and English), the status today and the calendar version."""
    with database.transaction() as session:
        found = case_deadlines.case_deadlines(session, principal, case_id, today)
    return _json([_public(item) for item in found])


@router.get("/v1/cases/{case_id}/deadline-changes")
def list_deadline_changes(
    case_id: str,
    principal: PrincipalDep,
    database: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    """What recomputations changed in the case's deadlines, newest first: the cause (possible
    release date, calendar, documents …) and each deadline's old and new due date (None when
    it appeared or went away). The same reports go to webhooks as ``deadlines.changed``."""
    with database.transaction() as session:
        case = visible_case(session, principal, case_id)
        return [
            {"id": event.public_id, "occurred_at": event.occurred_at, **event.data}
            for event in deadline_tracking.change_reports(session, case, limit=limit)
        ]
