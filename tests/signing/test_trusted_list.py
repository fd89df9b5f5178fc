"""ETSI TS 119 612 trusted lists from a file: services, status history, qualified chains."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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
<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#" TSLTag="http://uri.etsi.org/19612/TSLTag">
  <tsl:SchemeInformation>
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
    trusted_list = load_trusted_list(path)

    assert (trusted_list.territory, trusted_list.sequence_number) == ("LT", 42)
    assert trusted_list.next_update == datetime(2026, 7, 5, tzinfo=UTC)
    assert not trusted_list.signature_verified
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
        )
    )
    policy = VerificationPolicy.from_files([dev_pki.root_cert_path], trusted_list=trusted_list)
    qualification = verifier.verify(signed, policy).signatures[0].qualification
    assert qualification is not None and not qualification.qualified
    assert qualification.reason == "service_not_granted"
    # a signature made while the service was still granted would have been qualified
    assert trusted_list.assess_chain([certs["interm"]], NOW - timedelta(days=7)).qualified


def test_unlisted_ca_is_not_qualified(certs: dict[str, bytes]) -> None:
    trusted_list = parse_trusted_list(_trusted_list_xml(""))
    assessment = trusted_list.assess_chain([certs["interm"], certs["root"]])
    assert not assessment.qualified and assessment.reason == "no_matching_service"


def test_lotl_pointers() -> None:
    pointers = """<tsl:PointersToOtherTSL><tsl:OtherTSLPointer>
        <tsl:TSLLocation>https://example.invalid/LT-TL.xml</tsl:TSLLocation>
        <tsl:AdditionalInformation><tsl:OtherInformation>
          <tsl:SchemeTerritory>LT</tsl:SchemeTerritory>
        </tsl:OtherInformation></tsl:AdditionalInformation>
      </tsl:OtherTSLPointer></tsl:PointersToOtherTSL>"""
    lotl = parse_trusted_list(_trusted_list_xml("", pointers))
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
        parse_trusted_list(xml, source="bad.xml")
    assert caught.value.details()["source"] == "bad.xml"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TrustedListError) as caught:
        load_trusted_list(tmp_path / "nera.xml")
    assert caught.value.reason == "unreadable"
