"""kill -9 of a worker in the middle of tasks loses nothing: on the embedded default and on
Redis. Both run the real ``tiltas serve`` with its supervisor."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.support.servers import RedisServer
from tests.support.service import start_service
from tiltas.settings import Settings
from workers.app import make_celery

TASKS = 6
TASK_SECONDS = 3.0

CRASH_ENV = {
    "TILTAS_WORKER_IMPORTS": "tests.support.crash_tasks",
    "TILTAS_WORKER_QUEUES": "convert=2",
    # Above the task's 3 s, so healthy tasks are never handed out twice; low enough that
    # abandoned ones come back within the test.
    "TILTAS_VISIBILITY_TIMEOUT_S": "8",
    "TILTAS_UNACKED_RESTORE_INTERVAL_S": "1",
}


def _wait(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def _kill_worker_mid_task(tmp_path: Path, broker_url: str | None) -> None:
    env = dict(CRASH_ENV)
    if broker_url:
        env["TILTAS_BROKER_URL"] = broker_url
    data_dir = tmp_path / "data"
    service = start_service(data_dir, **env)
    markers = tmp_path / "markers"
    markers.mkdir()
    try:
        client = make_celery(Settings(data_dir=data_dir, broker_url=broker_url))
        for index in range(TASKS):
            client.send_task(
                "tests.mark_done", args=[str(markers), f"t{index}", TASK_SECONDS], queue="convert"
            )

        def started() -> list[Path]:
            return list(markers.glob("*.started.*"))

        assert _wait(lambda: len(started()) >= 2, 60), service.log()
        assert not list(markers.glob("*.done")), "tasks must still be running when the worker dies"
        worker_pid = service.pid_of("worker-convert")
        os.kill(worker_pid, signal.SIGKILL)

        def all_done() -> bool:
            return len(list(markers.glob("*.done"))) == TASKS

        assert _wait(all_done, 120), (
            f"done: {sorted(p.name for p in markers.glob('*.done'))}\n{service.log()}"
        )
        assert service.pid_of("worker-convert") != worker_pid, "the supervisor restarted the worker"
        # The tasks the dead worker held ran again: delivered at least once.
        assert len(started()) > TASKS - 1
        client.close()
    finally:
        assert service.stop() == 0


@pytest.mark.slow
def test_kill_worker_on_embedded_broker(tmp_path: Path) -> None:
    _kill_worker_mid_task(tmp_path, broker_url=None)


@pytest.mark.slow
@pytest.mark.redis
def test_kill_worker_on_redis(tmp_path: Path, redis_server: RedisServer) -> None:
    _kill_worker_mid_task(tmp_path, broker_url=redis_server.url)


@pytest.mark.redis
def test_round_trip_through_redis(tmp_path: Path, redis_server: RedisServer) -> None:
    """A real task through a real Redis: the worker checks the audit chain and answers."""
    service = start_service(tmp_path / "data", TILTAS_BROKER_URL=redis_server.url)
    try:
        client = make_celery(Settings(data_dir=tmp_path / "data", broker_url=redis_server.url))
        result = client.send_task("tiltas.audit.verify_chain").get(timeout=60)
        assert result == {"entries": 0, "ok": True, "first_bad_seq": None, "reason": None}
        client.close()
    finally:
        assert service.stop() == 0
