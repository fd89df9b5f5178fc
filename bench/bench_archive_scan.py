"""How long the daily archive renewal takes to scan the archive: first and later runs.

Builds a data folder with ``--documents`` signed documents (SQLite, file store), each a
distinct B-LTA PDF (a few signed protocols, each copy made distinct by a trailing comment, so
every copy is read and parsed as a stored version of its own), none of them due. Then runs
``tiltas archive renew --dry-run`` three times, each in a new process (as the command line and
a restarted worker do), and prints the wall time of each run. The first run must read each
document's last document timestamp; later runs should not need the PDFs at all.

Measured (2,000 documents, 2 cores shared with other work, load 1-10): before the expiries
were kept in the database every new process re-read every PDF (about 44 ms CPU each, pyHanko
parsing): 92-105 s per run at load 1-5 (547 s at load 10); now the first run reads them once
(298 s at load 9, about 90 s of CPU) and later runs take 2.3-2.5 s, mostly starting Python.

Run: PYTHONPATH=. .venv/bin/python bench/bench_archive_scan.py [--documents 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.bench_verification import make_documents
from tiltas.db import make_engine, make_sessionmaker, transaction
from tiltas.migrate import upgrade
from tiltas.models import Document, Organisation
from tiltas.storage import FileStore

SIGNED_PROTOCOLS = 4


def build_archive(data_dir: Path, count: int) -> None:
    protocols, _, responders = make_documents(SIGNED_PROTOCOLS, data_dir.parent / "signed")
    responders.stop()
    originals = [path.read_bytes() for path in protocols]
    url = f"sqlite:///{data_dir / 'tiltas.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    store = FileStore(data_dir / "documents")
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        author = Organisation(
            code="188000011", name="Alytaus pataisos namai", kind="correctional_institution",
            address="Pramonės g. 3, Alytus", email="info@apn.lt",
        )  # fmt: skip
        session.add(author)
        session.flush()
        for index in range(count):
            pdf = originals[index % len(originals)] + f"% kopija {index}\n".encode()
            sha256 = store.put(pdf)
            session.add(
                Document(
                    public_id=str(uuid.uuid4()), type_id="K", author_organisation_id=author.id,
                    status="signed", envelope={}, data={}, input_sha256="0" * 64,
                    template_version="0" * 64, pdf_sha256=sha256, pdf_size=len(pdf),
                    signed_at=now, signatures=[],
                )
            )  # fmt: skip
    engine.dispose()


def timed_scan(data_dir: Path) -> tuple[float, str]:
    environment = {
        **os.environ,
        "TILTAS_DATA_DIR": str(data_dir),
        "TILTAS_DEV_PKI_DIR": str(data_dir.parent / "signed" / "data"),
    }
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "cli", "archive", "renew", "--dry-run"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"tiltas archive renew failed: {result.stderr[-2000:]}")
    return elapsed, result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        build_archive(data_dir, args.documents)
        print(f"documents: {args.documents} signed B-LTA PDFs, none due")
        for run in ("first", "second", "third"):
            elapsed, summary = timed_scan(data_dir)
            print(f"{run} run (new process): {elapsed:6.2f} s  ({summary})")


if __name__ == "__main__":
    main()
