"""Bounded load on loopback: clients opening cases and listing deadlines against a real
``tiltas serve`` on PostgreSQL (issue 9, part 3).

Starts a PostgreSQL in a temporary folder (or uses ``--database-url``), a real ``tiltas serve``
on it (API, workers, beat, embedded broker: what a host runs), opens ``--institutions``
correctional institutions with ``--seed-cases`` cases each, then runs ``--clients`` clients
for ``--seconds`` seconds. Each client is one DMS with its own keep-alive connection and its
institution's key; it first sends one invalid case (422, problem+json), then repeats: open a
case, read that case's deadlines, list its institution's deadlines due within 90 days, list
the first page of its cases, pausing ``--think`` seconds on average before each request
(0: back to back). Every answer is checked: the expected status, errors problem+json.

    .venv/bin/python bench/load_api.py [--clients 100] [--seconds 60] [--think 1]
        [--api-processes N] [--check-p99-ms 200] [--profile spy.txt] [--json out]

Prints p50 / p90 / p99 / max per request kind, the errors, the CPU seconds the API process,
PostgreSQL and this generator used, and the load average beside the figures (the generator
runs on the same cores as the server). ``--api-processes`` sets ``TILTAS_API_PROCESSES`` (the
uvicorn processes ``tiltas serve`` runs; its default otherwise). Exit status 1 on any
error, or when ``--check-p99-ms`` is given and a read's p99 is above it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.factories import personal_code

PROBLEM_JSON = "application/problem+json"
READ_KINDS = ("GET case deadlines", "GET org deadlines", "GET cases page")
WRITE_KIND = "POST case"
INVALID_KIND = "POST invalid case"
MUNICIPALITY = "188700001"
PROBATION = "188700002"


@dataclass
class LoadReport:
    clients: int
    seconds: float
    think_s: float
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    load_before: str = ""
    load_after: str = ""
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds used during the run: the API process, PostgreSQL, this load generator."""

    def requests(self) -> int:
        return sum(len(v) for v in self.latencies_ms.values())

    def figures(self) -> dict[str, dict[str, float]]:
        result = {}
        for kind, samples in sorted(self.latencies_ms.items()):
            ordered = sorted(samples)
            result[kind] = {
                "count": len(ordered),
                "p50_ms": _percentile(ordered, 50),
                "p90_ms": _percentile(ordered, 90),
                "p99_ms": _percentile(ordered, 99),
                "max_ms": ordered[-1],
                "mean_ms": statistics.fmean(ordered),
            }
        return result

    def worst_read_p99(self) -> float:
        figures = self.figures()
        return max((figures[k]["p99_ms"] for k in READ_KINDS if k in figures), default=0.0)

    def as_json(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "seconds": self.seconds,
            "think_s": self.think_s,
            "requests": self.requests(),
            "per_second": self.requests() / self.seconds if self.seconds else 0.0,
            "errors": len(self.errors),
            "first_errors": self.errors[:10],
            "kinds": self.figures(),
            "load_before": self.load_before,
            "load_after": self.load_after,
            "cpu_s": self.cpu_s,
        }

    def table(self) -> str:
        lines = [
            f"{self.clients} clients (think {self.think_s:g} s), {self.seconds:.0f} s: "
            f"{self.requests()} requests "
            f"({self.requests() / self.seconds:.0f}/s), {len(self.errors)} errors",
            f"load average before: {self.load_before}; after: {self.load_after}",
            "CPU seconds used meanwhile: "
            + ", ".join(f"{name} {cpu:.1f}" for name, cpu in self.cpu_s.items()),
            f"{'request':22} {'count':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}",
        ]
        for kind, f in self.figures().items():
            lines.append(
                f"{kind:22} {int(f['count']):7d} {f['p50_ms']:8.1f} {f['p90_ms']:8.1f} "
                f"{f['p99_ms']:8.1f} {f['max_ms']:8.1f}"
            )
        lines.extend(f"error: {e}" for e in self.errors[:10])
        return "\n".join(lines)


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def case_payload(institution: str, serial: int) -> dict[str, Any]:
    """A process-A case due within the next two years (so it has deadlines soon and later)."""
    release = dt.date.today() + dt.timedelta(days=60 + serial % 600)
    return {
        "kind": "conditional_release",
        "subject": {
            "first_name": "Jonas",
            "last_name": f"Žemaitis{serial}",
            "personal_code": personal_code(3, "850214", f"{serial % 1000:03d}"),
            "institution_code": institution,
            "possible_release_date": release.isoformat(),
            "intended_residence": {"address": "Žalgirio g. 5-12", "municipality": "vilniaus-m"},
        },
        "participants": [MUNICIPALITY, PROBATION],
        "needs": [{"area": "housing", "description": "Neturi gyvenamosios vietos"}],
    }


@dataclass(frozen=True)
class Answer:
    status: int
    media_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One DMS: its own connection, its institution's key, the four requests in a loop."""

    def __init__(
        self,
        base_url: str,
        institution: str,
        key: str,
        serials: Iterator[int],
        report: LoadReport,
        think_s: float,
    ) -> None:
        # aiohttp, not httpx: the generator shares the server's two cores, and httpx took
        # ≈ 3 ms of CPU per request, a fifth of the API's own.
        self.http = aiohttp.ClientSession(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=aiohttp.ClientTimeout(total=30.0),
            connector=aiohttp.TCPConnector(limit=1),
        )
        self.institution = institution
        self.serials = serials
        self.report = report
        self.think_s = think_s
        self.due_before = (dt.date.today() + dt.timedelta(days=90)).isoformat()

    async def request(
        self, kind: str, method: str, url: str, expected: int, **kwargs: Any
    ) -> Answer | None:
        start = time.perf_counter()
        try:
            async with self.http.request(method, url, **kwargs) as response:
                answer = Answer(response.status, response.content_type, await response.read())
        except (aiohttp.ClientError, TimeoutError) as error:
            self.report.errors.append(f"{kind}: {type(error).__name__}: {error}")
            return None
        self.report.latencies_ms[kind].append((time.perf_counter() - start) * 1000)
        media = answer.media_type
        shape = "problem+json" if media == PROBLEM_JSON else f"NOT problem+json ({media})"
        if answer.status != expected or (expected >= 400 and shape != "problem+json"):
            self.report.errors.append(f"{kind}: {answer.status} {shape}: {answer.body[:200]!r}")
            return None
        return answer

    async def think(self, until: float) -> bool:
        """A DMS pauses between calls (uniformly 0.5–1.5 × the mean think time); False once
        the run is over."""
        if self.think_s > 0:
            await asyncio.sleep(self.think_s * random.uniform(0.5, 1.5))
        return time.monotonic() < until

    async def run(self, until: float) -> None:
        async with self.http:
            # Once per client, a case the API must refuse: 422, problem+json.
            invalid = case_payload(self.institution, next(self.serials))
            invalid["subject"]["personal_code"] = "38502140000"
            await self.request(INVALID_KIND, "POST", "/v1/cases", 422, json=invalid)
            while await self.think(until):
                payload = case_payload(self.institution, next(self.serials))
                created = await self.request(WRITE_KIND, "POST", "/v1/cases", 201, json=payload)
                if created is not None and await self.think(until):
                    case_id = created.json()["id"]
                    await self.request(
                        "GET case deadlines", "GET", f"/v1/cases/{case_id}/deadlines", 200
                    )
                if not await self.think(until):
                    break
                await self.request(
                    "GET org deadlines", "GET", f"/v1/deadlines?due_before={self.due_before}", 200
                )
                if not await self.think(until):
                    break
                await self.request("GET cases page", "GET", "/v1/cases?limit=50", 200)


async def run_load(
    base_url: str, keys: dict[str, str], clients: int, seconds: float, think_s: float
) -> LoadReport:
    """``clients`` clients spread evenly over the institutions of ``keys`` for ``seconds``,
    each pausing ``think_s`` on average between its requests (0: back to back)."""
    report = LoadReport(clients, seconds, think_s, load_before=load_average())
    serials = iter(range(10**6, 10**7))
    institutions = sorted(keys)
    start = time.monotonic()
    until = start + seconds
    runners = [
        Client(
            base_url,
            institutions[i % len(institutions)],
            keys[institutions[i % len(institutions)]],
            serials,
            report,
            think_s,
        )
        for i in range(clients)
    ]
    await asyncio.gather(*(runner.run(until) for runner in runners))
    report.seconds = time.monotonic() - start
    report.load_after = load_average()
    return report


def open_institutions(database_url: str, count: int, seed_cases: int) -> dict[str, str]:
    """``count`` institutions (with a municipality and a probation service to take part),
    ``seed_cases`` cases each opened with the domain's own ``create_case``; returns a
    director's API key per institution."""
    from tiltas import cases
    from tiltas.access import OrganisationKind, Role
    from tiltas.apikeys import authenticate, create_api_key
    from tiltas.db import make_engine, make_sessionmaker, transaction
    from tiltas.organisations import OrganisationCreate, create_organisation

    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    keys: dict[str, str] = {}
    with transaction(sessions) as session:
        for code, kind in (
            (MUNICIPALITY, OrganisationKind.municipality),
            (PROBATION, OrganisationKind.probation),
        ):
            create_organisation(
                session,
                OrganisationCreate(
                    code=code, name=f"Įstaiga {code}", kind=kind, address="Vilnius", email="a@b.lt"
                ),
            )
        for index in range(count):
            code = str(188600001 + index)
            create_organisation(
                session,
                OrganisationCreate(
                    code=code,
                    name=f"Pataisos namai {index + 1}",
                    kind=OrganisationKind.correctional_institution,
                    address="Vilnius",
                    email="a@b.lt",
                ),
            )
            keys[code] = create_api_key(session, code, Role.director).secret_key
    for code, key in keys.items():
        with transaction(sessions) as session:
            principal = authenticate(session, key)
            for serial in range(seed_cases):
                data = cases.CaseCreate.model_validate(case_payload(code, serial))
                cases.create_case(session, principal, data)
    engine.dispose()
    return keys


def tree_cpu_s(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants, with what their ended
    children used (PostgreSQL's backends come and go), from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children[int(fields[1])].append(int(entry.name))
    tree, ticks = [pid], 0
    for current in tree:
        tree.extend(children.get(current, []))
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def _profiled(pid: int, output: Path | None) -> Iterator[None]:
    """py-spy samples the API process meanwhile (wall clock, idle threads included), when asked."""
    if output is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    command = [
        str(spy),
        "record",
        "--gil",
        "--subprocesses",
        "--pid",
        str(pid),
        "--idle",
        "--format",
        "raw",
        "-o",
        str(output),
    ]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.wait(60)


@contextmanager
def postgres_database(database_url: str | None) -> Iterator[tuple[str, int | None]]:
    """The database URL and, when this script started the server, its process id."""
    if database_url:
        yield database_url, None
        return
    import psycopg

    from tests.support.servers import start_postgres

    server = start_postgres()
    try:
        with psycopg.connect(server.url().replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute("CREATE DATABASE load")
        yield server.url("load"), server.process.pid
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    # Stopped with SIGTERM, the run still stops its service and database (``finally``).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds a client waits between requests"
    )
    parser.add_argument(
        "--api-processes", type=int, help="TILTAS_API_PROCESSES (default: the setting's)"
    )
    parser.add_argument("--institutions", type=int, default=10)
    parser.add_argument("--seed-cases", type=int, default=100, help="cases per institution")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a new one)")
    parser.add_argument("--check-p99-ms", type=float, help="fail when a read's p99 is above")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds, not measured")
    parser.add_argument("--profile", type=Path, help="py-spy's raw samples of the API here")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from tests.support.servers import wait_for
    from tests.support.service import start_service
    from tiltas.migrate import upgrade

    with (
        postgres_database(args.database_url) as (url, postgres_pid),
        tempfile.TemporaryDirectory() as folder,
    ):
        upgrade(url)
        print(f"opening {args.institutions} institutions × {args.seed_cases} cases …", flush=True)
        keys = open_institutions(url, args.institutions, args.seed_cases)
        processes = {"TILTAS_API_PROCESSES": str(args.api_processes)} if args.api_processes else {}
        service = start_service(
            Path(folder) / "data", serves_http=True, TILTAS_DATABASE_URL=url, **processes
        )
        try:
            # Measured once the worker has started its converters (a few CPU-seconds) and
            # after a short unmeasured run (connections, caches, query plans).
            wait_for(lambda: " ready." in service.log(), 120, "the worker")
            asyncio.run(run_load(service.base_url, keys, args.clients, args.warmup, args.think))
            print(f"load: {args.clients} clients for {args.seconds:.0f} s …", flush=True)
            measured = {"API": service.pid_of("api")}
            if postgres_pid is not None:
                measured["PostgreSQL"] = postgres_pid
            before = {name: tree_cpu_s(pid) for name, pid in measured.items()}
            own_before = time.process_time()
            with _profiled(service.pid_of("api"), args.profile):
                report = asyncio.run(
                    run_load(service.base_url, keys, args.clients, args.seconds, args.think)
                )
            report.cpu_s = {name: tree_cpu_s(measured[name]) - cpu for name, cpu in before.items()}
            report.cpu_s["load generator"] = time.process_time() - own_before
        finally:
            stopped = service.stop()
        if stopped != 0:
            report.errors.append(f"tiltas serve stopped with {stopped}")
    print(report.table())
    if args.json:
        args.json.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    failed = bool(report.errors)
    if args.check_p99_ms is not None and report.worst_read_p99() > args.check_p99_ms:
        print(f"FAIL: a read's p99 {report.worst_read_p99():.0f} ms > {args.check_p99_ms:.0f} ms")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
