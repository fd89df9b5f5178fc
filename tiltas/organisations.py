"""Organisations taking part in cases: institutions, probation, municipalities, NGOs,
the Commission, archives."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiltas.access import OrganisationKind
from tiltas.concurrency import check_version
from tiltas.errors import FieldProblem, InvalidInput, NotFound
from tiltas.models import Organisation, utcnow
from tiltas.schema_types import Email, LegalEntityCode, Name, StrictModel, Text


class OrganisationCreate(StrictModel):
    code: LegalEntityCode
    name: Name
    kind: OrganisationKind
    address: Text
    email: Email


class OrganisationUpdate(StrictModel):
    name: Name | None = None
    address: Text | None = None
    email: Email | None = None


def create_organisation(session: Session, data: OrganisationCreate) -> Organisation:
    if session.scalar(select(Organisation.id).where(Organisation.code == data.code)) is not None:
        raise InvalidInput(
            [FieldProblem("code", "an organisation with this code already exists", "duplicate")]
        )
    organisation = Organisation(**data.model_dump(mode="json"))
    session.add(organisation)
    session.flush()
    return organisation


def get_organisation(session: Session, code: str, *, for_update: bool = False) -> Organisation:
    query = select(Organisation).where(Organisation.code == code)
    organisation = session.scalar(query.with_for_update() if for_update else query)
    if organisation is None:
        raise NotFound(f"no organisation with code {code}")
    return organisation


def list_organisations(
    session: Session, kind: OrganisationKind | None = None
) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.code)
    if kind is not None:
        query = query.where(Organisation.kind == kind.value)
    return list(session.scalars(query))


def update_organisation(
    session: Session, code: str, data: OrganisationUpdate, if_match: int | None
) -> Organisation:
    organisation = get_organisation(session, code, for_update=True)
    check_version(organisation.version, if_match)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput([FieldProblem(field, "this field cannot be emptied", "required")])
        setattr(organisation, field, value)
    organisation.version += 1
    organisation.updated_at = utcnow()
    session.flush()
    return organisation
