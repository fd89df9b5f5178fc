"""Two-step remote signing (card / mobile app the service never holds): prepare, then complete.

Built on pyHanko's interrupted signing: ``prepare`` lays out the signature (field, stamp,
placeholder), digests the document and the CAdES signed attributes, and returns what the
signing device must sign. ``complete`` takes the signature value (raw, or a CMS whose signed
attributes are exactly ours), verifies it against the certificate the challenge was prepared
for, then adds the signature timestamp, DSS and document timestamp (B-LTA).

A completion is refused, and nothing changes, when the session is unknown, already completed
(replay), expired (stale), or the value does not verify (mismatch). A failed completion (e.g.
no TSA) leaves the session open for a retry until it expires.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import cms, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.signers.pdf_cms import ExternalSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.config import SignatureRequest
from signing.errors import RemoteSigningRefused, TimestampAttempt, TimestampUnavailable
from signing.keys import ConfiguredSigner
from signing.service import PreparedSignature, SigningService
from signing.timestamps import TimestampRequestError, failure_reason

__all__ = ["RemoteSigning", "SigningChallenge"]

_DIGEST_ALGORITHM = "sha256"


@dataclass(frozen=True)
class SigningChallenge:
    """What the remote device signs. ``digest`` = SHA-256 of ``signed_attributes``."""

    session_id: str
    digest: bytes
    digest_algorithm: str
    signature_algorithm: str
    """``ecdsa`` or ``rsassa_pkcs1v15``: sign ``signed_attributes`` (or its ``digest``)."""
    signed_attributes: bytes
    """DER of the CMS signed attributes (for devices that hash themselves)."""
    certificate_sha256: str
    """The certificate the challenge was prepared for; a value from another key is refused."""
    expires_at: datetime


@dataclass
class _PendingSignature:
    prepared: PreparedSignature
    signed_attributes: cms.CMSAttributes
    expires_at: datetime


class RemoteSigning:
    """Holds pending remote signatures in memory (one process); created over a SigningService."""

    def __init__(
        self, service: SigningService, *, time_to_live: timedelta = timedelta(minutes=5)
    ) -> None:
        self._service = service
        self._time_to_live = time_to_live
        self._pending: dict[str, _PendingSignature] = {}
        self._completed: set[str] = set()
        self._lock = asyncio.Lock()

    def prepare(
        self,
        pdf: bytes,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
        *,
        signer_name: str,
        position: str,
        request: SignatureRequest,
    ) -> SigningChallenge:
        return self._service.run(
            self._prepare(pdf, certificate, chain, signer_name, position, request)
        )

    def complete(self, session_id: str, signature_value: bytes) -> bytes:
        return self._service.run(self._complete(session_id, signature_value))

    async def _prepare(
        self,
        pdf: bytes,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
        signer_name: str,
        position: str,
        request: SignatureRequest,
    ) -> SigningChallenge:
        placeholder = ExternalSigner(
            certificate,
            SimpleCertificateStore.from_certs([certificate, *chain]),  # type: ignore[no-untyped-call]
            signature_value=_placeholder_length(certificate),
        )
        remote_signer = ConfiguredSigner(
            key_id=f"remote/{certificate.sha256.hex()[:16]}",
            signer_name=signer_name,
            position=position,
            pyhanko_signer=placeholder,
            certificate=certificate,
        )
        attempts: list[TimestampAttempt] = []
        for timestamper in self._service.timestampers:
            try:
                prepared = await self._service._prepare(pdf, remote_signer, request, timestamper)
                break
            except TimestampRequestError as exc:
                attempts.append(TimestampAttempt(timestamper.authority.url, failure_reason(exc)))
        else:
            raise TimestampUnavailable(attempts)
        signed_attributes: cms.CMSAttributes = await placeholder.signed_attrs(
            prepared.prepared_digest.document_digest,
            _DIGEST_ALGORITHM,
            attr_settings=prepared.signed_attributes,
            use_pades=True,
            timestamper=prepared.timestamper,
        )
        session_id = secrets.token_urlsafe(24)
        expires_at = datetime.now(UTC) + self._time_to_live
        async with self._lock:
            self._pending[session_id] = _PendingSignature(prepared, signed_attributes, expires_at)
        der = signed_attributes.dump()
        mechanism = placeholder.get_signature_mechanism_for_digest(_DIGEST_ALGORITHM)
        return SigningChallenge(
            session_id=session_id,
            digest=hashlib.sha256(der).digest(),
            digest_algorithm=_DIGEST_ALGORITHM,
            signature_algorithm=mechanism.signature_algo,
            signed_attributes=der,
            certificate_sha256=certificate.sha256.hex(),
            expires_at=expires_at,
        )

    async def _complete(self, session_id: str, signature_value: bytes) -> bytes:
        async with self._lock:
            if session_id in self._completed:
                raise RemoteSigningRefused(
                    "this signature was already completed", session_id=session_id, reason="replayed"
                )
            pending = self._pending.get(session_id)
            if pending is None:
                raise RemoteSigningRefused(
                    "unknown signing session", session_id=session_id, reason="unknown"
                )
            if datetime.now(UTC) >= pending.expires_at:
                del self._pending[session_id]
                raise RemoteSigningRefused(
                    "the signing session has expired", session_id=session_id, reason="stale"
                )
            raw_signature = _raw_signature(session_id, signature_value, pending.signed_attributes)
            certificate = pending.prepared.signer.certificate
            _verify(session_id, certificate, raw_signature, pending.signed_attributes.dump())
            prepared = pending.prepared
            finished_signer = ExternalSigner(
                certificate,
                prepared.signer.pyhanko_signer.cert_registry,
                signature_value=raw_signature,
            )
            try:
                signature_cms = await finished_signer.async_sign_prescribed_attributes(
                    _DIGEST_ALGORITHM,
                    pending.signed_attributes,
                    timestamper=prepared.timestamper,
                )
                signed_pdf = await self._service._finish(_fresh_copy(prepared), signature_cms)
            except TimestampRequestError as exc:
                url = prepared.timestamper.authority.url
                raise TimestampUnavailable([TimestampAttempt(url, failure_reason(exc))]) from exc
            del self._pending[session_id]
            self._completed.add(session_id)
            return signed_pdf


def _fresh_copy(prepared: PreparedSignature) -> PreparedSignature:
    """Work on a copy of the prepared output, so a failed completion can be retried."""
    from dataclasses import replace
    from io import BytesIO

    return replace(prepared, output=BytesIO(prepared.output.getvalue()))


def _placeholder_length(certificate: x509.Certificate) -> int:
    if certificate.public_key.algorithm == "ec":
        return 72  # DER ECDSA signature on P-256 is at most 72 bytes
    return int(certificate.public_key.bit_size) // 8


def _raw_signature(
    session_id: str, signature_value: bytes, signed_attributes: cms.CMSAttributes
) -> bytes:
    """Accept a raw signature value, or a CMS SignedData over exactly our signed attributes."""
    try:
        content_info = cms.ContentInfo.load(signature_value)
        if content_info["content_type"].native != "signed_data":
            return signature_value
        signer_info = content_info["content"]["signer_infos"][0]
    except (ValueError, TypeError, KeyError, IndexError):
        return signature_value
    if signer_info["signed_attrs"].dump() != signed_attributes.dump():
        raise RemoteSigningRefused(
            "the CMS signs other attributes than the prepared ones",
            session_id=session_id,
            reason="mismatch",
        )
    return bytes(signer_info["signature"].native)


def _verify(
    session_id: str, certificate: x509.Certificate, signature: bytes, signed_data: bytes
) -> None:
    public_key = serialization.load_der_public_key(certificate.public_key.dump())
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed_data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signed_data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise InvalidSignature
    except (InvalidSignature, ValueError) as exc:
        raise RemoteSigningRefused(
            "the signature value does not verify with the prepared certificate",
            session_id=session_id,
            reason="mismatch",
        ) from exc
