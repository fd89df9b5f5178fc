"""Test data: organisations of every kind with keys for each role, and case payloads."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from tiltas.access import OrganisationKind, Role, role_allowed_for
from tiltas.apikeys import create_api_key
from tiltas.db import transaction
from tiltas.organisations import OrganisationCreate, create_organisation


def personal_code(first: int, yymmdd: str, serial: str) -> str:
    """A personal code with a correct check digit, computed here independently of tiltas."""
    body = f"{first}{yymmdd}{serial}"
    digits = [int(c) for c in body]
    for weights in ([1, 2, 3, 4, 5, 6, 7, 8, 9, 1], [3, 4, 5, 6, 7, 8, 9, 1, 2, 3]):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return body + str(remainder)
    return body + "0"


_codes = itertools.count(300000001)

ORGANISATION_NAMES = {
    OrganisationKind.correctional_institution: "Marijampolės pataisos namai",
    OrganisationKind.probation: "Lietuvos probacijos tarnyba",
    OrganisationKind.municipality: "Vilniaus miesto savivaldybės administracija",
    OrganisationKind.ngo: "Asociacija „Atsigręžk“",
    OrganisationKind.commission: "Socialinės globos sektoriaus komisija",
    OrganisationKind.archive: "Lietuvos ypatingasis archyvas",
}


@dataclass
class Org:
    code: str
    kind: OrganisationKind
    keys: dict[Role, str] = field(default_factory=dict)

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


@dataclass
class World:
    client: TestClient
    orgs: dict[str, Org]

    @classmethod
    def build(cls, client: TestClient) -> World:
        """Two organisations of every kind (own / foreign), keys for every allowed role."""
        database = client.app.state.database  # type: ignore[attr-defined]
        orgs: dict[str, Org] = {}
        with transaction(database.sessions) as session:
            for kind in OrganisationKind:
                for suffix in ("", "_2"):
                    code = str(next(_codes))
                    create_organisation(
                        session,
                        OrganisationCreate(
                            code=code,
                            name=ORGANISATION_NAMES[kind] + (" II" if suffix else ""),
                            kind=kind,
                            address="Gedimino pr. 1, Vilnius",
                            email=f"info{code}@example.lt",
                        ),
                    )
                    org = Org(code, kind)
                    for role in Role:
                        if role_allowed_for(kind, role):
                            org.keys[role] = create_api_key(session, code, role).secret_key
                    orgs[kind.value + suffix] = org
        return cls(client, orgs)

    @property
    def institution(self) -> Org:
        return self.orgs["correctional_institution"]

    def headers(self, org_name: str, role: Role) -> dict[str, str]:
        return self.orgs[org_name].auth(role)


def release_case(world: World, **overrides: Any) -> dict[str, Any]:
    """A process-A case payload with every section filled."""
    payload: dict[str, Any] = {
        "kind": "conditional_release",
        "subject": {
            "first_name": "Jonas",
            "last_name": "Žemaitis",
            "personal_code": personal_code(3, "850214", "123"),
            "institution_code": world.institution.code,
            "possible_release_date": "2027-03-15",
            "intended_residence": {
                "address": "Žalgirio g. 5-12, Vilnius",
                "municipality": "vilniaus-m",
            },
        },
        "people": [
            {
                "role": "institution_social_worker",
                "full_name": "Rūta Kazlauskienė",
                "position": "socialinė darbuotoja",
                "phone": "+370 600 12345",
                "email": "ruta.k@example.lt",
                "organisation_code": world.institution.code,
            }
        ],
        "participants": [world.orgs["municipality"].code, world.orgs["probation"].code],
        "needs": [{"area": "housing", "description": "Neturi gyvenamosios vietos"}],
        "risk": {"level": "medium", "criminogenic_factors": ["priklausomybė nuo alkoholio"]},
    }
    payload.update(overrides)
    return payload


def care_case(world: World, **overrides: Any) -> dict[str, Any]:
    """A process-B case payload with health data."""
    payload: dict[str, Any] = {
        "kind": "social_care",
        "subject": {
            "first_name": "Petras",
            "last_name": "Šimkus",
            "personal_code": personal_code(3, "520709", "045"),
            "institution_code": world.institution.code,
        },
        "participants": [world.orgs["commission"].code],
        "health": {"disability_certificate": True, "working_capacity_percent": 20},
    }
    payload.update(overrides)
    return payload


def protocols(world: World, count: int = 1) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Requests for protocol K (the type's example) of ``count`` new care cases, as for one
    commission meeting; returns the commission's headers and the request bodies."""
    director = world.institution.auth(Role.director)
    commission = world.orgs["commission"].auth(Role.commission)
    example = world.client.get("/v1/document-types/K", headers=commission).json()["example"]
    bodies = []
    for _ in range(count):
        case = world.client.post("/v1/cases", json=care_case(world), headers=director)
        bodies.append({**copy.deepcopy(example), "case_id": case.json()["id"]})
    return commission, bodies
