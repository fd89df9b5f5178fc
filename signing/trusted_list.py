"""EU trusted lists (ETSI TS 119 612) read from a file: which CAs issue qualified certificates.

``load_trusted_list(path)`` reads a national trusted list (e.g. the Lithuanian one) or the
EU list of trusted lists (LOTL) that an administrator downloaded; nothing is fetched at run
time. A national list yields its trust services with their type (``CA/QC``, ``TSA/QTST`` …),
their status over time (granted / withdrawn, from ``ServiceHistory``) and their
certificates; the LOTL yields only pointers to the national lists.

``TrustedList.assess_chain`` says whether a certificate chain leads to a CA/QC service whose
status was *granted* at a given time (the signature's proof-of-existence time).

The list's own XML signature (XMLDSig/XAdES, enveloped, a child of the root) is verified with
signxml against the configured signing certificates of that list (for the LOTL the
certificates published in the Official Journal, for a national list those the LOTL names):
the key is pinned, nothing is fetched, and the certificate must be valid now. The signature
must cover the whole list, and only what it covers is read. A list that does not verify —
changed after signing, signed by another key, signature elsewhere or over a part — raises
:class:`~signing.errors.TrustedListError` with ``reason`` saying which. An unsigned list is
refused unless the caller explicitly allows it (hand-made lists in development; the
``signature_verified`` flag then says ``False``). The parser refuses DTDs and entities.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509
from cryptography import x509 as crypto_x509
from lxml import etree
from signxml.exceptions import (
    InvalidCertificate,
    InvalidDigest,
    InvalidInput,
    InvalidSignature,
    SignXMLException,
)
from signxml.verifier import SignatureConfiguration, XMLVerifier

from signing.errors import TrustedListError

__all__ = [
    "GRANTED_STATUSES",
    "QualificationAssessment",
    "ServiceStatusPeriod",
    "TrustService",
    "TrustedList",
    "TrustedListPointer",
    "load_trusted_list",
    "parse_trusted_list",
    "verify_trusted_list_signature",
]

TSL_NS = "http://uri.etsi.org/02231/v2#"
XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_NS = {"tsl": TSL_NS, "ds": XMLDSIG_NS}
_ROOT_TAG = f"{{{TSL_NS}}}TrustServiceStatusList"
SERVICE_TYPE_CA_QC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
SERVICE_TYPE_TSA_QTST = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
STATUS_GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
STATUS_WITHDRAWN = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
# Before eIDAS (1 July 2016) qualified CAs were "under supervision" / "accredited".
GRANTED_STATUSES = frozenset(
    {
        STATUS_GRANTED,
        "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/undersupervision",
        "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/supervisionincessation",
        "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/accredited",
    }
)
_MAX_TL_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ServiceStatusPeriod:
    """A service's status from ``starting_time`` until the next period starts."""

    status: str
    """Status URI, e.g. ``…/Svcstatus/granted``."""
    starting_time: datetime | None


@dataclass(frozen=True)
class TrustService:
    """One ``TSPService`` of a national trusted list."""

    provider: str
    """Trust service provider name (English if given, else the first name)."""
    name: str
    service_type: str
    """``ServiceTypeIdentifier`` URI, e.g. ``http://uri.etsi.org/TrstSvc/Svctype/CA/QC``."""
    status_history: tuple[ServiceStatusPeriod, ...]
    """Newest first: the current status, then ``ServiceHistory`` entries."""
    certificates: tuple[bytes, ...]
    """DER X.509 certificates of the service's digital identity."""

    @property
    def status(self) -> str:
        return self.status_history[0].status if self.status_history else ""

    @property
    def is_qualified_ca(self) -> bool:
        return self.service_type == SERVICE_TYPE_CA_QC

    def status_at(self, moment: datetime | None) -> str:
        """Status in force at ``moment`` (the current status if ``None``)."""
        if moment is None:
            return self.status
        for period in self.status_history:  # newest first
            if period.starting_time is None or period.starting_time <= moment:
                return period.status
        return ""


@dataclass(frozen=True)
class TrustedListPointer:
    """An ``OtherTSLPointer`` of the LOTL: where a national list lives (not fetched)."""

    territory: str
    location: str


@dataclass(frozen=True)
class TrustedList:
    """A parsed trusted list; build with :func:`load_trusted_list`."""

    source: str
    """File name it was read from (for reports)."""
    territory: str
    sequence_number: int | None
    issue_date: datetime | None
    next_update: datetime | None
    services: tuple[TrustService, ...]
    pointers: tuple[TrustedListPointer, ...] = ()
    """Only in a LOTL: the national lists it points to."""
    signature_verified: bool = False
    """The list's XML signature verified with a configured signing certificate; ``False``
    only for an unsigned list loaded with ``allow_unsigned`` (development)."""
    signed_by: str | None = None
    """Subject of the configured certificate whose key verified the signature."""

    def qualified_ca_services(self) -> tuple[TrustService, ...]:
        return tuple(service for service in self.services if service.is_qualified_ca)

    def assess_chain(
        self, chain_der: Sequence[bytes], moment: datetime | None = None
    ) -> QualificationAssessment:
        """Does the chain (leaf first or last, any order) pass through a CA/QC service?

        A certificate matches a service when it is one of the service's certificates or has
        the same subject and public key (a re-issued CA certificate). The leaf itself is
        never matched: a qualified certificate is *issued by* a qualified CA service.
        """
        loaded = (_load_certificate(der) for der in chain_der)
        issuers = [cert for cert in loaded if cert is not None and _is_ca(cert)]
        for service in self.qualified_ca_services():
            service_keys = {
                _identity(cert)
                for cert in (_load_certificate(der) for der in service.certificates)
                if cert is not None
            }
            for cert in issuers:
                if _identity(cert) not in service_keys:
                    continue
                status = service.status_at(moment)
                granted = status in GRANTED_STATUSES
                return QualificationAssessment(
                    qualified=granted,
                    reason="granted" if granted else "service_not_granted",
                    trusted_list=self.source,
                    territory=self.territory,
                    provider=service.provider,
                    service_name=service.name,
                    service_type=service.service_type,
                    service_status=status,
                    matched_certificate=cert.subject.human_friendly,
                )
        return QualificationAssessment(
            qualified=False,
            reason="no_matching_service",
            trusted_list=self.source,
            territory=self.territory,
        )


@dataclass(frozen=True)
class QualificationAssessment:
    """Outcome of matching one chain against one trusted list."""

    qualified: bool
    """The chain passes through a CA/QC service whose status was granted at the time."""
    reason: str
    """``granted``, ``service_not_granted`` or ``no_matching_service``."""
    trusted_list: str
    territory: str
    provider: str | None = None
    service_name: str | None = None
    service_type: str | None = None
    service_status: str | None = None
    matched_certificate: str | None = None


def load_trusted_list(
    path: Path | str,
    *,
    signing_certificates: Sequence[bytes] = (),
    allow_unsigned: bool = False,
    now: datetime | None = None,
) -> TrustedList:
    """Read a trusted list XML file (national TL or LOTL) and verify its signature.

    ``signing_certificates`` are the DER certificates whose keys may sign this list.

    :raises TrustedListError: unreadable, too large, not TS 119 612 XML, or its signature is
        missing (unless ``allow_unsigned``) or does not verify (``reason`` says which).
    """
    file_path = Path(path)
    try:
        size = file_path.stat().st_size
        if size > _MAX_TL_BYTES:
            raise TrustedListError(
                "trusted list file too large", source=file_path.name, reason="too_large"
            )
        data = file_path.read_bytes()
    except OSError as exc:
        raise TrustedListError(
            "trusted list file unreadable", source=file_path.name, reason="unreadable"
        ) from exc
    return parse_trusted_list(
        data,
        source=file_path.name,
        signing_certificates=signing_certificates,
        allow_unsigned=allow_unsigned,
        now=now,
    )


def parse_trusted_list(
    xml: bytes,
    *,
    source: str = "<memory>",
    signing_certificates: Sequence[bytes] = (),
    allow_unsigned: bool = False,
    now: datetime | None = None,
) -> TrustedList:
    """Parse and verify trusted list XML (bytes). See :func:`load_trusted_list`."""
    root = _parse_xml(xml, source)
    if root.tag != _ROOT_TAG:
        raise TrustedListError(
            "not an ETSI TS 119 612 TrustServiceStatusList", source=source, reason="not_tsl"
        )
    signed_by: str | None = None
    if root.find(".//ds:Signature", _NS) is None:
        if not allow_unsigned:
            raise TrustedListError(
                "the trusted list is not signed", source=source, reason="unsigned"
            )
    else:
        root, signed_by = verify_trusted_list_signature(
            root, signing_certificates, source=source, now=now
        )
    return _read_list(root, source, signed_by)


def verify_trusted_list_signature(
    root: Any,
    signing_certificates: Sequence[bytes],
    *,
    source: str = "<memory>",
    now: datetime | None = None,
) -> tuple[Any, str]:
    """Verify the list's enveloped XML signature; return what it signs and who signed.

    The signature must be one ``ds:Signature`` child of the root whose references include the
    whole list; the returned element is the list as signed (signature removed), so nothing
    unsigned is ever read.

    :raises TrustedListError: ``no_signing_certificates``, ``signature_misplaced``,
        ``signer_not_trusted`` (no configured key made it), ``tampered`` (a configured key
        made it but the content changed), ``signing_certificate_not_valid`` (expired or not
        yet valid), ``partial_signature`` (does not cover the whole list), ``bad_signature``.
    """
    if not signing_certificates:
        raise TrustedListError(
            "the trusted list is signed but no signing certificates are configured for it",
            source=source,
            reason="no_signing_certificates",
        )
    signatures = root.findall(".//ds:Signature", _NS)
    if len(signatures) != 1 or signatures[0].getparent() is not root:
        raise TrustedListError(
            "the trusted list must carry exactly one signature, as a child of its root",
            source=source,
            reason="signature_misplaced",
        )
    config = SignatureConfiguration(
        location="./",
        expect_references=True,  # the list, and in XAdES its SignedProperties
        verification_time=now or datetime.now(UTC),
    )
    reasons: list[str] = []
    for der in signing_certificates:
        try:
            certificate = crypto_x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise TrustedListError(
                "a configured trusted-list signing certificate cannot be read",
                source=source,
                reason="bad_signing_certificate",
            ) from exc
        try:
            results = XMLVerifier().verify(root, x509_cert=certificate, expect_config=config)
        except InvalidDigest:
            reasons.append("tampered")
            continue
        except InvalidCertificate:
            reasons.append("signing_certificate_not_valid")
            continue
        except InvalidSignature:
            reasons.append("signer_not_trusted")
            continue
        except (InvalidInput, SignXMLException, ValueError, TypeError) as exc:
            raise TrustedListError(
                "the trusted list's signature cannot be processed",
                source=source,
                reason="bad_signature",
            ) from exc
        for result in results if isinstance(results, list) else [results]:
            signed = result.signed_xml
            if getattr(signed, "tag", None) == _ROOT_TAG:
                return signed, certificate.subject.rfc4514_string()
        raise TrustedListError(
            "the trusted list's signature does not cover the whole list",
            source=source,
            reason="partial_signature",
        )
    reason = next(
        (r for r in ("tampered", "signing_certificate_not_valid") if r in reasons),
        "signer_not_trusted",
    )
    message = {
        "tampered": "the trusted list was changed after it was signed",
        "signing_certificate_not_valid": "the trusted list's signing certificate is not valid now",
        "signer_not_trusted": (
            "the trusted list is not signed by any of the configured signing certificates"
        ),
    }[reason]
    raise TrustedListError(message, source=source, reason=reason)


def _parse_xml(xml: bytes, source: str) -> Any:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        return etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise TrustedListError(
            "trusted list is not well-formed XML", source=source, reason="not_xml"
        ) from exc


def _read_list(root: Any, source: str, signed_by: str | None) -> TrustedList:
    if root.tag != _ROOT_TAG:
        raise TrustedListError(
            "not an ETSI TS 119 612 TrustServiceStatusList", source=source, reason="not_tsl"
        )
    info = _first(root, "tsl:SchemeInformation")
    if info is None:
        raise TrustedListError("SchemeInformation missing", source=source, reason="not_tsl")
    sequence = _text(info, "tsl:TSLSequenceNumber")
    try:
        services = tuple(_services(root))
    except ValueError as exc:
        raise TrustedListError(
            "a trust service entry is malformed", source=source, reason="malformed_service"
        ) from exc
    pointers = tuple(
        TrustedListPointer(
            territory=_text(pointer, ".//tsl:SchemeTerritory") or "",
            location=_text(pointer, "tsl:TSLLocation") or "",
        )
        for pointer in info.iterfind("tsl:PointersToOtherTSL/tsl:OtherTSLPointer", _NS)
    )
    return TrustedList(
        source=source,
        territory=_text(info, "tsl:SchemeTerritory") or "",
        sequence_number=int(sequence) if sequence and sequence.isdigit() else None,
        issue_date=_datetime(_text(info, "tsl:ListIssueDateTime")),
        next_update=_datetime(_text(info, "tsl:NextUpdate/tsl:dateTime")),
        services=services,
        pointers=pointers,
        signature_verified=signed_by is not None,
        signed_by=signed_by,
    )


def _services(root: Any) -> Iterable[TrustService]:
    for provider in root.iterfind("tsl:TrustServiceProviderList/tsl:TrustServiceProvider", _NS):
        provider_name = _name(_first(provider, "tsl:TSPInformation/tsl:TSPName"))
        for service in provider.iterfind("tsl:TSPServices/tsl:TSPService", _NS):
            current = _first(service, "tsl:ServiceInformation")
            if current is None:
                continue
            periods = [_period(current)]
            periods.extend(
                _period(entry)
                for entry in service.iterfind("tsl:ServiceHistory/tsl:ServiceHistoryInstance", _NS)
            )
            periods.sort(
                key=lambda period: period.starting_time or datetime.min.replace(tzinfo=UTC),
                reverse=True,
            )
            yield TrustService(
                provider=provider_name,
                name=_name(_first(current, "tsl:ServiceName")),
                service_type=_text(current, "tsl:ServiceTypeIdentifier") or "",
                status_history=tuple(periods),
                certificates=tuple(_certificates(current)),
            )


def _period(element: Any) -> ServiceStatusPeriod:
    return ServiceStatusPeriod(
        status=_text(element, "tsl:ServiceStatus") or "",
        starting_time=_datetime(_text(element, "tsl:StatusStartingTime")),
    )


def _certificates(service_information: Any) -> Iterable[bytes]:
    for element in service_information.iterfind(
        "tsl:ServiceDigitalIdentity/tsl:DigitalId/tsl:X509Certificate", _NS
    ):
        text = "".join((element.text or "").split())
        try:
            yield base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("bad base64 certificate") from exc


def _first(element: Any, path: str) -> Any:
    return element.find(path, _NS)


def _text(element: Any, path: str) -> str | None:
    found = element.find(path, _NS)
    if found is None or found.text is None:
        return None
    return str(found.text).strip()


def _name(element: Any) -> str:
    """An internationalised name: English if present, else the first one."""
    if element is None:
        return ""
    names = list(element.iterfind("tsl:Name", _NS))
    for name in names:
        if name.get("{http://www.w3.org/XML/1998/namespace}lang") == "en":
            return str(name.text or "").strip()
    return str(names[0].text or "").strip() if names else ""


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _load_certificate(der: bytes) -> x509.Certificate | None:
    try:
        cert = x509.Certificate.load(der)
        _ = cert.subject.dump(), cert.public_key.dump()  # force parsing: fail here, not later
        return cert
    except (ValueError, TypeError):
        return None


def _is_ca(cert: x509.Certificate) -> bool:
    constraints = cert.basic_constraints_value
    return bool(constraints is not None and constraints["ca"].native)


def _identity(cert: x509.Certificate) -> tuple[bytes, bytes]:
    return bytes(cert.subject.dump()), bytes(cert.public_key.dump())
