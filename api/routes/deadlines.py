"""/v1/calendar and /v1/cases/{id}/deadlines: the working-day calendar in force and what is
due when in a case, with the legal basis of every date."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter

from api.deps import DatabaseDep, PrincipalDep, require_role
from tiltas import case_deadlines
from tiltas.access import Role
from tiltas.deadlines import WorkingDayCalendar

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
    afterwards are computed with it and name it."""
    require_role(principal, Role.admin)
    with database.transaction() as session:
        return _calendar_public(case_deadlines.set_overrides(session, data, principal.key_id))


@router.get("/v1/cases/{case_id}/deadlines")
def list_case_deadlines(
    case_id: str, principal: PrincipalDep, database: DatabaseDep
) -> list[dict[str, Any]]:
    """Every deadline of the case: due date, who must act, the anchor it counts from, the
    legal basis (Lithuanian and English), the status today and the calendar version."""
    today = dt.date.today()
    with database.transaction() as session:
        found = case_deadlines.case_deadlines(session, principal, case_id, today)
    return [
        {
            "kind": item.deadline.kind.value,
            "document": item.deadline.document_id,
            "actor": item.deadline.actor.value,
            "anchor_event": item.deadline.anchor_event.value,
            "anchor_date": item.deadline.anchor_date,
            "anchor_is_projected": item.deadline.anchor_is_projected,
            "due_date": item.deadline.due_date,
            "at_risk_from": item.deadline.at_risk_from,
            "status": item.status.value,
            "met_on": item.met_on,
            "legal_basis": {"lt": item.deadline.legal_basis.lt, "en": item.deadline.legal_basis.en},
            "calendar_version": str(item.deadline.calendar_version),
        }
        for item in found
    ]
