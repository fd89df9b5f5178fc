"""The ``tiltas`` command: help, organisations, API keys, one-line errors, and ``serve``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.processes import office_sockets
from tests.support.service import REPO, start_service


def _tiltas(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, "TILTAS_DATA_DIR": str(data_dir), **env},
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip


def test_help_lists_commands(tmp_path: Path) -> None:
    result = _tiltas(tmp_path, "--help")
    assert result.returncode == 0
    for command in ("serve", "apikey", "audit", "org", "migrate"):
        assert command in result.stdout


def _create_institution(data_dir: Path, code: str = "188000011") -> None:
    result = _tiltas(
        data_dir, "org", "create", "--code", code, "--name", "Alytaus pataisos namai",
        "--kind", "correctional_institution", "--address", "Pramonės g. 3, Alytus", "--email", "info@apn.lt",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_apikey_create_prints_the_key_last(tmp_path: Path) -> None:
    _create_institution(tmp_path)
    result = _tiltas(tmp_path, "apikey", "create", "--org", "188000011", "--role", "director")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("tlt_")
    # The printed key is the only place it exists: the database holds its hash.
    database = (tmp_path / "tiltas.sqlite3").read_bytes()
    assert key.encode() not in database and key.split("_")[2].encode() not in database


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apikey", "create", "--org", "999999999", "--role", "director"], "no organisation with this code"),
        (["apikey", "create", "--org", "188000011", "--role", "social_worker"], "does not belong"),
        (["org", "create", "--code", "12", "--name", "X", "--kind", "ngo", "--address", "A", "--email", "a@b.lt"],
         "code"),
        (["org", "create", "--code", "188000011", "--name", "X", "--kind", "ngo", "--address", "A",
          "--email", "a@b.lt"], "already exists"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    _create_institution(tmp_path)
    result = _tiltas(tmp_path, *args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    result = _tiltas(tmp_path, "migrate", TILTAS_ENVIRONMENT="production")
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "TILTAS_DATABASE_URL" in result.stderr


def test_serve_answers_then_stops_cleanly(tmp_path: Path) -> None:
    office_sockets_before = office_sockets()
    service = start_service(tmp_path / "data")
    try:
        base = service.base_url
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
        spec = httpx.get(f"{base}/openapi.json").json()
        assert "/v1/cases" in spec["paths"]
        assert httpx.get(f"{base}/docs").status_code == 200

        _create_institution(service.data_dir)
        key = _tiltas(
            service.data_dir, "apikey", "create", "--org", "188000011", "--role", "director"
        )
        headers = {"Authorization": f"Bearer {key.stdout.strip().splitlines()[-1]}"}
        assert httpx.get(f"{base}/v1/cases", headers=headers).json() == {
            "items": [],
            "next_cursor": None,
        }

        # A document end to end on the embedded default: API → embedded Redis → worker → LibreOffice.
        case = {
            "kind": "conditional_release",
            "subject": {"first_name": "Jonas", "last_name": "Žemaitis", "birth_date": "1985-02-14",
                        "institution_code": "188000011", "possible_release_date": "2027-03-15"},
        }  # fmt: skip
        case_id = httpx.post(f"{base}/v1/cases", json=case, headers=headers).json()["id"]
        example = httpx.get(f"{base}/v1/document-types/A", headers=headers).json()["example"]
        created = httpx.post(
            f"{base}/v1/documents",
            json={**example, "case_id": case_id},
            headers=headers,
            timeout=120,
        )
        assert created.status_code == 201, created.text
        pdf = httpx.get(f"{base}/v1/documents/{created.json()['id']}/pdf", headers=headers)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-1.7")
        # A worker per queue, each with its own concurrency (TILTAS_WORKER_QUEUES).
        queues = ("convert", "sign", "webhooks", "schedules", "archival")
        names = ("broker", *(f"worker-{queue}" for queue in queues), "api")
        children = {name: service.pid_of(name) for name in names}
        # The API runs TILTAS_API_PROCESSES (default 2) uvicorn processes under one manager.
        api_children = Path(f"/proc/{children['api']}/task/{children['api']}/children")
        spawned = [
            pid
            for pid in api_children.read_text().split()
            if b"multiprocessing.spawn" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(spawned) == 2

        # A crashed API process is restarted by the supervisor.
        os.kill(children["api"], signal.SIGKILL)
        from tests.support.servers import wait_for

        def api_restarted() -> bool:
            try:
                return (
                    service.pid_of("api") != children["api"]
                    and httpx.get(f"{base}/healthz").status_code == 200
                )
            except httpx.HTTPError:
                return False

        wait_for(api_restarted, 60, "restarted API")
        children["api"] = service.pid_of("api")
    finally:
        assert service.stop() == 0
    for name, pid in children.items():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert name
    # The convert worker's processes closed their converters as they ended: no profile folder
    # left, and none of LibreOffice's sockets in /tmp (a killed soffice never removes them).
    assert list((service.data_dir / "run" / "converters").iterdir()) == []
    assert office_sockets() - office_sockets_before == set()
