"""Soak: many documents through the whole pipeline with memory sampled (issue 9, part 4).

Starts a PostgreSQL in a temporary folder and a real ``tiltas serve`` on it (API, workers,
beat, embedded broker, LibreOffice converters, the development TSA/OCSP), with its own
``TMPDIR``. Opens one social-care case per document, then asks for ``--documents`` protocols
K in batches of up to 500 (``POST /v1/batches``, signed by chair and secretary: two B-LTA
signatures each) and follows them to the end. Every ``--interval`` seconds it samples the
resident memory (RSS) of every process of the service by kind (API, each worker, converter
workers, soffice, broker, beat …) and counts the soffice processes.

    .venv/bin/python bench/soak_pipeline.py [--documents 2000] [--interval 10] [--json out]

Prints the samples' summary: RSS per kind at the first sample with documents done, at the
end and at its maximum, growth over the second half of the run, the soffice count (min/max
against the pool size), and after the service stopped: soffice processes left, converter
profiles and temporary files left, and the store (every file matches its checksum, every
document's files present, the audit chain intact). Exit status 1 when a document failed,
the soffice count ever exceeded the pool size, or anything was left behind.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load_api import load_average, postgres_database
from tests.faults.stack import COMMISSION, INSTITUTION, open_organisations
from tests.support.factories import personal_code

MAX_BATCH = 500


# ------------------------------------------------------------------ processes and their memory


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    rss_kb: int
    argv: list[str]


def processes() -> dict[int, Process]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss = int(fields.get("VmRSS", "0 kB").split()[0])
        found[int(entry.name)] = Process(
            int(entry.name),
            int(fields["PPid"]),
            rss,
            [a.decode(errors="replace") for a in argv if a],
        )
    return found


def descendants(root: int, table: dict[int, Process]) -> list[Process]:
    children: dict[int, list[int]] = defaultdict(list)
    for process in table.values():
        children[process.ppid].append(process.pid)
    tree, found = [root], []
    for pid in tree:
        tree.extend(children.get(pid, []))
        if pid in table:
            found.append(table[pid])
    return found


def kind_of(process: Process, table: dict[int, Process]) -> str:
    """What a process of the service is, from its command line (a pool process of a worker
    counts as that worker)."""
    text = " ".join(process.argv)
    if "soffice.bin" in text:
        return "soffice"
    if "oosplash" in text:
        return "oosplash"
    if "converter_worker.py" in text:
        return "converter worker"
    parent = table.get(process.ppid)
    if "uvicorn" in text or (parent is not None and "uvicorn" in " ".join(parent.argv)):
        return "API"  # uvicorn and the processes it spawns (one per API process)
    if "redis-server" in text:
        return "broker"
    if "cli.dev_responders" in text:
        return "TSA/OCSP"
    if "celery" in text and " beat" in text:
        return "beat"
    if "celery" in text and " worker" in text:
        queues = process.argv[process.argv.index("--queues") + 1] if "--queues" in text else ""
        pool = parent is not None and "celery" in " ".join(parent.argv)
        return f"worker {queues}{' pool' if pool else ''}".strip()
    if "cli" in process.argv and "serve" in process.argv:
        return "supervisor"
    return process.argv[0].rsplit("/", 1)[-1] if process.argv else "?"


@dataclass
class Sample:
    at_s: float
    done: int
    rss_mb: dict[str, float]
    """Per kind: the sum over its processes."""
    count: dict[str, int]
    soffice_pids: frozenset[int]
    files: dict[str, int]
    """Converter profiles and temporary files present."""


def files_present(folder: Path, profiles: Path) -> dict[str, int]:
    return {
        "converter profiles": len(list(profiles.glob("converter-*"))) if profiles.exists() else 0,
        "temporary files": sum(1 for p in (folder / "tmp").rglob("*") if p.is_file()),
    }


def sample(root: int, started: float, done: int, files: dict[str, int]) -> Sample:
    table = processes()
    rss: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    soffice = set()
    for process in descendants(root, table):
        kind = kind_of(process, table)
        rss[kind] += process.rss_kb / 1024
        count[kind] += 1
        if kind == "soffice":
            soffice.add(process.pid)
    return Sample(
        time.monotonic() - started, done, dict(rss), dict(count), frozenset(soffice), files
    )


# ------------------------------------------------------------------ the run


@dataclass
class SoakReport:
    documents: int
    seconds: float = 0.0
    signed: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    pool_size: int = 0
    left_behind: dict[str, int] = field(default_factory=dict)
    left_names: list[str] = field(default_factory=list)
    store: dict[str, Any] = field(default_factory=dict)
    load: list[str] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return sorted({k for s in self.samples for k in s.rss_mb})

    def summary(self) -> dict[str, dict[str, float]]:
        """RSS per kind: first sample with work done, end, maximum, and the growth over the
        second half of the run (end minus the sample nearest half the documents)."""
        working = [s for s in self.samples if s.done > 0] or self.samples
        half = min(working, key=lambda s: abs(s.done - self.documents / 2))
        result = {}
        for kind in self.kinds():
            values = [s.rss_mb.get(kind, 0.0) for s in working]
            result[kind] = {
                "start_mb": values[0],
                "end_mb": values[-1],
                "max_mb": max(values),
                "second_half_growth_mb": values[-1] - half.rss_mb.get(kind, 0.0),
                "processes_max": max(s.count.get(kind, 0) for s in working),
            }
        return result

    def soffice_counts(self) -> tuple[int, int, int]:
        counts = [s.count.get("soffice", 0) for s in self.samples[1:]] or [0]
        distinct = len(frozenset().union(*(s.soffice_pids for s in self.samples)))
        return min(counts), max(counts), distinct

    def problems(self) -> list[str]:
        found = []
        if self.signed != self.documents:
            found.append(f"{self.documents - self.signed} documents not signed")
        if self.failed:
            found.append(f"{len(self.failed)} documents failed, first: {self.failed[0]}")
        _, highest, _ = self.soffice_counts()
        if highest > self.pool_size:
            found.append(f"{highest} soffice processes for a pool of {self.pool_size}")
        found += [
            f"{count} {what} left behind"
            for what, count in self.left_behind.items()
            # A worker's converters are killed, not closed, when tiltas serve stops: their
            # folders stay until the next start removes them (counted, not a failure).
            if count and what != "converter profiles"
        ]
        if not self.store.get("ok", False):
            found.append(f"store: {self.store}")
        return found

    def table(self) -> str:
        lowest, highest, distinct = self.soffice_counts()
        lines = [
            f"{self.signed}/{self.documents} documents signed (2 signatures each) in "
            f"{self.seconds / 60:.1f} min ({self.documents / max(self.seconds, 1) * 60:.0f}/min); "
            f"{len(self.samples)} samples",
            f"load average at start, middle, end: {' | '.join(self.load)}",
            f"{'process kind':28} {'start MB':>9} {'end MB':>9} {'max MB':>9} "
            f"{'2nd half':>9} {'procs':>6}",
        ]
        for kind, f in self.summary().items():
            lines.append(
                f"{kind:28} {f['start_mb']:9.1f} {f['end_mb']:9.1f} {f['max_mb']:9.1f} "
                f"{f['second_half_growth_mb']:+9.1f} {int(f['processes_max']):6d}"
            )
        lines.append(
            f"soffice processes: {lowest}–{highest} (pool size {self.pool_size}); "
            f"{distinct} distinct over the run"
        )
        for what in ("converter profiles", "temporary files"):
            seen = [s.files[what] for s in self.samples]
            lines.append(f"{what} while running: {min(seen)}–{max(seen)}, at the end {seen[-1]}")
        lines.append(
            "left behind after stop: "
            + ", ".join(f"{what} {count}" for what, count in self.left_behind.items())
            + (f" ({', '.join(self.left_names)})" if self.left_names else "")
        )
        lines.append(f"store: {self.store}")
        lines.extend(f"PROBLEM: {p}" for p in self.problems())
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        lowest, highest, distinct = self.soffice_counts()
        return {
            "documents": self.documents,
            "signed": self.signed,
            "failed": len(self.failed),
            "seconds": self.seconds,
            "per_minute": self.documents / max(self.seconds, 1) * 60,
            "rss": self.summary(),
            "soffice": {"min": lowest, "max": highest, "distinct": distinct},
            "pool_size": self.pool_size,
            "left_behind": self.left_behind,
            "store": self.store,
            "load": self.load,
            "problems": self.problems(),
            "samples": [
                {
                    "at_s": round(s.at_s, 1),
                    "done": s.done,
                    "rss_mb": s.rss_mb,
                    "count": s.count,
                    "files": s.files,
                }
                for s in self.samples
            ],
        }


def _care_case(serial: int) -> dict[str, Any]:
    return {
        "kind": "social_care",
        "subject": {
            "first_name": "Petras",
            "last_name": f"Šimkus{serial}",
            "personal_code": personal_code(3, "520709", f"{serial % 1000:03d}"),
            "institution_code": INSTITUTION,
        },
        "participants": [COMMISSION],
    }


def _open_cases(base_url: str, key: str, count: int) -> list[str]:
    headers = {"Authorization": f"Bearer {key}"}
    local = threading.local()

    def open_one(serial: int) -> str:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base_url, headers=headers, timeout=60)
        created = local.client.post("/v1/cases", json=_care_case(serial))
        created.raise_for_status()
        return str(created.json()["id"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(open_one, range(count)))


def _submit(client: httpx.Client, case_ids: list[str]) -> list[str]:
    example = client.get("/v1/document-types/K").json()["example"]
    batch_ids = []
    for start in range(0, len(case_ids), MAX_BATCH):
        items = [{**example, "case_id": c} for c in case_ids[start : start + MAX_BATCH]]
        answer = client.post("/v1/batches", json={"documents": items, "sign": True})
        if answer.status_code != 202:
            raise RuntimeError(f"batch refused: {answer.status_code} {answer.text[:500]}")
        batch_ids.append(str(answer.json()["id"]))
    return batch_ids


def _progress(client: httpx.Client, batch_ids: list[str]) -> tuple[int, int, bool]:
    signed = failed = 0
    running = False
    for batch_id in batch_ids:
        view = client.get(f"/v1/batches/{batch_id}").json()
        signed += view["counts"].get("signed", 0)
        failed += view["counts"].get("failed", 0)
        running = running or view["state"] == "running"
    return signed, failed, running


def _check_store(data_dir: Path, database_url: str) -> dict[str, Any]:
    from sqlalchemy import select

    from tiltas.audit import verify_chain
    from tiltas.db import make_engine, make_sessionmaker, transaction
    from tiltas.models import Document
    from tiltas.storage import FileStore

    store = FileStore((data_dir / "documents").resolve())
    files = [p for p in store.root.rglob("*") if p.is_file()]
    corrupt = [p.name for p in files if hashlib.sha256(p.read_bytes()).hexdigest() != p.name]
    partial = [p.name for p in files if p.name.startswith(".partial-")]
    engine = make_engine(database_url)
    missing = 0
    with transaction(make_sessionmaker(engine)) as session:
        for document in session.scalars(select(Document)):
            for sha256 in [document.pdf_sha256, *(s["pdf_sha256"] for s in document.signatures)]:
                if sha256 and not store.path_for(sha256).exists():
                    missing += 1
        chain = verify_chain(session)
    engine.dispose()
    ok = not corrupt and not partial and not missing and chain.ok
    return {
        "ok": ok,
        "files": len(files),
        "corrupt": len(corrupt),
        "partial": len(partial),
        "missing": missing,
        "audit_entries": chain.entries,
        "audit_chain_ok": chain.ok,
    }


def _left_behind(folder: Path, profiles: Path) -> tuple[dict[str, int], list[str]]:
    """After the service stopped: its soffice processes, converter profiles, temporary files
    (counts, and the names of the first few)."""
    table = processes()
    ours = [
        p
        for p in table.values()
        if "soffice" in " ".join(p.argv) and str(folder) in " ".join(p.argv)
    ]
    left_profiles = list(profiles.glob("converter-*")) if profiles.exists() else []
    temporary = [p for p in (folder / "tmp").rglob("*") if p.is_file()]
    counts = {
        "soffice processes": len(ours),
        "converter profiles": len(left_profiles),
        "temporary files": len(temporary),
    }
    names = [str(p.relative_to(folder)) for p in [*left_profiles, *temporary][:10]]
    return counts, names


def soak(documents: int, interval: float, database_url: str | None) -> SoakReport:
    from tests.support.servers import wait_for
    from tests.support.service import start_service
    from tiltas.migrate import upgrade
    from tiltas.settings import Settings

    report = SoakReport(documents)
    with (
        postgres_database(database_url) as (url, _),
        tempfile.TemporaryDirectory(prefix="tiltas-soak-") as folder_name,
    ):
        folder = Path(folder_name)
        (folder / "tmp").mkdir()
        upgrade(url)
        data_dir = folder / "data"
        service = start_service(data_dir, TILTAS_DATABASE_URL=url, TMPDIR=str(folder / "tmp"))
        settings = Settings(data_dir=data_dir)
        try:
            director_key, commission_key = open_organisations(url)
            print(f"opening {documents} cases …", flush=True)
            case_ids = _open_cases(service.base_url, director_key, documents)
            wait_for(lambda: " ready." in service.log(), 120, "the workers")
            with httpx.Client(
                base_url=service.base_url,
                headers={"Authorization": f"Bearer {commission_key}"},
                timeout=120,
            ) as client:
                started = time.monotonic()
                profiles = settings.resolved_converter_profile_dir

                def take(done: int) -> Sample:
                    files = files_present(folder, profiles)
                    return sample(service.process.pid, started, done, files)

                report.samples.append(take(0))
                report.load.append(load_average())
                batch_ids = _submit(client, case_ids)
                print(f"{len(batch_ids)} batches submitted", flush=True)
                running = True
                while running:
                    time.sleep(interval)
                    signed, failed, running = _progress(client, batch_ids)
                    report.samples.append(take(signed + failed))
                    if len(report.load) == 1 and signed + failed >= documents / 2:
                        report.load.append(load_average())
                    last = report.samples[-1]
                    print(
                        f"{last.at_s:7.0f} s  {signed + failed:5d}/{documents} done  "
                        f"soffice {last.count.get('soffice', 0)}  "
                        f"profiles {last.files['converter profiles']}  "
                        f"tmp files {last.files['temporary files']}  "
                        + "  ".join(f"{k} {v:.0f}" for k, v in sorted(last.rss_mb.items())),
                        flush=True,
                    )
                report.seconds = time.monotonic() - started
                report.load.append(load_average())
                report.signed = signed
                for batch_id in batch_ids:
                    view = client.get(f"/v1/batches/{batch_id}").json()
                    report.failed.extend(view["failures"])
            workers = [
                k for k in report.samples[-1].count if k.startswith("worker") and "pool" in k
            ]
            converting = [k for k in workers if "convert" in k] or workers
            report.pool_size = settings.converter_pool_size * sum(
                report.samples[-1].count[k] for k in converting
            )
        finally:
            code = service.stop()
        if code != 0:
            report.failed.append({"message": f"tiltas serve stopped with {code}"})
        report.left_behind, report.left_names = _left_behind(
            folder, settings.resolved_converter_profile_dir
        )
        report.store = _check_store(data_dir, url)
    return report


def main(argv: list[str] | None = None) -> int:
    # Stopped with SIGTERM, the run still stops its service and database (``finally``).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: a new one)")
    parser.add_argument("--json", type=Path, help="also write the summary and samples here")
    args = parser.parse_args(argv)
    report = soak(args.documents, args.interval, args.database_url)
    print(report.table())
    if args.json:
        args.json.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    return 1 if report.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
