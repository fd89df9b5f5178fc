"""The API and the workers as separate `tiltas serve` processes, as on separate machines:
they share only PostgreSQL, Redis and the document store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.factories import personal_code
from tests.support.servers import RedisServer
from tests.support.service import REPO, start_service

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def _tiltas(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_api_host_and_worker_host(
    tmp_path: Path, database_url: str, redis_server: RedisServer
) -> None:
    shared = {
        "TILTAS_DATABASE_URL": database_url,
        "TILTAS_BROKER_URL": redis_server.url,
        "TILTAS_RUN_BEAT": "false",
    }
    store = tmp_path / "shared"
    api = start_service(store, TILTAS_RUN_WORKER="false", **shared)
    worker = None
    try:
        worker = start_service(store, serves_http=False, TILTAS_RUN_API="false", **shared)
        assert " ready." not in api.log(), "the API host runs no worker"
        env = {**os.environ, "TILTAS_DATA_DIR": str(store), **shared}
        institution, commission = "188000011", "188000099"
        for code, kind in ((institution, "correctional_institution"), (commission, "commission")):
            _tiltas(
                env, "org", "create", "--code", code, "--name", f"Įstaiga {code}", "--kind", kind,
                "--address", "Gedimino pr. 1, Vilnius", "--email", f"info{code}@example.lt",
            )  # fmt: skip
        director = {"Authorization": "Bearer " + _tiltas(env, "apikey", "create", "--org", institution, "--role", "director")}  # fmt: skip
        clerk = {"Authorization": "Bearer " + _tiltas(env, "apikey", "create", "--org", commission, "--role", "commission")}  # fmt: skip

        base = api.base_url
        case = {
            "kind": "social_care",
            "subject": {
                "first_name": "Petras",
                "last_name": "Šimkus",
                "personal_code": personal_code(3, "520709", "045"),
                "institution_code": institution,
            },
            "participants": [commission],
        }
        created = httpx.post(f"{base}/v1/cases", json=case, headers=director, timeout=30)
        assert created.status_code == 201, created.text
        body = httpx.get(f"{base}/v1/document-types/K", headers=clerk).json()["example"]
        body["case_id"] = created.json()["id"]
        made = httpx.post(f"{base}/v1/documents", json=body, headers=clerk, timeout=120)
        assert made.status_code == 201, made.text + worker.log()
        assert made.json()["status"] == "generated"
        signed = httpx.post(
            f"{base}/v1/documents/{made.json()['id']}/signatures",
            json={},
            headers=clerk,
            timeout=120,
        )
        assert signed.status_code == 200, signed.text + worker.log()
        pdf = httpx.get(f"{base}/v1/documents/{made.json()['id']}/pdf", headers=clerk)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    finally:
        if worker is not None:
            assert worker.stop() == 0
        assert api.stop() == 0
