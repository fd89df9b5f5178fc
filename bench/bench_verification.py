"""Verifications per second of our B-LTA documents: the Verifier vs pyHanko's command line.

Same run, same documents (protocols with two approval signatures, each B-T, then validation
data and a document timestamp after each: two document timestamps), same trust root (the
development PKI's root), same concurrency on both sides, dev responders up throughout.

Baseline (the issue's): ``pyhanko sign validate --trust ROOT --trust-replace FILE``, one
process per file as an archivist would script it (requires ``pyhanko-cli``). Per approval
signature it checks the CMS signature, the signer's chain at the current time with revocation
data it fetches online from the dev OCSP responder, the signature timestamp and the
modification analysis of later revisions; it does not validate the document timestamps on
their own, does no AdES long-term (past) validation and writes no report.
Second line, for comparison of like with like: ``pyhanko sign adesverify`` (AdES-LTA per
approval signature, evidence record from the document timestamps, revocation data from the
DSS and online).

Ours: one long-lived :class:`signing.verification.Verifier` (supervised worker processes,
pyHanko preloaded): per document the full ETSI EN 319 102-1 AdES-LTA validation of every
signature, each document timestamp validated on its own, the modification analysis of every
signature and timestamp, revocation data from the DSS only (no network), PDF/A and PDF-LT
findings, and the report object. Each worker first verifies one document of its own: a
document verified twice would be measured warm.

The three take turns, ``--workers`` documents at a time, so that a burst of other work on a
shared machine slows each of them alike. Besides the rates (the ratio the issue asks for) the
bench prints the CPU seconds per document of each side — the command line processes, and our
worker processes (read from /proc) — which move much less with the machine's load; the CLI's
waiting for the OCSP responder, and the responder's own CPU, are not in its figure.

Run: PYTHONPATH=. .venv/bin/python bench/bench_verification.py [--documents 12] [--workers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pikepdf

from signing.config import (
    Pkcs12KeySource,
    SignatureFieldSpec,
    SignatureRequest,
    SignerKeyConfig,
    SigningConfig,
    TimestampAuthority,
)
from signing.dev_pki import DEV_NOT_QUALIFIED_TEXT, ensure_dev_pki
from signing.dev_responders import DevResponders
from signing.service import SigningService
from signing.signature_fields import prepare_signature_fields
from signing.verification import Indication, VerificationPolicy, Verifier


def sample_pdfa(index: int) -> bytes:
    pdf = pikepdf.new()
    for _ in range(2):
        pdf.add_blank_page(page_size=(595, 842))
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
        meta["dc:title"] = f"Komisijos posėdžio protokolas Nr. {index}"
    from io import BytesIO

    out = BytesIO()
    pdf.save(out)
    return out.getvalue()


def make_documents(count: int, directory: Path) -> tuple[list[Path], Path, DevResponders]:
    pki = ensure_dev_pki(directory / "data")
    responders = DevResponders(pki).start()
    keys = tuple(
        SignerKeyConfig(
            "188000000",
            label,
            Pkcs12KeySource(i.pkcs12_path, pki.pkcs12_password),
            i.full_name,
            i.position,
        )
        for label, i in pki.signers.items()
    )
    config = SigningConfig(
        timestamp_authorities=(TimestampAuthority(responders.tsa_url),),
        trust_roots=(pki.root_cert_path,),
        keys=keys,
        stamp_notice=DEV_NOT_QUALIFIED_TEXT,
    )
    paths: list[Path] = []
    with SigningService(config) as service:
        for index in range(count):
            pdf = prepare_signature_fields(
                sample_pdfa(index),
                [
                    SignatureFieldSpec("pirmininkas", 0, (60, 60, 290, 150)),
                    SignatureFieldSpec("sekretorius", 0, (300, 60, 530, 150)),
                ],
            )
            for field, role in (
                ("pirmininkas", "rasa-kazlauskiene"),
                ("sekretorius", "jonas-petrauskas"),
            ):
                pdf = service.sign_pades(
                    pdf, service.signer_for("188000000", role), SignatureRequest(field, "Tvirtinu")
                )
            path = directory / f"K-{index:03d}.pdf"
            path.write_bytes(pdf)
            paths.append(path)
    return paths, pki.root_cert_path, responders


def run_cli(path: Path, root: Path, pyhanko: str, command: str = "validate") -> bool:
    result = subprocess.run(
        [pyhanko, "sign", command, "--trust", str(root), "--trust-replace", str(path)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


class Side:
    """One side of the comparison: its job per document, time and CPU spent, results."""

    def __init__(self, job: Callable[[int], object], cpu: Callable[[], float]) -> None:
        self.job = job
        self.cpu = cpu
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.results: list[object] = []

    def run(self, indices: list[int]) -> None:
        cpu, start = self.cpu(), time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(indices)) as pool:
            self.results.extend(pool.map(self.job, indices))
        self.seconds += time.perf_counter() - start
        self.cpu_seconds += self.cpu() - cpu

    @property
    def rate(self) -> float:
        return len(self.results) / self.seconds


def interleaved(count: int, workers: int, sides: list[Side]) -> None:
    """Each side in turn on the same ``workers`` documents at a time: a burst of other work on
    a shared machine then slows every side alike, not just the one running at that moment."""
    for start in range(0, count, workers):
        indices = list(range(start, min(start + workers, count)))
        for side in sides:
            side.run(indices)


def children_cpu() -> float:
    """CPU seconds of the command-line processes this process ran and waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def verifier_cpu() -> float:
    """CPU seconds of the live verification worker processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for process in multiprocessing.active_children():
        if process.name != "tiltas-verification":
            continue
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    pyhanko = shutil.which("pyhanko") or str(Path(sys.executable).with_name("pyhanko"))
    if not Path(pyhanko).exists():
        sys.exit("pyhanko CLI not found: pip install pyhanko-cli")
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        made, root, responders = make_documents(args.documents + args.workers, Path(tmp))
        # start-up documents of their own: a document verified twice would be measured warm
        paths, start_up = made[: args.documents], made[args.documents :]
        try:
            documents = [path.read_bytes() for path in paths]
            policy = VerificationPolicy.from_files([root])
            validate = Side(lambda i: run_cli(paths[i], root, pyhanko), children_cpu)
            adesverify = Side(
                lambda i: run_cli(paths[i], root, pyhanko, "adesverify"), children_cpu
            )
            with Verifier(workers=args.workers) as verifier:
                for path in start_up:  # start the workers (once per process)
                    verifier.verify(path.read_bytes(), policy)
                ours = Side(lambda i: verifier.verify(documents[i], policy), verifier_cpu)
                interleaved(len(paths), args.workers, [validate, adesverify, ours])
        finally:
            responders.stop()
    passed = sum(
        1 for r in ours.results if getattr(r, "indication", None) is Indication.TOTAL_PASSED
    )
    count = len(paths)
    print(f"documents: {count} B-LTA PDFs with 2 signatures + 2 document timestamps each")
    print(f"concurrency: {args.workers} (the sides take turns, {args.workers} documents each)")
    for label, side in (
        ("pyhanko sign validate (CLI per file):  ", validate),
        ("pyhanko sign adesverify (CLI per file):", adesverify),
    ):
        print(f"{label} {side.rate:6.2f} docs/s  ({sum(map(bool, side.results))}/{count} exit 0)")
    print(
        f"Verifier (AdES-LTA + reports):          {ours.rate:6.2f} docs/s  "
        f"({passed}/{count} TOTAL-PASSED)"
    )
    print(
        f"ratio: {ours.rate / validate.rate:.1f}x (vs sign validate), "
        f"{ours.rate / adesverify.rate:.1f}x (vs sign adesverify)"
    )
    # CPU per document is steadier than the rates on a shared machine; the CLI's time spent
    # waiting for the OCSP responder (and the responder's own CPU) is not in its figure.
    mine = max(ours.cpu_seconds, 1e-9)
    print(
        f"CPU s/doc: sign validate {validate.cpu_seconds / count:.3f}, adesverify "
        f"{adesverify.cpu_seconds / count:.3f}, Verifier workers {ours.cpu_seconds / count:.3f} "
        f"(ratio {validate.cpu_seconds / mine:.1f}x, {adesverify.cpu_seconds / mine:.1f}x)"
    )


if __name__ == "__main__":
    main()
