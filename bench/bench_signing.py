"""Per-document PAdES B-LTA cost: stock pyHanko usage vs the cached SigningService.

Stock: per document, PKCS#12 reloaded (SimpleSigner), new ValidationContext with fetching,
new HTTPTimeStamper without a shared session, pyHanko's sync ``sign_pdf`` (own event loop,
dry-run size estimate). Cached: one SigningService (key cache, one TSA client with a shared
session, revocation cache + fresh offline context per document, explicit bytes_reserved).
Both run in the same process against the same local certomancer TSA/OCSP responders, whose
CPU cost is included in the figures.

Run: .venv/bin/python bench/bench_signing.py [--documents 20]
"""

from __future__ import annotations

import argparse
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


def measure(label: str, documents: int, sign_one: Callable[[], bytes]) -> float:
    sign_one()  # warm-up: imports, first OCSP fetch, font load
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(documents):
        sign_one()
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    rate = documents / wall
    print(
        f"{label:>8}: {documents} docs in {wall:6.2f} s = {rate:6.2f} docs/s; "
        f"{1000 * wall / documents:6.1f} ms wall, {1000 * cpu / documents:6.1f} ms CPU per doc"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=20)
    args = parser.parse_args()

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
            stock_rate = measure(
                "stock", args.documents, lambda: stock_sign(pki, responders.tsa_url, pdf)
            )
            with SigningService(config) as service:
                signer = service.signer_for("188000000", SIGNER_LABEL)
                cached_rate = measure(
                    "cached",
                    args.documents,
                    lambda: service.sign_pades(pdf, signer, request),
                )
                print(f"revocation fetches by the cached service: {service.revocation.fetch_count}")
    print(f"ratio cached/stock: {cached_rate / stock_rate:.1f}x")


if __name__ == "__main__":
    main()
