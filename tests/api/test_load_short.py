"""The load test of ``bench/load_api.py`` in short (issue 9, part 3): 10 clients for 5 s
against a real ``tiltas serve`` on PostgreSQL. No latency is asserted (CI machines vary):
every answer is the expected one, and the refused ones are problem+json."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench.load_api import INVALID_KIND, READ_KINDS, WRITE_KIND, open_institutions, run_load
from tests.support.service import start_service

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


def test_ten_clients_for_five_seconds(tmp_path: Path, database_url: str) -> None:
    service = start_service(
        tmp_path / "data",
        serves_http=True,
        TILTAS_DATABASE_URL=database_url,
        TILTAS_RUN_WORKER="false",
        TILTAS_RUN_BEAT="false",
    )
    try:
        keys = open_institutions(database_url, count=2, seed_cases=10)
        report = asyncio.run(run_load(service.base_url, keys, clients=10, seconds=5, think_s=0))
    finally:
        assert service.stop() == 0
    assert report.errors == []
    assert len(report.latencies_ms[INVALID_KIND]) == 10
    for kind in (WRITE_KIND, *READ_KINDS):
        assert report.latencies_ms[kind], f"no {kind} request was made"
