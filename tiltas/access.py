"""Who may do what: organisation kinds, roles and the parts of a case each role may see.

Least privilege (DOMAIN.md §5): a municipality or NGO sees needs and contacts, never risk or
health data; health data is for the health-care unit, the director and the Commission.
A key sees only the cases its organisation takes part in.
"""

from __future__ import annotations

from enum import StrEnum


class OrganisationKind(StrEnum):
    correctional_institution = "correctional_institution"
    probation = "probation"
    municipality = "municipality"
    ngo = "ngo"
    commission = "commission"
    archive = "archive"


class Role(StrEnum):
    institution_staff = "institution_staff"
    """Correctional institution: social worker, clerk, authorised official."""
    health_unit = "health_unit"
    """Correctional institution: treating doctor, head of the health-care unit."""
    director = "director"
    probation_officer = "probation_officer"
    social_worker = "social_worker"
    """Municipal social-services institution or NGO."""
    commission = "commission"
    archivist = "archivist"
    auditor = "auditor"
    """Reads the audit log; sees no case data."""
    admin = "admin"
    """Manages organisations and API keys; sees no case data."""


class CaseKind(StrEnum):
    conditional_release = "conditional_release"
    """Process A: social integration before and after conditional release."""
    social_care = "social_care"
    """Process B: the social-care sector, Order V-80."""


class Section(StrEnum):
    subject = "subject"
    people = "people"
    participants = "participants"
    needs = "needs"
    risk = "risk"
    health = "health"


ROLES_BY_ORGANISATION_KIND: dict[OrganisationKind, frozenset[Role]] = {
    OrganisationKind.correctional_institution: frozenset(
        {Role.institution_staff, Role.health_unit, Role.director}
    ),
    OrganisationKind.probation: frozenset({Role.probation_officer}),
    OrganisationKind.municipality: frozenset({Role.social_worker}),
    OrganisationKind.ngo: frozenset({Role.social_worker}),
    OrganisationKind.commission: frozenset({Role.commission}),
    OrganisationKind.archive: frozenset({Role.archivist}),
}
ROLES_FOR_ANY_ORGANISATION = frozenset({Role.admin, Role.auditor})

CASE_ROLES = frozenset(
    {
        Role.institution_staff,
        Role.health_unit,
        Role.director,
        Role.probation_officer,
        Role.social_worker,
        Role.commission,
    }
)

_EVERY_CASE_ROLE = CASE_ROLES
SECTION_READERS: dict[Section, frozenset[Role]] = {
    Section.subject: _EVERY_CASE_ROLE,
    Section.people: _EVERY_CASE_ROLE,
    Section.participants: _EVERY_CASE_ROLE,
    Section.needs: frozenset(
        {Role.institution_staff, Role.director, Role.probation_officer, Role.social_worker}
    ),
    Section.risk: frozenset({Role.institution_staff, Role.director, Role.probation_officer}),
    Section.health: frozenset({Role.health_unit, Role.director, Role.commission}),
}

CASE_CREATORS: dict[CaseKind, frozenset[Role]] = {
    CaseKind.conditional_release: frozenset({Role.institution_staff, Role.director}),
    CaseKind.social_care: frozenset({Role.health_unit, Role.director}),
}


def role_allowed_for(kind: OrganisationKind, role: Role) -> bool:
    return role in ROLES_FOR_ANY_ORGANISATION or role in ROLES_BY_ORGANISATION_KIND[kind]


def visible_sections(role: Role) -> frozenset[Section]:
    return frozenset(section for section, readers in SECTION_READERS.items() if role in readers)


# Documents (DOMAIN.md §5). Each type belongs to the case section whose data it carries:
# risk documents (C, D) and health documents (G–L) are seen only by roles that see that section.
DOCUMENT_SECTION: dict[str, Section] = {
    "A": Section.subject, "B": Section.subject, "B2": Section.subject, "C": Section.risk,
    "D": Section.risk, "E": Section.subject, "F": Section.subject, "G": Section.health,
    "H": Section.health, "I": Section.health, "J": Section.health, "K": Section.health,
    "L": Section.health, "M": Section.subject, "N": Section.subject,
}  # fmt: skip

# Who asks for (authors) each document: the signer's side of DOMAIN.md §5 [design].
DOCUMENT_AUTHORS: dict[str, frozenset[Role]] = {
    "A": frozenset({Role.institution_staff, Role.director}),
    "B": frozenset({Role.social_worker}),
    "B2": frozenset({Role.probation_officer}),
    "C": frozenset({Role.institution_staff, Role.director}),
    "D": frozenset({Role.probation_officer}),
    "E": frozenset({Role.probation_officer}),
    "F": frozenset({Role.probation_officer}),
    "G": frozenset({Role.health_unit, Role.director}),
    "H": frozenset({Role.health_unit, Role.director}),
    "I": frozenset({Role.health_unit, Role.director}),
    "J": frozenset({Role.director}),
    "K": frozenset({Role.commission}),
    "L": frozenset({Role.health_unit, Role.director}),
    "M": frozenset({Role.institution_staff, Role.director}),
    "N": frozenset({Role.social_worker}),
}

# Lists and reports about many convicts or none stand without a case.
CASELESS_DOCUMENTS = frozenset({"C", "M"})


def may_read_document(role: Role, type_id: str) -> bool:
    return role in CASE_ROLES and DOCUMENT_SECTION[type_id] in visible_sections(role)
