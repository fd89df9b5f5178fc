"""What each worker process is like once ``tiltas serve`` has started it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.service import start_service
from tiltas.settings import Settings
from workers.app import make_celery


@pytest.mark.slow
def test_a_pool_process_keeps_its_startup_objects_out_of_the_collector(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    service = start_service(
        data_dir,
        TILTAS_WORKER_IMPORTS="tests.support.probe_tasks",
        TILTAS_WORKER_QUEUES="sign=2",
        TILTAS_RUN_BEAT="false",
    )
    try:
        client = make_celery(Settings(data_dir=data_dir))
        state = client.send_task("tests.process_state", queue="sign").get(timeout=60)
        client.close()
        assert state["pid"] != service.pid_of("worker-sign"), "ran in a forked pool process"
        # Every module, the app and the settings: frozen, so full collections skip them.
        assert state["frozen_objects"] > 50_000
    finally:
        assert service.stop() == 0
