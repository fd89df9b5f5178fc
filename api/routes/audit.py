"""/v1/audit: the auditor reads the log of accesses that concern its organisation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import DATABASE_INT_MAX, DatabaseDep, PrincipalDep, require_role
from api.schemas import AuditChainPublic, AuditEntryPublic, AuditPage
from tiltas import audit
from tiltas.access import Role

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_audit_entries(
    principal: PrincipalDep,
    database: DatabaseDep,
    case_id: str | None = None,
    after_seq: Annotated[
        int, Query(ge=0, le=DATABASE_INT_MAX, description="Cursor: the last seq you have")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    require_role(principal, Role.auditor)
    with database.transaction() as session:
        entries = audit.entries_for_organisation(
            session, principal.organisation_id, principal.organisation_code,
            case_id=case_id, after_seq=after_seq, limit=limit + 1,
        )  # fmt: skip
        items = entries[:limit]
        return {
            "items": [AuditEntryPublic.model_validate(e, from_attributes=True) for e in items],
            "next_cursor": str(items[-1].seq) if len(entries) > limit else None,
        }


@router.get("/verify", response_model=AuditChainPublic)
def verify_audit_chain(principal: PrincipalDep, database: DatabaseDep) -> dict[str, Any]:
    require_role(principal, Role.auditor)
    with database.transaction() as session:
        report = audit.verify_chain(session)
    return {
        "entries": report.entries,
        "ok": report.ok,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
    }
