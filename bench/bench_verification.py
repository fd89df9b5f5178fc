"""Verifications per second of our B-LTA documents: the Verifier vs `pyhanko sign validate`.

Baseline: the pyHanko command line, one process per file, as an archivist would script it
(``pyhanko sign validate --trust ROOT --trust-replace FILE``, requires ``pyhanko-cli``).
Ours: one long-lived :class:`signing.verification.Verifier` (supervised worker processes,
pyHanko preloaded, full AdES-LTA + modification analysis + PDF-LT findings per document).
Both run in the same process run, on the same signed documents, with the dev responders up
(the CLI may fetch revocation data; ours reads the DSS only). Same concurrency on both sides.

Run: .venv/bin/python bench/bench_verification.py [--documents 12] [--workers 2]
"""

from __future__ import annotations

import argparse
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
from signing.service import SigningService, prepare_signature_fields
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


def run_cli(path: Path, root: Path, pyhanko: str) -> bool:
    result = subprocess.run(
        [pyhanko, "sign", "validate", "--trust", str(root), "--trust-replace", str(path)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def timed_rate(
    count: int, workers: int, job: Callable[[int], object]
) -> tuple[float, list[object]]:
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(job, range(count)))
    return count / (time.perf_counter() - start), results


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
            cli_rate, cli_ok = timed_rate(
                len(paths), args.workers, lambda i: run_cli(paths[i], root, pyhanko)
            )
            with Verifier(workers=args.workers) as verifier:
                for path in start_up:  # start the workers (once per process)
                    verifier.verify(path.read_bytes(), policy)
                ours_rate, reports = timed_rate(
                    len(documents), args.workers, lambda i: verifier.verify(documents[i], policy)
                )
        finally:
            responders.stop()
    passed = sum(1 for r in reports if getattr(r, "indication", None) is Indication.TOTAL_PASSED)
    print(f"documents: {len(paths)} B-LTA PDFs with 2 signatures + 2 document timestamps each")
    print(f"concurrency: {args.workers}")
    print(
        f"pyhanko sign validate (CLI per file): {cli_rate:6.2f} docs/s  "
        f"({sum(map(bool, cli_ok))}/{len(cli_ok)} exit 0)"
    )
    print(
        f"Verifier (AdES-LTA + reports):        {ours_rate:6.2f} docs/s  "
        f"({passed}/{len(reports)} TOTAL-PASSED)"
    )
    print(f"ratio: {ours_rate / cli_rate:.1f}x")


if __name__ == "__main__":
    main()
