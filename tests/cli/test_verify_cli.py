"""``tiltas verify FILE...``: a verdict line per file, the JSON report beside it, exit status."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signing.dev_pki import ensure_dev_pki
from tests.support.service import REPO
from tests.support.verification import flip_signed_byte

pytestmark = pytest.mark.redis


def _verify(
    tmp_path: Path, dev_pki_root: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.verify", *args],
        env={
            **os.environ,
            "TILTAS_DATA_DIR": str(tmp_path / "data"),
            "TILTAS_DEV_PKI_DIR": str(dev_pki_root),
            **env,
        },
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip


def _unrelated_root(path: Path) -> Path:
    """A self-signed CA certificate that signed nothing in the development PKI."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Svetima šakninė CA")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_signed_file_passes_and_its_reports_are_written_beside_it(
    tmp_path: Path, dev_pki_root: Path, signed_pdf: bytes
) -> None:
    signed = tmp_path / "protokolas K.pdf"
    signed.write_bytes(signed_pdf)
    result = _verify(tmp_path, dev_pki_root, "--xml", str(signed))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"TOTAL-PASSED\t{signed}"]
    report = json.loads((tmp_path / "protokolas K.pdf.verification.json").read_text("utf-8"))
    assert report["indication"] == "TOTAL-PASSED"
    assert len(report["signatures"]) == 2
    assert report["signatures"][0]["signer"]["common_name"] == "Rasa Kazlauskienė"
    xml = (tmp_path / "protokolas K.pdf.verification.xml").read_bytes()
    assert b"urn:etsi:019102:mainindication:total-passed" in xml


def test_a_tampered_file_fails_and_the_others_are_still_verified(
    tmp_path: Path, dev_pki_root: Path, signed_pdf: bytes
) -> None:
    signed = tmp_path / "a.pdf"
    signed.write_bytes(signed_pdf)
    tampered = tmp_path / "b.pdf"
    tampered.write_bytes(flip_signed_byte(signed_pdf))
    result = _verify(tmp_path, dev_pki_root, str(tampered), str(signed))
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"TOTAL-FAILED/HASH_FAILURE\t{tampered}",
        f"TOTAL-PASSED\t{signed}",
    ]
    report = json.loads((tmp_path / "b.pdf.verification.json").read_text("utf-8"))
    assert (report["indication"], report["sub_indication"]) == ("TOTAL-FAILED", "HASH_FAILURE")
    assert not (tmp_path / "b.pdf.verification.xml").exists(), "XML only with --xml"


def test_missing_and_non_pdf_files_get_one_line_each_and_fail(
    tmp_path: Path, dev_pki_root: Path, signed_pdf: bytes
) -> None:
    signed = tmp_path / "a.pdf"
    signed.write_bytes(signed_pdf)
    missing = tmp_path / "nera.pdf"
    text = tmp_path / "pastaba.pdf"
    text.write_text("Tai ne PDF", encoding="utf-8")
    result = _verify(tmp_path, dev_pki_root, str(missing), str(text), str(signed))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"TOTAL-PASSED\t{signed}"]
    errors = result.stderr.splitlines()
    assert len(errors) == 2, result.stderr
    assert str(missing) in errors[0] and "cannot be read" in errors[0]
    assert str(text) in errors[1] and "not_pdf" in errors[1]
    assert not (tmp_path / "nera.pdf.verification.json").exists()


def test_trust_roots_come_from_the_key_file_and_the_option(
    tmp_path: Path, dev_pki_root: Path, signed_pdf: bytes
) -> None:
    """Outside development the key file's roots are the anchors: the development PKI's
    signatures do not chain to them until --trust-root adds its root."""
    signed = tmp_path / "a.pdf"
    signed.write_bytes(signed_pdf)
    key_file = tmp_path / "keys.json"
    key_file.write_text(
        json.dumps({"trust_roots": [str(_unrelated_root(tmp_path / "foreign.pem"))], "keys": []})
    )
    production_keys = {"TILTAS_SIGNING_KEYS_FILE": str(key_file)}
    untrusted = _verify(tmp_path, dev_pki_root, str(signed), **production_keys)
    assert untrusted.returncode == 1, untrusted.stderr
    verdict = untrusted.stdout.split("\t")[0]
    assert verdict.startswith("INDETERMINATE/") or verdict.startswith("TOTAL-FAILED/"), verdict

    dev_root = ensure_dev_pki(dev_pki_root).root_cert_path
    trusted = _verify(
        tmp_path, dev_pki_root, "--trust-root", str(dev_root), str(signed), **production_keys
    )
    assert trusted.returncode == 0, trusted.stderr
    assert trusted.stdout.splitlines() == [f"TOTAL-PASSED\t{signed}"]


@pytest.mark.parametrize(
    "args",
    [[], ["--trust-root", "/nonexistent/root.pem", "a.pdf"], ["--no-such-option", "a.pdf"]],
)
def test_usage_errors_exit_2(tmp_path: Path, dev_pki_root: Path, args: list[str]) -> None:
    result = _verify(tmp_path, dev_pki_root, *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""


UNSIGNED_TRUSTED_LIST = b"""<?xml version="1.0" encoding="UTF-8"?>
<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#">
  <tsl:SchemeInformation><tsl:SchemeTerritory>LT</tsl:SchemeTerritory></tsl:SchemeInformation>
</tsl:TrustServiceStatusList>"""


def test_a_refused_trusted_list_is_a_configuration_error(
    tmp_path: Path, dev_pki_root: Path, signed_pdf: bytes
) -> None:
    document = tmp_path / "protokolas.pdf"
    document.write_bytes(signed_pdf)
    trusted_list = tmp_path / "LT-TL.xml"
    trusted_list.write_bytes(UNSIGNED_TRUSTED_LIST)
    refused = _verify(
        tmp_path, dev_pki_root, str(document), TILTAS_TRUSTED_LIST_FILE=str(trusted_list)
    )
    assert refused.returncode == 2, refused.stderr
    assert "trusted list LT-TL.xml refused (unsigned)" in refused.stderr
    assert not (tmp_path / "protokolas.pdf.verification.json").exists()

    allowed = _verify(
        tmp_path,
        dev_pki_root,
        str(document),
        TILTAS_TRUSTED_LIST_FILE=str(trusted_list),
        TILTAS_TRUSTED_LIST_ALLOW_UNSIGNED="true",
    )
    assert allowed.returncode == 0, allowed.stderr
    report = json.loads((tmp_path / "protokolas.pdf.verification.json").read_text())
    assert report["signatures"][0]["qualification"]["reason"] == "no_matching_service"
