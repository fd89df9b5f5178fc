"""Per-document PAdES B-LTA cost: the cached SigningService vs `pyhanko sign addsig` on the
command line (one process per document, as a script would do), and vs stock in-process pyHanko.

Command line: ``pyhanko sign addsig --field parasas --use-pades --use-pades-lta
--with-validation-info --timestamp-url TSA --trust ROOT --trust-replace pkcs12 IN OUT P12``
(PAdES B-LTA, same key and TSA; requires ``pyhanko-cli``).

Stock: per document, PKCS#12 reloaded (SimpleSigner), new ValidationContext with fetching,
new HTTPTimeStamper without a shared session, pyHanko's sync ``sign_pdf`` (own event loop,
dry-run size estimate). Cached: one SigningService (key cache, one TSA client with a shared
session, revocation cache + fresh offline context per document, explicit bytes_reserved).
A last row signs with the service and a visible stamp, as the pipeline does.
Both run in the same process against the same local certomancer TSA/OCSP responders, whose
CPU cost is included in the figures.

Run: .venv/bin/python bench/bench_signing.py [--documents 20]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import pikepdf
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper
from pyhanko_certvalidator import ValidationContext

from signing.config import (
    Pkcs12KeySource,
    SignatureFieldSpec,
    SignatureRequest,
    SignerKeyConfig,
    SigningConfig,
    TimestampAuthority,
)
from signing.dev_pki import DEV_NOT_QUALIFIED_TEXT, DevPki, ensure_dev_pki
from signing.dev_responders import DevResponders
from signing.keys import load_certificates
from signing.service import SigningService

SIGNER_LABEL = "rasa-kazlauskiene"


def sample_pdfa(pages: int = 2) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
    out = BytesIO()
    pdf.save(out)
    return out.getvalue()


def stock_sign(pki: DevPki, tsa_url: str, pdf: bytes) -> bytes:
    identity = pki.signers[SIGNER_LABEL]
    signer = signers.SimpleSigner.load_pkcs12(
        str(identity.pkcs12_path), passphrase=pki.pkcs12_password
    )
    assert signer is not None
    context = ValidationContext(
        trust_roots=load_certificates([pki.root_cert_path]), allow_fetching=True
    )
    metadata = signers.PdfSignatureMetadata(
        field_name="parasas",
        reason="Bench",
        name=identity.full_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True,
        use_pades_lta=True,
        validation_context=context,
    )
    pdf_signer = signers.PdfSigner(
        metadata,
        signer,
        timestamper=HTTPTimeStamper(tsa_url),
        new_field_spec=fields.SigFieldSpec("parasas"),
    )
    out: BytesIO = pdf_signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)))
    return out.getvalue()


def cli_sign(pki: DevPki, tsa_url: str, pdf_path: Path, out_path: Path, pyhanko: str) -> bytes:
    identity = pki.signers[SIGNER_LABEL]
    passfile = pdf_path.with_suffix(".pass")
    passfile.write_bytes(pki.pkcs12_password)
    # The same key, TSA and trust root as the service; B-LTA with validation data.
    subprocess.run(
        [
            pyhanko, "sign", "addsig", "--field", "parasas", "--use-pades", "--use-pades-lta",
            "--with-validation-info", "--timestamp-url", tsa_url,
            "--trust", str(pki.root_cert_path), "--trust-replace",
            "pkcs12", "--passfile", str(passfile),
            str(pdf_path), str(out_path), str(identity.pkcs12_path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return out_path.read_bytes()


def _cpu_seconds() -> float:
    """This process (with the TSA/OCSP threads) and its finished children (the CLI)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def measure(label: str, documents: int, sign_one: Callable[[], bytes]) -> tuple[float, float]:
    """Documents per second and CPU milliseconds per document."""
    sign_one()  # warm-up: imports, first OCSP fetch, font load
    wall_start, cpu_start = time.perf_counter(), _cpu_seconds()
    for _ in range(documents):
        sign_one()
    wall = time.perf_counter() - wall_start
    cpu = _cpu_seconds() - cpu_start
    rate = documents / wall
    print(
        f"{label:>8}: {documents} docs in {wall:6.2f} s = {rate:6.2f} docs/s; "
        f"{1000 * wall / documents:6.1f} ms wall, {1000 * cpu / documents:6.1f} ms CPU per doc"
    )
    return rate, 1000 * cpu / documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument(
        "--conversion-cpu-ms",
        type=float,
        default=None,
        help="LibreOffice CPU per document from bench_conversion.py, to print the CPU share",
    )
    args = parser.parse_args()
    pyhanko = shutil.which("pyhanko") or str(Path(sys.executable).with_name("pyhanko"))
    if not Path(pyhanko).exists():
        sys.exit("pyhanko CLI not found: pip install pyhanko-cli")

    with tempfile.TemporaryDirectory(prefix="tiltas-bench-") as data_dir:
        pki = ensure_dev_pki(Path(data_dir))
        pdf = sample_pdfa()
        with DevResponders(pki) as responders:
            identity = pki.signers[SIGNER_LABEL]
            config = SigningConfig(
                timestamp_authorities=(TimestampAuthority(responders.tsa_url),),
                trust_roots=(pki.root_cert_path,),
                keys=(
                    SignerKeyConfig(
                        "188000000",
                        SIGNER_LABEL,
                        Pkcs12KeySource(identity.pkcs12_path, pki.pkcs12_password),
                        identity.full_name,
                        identity.position,
                    ),
                ),
                stamp_notice=DEV_NOT_QUALIFIED_TEXT,
            )
            request = SignatureRequest("parasas", "Bench", new_field=SignatureFieldSpec("parasas"))
            pdf_path = Path(data_dir) / "in.pdf"
            pdf_path.write_bytes(pdf)
            out_path = Path(data_dir) / "out.pdf"
            cli_rate, _ = measure(
                "cli",
                max(3, args.documents // 4),
                lambda: cli_sign(pki, responders.tsa_url, pdf_path, out_path, pyhanko),
            )
            stock_rate, _ = measure(
                "stock", args.documents, lambda: stock_sign(pki, responders.tsa_url, pdf)
            )
            with SigningService(config) as service:
                signer = service.signer_for("188000000", SIGNER_LABEL)
                cached_rate, cached_cpu_ms = measure(
                    "cached",
                    args.documents,
                    lambda: service.sign_pades(pdf, signer, request),
                )
                # What the pipeline makes: a visible stamp in Lithuanian (the rows above sign
                # invisibly, as the command line does with a bare field name).
                stamped = SignatureRequest(
                    "parasas",
                    "Bench",
                    new_field=SignatureFieldSpec("parasas", box=(50, 36, 290, 98)),
                )
                measure("stamped", args.documents, lambda: service.sign_pades(pdf, signer, stamped))
                print(f"revocation fetches by the cached service: {service.revocation.fetch_count}")
    print(f"ratio cached/cli: {cached_rate / cli_rate:.1f}x (target 30x)")
    print(f"ratio cached/stock: {cached_rate / stock_rate:.1f}x")
    if args.conversion_cpu_ms:
        share = cached_cpu_ms / args.conversion_cpu_ms
        print(f"signing CPU / conversion CPU per document: {100 * share:.0f} % (target <= 30 %)")


if __name__ == "__main__":
    main()
