"""Response models (named by role: ...Public, ...Page)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from tiltas.access import CaseKind, OrganisationKind, Role
from tiltas.cases import Health, Need, Person, Risk, Subject


class OrganisationPublic(BaseModel):
    code: str
    name: str
    kind: OrganisationKind
    address: str
    email: str
    version: int


class ParticipantPublic(BaseModel):
    code: str
    name: str
    kind: OrganisationKind


class WarningPublic(BaseModel):
    field: str
    message: str


class CasePublic(BaseModel):
    """A case as the caller's role may see it: ``needs``, ``risk`` and ``health`` are left
    out for roles that may not see them."""

    id: str
    kind: CaseKind
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    subject: Subject
    people: list[Person]
    participants: list[ParticipantPublic]
    needs: list[Need] | None = None
    risk: Risk | None = None
    health: Health | None = None


class CaseWritten(CasePublic):
    warnings: list[WarningPublic]
    """Accepted but doubtful input, e.g. an implausible birth date in the personal code."""


class CasePage(BaseModel):
    items: list[CasePublic]
    next_cursor: str | None


class ApiKeyCreate(BaseModel):
    model_config = {"extra": "forbid"}
    organisation_code: str
    role: Role
    label: str = ""


class ApiKeyPublic(BaseModel):
    key_id: str
    organisation_code: str
    role: Role
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class ApiKeyIssued(ApiKeyPublic):
    api_key: str
    """The whole key: shown only in this response."""


class AuditEntryPublic(BaseModel):
    seq: int
    at: dt.datetime
    actor_key_id: str
    actor_organisation_code: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str
    case_id: str | None
    detail: dict[str, object]
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    next_cursor: str | None


class AuditChainPublic(BaseModel):
    entries: int
    ok: bool
    first_bad_seq: int | None
    reason: str | None


class MunicipalityPublic(BaseModel):
    id: str
    name: str
    administration: str
    county: str
