"""Two-step remote signing: prepare a digest, complete with the device's signature value."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from asn1crypto import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from signing.config import SignatureFieldSpec, SignatureRequest
from signing.dev_pki import DevPki
from signing.errors import RemoteSigningRefused
from signing.remote import RemoteSigning, SigningChallenge
from signing.service import SigningService
from signing.validation import DocumentValidation


def _card(
    pki: DevPki, label: str
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, list[x509.Certificate]]:
    key, cert, chain = pkcs12.load_key_and_certificates(
        pki.signers[label].pkcs12_path.read_bytes(), pki.pkcs12_password
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey) and cert is not None
    der = serialization.Encoding.DER
    return (
        key,
        x509.Certificate.load(cert.public_bytes(der)),
        [x509.Certificate.load(c.public_bytes(der)) for c in chain],
    )


def _prepare(
    remote: RemoteSigning, pki: DevPki, pdf: bytes
) -> tuple[SigningChallenge, ec.EllipticCurvePrivateKey]:
    key, cert, chain = _card(pki, "egle-vaitkiene")
    challenge = remote.prepare(
        pdf,
        cert,
        chain,
        signer_name="Eglė Vaitkienė",
        position="Probacijos pareigūnė",
        request=SignatureRequest(
            "pareigune",
            "Supažindinimas",
            new_field=SignatureFieldSpec("pareigune", 0, (60, 60, 290, 150)),
        ),
    )
    return challenge, key


def test_prepare_then_complete_reaches_lta_and_refuses_replay(
    signing_service: SigningService,
    dev_pki: DevPki,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    remote = RemoteSigning(signing_service)
    challenge, key = _prepare(remote, dev_pki, pdfa_bytes)
    assert challenge.digest_algorithm == "sha256"
    assert challenge.signature_algorithm == "ecdsa"
    assert len(challenge.digest) == 32

    signature_value = key.sign(challenge.signed_attributes, ec.ECDSA(hashes.SHA256()))
    signed = remote.complete(challenge.session_id, signature_value)

    report = validator(signed)
    assert report.signatures[0].name == "Eglė Vaitkienė"
    assert report.signatures[0].signature_timestamp is not None
    assert report.reaches_lta
    with pytest.raises(RemoteSigningRefused) as replay:
        remote.complete(challenge.session_id, signature_value)
    assert replay.value.reason == "replayed"


def test_signature_from_another_key_is_refused_and_session_stays_usable(
    signing_service: SigningService,
    dev_pki: DevPki,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    remote = RemoteSigning(signing_service)
    challenge, key = _prepare(remote, dev_pki, pdfa_bytes)
    other_key, _, _ = _card(dev_pki, "jonas-petrauskas")
    wrong = other_key.sign(challenge.signed_attributes, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(RemoteSigningRefused) as mismatch:
        remote.complete(challenge.session_id, wrong)
    assert mismatch.value.reason == "mismatch"

    right = key.sign(challenge.signed_attributes, ec.ECDSA(hashes.SHA256()))
    assert validator(remote.complete(challenge.session_id, right)).reaches_lta


def test_stale_and_unknown_sessions_are_refused(
    signing_service: SigningService, dev_pki: DevPki, pdfa_bytes: bytes
) -> None:
    remote = RemoteSigning(signing_service, time_to_live=timedelta(0))
    challenge, key = _prepare(remote, dev_pki, pdfa_bytes)
    value = key.sign(challenge.signed_attributes, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(RemoteSigningRefused) as stale:
        remote.complete(challenge.session_id, value)
    assert stale.value.reason == "stale"
    with pytest.raises(RemoteSigningRefused) as unknown:
        remote.complete("no-such-session", value)
    assert unknown.value.reason == "unknown"
