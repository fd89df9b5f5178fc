"""The development PKI: created once, stable across restarts, visibly not qualified."""

from __future__ import annotations

from pathlib import Path

from asn1crypto import x509
from cryptography.hazmat.primitives.serialization import pkcs12

from signing.dev_pki import (
    DEV_NOT_QUALIFIED_POLICY_OID,
    DEV_NOT_QUALIFIED_TEXT,
    ensure_dev_pki,
)
from signing.keys import load_certificates


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_second_call_returns_the_same_pki_without_regenerating(tmp_path: Path) -> None:
    first = ensure_dev_pki(tmp_path)
    files_before = _snapshot(first.directory)

    second = ensure_dev_pki(tmp_path)

    assert second == first
    assert _snapshot(second.directory) == files_before
    # certomancer reloads the persisted certificates instead of re-signing them
    arch = second.load_architecture()
    from certomancer.registry import CertLabel

    assert (
        arch.get_cert(CertLabel("root")).dump()
        == load_certificates([first.root_cert_path])[0].dump()
    )


def test_officials_have_lithuanian_names_and_not_qualified_certificates(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path)
    names = {identity.full_name for identity in pki.signers.values()}
    assert {"Rasa Kazlauskienė", "Jonas Petrauskas"} <= names
    assert pki.institution_seal_label in pki.signers

    for identity in pki.signers.values():
        key, cert, chain = pkcs12.load_key_and_certificates(
            identity.pkcs12_path.read_bytes(), pki.pkcs12_password
        )
        assert key is not None and cert is not None
        assert key.curve.name == "secp256r1"  # type: ignore[union-attr]
        asn1_cert = x509.Certificate.load(cert.public_bytes(_der()))
        subject = asn1_cert.subject.native
        assert "NEKVALIFIKUOTAS" in subject["organizational_unit_name"]
        policies = asn1_cert.certificate_policies_value.native
        assert policies[0]["policy_identifier"] == DEV_NOT_QUALIFIED_POLICY_OID
        notice = policies[0]["policy_qualifiers"][0]["qualifier"]["explicit_text"]
        assert notice == DEV_NOT_QUALIFIED_TEXT
        extension_ids = {
            ext["extn_id"].native for ext in asn1_cert["tbs_certificate"]["extensions"]
        }
        assert "qc_statements" not in extension_ids
        assert len(chain) == 2  # intermediate and root travel with the key


def test_port_is_fixed_at_creation_and_named_in_ocsp_urls(tmp_path: Path) -> None:
    pki = ensure_dev_pki(tmp_path, responder_port=45678)
    again = ensure_dev_pki(tmp_path, responder_port=1234)
    assert again.responder_port == 45678
    signer = load_certificates([pki.directory / "certs" / "rasa-kazlauskiene.cert.pem"])[0]
    assert signer.ocsp_urls == ["http://127.0.0.1:45678/tiltas-dev/ocsp/interm"]


def _der():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER
