"""People who sign in to the web pages, and a client that signs them in."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.support.factories import World
from tiltas.access import Role
from tiltas.db import transaction
from tiltas.users import create_user

PASSWORD = "Teisingas-slaptažodis-1"


@dataclass(frozen=True)
class Person:
    email: str
    org_code: str
    role: Role


def make_person(client: TestClient, org_code: str, role: Role, email: str) -> Person:
    database = client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        create_user(session, org_code, role, email, PASSWORD, full_name=f"Vardenis {role.value}")
    return Person(email, org_code, role)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def sign_in(client: TestClient, person: Person, password: str = PASSWORD) -> None:
    form = client.get("/web/prisijungti")
    response = client.post(
        "/web/prisijungti",
        data={"email": person.email, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def people(world: World) -> dict[str, Person]:
    client = world.client
    return {
        "director": make_person(client, world.institution.code, Role.director, "dir@ex.lt"),
        "staff": make_person(client, world.institution.code, Role.institution_staff, "staff@ex.lt"),
        "probation": make_person(
            client, world.orgs["probation"].code, Role.probation_officer, "prob@ex.lt"
        ),
        "social": make_person(
            client, world.orgs["municipality"].code, Role.social_worker, "soc@ex.lt"
        ),
        "other_institution": make_person(
            client, world.orgs["correctional_institution_2"].code, Role.director, "dir2@ex.lt"
        ),
        "archivist": make_person(client, world.orgs["archive"].code, Role.archivist, "arch@ex.lt"),
    }
