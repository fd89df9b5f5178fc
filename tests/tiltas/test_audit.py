"""The audit log: every access recorded, append-only, hash-chained, tampering detected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.support.factories import World, release_case
from tiltas.access import Role
from tiltas.audit import verify_chain
from tiltas.db import make_engine, transaction


def _entries(world: World) -> list[dict[str, object]]:
    auditor = world.orgs["correctional_institution"]
    # An auditor key of the institution sees entries about the institution's cases.
    admin = auditor.auth(Role.admin)
    key = world.client.post(
        "/v1/api-keys", json={"organisation_code": auditor.code, "role": "auditor"}, headers=admin
    ).json()["api_key"]
    page = world.client.get(
        "/v1/audit", params={"limit": 500}, headers={"Authorization": f"Bearer {key}"}
    )
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


def test_create_read_update_list_are_recorded(world: World) -> None:
    director = world.institution.auth(Role.director)
    payload = release_case(world)
    case_id = world.client.post("/v1/cases", json=payload, headers=director).json()["id"]
    world.client.get(f"/v1/cases/{case_id}", headers=director)
    world.client.patch(
        f"/v1/cases/{case_id}", json={"people": []}, headers={**director, "If-Match": '"1"'}
    )
    social_worker = world.orgs["municipality"].auth(Role.social_worker)
    world.client.get("/v1/cases", headers=social_worker)
    world.client.get(
        "/v1/cases/00000000-0000-0000-0000-000000000000", headers=director
    )  # 404: not a read

    about_case = [e for e in _entries(world) if e["case_id"] == case_id]
    assert [(e["action"], e["actor_role"]) for e in about_case] == [
        ("create", "director"),
        ("read", "director"),
        ("update", "director"),
        ("read", "social_worker"),
    ]
    assert about_case[3]["detail"] == {
        "sections": ["needs", "participants", "people", "subject"],
        "via": "list",
    }
    # The log names sections, never their contents.
    dumped = json.dumps(_entries(world), ensure_ascii=False)
    assert payload["subject"]["personal_code"] not in dumped
    assert "Žemaitis" not in dumped


def test_auditor_sees_only_own_organisations_entries(world: World) -> None:
    director = world.institution.auth(Role.director)
    world.client.post("/v1/cases", json=release_case(world), headers=director)
    foreign_auditor = world.orgs["ngo_2"].auth(Role.auditor)
    page = world.client.get("/v1/audit", headers=foreign_auditor).json()
    assert page["items"] == []
    own = _entries(world)
    assert any(e["action"] == "create" and e["entity_type"] == "case" for e in own)


def test_chain_verifies_and_detects_tampering(world: World) -> None:
    director = world.institution.auth(Role.director)
    for _ in range(3):
        case_id = world.client.post("/v1/cases", json=release_case(world), headers=director).json()[
            "id"
        ]
        world.client.get(f"/v1/cases/{case_id}", headers=director)
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        report = verify_chain(session)
    assert report.ok and report.entries == 6

    is_postgres = database.engine.dialect.name == "postgresql"
    with database.engine.begin() as connection:
        # The database refuses changes to the log...
        with pytest.raises(DBAPIError), connection.begin_nested():
            connection.execute(text("UPDATE audit_entries SET actor_role = 'admin' WHERE seq = 3"))
        with pytest.raises(DBAPIError), connection.begin_nested():
            connection.execute(text("DELETE FROM audit_entries WHERE seq = 6"))
        # ... so a tamperer must first remove the guard, as a database owner could.
        if is_postgres:
            connection.execute(
                text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
            )
        else:
            connection.execute(text("DROP TRIGGER audit_entries_no_update"))
        connection.execute(text("UPDATE audit_entries SET actor_role = 'admin' WHERE seq = 3"))
    with transaction(database.sessions) as session:
        report = verify_chain(session)
    assert not report.ok and report.first_bad_seq == 3 and report.entries == 2


def test_removing_the_last_entries_is_detected(world: World) -> None:
    director = world.institution.auth(Role.director)
    world.client.post("/v1/cases", json=release_case(world), headers=director)
    world.client.post("/v1/cases", json=release_case(world), headers=director)
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with database.engine.begin() as connection:
        if database.engine.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
            )
        else:
            connection.execute(text("DROP TRIGGER audit_entries_no_delete"))
        connection.execute(
            text("DELETE FROM audit_entries WHERE seq = (SELECT max(seq) FROM audit_entries)")
        )
    with transaction(database.sessions) as session:
        report = verify_chain(session)
    assert not report.ok and report.reason == "entries at the end of the log were removed"


def _tiltas(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TILTAS_DATA_DIR": str(data_dir), "TILTAS_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_audit_verify(world: World, database_url: str, tmp_path: Path) -> None:
    director = world.institution.auth(Role.director)
    world.client.post("/v1/cases", json=release_case(world), headers=director)
    intact = _tiltas(tmp_path, database_url, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "intact" in intact.stdout

    engine = make_engine(database_url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
            )
        else:
            connection.execute(text("DROP TRIGGER audit_entries_no_update"))
        connection.execute(text("UPDATE audit_entries SET detail = '{}' WHERE seq = 1"))
    engine.dispose()
    broken = _tiltas(tmp_path, database_url, "audit", "verify")
    assert broken.returncode == 1
    assert "BROKEN at entry 1" in broken.stderr


def test_concurrent_appends_keep_one_chain(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    director = world.institution.auth(Role.director)
    case_id = world.client.post("/v1/cases", json=release_case(world), headers=director).json()[
        "id"
    ]
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda _: world.client.get(f"/v1/cases/{case_id}", headers=director), range(40)
            )
        )
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        report = verify_chain(session)
    assert report.ok and report.entries == 41
