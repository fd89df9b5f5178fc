"""``tiltas serve``: start the broker (embedded default), a Celery worker per queue group, the
Celery beat scheduler and the API as child processes, restart any that dies, and stop them all
on SIGTERM / Ctrl-C.

Each child runs in its own process group, so a dead worker's pool processes are killed
with it and cannot finish a task the broker is about to hand to the restarted worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from signing.dev_pki import ensure_dev_pki
from tiltas.migrate import upgrade
from tiltas.queues import WorkerGroup
from tiltas.settings import Settings

log = logging.getLogger("tiltas.serve")

STOP_GRACE_S = 10.0
MAX_BACKOFF_S = 30.0
HEALTHY_AFTER_S = 60.0


@dataclass
class Child:
    name: str
    argv: list[str]
    ready: Callable[[], bool] = lambda: True
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self, run_dir: Path) -> None:
        self.process = subprocess.Popen(
            self.argv, env={**os.environ, **self.env}, start_new_session=True
        )
        self.started_at = time.monotonic()
        self.restart_at = None
        (run_dir / f"{self.name}.pid").write_text(f"{self.process.pid}\n")
        log.info("started %s (pid %d)", self.name, self.process.pid)

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def ready_or_exited(self) -> bool:
        return self.exited or self.ready()

    def kill_group(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.kill_group(signal.SIGKILL)
            return
        self.kill_group(signal.SIGTERM)
        try:
            self.process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", self.name, STOP_GRACE_S)
        self.kill_group(signal.SIGKILL)
        self.process.wait()


def _redis_answers(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(1.0)
            connection.connect(str(socket_path))
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def plan_children(settings: Settings) -> list[Child]:
    children: list[Child] = []
    if settings.embedded_broker:
        redis_dir = (settings.data_dir / "redis").resolve()
        redis_dir.mkdir(parents=True, exist_ok=True)
        socket_path = settings.redis_socket_path
        children.append(
            Child(
                "broker",
                [
                    settings.redis_server_bin,
                    "--port",
                    "0",
                    "--unixsocket",
                    str(socket_path),
                    "--unixsocketperm",
                    "700",
                    "--dir",
                    str(redis_dir),
                    # Queued tasks survive a restart of the service or the machine.
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--save",
                    "",
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "warning",
                ],
                ready=lambda: _redis_answers(socket_path),
            )
        )
    if settings.uses_dev_pki and settings.run_worker:
        # Not qualified: a development PKI with its own TSA and OCSP, made on first start.
        pki = ensure_dev_pki(settings.resolved_dev_pki_dir)
        children.append(
            Child(
                "responders",
                [sys.executable, "-m", "cli.dev_responders", str(settings.resolved_dev_pki_dir)],
                ready=lambda: _tcp_answers("127.0.0.1", pki.responder_port),
            )
        )
    if settings.run_worker:
        children.extend(_worker(group) for group in settings.worker_groups)
    if settings.run_beat:
        # Beat is a child of its own, not the worker's ``-B``: restarting a crashed worker then
        # never starts a second scheduler, and the supervisor keeps exactly one running. A
        # beat killed mid-write loses at most a tick; its tasks read their state from the
        # database, so the next tick catches up.
        children.append(
            Child(
                "beat",
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "workers.main",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(settings.beat_schedule_path),
                ],
            )
        )
    if settings.run_api:
        children.append(
            Child(
                "api",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "api.main:app",
                    "--host",
                    settings.host,
                    "--port",
                    str(settings.port),
                    "--workers",
                    str(settings.api_processes),
                    "--no-access-log",
                ],
            )
        )
    return children


def _worker(group: WorkerGroup) -> Child:
    """A Celery worker for one group of queues, with its own concurrency and pool."""
    return Child(
        f"worker-{group.name}",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.main",
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            group.pool,
            "--concurrency",
            str(group.concurrency),
            "--queues",
            ",".join(group.queues),
            "--hostname",
            f"tiltas-{group.name}-{os.getpid()}@%h",
        ],
    )


def serve(settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    run_dir = settings.data_dir / "run"
    run_dir.mkdir(exist_ok=True)
    upgrade(settings.resolved_database_url)
    log.info("database migrated")

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    children = plan_children(settings)
    try:
        for child in children:
            child.start(run_dir)
            if not _wait_until(child.ready_or_exited, 30):
                log.error("%s did not become ready", child.name)
                return 1
            if child.exited:
                log.error("%s exited at start", child.name)
                return 1
        log.info("serving on http://%s:%d", settings.host, settings.port)
        while not stopping:
            _supervise(children, run_dir)
            time.sleep(0.2)
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        log.info("stopped")


def _supervise(children: list[Child], run_dir: Path) -> None:
    now = time.monotonic()
    for child in children:
        process = child.process
        if process is None:
            continue
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.start(run_dir)
            continue
        code = process.poll()
        if code is None:
            if now - child.started_at > HEALTHY_AFTER_S:
                child.failures = 0
            continue
        # Whatever is left of the dead child's group (pool processes) goes too.
        child.kill_group(signal.SIGKILL)
        child.failures += 1
        delay = min(MAX_BACKOFF_S, 0.5 * 2 ** (child.failures - 1))
        log.warning("%s exited with code %s; restarting in %.1f s", child.name, code, delay)
        child.restart_at = now + delay
