"""Running ``tiltas serve`` as a real process for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.servers import free_port, wait_for
from tiltas.queues import DEFAULT_WORKER_QUEUES, parse_worker_queues

REPO = Path(__file__).resolve().parents[2]


@dataclass
class RunningService:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    env: dict[str, str]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pid_of(self, child: str) -> int:
        return int((self.data_dir / "run" / f"{child}.pid").read_text())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def start_service(data_dir: Path, *, serves_http: bool = True, **env: str) -> RunningService:
    """Start ``tiltas serve``; ready when ``/healthz`` answers, or (``serves_http=False``, a
    host that only works) when its worker is running."""
    port = free_port()
    full_env = {
        **os.environ,
        "PORT": str(port),
        "TILTAS_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(REPO),
        **env,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"serve-{port}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve"],
            env=full_env,
            cwd=REPO,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = RunningService(process, port, data_dir, full_env, log_path)
    groups = parse_worker_queues(full_env.get("TILTAS_WORKER_QUEUES", DEFAULT_WORKER_QUEUES))

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"tiltas serve exited early:\n{service.log()}")
        if not serves_http:
            ready = set(re.findall(r"tiltas-(\S+)-\d+@\S+ ready\.", service.log()))
            return ready >= {group.name for group in groups}
        try:
            return httpx.get(f"{service.base_url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 90, "tiltas serve")
    except Exception:
        service.stop()
        raise
    return service


def wait_for_file(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not path.exists():
        time.sleep(0.1)
