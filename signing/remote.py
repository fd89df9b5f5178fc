"""Two-step remote signing (card / signing app the service never holds): prepare, then complete.

Built on pyHanko's interrupted signing. ``prepare`` lays out the signature (field, stamp,
placeholder), digests the document and the CAdES signed attributes, and returns the challenge
the device must sign together with a :class:`PendingRemoteSignature`: the prepared PDF plus
JSON state holding everything needed to finish, so that any process can complete it.
``complete`` checks the value (raw, or a CMS whose signed attributes are exactly ours) against
the certificate the challenge was prepared for, then adds the signature timestamp, DSS and a
document timestamp (B-LTA). A value that does not verify is refused and nothing is made.

Sessions (unknown, replayed, stale) are the caller's: see ``tiltas.remote_signing``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from asn1crypto import cms, crl, ocsp, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import ExternalSigner
from pyhanko.sign.signers.pdf_signer import PostSignInstructions, PreSignValidationStatus
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.config import SignatureRequest
from signing.errors import RemoteSigningRefused, TimestampAttempt, TimestampUnavailable
from signing.keys import ConfiguredSigner
from signing.service import SigningService
from signing.timestamps import ConfiguredTimeStamper, TimestampRequestError, failure_reason

__all__ = [
    "PendingRemoteSignature",
    "RemoteSigning",
    "SigningChallenge",
    "signature_value_of",
]

_DIGEST_ALGORITHM = "sha256"


@dataclass(frozen=True)
class SigningChallenge:
    """What the remote device signs. ``digest`` = SHA-256 of ``signed_attributes``."""

    digest: bytes
    digest_algorithm: str
    signature_algorithm: str
    """``ecdsa`` or ``rsassa_pkcs1v15``: sign ``signed_attributes`` (or its ``digest``)."""
    signed_attributes: bytes
    """DER of the CMS signed attributes (for devices that hash themselves)."""
    certificate_sha256: str
    """The certificate the challenge was prepared for; a value from another key is refused."""


@dataclass(frozen=True)
class PendingRemoteSignature:
    """A prepared signature waiting for its value: the PDF with the placeholder, and the state
    (:meth:`state`, JSON) to finish it in any process."""

    prepared_pdf: bytes = field(repr=False)
    document_digest: bytes
    reserved_region: tuple[int, int]
    signed_attributes: bytes
    certificate: bytes
    chain: tuple[bytes, ...]
    signer_name: str
    position: str
    tsa_url: str
    validation_paths: tuple[tuple[bytes, tuple[bytes, ...], bytes], ...]
    """(trust anchor, intermediates, leaf) of each path found before signing, signer first."""
    ocsps: tuple[bytes, ...]
    crls: tuple[bytes, ...]
    timestamp_field_name: str | None
    embed_roots: bool
    tight_size_estimates: bool
    strict: bool

    def state(self) -> dict[str, Any]:
        """Everything but the prepared PDF, as JSON-able values."""
        return {
            "document_digest": _b64(self.document_digest),
            "reserved_region": list(self.reserved_region),
            "signed_attributes": _b64(self.signed_attributes),
            "certificate": _b64(self.certificate),
            "chain": [_b64(c) for c in self.chain],
            "signer_name": self.signer_name,
            "position": self.position,
            "tsa_url": self.tsa_url,
            "validation_paths": [
                [_b64(anchor), [_b64(c) for c in intermediates], _b64(leaf)]
                for anchor, intermediates, leaf in self.validation_paths
            ],
            "ocsps": [_b64(o) for o in self.ocsps],
            "crls": [_b64(c) for c in self.crls],
            "timestamp_field_name": self.timestamp_field_name,
            "embed_roots": self.embed_roots,
            "tight_size_estimates": self.tight_size_estimates,
            "strict": self.strict,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], prepared_pdf: bytes) -> PendingRemoteSignature:
        start, end = state["reserved_region"]
        return cls(
            prepared_pdf=prepared_pdf,
            document_digest=_unb64(state["document_digest"]),
            reserved_region=(int(start), int(end)),
            signed_attributes=_unb64(state["signed_attributes"]),
            certificate=_unb64(state["certificate"]),
            chain=tuple(_unb64(c) for c in state["chain"]),
            signer_name=state["signer_name"],
            position=state["position"],
            tsa_url=state["tsa_url"],
            validation_paths=tuple(
                (_unb64(anchor), tuple(_unb64(c) for c in intermediates), _unb64(leaf))
                for anchor, intermediates, leaf in state["validation_paths"]
            ),
            ocsps=tuple(_unb64(o) for o in state["ocsps"]),
            crls=tuple(_unb64(c) for c in state["crls"]),
            timestamp_field_name=state["timestamp_field_name"],
            embed_roots=bool(state["embed_roots"]),
            tight_size_estimates=bool(state["tight_size_estimates"]),
            strict=bool(state["strict"]),
        )

    def _validation_status(self) -> PreSignValidationStatus:
        paths = [
            ValidationPath(
                CertTrustAnchor(x509.Certificate.load(anchor)),
                [x509.Certificate.load(c) for c in intermediates],
                x509.Certificate.load(leaf),
            )
            for anchor, intermediates, leaf in self.validation_paths
        ]
        return PreSignValidationStatus(
            signer_path=paths[0],
            validation_paths=paths,
            ocsps_to_embed=[ocsp.OCSPResponse.load(o) for o in self.ocsps],
            crls_to_embed=[crl.CertificateList.load(c) for c in self.crls],
        )


class RemoteSigning:
    """Prepare and complete remote signatures over a :class:`SigningService` (stateless)."""

    def __init__(self, service: SigningService) -> None:
        self._service = service

    def prepare(
        self,
        pdf: bytes,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
        *,
        signer_name: str,
        position: str,
        request: SignatureRequest,
    ) -> tuple[SigningChallenge, PendingRemoteSignature]:
        """:raises TimestampUnavailable: no TSA answered (its certificate chain is needed).
        :raises SigningError: the certificate cannot be validated, the field is wrong, etc."""
        return self._service.run(
            self._prepare(pdf, certificate, chain, signer_name, position, request)
        )

    def complete(self, pending: PendingRemoteSignature, signature_value: bytes) -> bytes:
        """The document signed to B-LTA.

        :raises RemoteSigningRefused: the value does not verify (``reason="mismatch"``).
        :raises TimestampUnavailable: no TSA answered; nothing was made, retry later.
        """
        raw_signature = signature_value_of(
            pending.certificate, pending.signed_attributes, signature_value
        )
        return self._service.run(self._complete(pending, raw_signature))

    async def _prepare(
        self,
        pdf: bytes,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
        signer_name: str,
        position: str,
        request: SignatureRequest,
    ) -> tuple[SigningChallenge, PendingRemoteSignature]:
        placeholder = ExternalSigner(
            certificate,
            SimpleCertificateStore.from_certs([certificate, *chain]),  # type: ignore[no-untyped-call]
            signature_value=_placeholder_length(certificate),
        )
        remote_signer = _remote_signer(placeholder, certificate, signer_name, position)
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
        instructions = prepared.tbs_document.post_sign_instructions
        assert instructions is not None  # B-LTA: DSS and a document timestamp follow
        info = instructions.validation_info
        der = signed_attributes.dump()
        pending = PendingRemoteSignature(
            prepared_pdf=prepared.output.getvalue(),
            document_digest=prepared.prepared_digest.document_digest,
            reserved_region=(
                prepared.prepared_digest.reserved_region_start,
                prepared.prepared_digest.reserved_region_end,
            ),
            signed_attributes=der,
            certificate=certificate.dump(),
            chain=tuple(c.dump() for c in chain),
            signer_name=signer_name,
            position=position,
            tsa_url=prepared.timestamper.authority.url,
            validation_paths=tuple(_path_der(p) for p in info.validation_paths),
            ocsps=tuple(o.dump() for o in info.ocsps_to_embed),
            crls=tuple(c.dump() for c in info.crls_to_embed),
            timestamp_field_name=instructions.timestamp_field_name,
            embed_roots=instructions.embed_roots,
            tight_size_estimates=instructions.tight_size_estimates,
            strict=instructions.strict,
        )
        mechanism = placeholder.get_signature_mechanism_for_digest(_DIGEST_ALGORITHM)
        challenge = SigningChallenge(
            digest=hashlib.sha256(der).digest(),
            digest_algorithm=_DIGEST_ALGORITHM,
            signature_algorithm=mechanism.signature_algo,
            signed_attributes=der,
            certificate_sha256=certificate.sha256.hex(),
        )
        return challenge, pending

    async def _complete(self, pending: PendingRemoteSignature, raw_signature: bytes) -> bytes:
        certificate = x509.Certificate.load(pending.certificate)
        chain = [x509.Certificate.load(c) for c in pending.chain]
        finished_signer = ExternalSigner(
            certificate,
            SimpleCertificateStore.from_certs([certificate, *chain]),  # type: ignore[no-untyped-call]
            signature_value=raw_signature,
        )
        signer = _remote_signer(finished_signer, certificate, pending.signer_name, pending.position)
        start, end = pending.reserved_region
        digest = PreparedByteRangeDigest(pending.document_digest, start, end)
        attempts: list[TimestampAttempt] = []
        for timestamper in self._timestampers_from(pending.tsa_url):
            try:
                snapshot = await self._service.revocation.snapshot_for(signer, timestamper)
                signature_cms = await finished_signer.async_sign_prescribed_attributes(
                    _DIGEST_ALGORITHM,
                    cms.CMSAttributes.load(pending.signed_attributes),
                    timestamper=timestamper,
                )
                instructions = PostSignInstructions(
                    validation_info=pending._validation_status(),
                    timestamper=timestamper,
                    timestamp_md_algorithm=_DIGEST_ALGORITHM,
                    timestamp_field_name=pending.timestamp_field_name,
                    tight_size_estimates=pending.tight_size_estimates,
                    embed_roots=pending.embed_roots,
                    strict=pending.strict,
                )
                return await self._service._resume(
                    BytesIO(pending.prepared_pdf), digest, signature_cms, instructions, snapshot
                )
            except TimestampRequestError as exc:
                attempts.append(TimestampAttempt(timestamper.authority.url, failure_reason(exc)))
        raise TimestampUnavailable(attempts)

    def _timestampers_from(self, url: str) -> list[ConfiguredTimeStamper]:
        """The TSA used when preparing first (its chain is in the prepared state), then the rest."""
        timestampers = list(self._service.timestampers)
        return sorted(timestampers, key=lambda t: t.authority.url != url)


def signature_value_of(
    certificate: bytes, signed_attributes: bytes, signature_value: bytes
) -> bytes:
    """The raw signature in ``signature_value`` (raw, or a CMS SignedData over exactly the
    prepared ``signed_attributes``), verified with the prepared ``certificate`` (DER both).

    :raises RemoteSigningRefused: ``reason="mismatch"``.
    """
    raw_signature = _raw_signature(signature_value, signed_attributes)
    _verify(x509.Certificate.load(certificate), raw_signature, signed_attributes)
    return raw_signature


def _remote_signer(
    pyhanko_signer: ExternalSigner, certificate: x509.Certificate, name: str, position: str
) -> ConfiguredSigner:
    return ConfiguredSigner(
        key_id=f"remote/{certificate.sha256.hex()[:16]}",
        signer_name=name,
        position=position,
        pyhanko_signer=pyhanko_signer,
        certificate=certificate,
    )


def _path_der(path: ValidationPath) -> tuple[bytes, tuple[bytes, ...], bytes]:
    anchor = path.trust_anchor
    leaf = path.leaf
    if not isinstance(anchor, CertTrustAnchor) or not isinstance(leaf, x509.Certificate):
        raise TypeError("remote signing needs certificate trust anchors and leaves")
    return (
        anchor.certificate.dump(),
        tuple(c.dump() for c in path.iter_certs(include_root=False) if c is not leaf),
        leaf.dump(),
    )


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unb64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _placeholder_length(certificate: x509.Certificate) -> int:
    if certificate.public_key.algorithm == "ec":
        return 72  # DER ECDSA signature on P-256 is at most 72 bytes
    return int(certificate.public_key.bit_size) // 8


def _raw_signature(signature_value: bytes, signed_attributes: bytes) -> bytes:
    """Accept a raw signature value, or a CMS SignedData over exactly our signed attributes."""
    try:
        content_info = cms.ContentInfo.load(signature_value)
        if content_info["content_type"].native != "signed_data":
            return signature_value
        signer_info = content_info["content"]["signer_infos"][0]
        attributes = signer_info["signed_attrs"].dump()
    except (ValueError, TypeError, KeyError, IndexError):
        return signature_value
    if attributes != signed_attributes:
        raise RemoteSigningRefused(
            "the CMS signs other attributes than the prepared ones", reason="mismatch"
        )
    return bytes(signer_info["signature"].native)


def _verify(certificate: x509.Certificate, signature: bytes, signed_data: bytes) -> None:
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
            reason="mismatch",
        ) from exc
