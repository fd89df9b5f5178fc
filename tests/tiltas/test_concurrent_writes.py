"""A second writer that read the same version waits for the first and then gets a conflict,
never a silent overwrite (row lock on PostgreSQL, write lock on SQLite)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from tests.support.factories import World, release_case
from tiltas.access import Role
from tiltas.apikeys import authenticate
from tiltas.cases import CaseUpdate, update_case
from tiltas.errors import VersionConflict
from tiltas.organisations import OrganisationUpdate, update_organisation


def _second_writer_outcome(world: World, write: Callable[[Session, str], None]) -> str:
    database = world.client.app.state.database  # type: ignore[attr-defined]
    outcome: dict[str, str] = {}

    def second() -> None:
        try:
            with database.transaction() as session:
                write(session, "second")
            outcome["second"] = "updated"
        except VersionConflict:
            outcome["second"] = "conflict"

    with database.sessions() as session, session.begin():
        write(session, "first")
        thread = threading.Thread(target=second)
        thread.start()
        # Give the second writer time to read; the first commits only after that.
        time.sleep(0.5)
    thread.join(30)
    return outcome["second"]


def test_organisation_second_writer_conflicts(world: World) -> None:
    code = world.orgs["ngo"].code

    def write(session: Session, who: str) -> None:
        update_organisation(session, code, OrganisationUpdate(address=f"{who} g. 1, Kaunas"), 1)

    assert _second_writer_outcome(world, write) == "conflict"


def test_case_second_writer_conflicts(world: World) -> None:
    director_headers = world.institution.auth(Role.director)
    case_id = world.client.post(
        "/v1/cases", json=release_case(world), headers=director_headers
    ).json()["id"]
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with database.transaction() as session:
        principal = authenticate(session, world.institution.keys[Role.director])

    def write(session: Session, who: str) -> None:
        update_case(session, principal, case_id, CaseUpdate(people=[]), 1)

    assert _second_writer_outcome(world, write) == "conflict"
