"""Two-step remote signing: prepare a digest, complete with the device's signature value."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest
from asn1crypto import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from signing.config import SignatureFieldSpec, SignatureRequest
from signing.dev_pki import DevPki
from signing.errors import RemoteSigningRefused
from signing.remote import (
    PendingRemoteSignature,
    RemoteSigning,
    SigningChallenge,
    signature_value_of,
)
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
) -> tuple[SigningChallenge, PendingRemoteSignature, ec.EllipticCurvePrivateKey]:
    key, cert, chain = _card(pki, "egle-vaitkiene")
    challenge, pending = remote.prepare(
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
    return challenge, pending, key


def _through_json(pending: PendingRemoteSignature) -> PendingRemoteSignature:
    """What another process sees: the state as stored JSON, and the prepared PDF."""
    return PendingRemoteSignature.from_state(
        json.loads(json.dumps(pending.state())), pending.prepared_pdf
    )


def test_prepare_then_complete_from_stored_state_reaches_lta(
    signing_service: SigningService,
    dev_pki: DevPki,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    challenge, pending, key = _prepare(RemoteSigning(signing_service), dev_pki, pdfa_bytes)
    assert challenge.digest_algorithm == "sha256"
    assert challenge.signature_algorithm == "ecdsa"
    assert challenge.digest == hashlib.sha256(challenge.signed_attributes).digest()
    assert _through_json(pending) == pending

    signature_value = key.sign(challenge.signed_attributes, ec.ECDSA(hashes.SHA256()))
    # Completed by another service instance (another process in production).
    signed = RemoteSigning(signing_service).complete(_through_json(pending), signature_value)

    report = validator(signed)
    assert report.signatures[0].name == "Eglė Vaitkienė"
    assert report.signatures[0].signature_timestamp is not None
    assert report.reaches_lta


def test_signature_from_another_key_is_refused(
    signing_service: SigningService,
    dev_pki: DevPki,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    remote = RemoteSigning(signing_service)
    challenge, pending, key = _prepare(remote, dev_pki, pdfa_bytes)
    other_key, _, _ = _card(dev_pki, "jonas-petrauskas")
    wrong = other_key.sign(challenge.signed_attributes, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(RemoteSigningRefused) as mismatch:
        remote.complete(pending, wrong)
    assert mismatch.value.reason == "mismatch"
    flipped = bytearray(key.sign(challenge.signed_attributes, ec.ECDSA(hashes.SHA256())))
    flipped[-1] ^= 1
    with pytest.raises(RemoteSigningRefused):
        signature_value_of(pending.certificate, pending.signed_attributes, bytes(flipped))

    right = key.sign(challenge.signed_attributes, ec.ECDSA(hashes.SHA256()))
    assert validator(remote.complete(pending, right)).reaches_lta
