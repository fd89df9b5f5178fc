"""DOCX -> PDF/A-2b: the warm ConverterPool against a cold ``soffice --convert-to`` per document.

Both run in the same process on the same documents (Lithuanian letters of about one page, each with
its own marker), so the ratio is measured here and now, not against a remembered figure:

- warm: `templates.conversion.ConverterPool` (default size: one converter per core), fed by
  2 x pool_size client threads; pool start-up is reported but not counted;
- cold, serial: one ``soffice --headless --convert-to`` per document, one at a time, one reused
  profile (the usual script);
- cold, parallel: the same with pool_size documents at a time, each runner with its own profile.

    .venv/bin/python bench/bench_conversion.py [--documents 40] [--pool-size N]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from templates.conversion import ConverterPool, ConverterPoolSettings

PDFA_2B_FILTER = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'
FIXTURE = Path(__file__).resolve().parents[1] / "tests/templates/fixtures/lithuanian_docx.py"


def load_docx_builder() -> Callable[..., bytes]:
    spec = importlib.util.spec_from_file_location("lithuanian_docx_fixture", FIXTURE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    builder: Callable[..., bytes] = module.lithuanian_docx
    return builder


def group_cpu_seconds(process_groups: list[int]) -> float:
    """User + system CPU of the live processes in these groups (worker, oosplash, soffice.bin)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) in process_groups:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def bench_warm(documents: list[bytes], pool_size: int, root: Path) -> tuple[float, float, float]:
    """Returns (startup seconds, docs/s, CPU seconds per document)."""
    started = time.perf_counter()
    settings = ConverterPoolSettings(pool_size=pool_size, profile_root=root / "warm")
    with ConverterPool(settings) as pool:
        startup = time.perf_counter() - started
        pool.convert(documents[0])  # first conversion loads the Writer and PDF modules
        groups = [c.process_group for c in pool.status().converters if c.process_group]
        cpu_before = group_cpu_seconds(groups)
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2 * pool_size) as clients:
            pdfs = list(clients.map(pool.convert, documents))
        elapsed = time.perf_counter() - began
        cpu = group_cpu_seconds(groups) - cpu_before
        assert pool.status().restarts == 0, "a converter was restarted during the benchmark"
    assert all(pdf.startswith(b"%PDF-") for pdf in pdfs)
    return startup, len(documents) / elapsed, cpu / len(documents)


def convert_cold(
    soffice: str, docx: bytes, workdir: Path, profile: Path, *, keep: bool = False
) -> None:
    """One ``soffice --convert-to`` PDF/A-2b: ``workdir/letter.pdf`` (kept if ``keep``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    source = workdir / "letter.docx"
    source.write_bytes(docx)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            PDFA_2B_FILTER,
            "--outdir",
            str(workdir),
            str(source),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )
    pdf = (workdir / "letter.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    if not keep:
        (workdir / "letter.pdf").unlink()


def bench_cold(soffice: str, documents: list[bytes], parallel: int, root: Path) -> float:
    """docs/s with one soffice start per document, ``parallel`` at a time (own profiles)."""
    profiles = [root / f"cold-profile-{n}" for n in range(parallel)]
    for n, profile in enumerate(profiles):  # create the profiles first, as a script's reused one
        convert_cold(soffice, documents[0], root / f"cold-warmup-{n}", profile)

    def run(index: int) -> None:
        runner = index % parallel
        convert_cold(soffice, documents[index], root / f"cold-{runner}", profiles[runner])

    began = time.perf_counter()
    if parallel == 1:
        for index in range(len(documents)):
            run(index)
    else:
        # Runner n takes documents n, n + parallel, ...: never two at once on one profile.
        def run_lane(first: int) -> None:
            for index in range(first, len(documents), parallel):
                run(index)

        with ThreadPoolExecutor(max_workers=parallel) as runners:
            list(runners.map(run_lane, range(parallel)))
    return len(documents) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--pool-size", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--soffice", default="soffice")
    arguments = parser.parse_args()

    lithuanian_docx = load_docx_builder()
    documents = [lithuanian_docx(f"DOKUMENTAS-{n:03d}") for n in range(arguments.documents)]
    root = Path(tempfile.mkdtemp(prefix="tiltas-bench-conversion-"))
    try:
        startup, warm, cpu_per_document = bench_warm(documents, arguments.pool_size, root)
        cold_serial = bench_cold(arguments.soffice, documents, 1, root)
        cold_parallel = bench_cold(arguments.soffice, documents, arguments.pool_size, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    size = arguments.pool_size
    print(f"documents: {len(documents)}, cores: {os.cpu_count()}, pool size: {size}")
    print(f"warm pool ({size} converters):   {warm:6.2f} docs/s  (start-up {startup:.1f} s, "
          f"{cpu_per_document * 1000:.0f} ms CPU per document)")  # fmt: skip
    print(f"cold soffice, 1 at a time:   {cold_serial:6.2f} docs/s")
    print(f"cold soffice, {size} at a time:   {cold_parallel:6.2f} docs/s")
    print(f"ratio warm / cold serial:    {warm / cold_serial:6.1f}x")
    print(f"ratio warm / cold parallel:  {warm / cold_parallel:6.1f}x")


if __name__ == "__main__":
    main()
