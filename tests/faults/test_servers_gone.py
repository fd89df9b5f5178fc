"""The database gone and the broker gone, under a real ``tiltas serve``: PostgreSQL, then Redis,
stopped for a while and started again. Meanwhile clients get a clear problem+json (or their
stored request waits); afterwards work resumes and nothing stored is lost or corrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.faults.stack import (
    Stack,
    assert_problem,
    audit_entries,
    check_nothing_lost,
    running_stack,
    signed_by,
)
from tests.support.servers import (
    PostgresServer,
    RedisServer,
    _spawn_postgres,
    _wait_postgres,
    start_postgres,
    start_redis,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OUTAGE_S = 15.0
"""How long a server stays away: longer than the API's wait for a document (3 s here)."""


@pytest.fixture
def own_postgres() -> Iterator[tuple[PostgresServer, str]]:
    """A PostgreSQL of this test's own (the shared one must not be stopped) and a database."""
    server = start_postgres()
    try:
        with psycopg.connect(server.url().replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute("CREATE DATABASE faults")
        yield server, server.url("faults")
    finally:
        server.stop()


@contextmanager
def postgres_away(server: PostgresServer) -> Iterator[None]:
    """Stopped as ``pg_ctl stop`` does (fast shutdown: every session is cut), then started
    again on the same port and data. SIGTERM would wait for the clients to leave."""
    postmaster = int((server.root / "data" / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGINT)
    server.process.wait(30)
    try:
        yield
    finally:
        server.process = _spawn_postgres(server.root, server.port)
        _wait_postgres(server)


@contextmanager
def redis_away(server: RedisServer) -> Iterator[None]:
    """Stopped, then started again on the same port; it keeps no data (as a Redis that was
    replaced would): tasks queued before are gone, the database still holds the work."""
    argv = [str(a) for a in server.process.args]  # type: ignore[union-attr]
    server.process.terminate()
    server.process.wait(30)
    try:
        yield
    finally:
        server.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        wait_for(lambda: _answers(server), 30, "Redis")


def _answers(server: RedisServer) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(server.url, socket_timeout=1).ping())
    except (OSError, redis.RedisError):
        return False


def _ready_for_work(stack: Stack) -> tuple[str, int]:
    """One protocol made and signed, one generated and not yet signed; the audit entries."""
    stack.make_signed_protocol()
    unsigned = str(stack.request_protocol(stack.open_case()).json()["id"])
    stack.wait_document(unsigned, lambda d: d["status"] == "generated", 120)
    return unsigned, audit_entries(stack.database_url)


def test_database_gone(tmp_path: Path, own_postgres: tuple[PostgresServer, str]) -> None:
    server, database_url = own_postgres
    with running_stack(tmp_path / "data", database_url, TILTAS_DOCUMENT_WAIT_S="3") as stack:
        unsigned, entries = _ready_for_work(stack)
        case_id = stack.open_case()
        with postgres_away(server):
            deadline = time.monotonic() + OUTAGE_S
            while time.monotonic() < deadline:
                for answer in (
                    stack.director.get("/v1/cases"),
                    stack.request_protocol(case_id),
                    stack.sign(unsigned, 1),
                ):
                    body = assert_problem(answer, 503)
                    assert body["type"] == "urn:tiltas:problem:database_unavailable", body
                    assert answer.headers["Retry-After"]
                assert httpx.get(f"{stack.service.base_url}/healthz").status_code == 503
                time.sleep(1)
        # Back: every request answers again, documents are made and signed.
        assert stack.director.get("/v1/cases").status_code == 200
        assert stack.sign(unsigned, 1).status_code in (200, 202)
        stack.wait_document(unsigned, signed_by(1), 120)
        made = stack.request_protocol(case_id)
        assert made.status_code in (201, 202), made.text
        stack.wait_document(made.json()["id"], lambda d: d["status"] == "generated", 120)
        check_nothing_lost(stack, audit_entries_before=entries)


def test_broker_gone(tmp_path: Path, own_postgres: tuple[PostgresServer, str]) -> None:
    _, database_url = own_postgres
    broker = start_redis()
    try:
        with running_stack(
            tmp_path / "data",
            database_url,
            TILTAS_BROKER_URL=broker.url,
            TILTAS_DOCUMENT_WAIT_S="3",
            TILTAS_DOCUMENT_REQUEUE_AFTER_S="10",
        ) as stack:
            unsigned, entries = _ready_for_work(stack)
            case_id = stack.open_case()
            with redis_away(broker):
                # Reads need no broker.
                assert stack.director.get("/v1/cases").status_code == 200
                # A document asked for is stored and waits (202); nothing to hand over yet.
                asked = stack.request_protocol(case_id)
                assert asked.status_code == 202, asked.text
                waiting = asked.json()["id"]
                assert stack.document(waiting)["status"] == "requested"
                # Signing is handed over at once, or refused: 503 and nothing changes.
                body = assert_problem(stack.sign(unsigned, 1), 503)
                assert body["type"] == "urn:tiltas:problem:queue_unavailable", body
                assert stack.document(unsigned)["signatures"] == []
                time.sleep(OUTAGE_S)
            # Back: the waiting document is put back on the queue by the sweep and made; the
            # workers reconnected and take new work.
            stack.wait_document(waiting, lambda d: d["status"] == "generated", 180)
            assert stack.sign(unsigned, 1).status_code in (200, 202)
            stack.wait_document(unsigned, signed_by(1), 120)
            check_nothing_lost(stack, audit_entries_before=entries)
    finally:
        broker.stop()
