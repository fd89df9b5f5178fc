"""Cases: a convict prepared for conditional release (process A) or assessed for the
social-care sector (process B), the people involved and the organisations taking part.

Every read and write is recorded in the audit log; each role sees only its sections
(:mod:`tiltas.access`), and each organisation only the cases it takes part in.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Exists, Row, Select, bindparam, exists, select
from sqlalchemy.orm import Session

from tiltas import audit
from tiltas.access import (
    CASE_CREATORS,
    CASE_ROLES,
    CaseKind,
    OrganisationKind,
    Section,
    visible_sections,
)
from tiltas.apikeys import Principal
from tiltas.audit import Access, record_many
from tiltas.concurrency import check_version
from tiltas.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from tiltas.models import Case, CaseParticipant, Organisation, utcnow
from tiltas.municipalities import all_municipalities
from tiltas.personal_code import check_personal_code
from tiltas.schema_types import (
    Email,
    IdentifiedPerson,
    LegalEntityCode,
    Name,
    PersonalCode,
    Phone,
    StrictModel,
    Text,
)

# ---------------------------------------------------------------- input models


class Residence(StrictModel):
    address: Text
    municipality: str = Field(
        description="Municipality id from GET /v1/municipalities, e.g. vilniaus-m"
    )

    @field_validator("municipality")
    @classmethod
    def _known_municipality(cls, value: str) -> str:
        if value not in all_municipalities():
            raise PydanticCustomError(
                "municipality", "unknown municipality; see GET /v1/municipalities"
            )
        return value


class Subject(IdentifiedPerson):
    """The convict (nuteistasis)."""

    first_name: Name
    last_name: Name
    personal_code: PersonalCode | None = Field(default=None, description="Asmens kodas, 11 digits")
    birth_date: dt.date | None = Field(
        default=None, description="When the personal code is unknown"
    )
    institution_code: LegalEntityCode = Field(
        description="Legal-entity code of the correctional institution holding the convict"
    )
    possible_release_date: dt.date | None = Field(
        default=None, description="Galimo lygtinio paleidimo data (required for process A)"
    )
    intended_residence: Residence | None = None


class PersonRole(StrEnum):
    institution_social_worker = "institution_social_worker"
    preparatory_probation_officer = "preparatory_probation_officer"
    supervising_probation_officer = "supervising_probation_officer"
    em_probation_officer = "em_probation_officer"
    municipal_social_worker = "municipal_social_worker"
    ngo_representative = "ngo_representative"
    treating_doctor = "treating_doctor"
    health_unit_head = "health_unit_head"
    director = "director"
    authorised_person = "authorised_person"
    responsible_employee = "responsible_employee"
    commission_chair = "commission_chair"
    commission_secretary = "commission_secretary"


class Person(StrictModel):
    role: PersonRole
    full_name: Name
    position: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    organisation_code: LegalEntityCode | None = None


class NeedArea(StrEnum):
    housing = "housing"
    employment = "employment"
    addiction_treatment = "addiction_treatment"
    social_support = "social_support"
    debts = "debts"
    family = "family"
    identity_documents = "identity_documents"


class Need(StrictModel):
    area: NeedArea
    description: Text


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Risk(StrictModel):
    """Nusikalstamo elgesio rizikos vertinimas: never shown to municipalities or NGOs."""

    level: RiskLevel | None = None
    assessed_on: dt.date | None = None
    criminogenic_factors: list[Text] = Field(default_factory=list, max_length=50)
    notes: Text | None = None


class Health(StrictModel):
    """Health data: only the health-care unit, the director and the Commission see it."""

    disability_certificate: bool | None = None
    working_capacity_percent: int | None = Field(default=None, ge=0, le=100)
    special_needs_level: Name | None = None
    notes: Text | None = None


Participants = Annotated[list[LegalEntityCode], Field(max_length=50)]


class CaseCreate(StrictModel):
    kind: CaseKind
    subject: Subject
    people: list[Person] = Field(default_factory=list, max_length=100)
    participants: Participants = Field(
        default_factory=list,
        description="Codes of the organisations taking part; yours and the institution are added",
    )
    needs: list[Need] | None = Field(default=None, max_length=50)
    risk: Risk | None = None
    health: Health | None = None

    @model_validator(mode="after")
    def _release_date_for_process_a(self) -> CaseCreate:
        if self.kind is CaseKind.conditional_release and self.subject.possible_release_date is None:
            raise PydanticCustomError(
                "release_date_missing",
                "a conditional-release case needs subject.possible_release_date",
            )
        return self


class CaseUpdate(StrictModel):
    """Each section given replaces that section; sections left out stay as they are."""

    subject: Subject | None = None
    people: list[Person] | None = Field(default=None, max_length=100)
    participants: Participants | None = None
    needs: list[Need] | None = Field(default=None, max_length=50)
    risk: Risk | None = None
    health: Health | None = None


class CaseFilter(StrictModel):
    kind: CaseKind | None = None
    municipality: str | None = None
    institution_code: str | None = None
    release_from: dt.date | None = None
    release_to: dt.date | None = None


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class Warning:
    field: str
    message: str


def case_view(case: Case, principal: Principal) -> dict[str, Any]:
    """The case as this principal may see it: hidden sections are left out entirely."""
    participants = [
        {"code": p.organisation.code, "name": p.organisation.name, "kind": p.organisation.kind}
        for p in case.participants
    ]
    return _view(case, participants, visible_sections(principal.role))


_SHOWN_SECTIONS = (Section.needs, Section.risk, Section.health)


def _view(
    case: Any, participants: list[dict[str, Any]], sections: frozenset[Section]
) -> dict[str, Any]:
    """``case``: a ``Case`` or a row of its columns (a list page)."""
    view: dict[str, Any] = {
        "id": case.public_id,
        "kind": case.kind,
        "version": case.version,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "subject": case.subject,
        "people": case.people,
        "participants": participants,
    }
    for section in _SHOWN_SECTIONS:
        if section in sections:
            view[section.value] = getattr(case, section.value)
    return view


# ---------------------------------------------------------------- operations


def _require_case_role(principal: Principal) -> None:
    if principal.role not in CASE_ROLES:
        raise Forbidden(f"role {principal.role.value} has no access to cases")


def _require_sections(principal: Principal, given: set[Section]) -> None:
    hidden = sorted(s.value for s in given - visible_sections(principal.role))
    if hidden:
        raise Forbidden(f"role {principal.role.value} may not write: {', '.join(hidden)}")


def _given_sections(data: CaseCreate | CaseUpdate) -> set[Section]:
    return {Section(name) for name in data.model_fields_set if name in Section.__members__}


def _organisations_by_code(session: Session, codes: set[str]) -> dict[str, Organisation]:
    if not codes:
        return {}
    rows = session.scalars(select(Organisation).where(Organisation.code.in_(codes)))
    return {row.code: row for row in rows}


def _subject_warnings(subject: Subject) -> list[Warning]:
    warnings: list[Warning] = []
    if subject.personal_code is not None:
        check = check_personal_code(subject.personal_code)
        warnings += [Warning("subject.personal_code", message) for message in check.warnings]
        if check.birth_date and subject.birth_date and check.birth_date != subject.birth_date:
            warnings.append(
                Warning(
                    "subject.birth_date", "the birth date differs from the one in the personal code"
                )
            )
    return warnings


def _resolve_references(
    session: Session, subject: Subject | None, participant_codes: list[str] | None
) -> dict[str, Organisation]:
    codes = set(participant_codes or [])
    if subject is not None:
        codes.add(subject.institution_code)
    found = _organisations_by_code(session, codes)
    problems: list[FieldProblem] = []
    if subject is not None:
        institution = found.get(subject.institution_code)
        if institution is None:
            problems.append(
                FieldProblem(
                    "subject.institution_code", "no organisation with this code", "unknown"
                )
            )
        elif institution.kind != OrganisationKind.correctional_institution:
            problems.append(
                FieldProblem(
                    "subject.institution_code",
                    "this organisation is not a correctional institution",
                    "kind",
                )
            )
    for index, code in enumerate(participant_codes or []):
        if code not in found:
            problems.append(
                FieldProblem(f"participants.{index}", "no organisation with this code", "unknown")
            )
    if problems:
        raise InvalidInput(problems)
    return found


def _denormalise(case: Case, subject: Subject) -> None:
    case.subject = subject.model_dump(mode="json")
    case.institution_code = subject.institution_code
    case.release_date = subject.possible_release_date
    case.municipality = (
        subject.intended_residence.municipality if subject.intended_residence else None
    )


def _set_participants(
    session: Session,
    case: Case,
    principal: Principal,
    found: dict[str, Organisation],
    codes: list[str],
) -> None:
    """The participants are the given organisations, the institution and always the caller's."""
    wanted = {found[code].id: found[code] for code in [*codes, case.institution_code]}
    if principal.organisation_id not in wanted:
        wanted[principal.organisation_id] = session.get_one(Organisation, principal.organisation_id)
    existing = {p.organisation_id: p for p in case.participants}
    for organisation_id in set(existing) - set(wanted):
        case.participants.remove(existing[organisation_id])
    for organisation_id, organisation in wanted.items():
        if organisation_id not in existing:
            case.participants.append(
                CaseParticipant(
                    organisation_id=organisation_id,
                    role=organisation.kind,
                    organisation=organisation,
                )
            )


def create_case(
    session: Session, principal: Principal, data: CaseCreate
) -> tuple[Case, list[Warning]]:
    _require_case_role(principal)
    if principal.role not in CASE_CREATORS[data.kind]:
        raise Forbidden(f"role {principal.role.value} may not open a {data.kind.value} case")
    _require_sections(principal, _given_sections(data))
    found = _resolve_references(session, data.subject, data.participants)
    now = utcnow()
    case = Case(
        public_id=str(uuid.uuid4()),
        kind=data.kind.value,
        version=1,
        created_at=now,
        updated_at=now,
        created_by_organisation_id=principal.organisation_id,
        people=[p.model_dump(mode="json") for p in data.people],
        needs=[n.model_dump(mode="json") for n in data.needs] if data.needs is not None else None,
        risk=data.risk.model_dump(mode="json") if data.risk else None,
        health=data.health.model_dump(mode="json") if data.health else None,
    )
    _denormalise(case, data.subject)
    _set_participants(session, case, principal, found, data.participants)
    session.add(case)
    session.flush()
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.create,
        "case",
        case.public_id,
        case_id=case.public_id,
        detail={"sections": sorted(s.value for s in _given_sections(data) | {Section.subject})},
    )
    return case, _subject_warnings(data.subject)


def _participates(principal: Principal) -> Exists:
    return exists().where(
        CaseParticipant.case_id == Case.id,
        CaseParticipant.organisation_id == principal.organisation_id,
    )


def _visible_case_query(principal: Principal) -> Select[Case]:
    return select(Case).where(_participates(principal))


def _load_case(session: Session, principal: Principal, public_id: str, *, for_update: bool) -> Case:
    _require_case_role(principal)
    query = _visible_case_query(principal).where(Case.public_id == public_id)
    if for_update:
        query = query.with_for_update()
    case = session.scalar(query)
    if case is None:
        # The same answer whether the case does not exist or belongs to others.
        raise NotFound(f"no case {public_id}")
    return case


def visible_cases(
    session: Session, principal: Principal
) -> Sequence[Row[int, str, str, dt.date | None]]:
    """Every case the caller's organisation takes part in, as rows of the columns deadlines
    are computed from (``id``, ``public_id``, ``kind``, ``release_date``); not audited: for
    what is derived from cases without showing their personal data (deadlines)."""
    _require_case_role(principal)
    # Columns, not Case objects: loading the personal sections (JSON) and the participants of
    # every case took half the time of GET /v1/deadlines, and ORM objects most of the rest.
    query = select(Case.id, Case.public_id, Case.kind, Case.release_date)
    return session.execute(query.where(_participates(principal)).order_by(Case.id)).all()


def visible_case(session: Session, principal: Principal, public_id: str) -> Case:
    """The case if the caller's organisation takes part in it (404 otherwise); not audited:
    for reading what is derived from a case without its personal data."""
    return _load_case(session, principal, public_id, for_update=False)


def read_case(session: Session, principal: Principal, public_id: str) -> Case:
    case = _load_case(session, principal, public_id, for_update=False)
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.read,
        "case",
        case.public_id,
        case_id=case.public_id,
        detail={"sections": sorted(s.value for s in visible_sections(principal.role))},
    )
    return case


def update_case(
    session: Session, principal: Principal, public_id: str, data: CaseUpdate, if_match: int | None
) -> tuple[Case, list[Warning]]:
    case = _load_case(session, principal, public_id, for_update=True)
    check_version(case.version, if_match)
    given = _given_sections(data)
    _require_sections(principal, given)
    for name in given:
        if getattr(data, name.value) is None and name in (
            Section.subject,
            Section.people,
            Section.participants,
        ):
            raise InvalidInput(
                [FieldProblem(name.value, "this section cannot be emptied", "required")]
            )
    found = _resolve_references(session, data.subject, data.participants)
    if data.subject is not None:
        if case.kind == CaseKind.conditional_release and data.subject.possible_release_date is None:
            raise InvalidInput(
                [
                    FieldProblem(
                        "subject.possible_release_date",
                        "a conditional-release case needs the possible release date",
                        "required",
                    )
                ]
            )
        _denormalise(case, data.subject)
    if data.people is not None:
        case.people = [p.model_dump(mode="json") for p in data.people]
    if Section.participants in given or data.subject is not None:
        codes = (
            data.participants
            if data.participants is not None
            else [p.organisation.code for p in case.participants]
        )
        found.update(_organisations_by_code(session, {*codes, case.institution_code}))
        _set_participants(session, case, principal, found, codes)
    if Section.needs in given:
        case.needs = (
            [n.model_dump(mode="json") for n in data.needs] if data.needs is not None else None
        )
    if Section.risk in given:
        case.risk = data.risk.model_dump(mode="json") if data.risk else None
    if Section.health in given:
        case.health = data.health.model_dump(mode="json") if data.health else None
    case.version += 1
    case.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.update,
        "case",
        case.public_id,
        case_id=case.public_id,
        detail={"sections": sorted(s.value for s in given), "version": case.version},
    )
    return case, _subject_warnings(data.subject) if data.subject else []


@dataclass(frozen=True)
class CasePage:
    items: list[dict[str, Any]]
    """Each case as ``case_view`` shows it."""
    next_cursor: str | None


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            [FieldProblem("cursor", "the cursor is not one this API gave out", "cursor")]
        ) from None
    if not isinstance(after, int):
        raise InvalidInput(
            [FieldProblem("cursor", "the cursor is not one this API gave out", "cursor")]
        )
    return after


def record_list_reads(session: Session, principal: Principal, shown: list[str]) -> None:
    """Audit a list page (the public ids of the cases shown): one read per case, written in
    one go (one by one, a page of 50 held the audit chain's lock for ≈ 100 ms while every
    other audited request queued)."""
    sections = sorted(s.value for s in visible_sections(principal.role))
    record_many(
        session,
        principal.actor,
        audit.AuditAction.read,
        [
            Access("case", public_id, public_id, {"sections": sections, "via": "list"})
            for public_id in shown
        ],
    )


def _participants_of(session: Session, case_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {case_id: [] for case_id in case_ids}
    rows = session.connection().execute(_PARTICIPANTS_OF_CASES, {"case_ids": case_ids})
    for case_id, code, name, kind in rows:
        found[case_id].append({"code": code, "name": name, "kind": kind})
    return found


# Core on the session's connection, built once, the ids as one expanding parameter: the ORM's
# handling of plain columns and a statement built anew for every page (its result columns
# matched to the cached compilation's) were a sixth of a list page's CPU.
_PARTICIPANTS_OF_CASES = (
    select(CaseParticipant.case_id, Organisation.code, Organisation.name, Organisation.kind)
    .join(Organisation, Organisation.id == CaseParticipant.organisation_id)
    .where(CaseParticipant.case_id.in_(bindparam("case_ids", expanding=True)))
    .order_by(CaseParticipant.id)
)


def list_cases(
    session: Session, principal: Principal, filters: CaseFilter, *, limit: int, cursor: str | None
) -> CasePage:
    _require_case_role(principal)
    sections = visible_sections(principal.role)
    # Columns, not ORM objects: building 50 Case objects and selectin-loading their
    # participants was most of a page's CPU (bench/load_api.py --profile).
    columns = [
        Case.id,
        Case.public_id,
        Case.kind,
        Case.version,
        Case.created_at,
        Case.updated_at,
        Case.subject,
        Case.people,
        *(getattr(Case, section.value) for section in _SHOWN_SECTIONS if section in sections),
    ]
    query = select(*columns).where(_participates(principal))
    if filters.kind is not None:
        query = query.where(Case.kind == filters.kind.value)
    if filters.municipality is not None:
        query = query.where(Case.municipality == filters.municipality)
    if filters.institution_code is not None:
        query = query.where(Case.institution_code == filters.institution_code)
    if filters.release_from is not None:
        query = query.where(Case.release_date >= filters.release_from)
    if filters.release_to is not None:
        query = query.where(Case.release_date <= filters.release_to)
    if cursor is not None:
        query = query.where(Case.id > _decode_cursor(cursor))
    rows = session.connection().execute(query.order_by(Case.id).limit(limit + 1)).all()
    shown = rows[:limit]
    participants = _participants_of(session, [row.id for row in shown])
    record_list_reads(session, principal, [row.public_id for row in shown])
    next_cursor = _encode_cursor(shown[-1].id) if len(rows) > limit else None
    return CasePage([_view(row, participants[row.id], sections) for row in shown], next_cursor)
