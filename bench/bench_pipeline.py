"""A mixed batch end to end (render → PDF/A-2b → every official's PAdES B-LTA signature →
stored), against the naive pipeline and the bare converter pool, in the same run.

- **embedded**: ``tiltas serve`` with nothing configured (SQLite, embedded Redis, the default
  workers: convert=2, sign=2, …), as a fresh machine runs it.
- **distributed**: PostgreSQL and Redis, one API host and two worker hosts (``tiltas serve``
  each, ``convert=1,sign=1`` per host: two converters in all, as embedded).
- **bare converter pool**: ``templates.conversion.ConverterPool`` with two converters converting
  the same documents' DOCX (rendered here from what the batch stored), four client threads,
  start-up not counted. The issue's target: the pipeline ≥ 70 % of this rate.
- **naive**: per document, one cold ``soffice --convert-to`` (PDF/A-2b) and one ``pyhanko sign
  addsig`` B-LTA signature on the command line (same key, TSA and trust root as the service),
  one document after another, over the first ``--naive`` documents. Target: the pipeline
  ≥ 30× this rate. It signs once where the batch signs every official (one or two), so the
  ratio understates our advantage.

The batch is the institution director's: A (release notice, a conditional-release case),
G, H, I, J, L (care case) and the lists C and M, in turn. Each mode first runs a small
warm-up batch (workers and converters start with ``tiltas serve``; the first document of each
process loads fonts and keys), then the measured one; documents per second are counted from
the batch request to its last document's ``signed_at``, latency per document from the request
to that document's ``signed_at``. The client follows the job once a second, as a DMS would;
when it saw the job completed is printed too, not counted (it adds up to a second of
polling that the naive pipeline, timed to its last signature, does not have).

    .venv/bin/python bench/bench_pipeline.py [--documents 200] [--naive 8] [--no-distributed]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_conversion import convert_cold
from signing.dev_pki import ensure_dev_pki
from templates.conversion import ConverterPool, ConverterPoolSettings
from templates.rendering import render_validated, template_bytes, validate
from tests.support.factories import personal_code
from tests.support.servers import start_postgres, start_redis
from tests.support.service import REPO, RunningService, start_service
from tiltas.db import make_engine, make_sessionmaker, transaction
from tiltas.models import Document

INSTITUTION = "188000011"
MUNICIPALITY = "188000022"
COMMISSION = "188000099"
TYPES = ("A", "G", "C", "H", "I", "J", "L", "M")
WARM_UP = 8
PYHANKO = str(Path(sys.executable).with_name("pyhanko"))


TICKS = os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, str, float, str]]:
    """pid -> (parent, name, CPU seconds, command line) of every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, _, rest = (entry / "stat").read_text().rpartition(")")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = rest.split()
        cpu = (int(fields[11]) + int(fields[12])) / TICKS
        table[int(entry.name)] = (int(fields[1]), head.partition("(")[2], cpu, command)
    return table


def cpu_by_part(roots: list[int]) -> dict[str, float]:
    """CPU seconds so far of the processes under ``roots``: LibreOffice, and the rest."""
    table = _process_table()
    family, grew = set(roots), True
    while grew:
        more = {pid for pid, row in table.items() if row[0] in family}
        grew = not more <= family
        family |= more
    parts = {"LibreOffice": 0.0, "the rest": 0.0}
    for pid in family & set(table):
        _, name, cpu, _ = table[pid]
        parts["LibreOffice" if name.startswith(("soffice", "oosplash")) else "the rest"] += cpu
    return parts


@dataclass(frozen=True)
class BatchRun:
    mode: str
    documents: int
    seconds: float
    """From the batch request to the last document's signature."""
    seen_after: float
    """From the batch request to the answer that showed the job completed."""
    latencies: list[float]
    signatures: int
    cpu_ms: dict[str, float]
    """CPU milliseconds per document: LibreOffice, and the rest (workers, API, broker, TSA)."""

    @property
    def rate(self) -> float:
        return self.documents / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _tiltas(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def _director(env: dict[str, str]) -> dict[str, str]:
    for code, kind in (
        (INSTITUTION, "correctional_institution"),
        (MUNICIPALITY, "municipality"),
        (COMMISSION, "commission"),
    ):
        _tiltas(
            env, "org", "create", "--code", code, "--name", f"Įstaiga {code}", "--kind", kind,
            "--address", "Gedimino pr. 1, Vilnius", "--email", f"info{code}@example.lt",
        )  # fmt: skip
    key = _tiltas(env, "apikey", "create", "--org", INSTITUTION, "--role", "director")
    return {"Authorization": f"Bearer {key}"}


def _cases(client: httpx.Client) -> dict[str, str]:
    subject = {
        "first_name": "Petras",
        "last_name": "Šimkus",
        "personal_code": personal_code(3, "520709", "045"),
        "institution_code": INSTITUTION,
    }
    release = {
        "kind": "conditional_release",
        "subject": {
            **subject,
            "possible_release_date": "2027-03-15",
            "intended_residence": {
                "address": "Žalgirio g. 5-12, Vilnius", "municipality": "vilniaus-m"},
        },
        "participants": [MUNICIPALITY],
    }  # fmt: skip
    care = {"kind": "social_care", "subject": subject, "participants": [COMMISSION]}
    made = {}
    for kind, body in (("release", release), ("care", care)):
        response = client.post("/v1/cases", json=body)
        response.raise_for_status()
        made[kind] = response.json()["id"]
    return made


def _items(client: httpx.Client, count: int) -> list[dict[str, Any]]:
    cases = _cases(client)
    examples = {t: client.get(f"/v1/document-types/{t}").json()["example"] for t in TYPES}
    items = []
    for n in range(count):
        type_id = TYPES[n % len(TYPES)]
        case_id = None if type_id in ("C", "M") else cases["release" if type_id == "A" else "care"]
        items.append({**examples[type_id], "case_id": case_id})
    return items


def _run_batch(
    client: httpx.Client, mode: str, items: list[dict[str, Any]], roots: list[int]
) -> BatchRun:
    cpu_before = cpu_by_part(roots)
    started_wall = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    created = client.post("/v1/batches", json={"documents": items, "sign": True})
    if created.status_code != 202:
        raise SystemExit(f"{mode}: the batch was refused: {created.text[:2000]}")
    batch_id = created.json()["id"]
    while True:
        batch = client.get(f"/v1/batches/{batch_id}").json()
        if batch["state"] != "running":
            break
        time.sleep(1.0)  # a DMS following its job; each look is an audited request
    seen_after = time.perf_counter() - started
    cpu_after = cpu_by_part(roots)
    if batch["counts"]["signed"] != len(items):
        raise SystemExit(f"{mode}: not every document was signed: {batch}")
    listed = client.get(f"/v1/batches/{batch_id}/documents").json()
    latencies = [
        (dt.datetime.fromisoformat(d["signed_at"]) - started_wall).total_seconds() for d in listed
    ]
    signatures = sum(len(d["signatures"]) for d in listed)
    cpu_ms = {k: 1000 * (cpu_after[k] - cpu_before[k]) / len(items) for k in cpu_after}
    return BatchRun(mode, len(items), max(latencies), seen_after, latencies, signatures, cpu_ms)


def _measure(
    services: list[RunningService], env: dict[str, str], mode: str, count: int
) -> BatchRun:
    headers = _director(env)
    roots = [service.process.pid for service in services]
    with httpx.Client(base_url=services[0].base_url, headers=headers, timeout=120) as client:
        _run_batch(client, f"{mode} warm-up", _items(client, WARM_UP), roots)
        run = _run_batch(client, mode, _items(client, count), roots)
    _report(run)
    return run


def _report(run: BatchRun) -> None:
    print(
        f"{run.mode:>12}: {run.documents} documents ({run.signatures} signatures) in "
        f"{run.seconds:6.1f} s = {run.rate:5.2f} docs/s (the job seen completed after "
        f"{run.seen_after:.1f} s); latency p50 {run.percentile(0.5):5.1f} s, "
        f"p95 {run.percentile(0.95):5.1f} s; CPU per document: LibreOffice "
        f"{run.cpu_ms['LibreOffice']:.0f} ms, the rest {run.cpu_ms['the rest']:.0f} ms"
    )


def embedded(root: Path, count: int) -> tuple[BatchRun, Path]:
    data_dir = root / "embedded"
    service = start_service(data_dir)
    try:
        env = {**os.environ, "TILTAS_DATA_DIR": str(data_dir)}
        return _measure([service], env, "embedded", count), data_dir
    finally:
        service.stop()


def distributed(root: Path, count: int) -> BatchRun:
    postgres, redis = start_postgres(), start_redis()
    hosts: list[RunningService] = []
    try:
        shared = {"TILTAS_DATABASE_URL": postgres.url(), "TILTAS_BROKER_URL": redis.url}
        store = root / "distributed"
        hosts.append(start_service(store, TILTAS_RUN_WORKER="false", TILTAS_RUN_BEAT="false",
                                   **shared))  # fmt: skip
        one_each = "convert=1,sign=1,webhooks=1,schedules=1,archival=1"
        for beat in ("true", "false"):
            hosts.append(start_service(store, serves_http=False, TILTAS_RUN_API="false",
                                       TILTAS_RUN_BEAT=beat, TILTAS_WORKER_QUEUES=one_each,
                                       **shared))  # fmt: skip
        env = {**os.environ, "TILTAS_DATA_DIR": str(store), **shared}
        return _measure(hosts, env, "distributed", count)
    finally:
        for host in reversed(hosts):
            host.stop()
        redis.stop()
        postgres.stop()


def stored_docx(data_dir: Path) -> list[bytes]:
    """The measured batch's documents rendered again to DOCX, from what the batch stored."""
    engine = make_engine(f"sqlite:///{(data_dir / 'tiltas.sqlite3').resolve()}")
    with transaction(make_sessionmaker(engine)) as session:
        rows = [
            (d.type_id, d.envelope, d.data) for d in session.query(Document).order_by(Document.id)
        ]
    engine.dispose()
    documents = []
    for type_id, envelope, data in rows[WARM_UP:]:
        kind, checked_envelope, checked_data = validate(type_id, envelope, data)
        documents.append(
            render_validated(kind, checked_envelope, checked_data, template_bytes(type_id))
        )
    return documents


def bare_pool(documents: list[bytes], root: Path) -> tuple[float, float]:
    """docs/s and CPU milliseconds per document (LibreOffice and the converters' helpers)."""
    pool = ConverterPool(ConverterPoolSettings(pool_size=2, profile_root=root / "bare-profiles"))
    pool.start()
    try:
        with ThreadPoolExecutor(4) as clients:
            list(clients.map(pool.convert, documents[:4]))  # each converter's first document
            before = sum(cpu_by_part([os.getpid()]).values())
            began = time.perf_counter()
            list(clients.map(pool.convert, documents))
            rate = len(documents) / (time.perf_counter() - began)
            after = sum(cpu_by_part([os.getpid()]).values())
    finally:
        pool.close()
    cpu_ms = 1000 * (after - before) / len(documents)
    print(
        f"{'bare pool':>12}: {len(documents)} documents converted at {rate:5.2f} docs/s; "
        f"{cpu_ms:.0f} ms CPU per document"
    )
    return rate, cpu_ms


def naive(documents: list[bytes], data_dir: Path, root: Path) -> float:
    """Cold soffice, then pyhanko's command line, per document, one after another. The
    embedded service's TSA and OCSP responders answer (the service must still be running)."""
    pki = ensure_dev_pki(data_dir.resolve())
    identity = next(iter(pki.signers.values()))
    tsa_url = pki.tsa_url
    passfile = root / "naive.pass"
    passfile.write_bytes(pki.pkcs12_password)
    profile = root / "naive-profile"
    convert_cold("soffice", documents[0], root / "naive-warm-up", profile)  # profile made once
    began = time.perf_counter()
    for n, docx in enumerate(documents):
        workdir = root / f"naive-{n}"
        convert_cold("soffice", docx, workdir, profile, keep=True)
        subprocess.run(
            [
                PYHANKO, "sign", "addsig", "--field", "parasas", "--use-pades", "--use-pades-lta",
                "--with-validation-info", "--timestamp-url", tsa_url,
                "--trust", str(pki.root_cert_path), "--trust-replace",
                "pkcs12", "--passfile", str(passfile),
                str(workdir / "letter.pdf"), str(workdir / "signed.pdf"), str(identity.pkcs12_path),
            ],
            check=True, capture_output=True,
        )  # fmt: skip
    rate = len(documents) / (time.perf_counter() - began)
    print(f"{'naive':>12}: {len(documents)} documents at {rate:5.3f} docs/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--naive", type=int, default=8, help="documents for the naive pipeline")
    parser.add_argument("--no-distributed", action="store_true", help="the embedded mode only")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="tiltas-bench-pipeline-") as folder:
        root = Path(folder)
        first, data_dir = embedded(root, args.documents)
        runs = [first] if args.no_distributed else [first, distributed(root, args.documents)]
        documents = stored_docx(data_dir)
        pool_rate, pool_cpu_ms = bare_pool(documents, root)
        service = start_service(data_dir)  # its TSA and OCSP for the naive signatures
        try:
            naive_rate = naive(documents[: args.naive], data_dir, root)
        finally:
            service.stop()
    print(f"load after: {os.getloadavg()[0]:.2f}")
    for run in runs:
        cpu_share = pool_cpu_ms / sum(run.cpu_ms.values())
        print(
            f"{run.mode}: {run.rate / naive_rate:5.1f}× the naive pipeline (target 30×), "
            f"{100 * run.rate / pool_rate:4.0f} % of the bare converter pool's rate (target "
            f"70 %); by CPU per document {100 * cpu_share:4.0f} % (what a busy machine gives)"
        )


if __name__ == "__main__":
    main()
