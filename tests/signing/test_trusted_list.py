"""ETSI TS 119 612 trusted lists from a file: services, status history, qualified chains, and
the list's own XML signature (signed here with a test key, as a scheme operator signs)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree
from pydantic import ValidationError
from signxml.signer import XMLSigner
from signxml.xades.xades import XAdESSigner

from signing.config import SignatureFieldSpec, SignatureRequest
from signing.dev_pki import DevPki
from signing.errors import TrustedListError
from signing.keys import load_certificates
from signing.report_xml import VR_NAMESPACE, validation_report_xml
from signing.service import SigningService
from signing.trusted_list import (
    SERVICE_TYPE_CA_QC,
    STATUS_GRANTED,
    STATUS_WITHDRAWN,
    load_trusted_list,
    parse_trusted_list,
)
from signing.verification import VerificationPolicy, Verifier
from tiltas.settings import Settings

NOW = datetime.now(UTC)


def _service_xml(
    name: str,
    cert_der: bytes,
    status: str,
    since: datetime,
    history: tuple[tuple[str, datetime], ...] = (),
) -> str:
    history_xml = "".join(
        f"""<tsl:ServiceHistoryInstance>
              <tsl:ServiceTypeIdentifier>{SERVICE_TYPE_CA_QC}</tsl:ServiceTypeIdentifier>
              <tsl:ServiceName><tsl:Name xml:lang="en">{name}</tsl:Name></tsl:ServiceName>
              <tsl:ServiceStatus>{old_status}</tsl:ServiceStatus>
              <tsl:StatusStartingTime>{old_since.strftime("%Y-%m-%dT%H:%M:%SZ")}</tsl:StatusStartingTime>
            </tsl:ServiceHistoryInstance>"""
        for old_status, old_since in history
    )
    return f"""
      <tsl:TSPService>
        <tsl:ServiceInformation>
          <tsl:ServiceTypeIdentifier>{SERVICE_TYPE_CA_QC}</tsl:ServiceTypeIdentifier>
          <tsl:ServiceName>
            <tsl:Name xml:lang="lt">{name} (lt)</tsl:Name>
            <tsl:Name xml:lang="en">{name}</tsl:Name>
          </tsl:ServiceName>
          <tsl:ServiceDigitalIdentity><tsl:DigitalId>
            <tsl:X509Certificate>{base64.b64encode(cert_der).decode()}</tsl:X509Certificate>
          </tsl:DigitalId></tsl:ServiceDigitalIdentity>
          <tsl:ServiceStatus>{status}</tsl:ServiceStatus>
          <tsl:StatusStartingTime>{since.strftime("%Y-%m-%dT%H:%M:%SZ")}</tsl:StatusStartingTime>
        </tsl:ServiceInformation>
        {"<tsl:ServiceHistory>" + history_xml + "</tsl:ServiceHistory>" if history else ""}
      </tsl:TSPService>"""


def _trusted_list_xml(services: str, pointers: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#" TSLTag="http://uri.etsi.org/19612/TSLTag" Id="tsl">
  <tsl:SchemeInformation Id="scheme">
    <tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier>
    <tsl:TSLSequenceNumber>42</tsl:TSLSequenceNumber>
    <tsl:SchemeTerritory>LT</tsl:SchemeTerritory>
    <tsl:ListIssueDateTime>2026-01-05T00:00:00Z</tsl:ListIssueDateTime>
    <tsl:NextUpdate><tsl:dateTime>2026-07-05T00:00:00Z</tsl:dateTime></tsl:NextUpdate>
    {pointers}
  </tsl:SchemeInformation>
  <tsl:TrustServiceProviderList>
    <tsl:TrustServiceProvider>
      <tsl:TSPInformation><tsl:TSPName>
        <tsl:Name xml:lang="en">Tiltas test TSP</tsl:Name>
      </tsl:TSPName></tsl:TSPInformation>
      <tsl:TSPServices>{services}</tsl:TSPServices>
    </tsl:TrustServiceProvider>
  </tsl:TrustServiceProviderList>
</tsl:TrustServiceStatusList>""".encode()


@dataclass(frozen=True)
class _ListSigner:
    """A scheme operator's signing key and its self-signed certificate (EC P-256)."""

    key: ec.EllipticCurvePrivateKey
    certificate: crypto_x509.Certificate

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)

    @classmethod
    def make(cls, name: str, valid_from: datetime, valid_until: datetime) -> _ListSigner:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = crypto_x509.Name(
            [
                crypto_x509.NameAttribute(NameOID.COUNTRY_NAME, "LT"),
                crypto_x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        certificate = (
            crypto_x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(crypto_x509.random_serial_number())
            .not_valid_before(valid_from)
            .not_valid_after(valid_until)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    def sign(self, xml: bytes, reference: str | None = None, *, xades: bool = False) -> bytes:
        """An enveloped XMLDSig signature (exclusive c14n) as the root's last child; with
        ``xades`` a XAdES-BES one (signed properties), as EU trusted lists are signed."""
        root = etree.fromstring(xml)
        signer: XMLSigner = (
            XAdESSigner(signature_algorithm="ecdsa-sha256")
            if xades
            else XMLSigner(
                signature_algorithm="ecdsa-sha256",
                c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
            )
        )
        signed = signer.sign(root, key=self.key, cert=[self.certificate], reference_uri=reference)
        return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


@pytest.fixture(scope="module")
def operator() -> _ListSigner:
    return _ListSigner.make(
        "Ryšių reguliavimo tarnyba (bandomoji)", NOW - timedelta(days=30), NOW + timedelta(days=700)
    )


@pytest.fixture(scope="module")
def certs(dev_pki: DevPki) -> dict[str, bytes]:
    root, interm = load_certificates([dev_pki.root_cert_path, dev_pki.intermediate_cert_path])
    return {"root": root.dump(), "interm": interm.dump()}


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier() as running:
        yield running


@pytest.fixture(scope="module")
def signed(signing_service: SigningService, pdfa_factory: Callable[..., bytes]) -> bytes:
    return signing_service.sign_pades(
        pdfa_factory(),
        signing_service.signer_for("188000000", "egle-vaitkiene"),
        SignatureRequest("parasas", "Tvirtinu", new_field=SignatureFieldSpec("parasas", 0, None)),
    )


def test_parses_services_with_type_status_and_history(
    certs: dict[str, bytes], tmp_path: Path
) -> None:
    services = _service_xml("Granted CA", certs["interm"], STATUS_GRANTED, NOW - timedelta(days=9))
    services += _service_xml(
        "Withdrawn CA",
        certs["root"],
        STATUS_WITHDRAWN,
        NOW - timedelta(days=2),
        history=((STATUS_GRANTED, NOW - timedelta(days=900)),),
    )
    path = tmp_path / "LT-TL.xml"
    path.write_bytes(_trusted_list_xml(services))
    trusted_list = load_trusted_list(path, allow_unsigned=True)

    assert (trusted_list.territory, trusted_list.sequence_number) == ("LT", 42)
    assert trusted_list.next_update == datetime(2026, 7, 5, tzinfo=UTC)
    assert not trusted_list.signature_verified and trusted_list.signed_by is None
    granted, withdrawn = trusted_list.services
    assert granted.name == "Granted CA" and granted.provider == "Tiltas test TSP"
    assert granted.is_qualified_ca and granted.status == STATUS_GRANTED
    assert granted.certificates == (certs["interm"],)
    assert withdrawn.status == STATUS_WITHDRAWN
    assert withdrawn.status_at(NOW - timedelta(days=30)) == STATUS_GRANTED
    assert withdrawn.status_at(NOW) == STATUS_WITHDRAWN


def test_signature_chaining_to_granted_ca_qc_is_qualified(
    certs: dict[str, bytes], dev_pki: DevPki, signed: bytes, verifier: Verifier
) -> None:
    trusted_list = parse_trusted_list(
        _trusted_list_xml(
            _service_xml("Granted CA", certs["interm"], STATUS_GRANTED, NOW - timedelta(days=9))
        ),
        source="LT-TL.xml",
        allow_unsigned=True,
    )
    policy = VerificationPolicy.from_files([dev_pki.root_cert_path], trusted_list=trusted_list)
    report = verifier.verify(signed, policy)
    qualification = report.signatures[0].qualification
    assert qualification is not None and qualification.qualified
    assert qualification.service_name == "Granted CA"
    assert qualification.trusted_list == "LT-TL.xml"
    xml = validation_report_xml(report).decode()
    assert "urn:cef:dss:signatureQualification:QESig" in xml
    assert f'xmlns:vr="{VR_NAMESPACE}"' in xml


def test_withdrawn_service_is_not_qualified(
    certs: dict[str, bytes], dev_pki: DevPki, signed: bytes, verifier: Verifier
) -> None:
    trusted_list = parse_trusted_list(
        _trusted_list_xml(
            _service_xml(
                "Withdrawn CA",
                certs["interm"],
                STATUS_WITHDRAWN,
                NOW - timedelta(days=2),
                history=((STATUS_GRANTED, NOW - timedelta(days=900)),),
            )
        ),
        allow_unsigned=True,
    )
    policy = VerificationPolicy.from_files([dev_pki.root_cert_path], trusted_list=trusted_list)
    qualification = verifier.verify(signed, policy).signatures[0].qualification
    assert qualification is not None and not qualification.qualified
    assert qualification.reason == "service_not_granted"
    # a signature made while the service was still granted would have been qualified
    assert trusted_list.assess_chain([certs["interm"]], NOW - timedelta(days=7)).qualified


def test_unlisted_ca_is_not_qualified(certs: dict[str, bytes]) -> None:
    trusted_list = parse_trusted_list(_trusted_list_xml(""), allow_unsigned=True)
    assessment = trusted_list.assess_chain([certs["interm"], certs["root"]])
    assert not assessment.qualified and assessment.reason == "no_matching_service"


def test_lotl_pointers() -> None:
    pointers = """<tsl:PointersToOtherTSL><tsl:OtherTSLPointer>
        <tsl:TSLLocation>https://example.invalid/LT-TL.xml</tsl:TSLLocation>
        <tsl:AdditionalInformation><tsl:OtherInformation>
          <tsl:SchemeTerritory>LT</tsl:SchemeTerritory>
        </tsl:OtherInformation></tsl:AdditionalInformation>
      </tsl:OtherTSLPointer></tsl:PointersToOtherTSL>"""
    lotl = parse_trusted_list(_trusted_list_xml("", pointers), allow_unsigned=True)
    (pointer,) = lotl.pointers
    assert (pointer.territory, pointer.location) == ("LT", "https://example.invalid/LT-TL.xml")


@pytest.mark.parametrize(
    "xml",
    [
        b"not xml",
        b"<other/>",
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#">&e;'
        b"</tsl:TrustServiceStatusList>",
    ],
)
def test_bad_files_raise_trusted_list_error(xml: bytes) -> None:
    with pytest.raises(TrustedListError) as caught:
        parse_trusted_list(xml, source="bad.xml", allow_unsigned=True)
    assert caught.value.details()["source"] == "bad.xml"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrustedListError) as caught:
        load_trusted_list(tmp_path / "nera.xml")
    assert caught.value.reason == "unreadable"


# -- the list's own signature ------------------------------------------------------------------


def _signed_list(operator: _ListSigner, certs: dict[str, bytes], *, xades: bool = False) -> bytes:
    services = _service_xml("Granted CA", certs["interm"], STATUS_GRANTED, NOW - timedelta(days=9))
    return operator.sign(_trusted_list_xml(services), xades=xades)


def _refusal(xml: bytes, *certificates: bytes, **options: Any) -> TrustedListError:
    with pytest.raises(TrustedListError) as caught:
        parse_trusted_list(xml, source="LT-TL.xml", signing_certificates=certificates, **options)
    assert caught.value.details()["code"] == "trusted_list_error"
    return caught.value


@pytest.mark.parametrize("xades", [False, True], ids=["xmldsig", "xades"])
def test_a_list_signed_by_a_configured_certificate_is_read_and_marked_verified(
    operator: _ListSigner, certs: dict[str, bytes], tmp_path: Path, xades: bool
) -> None:
    other = _ListSigner.make("Kita tarnyba", NOW - timedelta(days=1), NOW + timedelta(days=9))
    path = tmp_path / "LT-TL.xml"
    path.write_bytes(_signed_list(operator, certs, xades=xades))
    trusted_list = load_trusted_list(path, signing_certificates=[other.der, operator.der])
    assert trusted_list.signature_verified
    assert trusted_list.signed_by is not None and "Ryšių reguliavimo" in trusted_list.signed_by
    (service,) = trusted_list.services
    assert service.name == "Granted CA" and service.certificates == (certs["interm"],)
    assert trusted_list.assess_chain([certs["interm"]]).qualified


@pytest.mark.parametrize("xades", [False, True], ids=["xmldsig", "xades"])
def test_a_changed_list_is_refused_as_tampered(
    operator: _ListSigner, certs: dict[str, bytes], xades: bool
) -> None:
    signed = _signed_list(operator, certs, xades=xades)
    changed = signed.replace(STATUS_GRANTED.encode(), STATUS_WITHDRAWN.encode())
    assert changed != signed
    assert _refusal(changed, operator.der).reason == "tampered"


def test_a_list_signed_by_another_key_is_refused(
    operator: _ListSigner, certs: dict[str, bytes]
) -> None:
    impostor = _ListSigner.make(
        "Ryšių reguliavimo tarnyba (bandomoji)", NOW - timedelta(days=1), NOW + timedelta(days=9)
    )
    # the impostor's certificate travels in the signature: only the configured key counts
    assert (
        _refusal(impostor.sign(_trusted_list_xml("")), operator.der).reason == "signer_not_trusted"
    )


def test_an_unsigned_list_is_refused_unless_allowed(
    certs: dict[str, bytes], operator: _ListSigner
) -> None:
    unsigned = _trusted_list_xml(_service_xml("CA", certs["interm"], STATUS_GRANTED, NOW))
    assert _refusal(unsigned, operator.der).reason == "unsigned"
    allowed = parse_trusted_list(unsigned, allow_unsigned=True)
    assert not allowed.signature_verified and len(allowed.services) == 1


def test_allowing_unsigned_lists_never_skips_a_signature_that_is_there(
    operator: _ListSigner, certs: dict[str, bytes]
) -> None:
    changed = _signed_list(operator, certs).replace(b">42<", b">43<")
    assert _refusal(changed, operator.der, allow_unsigned=True).reason == "tampered"
    assert _refusal(_signed_list(operator, certs), allow_unsigned=True).reason == (
        "no_signing_certificates"
    )


def test_a_signature_over_part_of_the_list_is_refused(operator: _ListSigner) -> None:
    partial = operator.sign(_trusted_list_xml(""), reference="#scheme")
    assert _refusal(partial, operator.der).reason == "partial_signature"


def test_an_expired_signing_certificate_is_refused(
    operator: _ListSigner, certs: dict[str, bytes]
) -> None:
    signed = _signed_list(operator, certs)
    later = NOW + timedelta(days=800)
    assert _refusal(signed, operator.der, now=later).reason == "signing_certificate_not_valid"


def test_a_second_or_misplaced_signature_is_refused(
    operator: _ListSigner, certs: dict[str, bytes]
) -> None:
    signed = etree.fromstring(_signed_list(operator, certs))
    signature = signed[-1]
    signed.find("{http://uri.etsi.org/02231/v2#}SchemeInformation").append(
        etree.fromstring(etree.tostring(signature))
    )
    assert _refusal(etree.tostring(signed), operator.der).reason == "signature_misplaced"


def test_settings_name_the_list_and_its_signers_and_production_refuses_unsigned_lists() -> None:
    settings = Settings.model_validate(
        {"trusted_list_signing_certificates": "lotl-1.pem, lotl-2.pem"}
    )
    assert settings.trusted_list_signing_certificates == (Path("lotl-1.pem"), Path("lotl-2.pem"))
    production: dict[str, object] = {
        "environment": "production",
        "database_url": "postgresql+psycopg://tiltas@db/tiltas",
        "broker_url": "redis://queue:6379/0",
        "tsa_urls": "https://tsa.example.invalid/tsa",
        "signing_keys_file": "keys.json",
    }
    assert not Settings.model_validate(production).trusted_list_allow_unsigned
    with pytest.raises(ValidationError, match="TILTAS_TRUSTED_LIST_ALLOW_UNSIGNED"):
        Settings.model_validate({**production, "trusted_list_allow_unsigned": True})
