"""Signer keys from PKCS#12 files and PKCS#11 tokens, loaded once per (organisation, role).

pyHanko's ``SimpleSigner`` re-parses its private key on every signature (≈0.15 s for RSA-3072,
measured); ``CachedKeySigner`` keeps the parsed ``cryptography`` key object instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.general import get_pyca_cryptography_hash  # type: ignore[attr-defined]
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.config import Pkcs11KeySource, Pkcs12KeySource, SignerKeyConfig
from signing.errors import KeyUnavailable

__all__ = ["CachedKeySigner", "ConfiguredSigner", "KeyStore", "load_certificates"]


class CachedKeySigner(Signer):
    """A pyHanko signer over an in-memory ``cryptography`` private key (EC or RSA)."""

    def __init__(
        self,
        signing_cert: x509.Certificate,
        private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        chain: Iterable[x509.Certificate],
    ) -> None:
        self._private_key = private_key
        registry = SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [signing_cert, *chain]
        )
        super().__init__(signing_cert=signing_cert, cert_registry=registry, embed_roots=True)

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        algorithm = mechanism.signature_algo
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        key = self._private_key
        if isinstance(key, ec.EllipticCurvePrivateKey) and algorithm == "ecdsa":
            return key.sign(data, ec.ECDSA(hash_algo))
        if isinstance(key, rsa.RSAPrivateKey) and algorithm == "rsassa_pkcs1v15":
            return key.sign(data, padding.PKCS1v15(), hash_algo)
        if isinstance(key, rsa.RSAPrivateKey) and algorithm == "rsassa_pss":
            pss = padding.PSS(mgf=padding.MGF1(hash_algo), salt_length=hash_algo.digest_size)
            return key.sign(data, pss, hash_algo)
        raise KeyUnavailable(
            "unsupported signature mechanism for this key",
            key_id="-",
            reason=f"mechanism {algorithm}",
        )


@dataclass(frozen=True)
class ConfiguredSigner:
    """A loaded key with the identity it signs for. Obtain from :meth:`KeyStore.signer_for`."""

    key_id: str
    """``organisation_code/role``; safe to log."""
    signer_name: str
    position: str
    pyhanko_signer: Signer
    certificate: x509.Certificate

    @property
    def certificate_sha256(self) -> str:
        return str(self.certificate.sha256.hex())


class KeyStore:
    """Loads each configured key once and hands out the cached :class:`ConfiguredSigner`."""

    def __init__(self, key_configs: Iterable[SignerKeyConfig]) -> None:
        self._configs = {config.key_id: config for config in key_configs}
        self._loaded: dict[str, ConfiguredSigner] = {}
        self._pkcs11_sessions: list[Any] = []
        self._lock = threading.Lock()

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._configs)

    def signer_for(self, organisation_code: str, role: str) -> ConfiguredSigner:
        key_id = f"{organisation_code}/{role}"
        with self._lock:
            cached = self._loaded.get(key_id)
            if cached is not None:
                return cached
            config = self._configs.get(key_id)
            if config is None:
                raise KeyUnavailable(
                    "no key configured for this organisation and role",
                    key_id=key_id,
                    reason="not_configured",
                )
            signer = self._load(config)
            self._loaded[key_id] = signer
            return signer

    def close(self) -> None:
        with self._lock:
            for session in self._pkcs11_sessions:
                # closing a session of a removed or dead token is best effort
                with contextlib.suppress(Exception):
                    session.close()
            self._pkcs11_sessions.clear()
            self._loaded.clear()

    def _load(self, config: SignerKeyConfig) -> ConfiguredSigner:
        source = config.source
        if isinstance(source, Pkcs12KeySource):
            pyhanko_signer: Signer = _load_pkcs12(config.key_id, source)
        else:
            pyhanko_signer = self._load_pkcs11(config.key_id, source)
        certificate = pyhanko_signer.signing_cert
        if certificate is None:
            raise KeyUnavailable(
                "the key has no certificate", key_id=config.key_id, reason="no_certificate"
            )
        return ConfiguredSigner(
            key_id=config.key_id,
            signer_name=config.signer_name,
            position=config.position,
            pyhanko_signer=pyhanko_signer,
            certificate=certificate,
        )

    def _load_pkcs11(self, key_id: str, source: Pkcs11KeySource) -> Signer:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

        try:
            session = open_pkcs11_session(
                source.module_path,
                token_criteria=TokenCriteria(label=source.token_label),
                user_pin=source.user_pin,
            )
        except Exception as exc:
            raise KeyUnavailable(
                "cannot open the PKCS#11 token", key_id=key_id, reason=type(exc).__name__
            ) from exc
        self._pkcs11_sessions.append(session)
        signer = PKCS11Signer(
            session,
            key_label=source.key_label,
            cert_label=source.cert_label or source.key_label,
            ca_chain=load_certificates(source.chain_paths),
            embed_roots=True,
        )
        try:
            # Fetch key and certificate handles now, so a bad label fails at start-up.
            certificate = signer.signing_cert
            if certificate is None:
                raise KeyUnavailable(
                    "no certificate on the token", key_id=key_id, reason="no_certificate"
                )
            # Many tokens (SoftHSM2 among them) only offer raw CKM_ECDSA: hash in software.
            signer.use_raw_mechanism = certificate.public_key.algorithm == "ec"
        except KeyUnavailable:
            raise
        except Exception as exc:
            raise KeyUnavailable(
                "key or certificate not found on the PKCS#11 token",
                key_id=key_id,
                reason=type(exc).__name__,
            ) from exc
        return signer


def _load_pkcs12(key_id: str, source: Pkcs12KeySource) -> CachedKeySigner:
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise KeyUnavailable(
            "PKCS#12 file unreadable", key_id=key_id, reason=type(exc).__name__
        ) from exc
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, source.password)
    except ValueError as exc:
        raise KeyUnavailable(
            "PKCS#12 file cannot be decrypted or parsed", key_id=key_id, reason="bad_pkcs12"
        ) from exc
    if cert is None or key is None:
        raise KeyUnavailable(
            "PKCS#12 file lacks a key or certificate", key_id=key_id, reason="incomplete_pkcs12"
        )
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise KeyUnavailable("only EC and RSA keys are supported", key_id=key_id, reason="key_type")
    return CachedKeySigner(
        signing_cert=_to_asn1(cert.public_bytes(serialization.Encoding.DER)),
        private_key=key,
        chain=[_to_asn1(c.public_bytes(serialization.Encoding.DER)) for c in chain],
    )


def load_certificates(paths: Iterable[Path]) -> list[x509.Certificate]:
    """Load PEM or DER certificate files (several PEM blocks per file allowed)."""
    from asn1crypto import pem

    certs: list[x509.Certificate] = []
    for path in paths:
        data = Path(path).read_bytes()
        if pem.detect(data):
            certs.extend(_to_asn1(der) for _, _, der in pem.unarmor(data, multiple=True))
        else:
            certs.append(_to_asn1(data))
    return certs


def _to_asn1(der: bytes) -> x509.Certificate:
    return x509.Certificate.load(der)
