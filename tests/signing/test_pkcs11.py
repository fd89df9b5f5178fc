"""Signing with a key on a PKCS#11 token (SoftHSM2, initialised in a temp dir)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from signing.config import (
    Pkcs11KeySource,
    SignatureFieldSpec,
    SignatureRequest,
    SignerKeyConfig,
    SigningConfig,
)
from signing.dev_pki import DevPki
from signing.dev_responders import DevResponders
from signing.errors import KeyUnavailable
from signing.service import SigningService
from signing.validation import DocumentValidation

SOFTHSM_MODULE = next(
    (
        path
        for path in (
            "/usr/lib/softhsm/libsofthsm2.so",
            "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        )
        if Path(path).exists()
    ),
    None,
)
TOKEN_LABEL = "tiltas-test"
USER_PIN = "104729"


@pytest.fixture(scope="module", autouse=True)
def _softhsm_installed() -> None:
    # Installed by the README's test command; missing means a failure, never a skip.
    assert SOFTHSM_MODULE is not None, "SoftHSM2 is not installed (apt-get install softhsm2)"
    assert shutil.which("pkcs11-tool"), (
        "OpenSC's pkcs11-tool is not installed (apt-get install opensc)"
    )


@pytest.fixture(scope="module")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory, dev_pki: DevPki) -> Iterator[str]:
    """A SoftHSM2 token holding the secretary's key and certificate (label 'jonas')."""
    assert SOFTHSM_MODULE is not None
    workdir = tmp_path_factory.mktemp("softhsm")
    (workdir / "tokens").mkdir()
    conf = workdir / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {workdir / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            TOKEN_LABEL,
            "--pin",
            USER_PIN,
            "--so-pin",
            "5678",
        ],
        check=True,
        capture_output=True,
    )
    identity = dev_pki.signers["jonas-petrauskas"]
    key, cert, _ = pkcs12.load_key_and_certificates(
        identity.pkcs12_path.read_bytes(), dev_pki.pkcs12_password
    )
    assert key is not None and cert is not None
    key_der = workdir / "key.der"
    key_der.write_bytes(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_der = workdir / "cert.der"
    cert_der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    for path, kind in ((key_der, "privkey"), (cert_der, "cert")):
        subprocess.run(
            [
                "pkcs11-tool",
                "--module",
                SOFTHSM_MODULE,
                "--token-label",
                TOKEN_LABEL,
                "--login",
                "--pin",
                USER_PIN,
                "--write-object",
                str(path),
                "--type",
                kind,
                "--id",
                "01",
                "--label",
                "jonas",
            ],
            check=True,
            capture_output=True,
        )
    key_der.unlink()
    yield SOFTHSM_MODULE
    monkeypatch.undo()


def _pkcs11_config(base: SigningConfig, module: str, pki: DevPki, pin: str) -> SigningConfig:
    key = SignerKeyConfig(
        organisation_code="188000000",
        role="komisijos-sekretorius",
        source=Pkcs11KeySource(
            module_path=module,
            token_label=TOKEN_LABEL,
            user_pin=pin,
            key_label="jonas",
            cert_label="jonas",
            chain_paths=(pki.intermediate_cert_path, pki.root_cert_path),
        ),
        signer_name="Jonas Petrauskas",
        position="Komisijos sekretorius",
    )
    return dataclasses.replace(base, keys=(key,))


def test_signs_b_lta_with_a_token_key(
    softhsm_token: str,
    dev_pki: DevPki,
    responders: DevResponders,
    config_for: Callable[..., SigningConfig],
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    config = _pkcs11_config(config_for(responders.tsa_url), softhsm_token, dev_pki, USER_PIN)
    with SigningService(config) as service:
        signer = service.signer_for("188000000", "komisijos-sekretorius")
        assert service.signer_for("188000000", "komisijos-sekretorius") is signer
        request = SignatureRequest(
            "sekretorius", "Protokolas", new_field=SignatureFieldSpec("sekretorius")
        )
        first = service.sign_pades(pdfa_bytes, signer, request)
        second = service.sign_pades(pdfa_bytes, signer, request)
    for signed in (first, second):
        report = validator(signed)
        assert report.signatures[0].name == "Jonas Petrauskas"
        assert report.reaches_lta


def test_wrong_pin_raises_key_unavailable(
    softhsm_token: str,
    dev_pki: DevPki,
    responders: DevResponders,
    config_for: Callable[..., SigningConfig],
) -> None:
    config = _pkcs11_config(config_for(responders.tsa_url), softhsm_token, dev_pki, "000000")
    with SigningService(config) as service, pytest.raises(KeyUnavailable) as failure:
        service.signer_for("188000000", "komisijos-sekretorius")
    assert failure.value.key_id == "188000000/komisijos-sekretorius"
