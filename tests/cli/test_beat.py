"""``tiltas serve`` runs Celery beat as a supervised child: the deadline sweep and the webhook
dispatcher run on their own, and a killed beat comes back and carries on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.factories import personal_code
from tests.support.receiver import running_receiver
from tests.support.servers import wait_for
from tests.support.service import REPO, start_service

pytestmark = pytest.mark.slow


def _tiltas(data_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, "TILTAS_DATA_DIR": str(data_dir)},
        capture_output=True, text=True, timeout=120, cwd=REPO, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def _overdue_case(base: str, headers: dict[str, str], code: str) -> str:
    case = {
        "kind": "conditional_release",
        "subject": {"first_name": "Jonas", "last_name": "Žemaitis",
                    "personal_code": personal_code(3, "850214", "123"),
                    "institution_code": code, "possible_release_date": "2020-06-15"},
    }  # fmt: skip
    response = httpx.post(f"{base}/v1/cases", json=case, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_beat_sweeps_dispatches_and_survives_being_killed(tmp_path: Path) -> None:
    service = start_service(
        tmp_path / "data",
        TILTAS_WEBHOOK_ALLOW_LOOPBACK="true",
        TILTAS_DEADLINE_SWEEP_INTERVAL_S="10",
        TILTAS_WEBHOOK_DISPATCH_INTERVAL_S="1",
    )
    try:
        base = service.base_url
        code = "188000011"
        _tiltas(
            service.data_dir, "org", "create", "--code", code, "--name", "Alytaus pataisos namai",
            "--kind", "correctional_institution", "--address", "Pramonės g. 3, Alytus",
            "--email", "info@apn.lt",
        )  # fmt: skip
        director = {"Authorization": "Bearer " + _tiltas(
            service.data_dir, "apikey", "create", "--org", code, "--role", "director")}  # fmt: skip
        admin = {"Authorization": "Bearer " + _tiltas(
            service.data_dir, "apikey", "create", "--org", code, "--role", "admin")}  # fmt: skip
        with running_receiver() as receiver:
            subscribed = httpx.post(
                f"{base}/v1/webhooks",
                json={"url": receiver.url, "events": ["deadline.overdue"]},
                headers=admin,
            )
            assert subscribed.status_code == 201, subscribed.text
            receiver.secrets = (subscribed.json()["secret"],)

            first = _overdue_case(base, director, code)
            # Nobody asks for it: beat's sweep finds the overdue terms and its dispatcher
            # (or the sweep's own enqueueing) delivers them.
            wait_for(lambda: len(receiver.authentic()) == 7, 90, "the first sweep's events")
            assert {r.payload["data"]["case_id"] for r in receiver.authentic()} == {first}

            beat = service.pid_of("beat")
            os.kill(beat, signal.SIGKILL)

            def restarted() -> bool:
                try:
                    return service.pid_of("beat") != beat
                except (FileNotFoundError, ValueError):
                    return False

            wait_for(restarted, 60, "a new beat")
            second = _overdue_case(base, director, code)
            wait_for(lambda: len(receiver.authentic()) == 14, 90, "the restarted beat's events")
            assert {r.payload["data"]["case_id"] for r in receiver.authentic()} == {first, second}
            assert len({r.headers["Tiltas-Delivery"] for r in receiver.authentic()}) == 14
    finally:
        assert service.stop() == 0, service.log()[-3000:]
