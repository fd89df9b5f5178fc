"""Real PostgreSQL and Redis servers for the tests, started in temporary folders.

A missing server binary is a test failure, never a skip: the test command installs them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f} s")


def _postgres_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: run the README's test command")
    return found


@dataclass
class PostgresServer:
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    user: str = "postgres"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        self._shut_down()
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self, down_for: float = 0.0) -> None:
        self._shut_down()
        time.sleep(down_for)
        self.process = _spawn_postgres(self.root, self.port)
        _wait_postgres(self)

    def _shut_down(self) -> None:
        """Fast shutdown (SIGINT to the postmaster: clients are disconnected). A SIGTERM to
        ``runuser`` would ask for a smart one, which waits for every pooled connection."""
        pid_file = self.root / "data" / "postmaster.pid"
        try:
            postmaster = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            postmaster = None
        for sig in (signal.SIGINT, signal.SIGQUIT):
            if postmaster is None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.kill(postmaster, sig)
            try:
                self.process.wait(30)
                break
            except subprocess.TimeoutExpired:
                continue
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _as_postgres_user() -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _spawn_postgres(root: Path, port: int) -> subprocess.Popen[bytes]:
    with open(root / "postgres.log", "ab") as log_file:
        return subprocess.Popen(
            [
                *_as_postgres_user(),
                _postgres_bin("postgres"),
                "-D",
                str(root / "data"),
                "-p",
                str(port),
                "-k",
                str(root / "socket"),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )


def _wait_postgres(server: PostgresServer) -> None:
    import psycopg

    def answers() -> bool:
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=server.port,
                user=server.user,
                dbname="postgres",
                connect_timeout=2,
            ):
                return True
        except psycopg.OperationalError:
            return False

    wait_for(answers, 60, "PostgreSQL")


def start_postgres() -> PostgresServer:
    root = Path(tempfile.mkdtemp(prefix="tiltas-pg-"))
    (root / "socket").mkdir()
    if os.geteuid() == 0:
        postgres_user = pwd.getpwnam("postgres")
        for path in (root, root / "socket"):
            os.chown(path, postgres_user.pw_uid, postgres_user.pw_gid)
        user = "postgres"
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
    subprocess.run(
        [
            *_as_postgres_user(),
            _postgres_bin("initdb"),
            "-D",
            str(root / "data"),
            "-U",
            user,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    server = PostgresServer(root, port, _spawn_postgres(root, port), user)
    _wait_postgres(server)
    return server


@dataclass
class RedisServer:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


def start_redis() -> RedisServer:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server is not installed: run the README's test command")
    root = Path(tempfile.mkdtemp(prefix="tiltas-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(root),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )

    def answers() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    wait_for(answers, 30, "Redis")
    return RedisServer(root, port, process)
