"""Archivist's verification: ETSI indication, chain, revocation, LTV level, renewal date, reports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pikepdf
import pytest
from asn1crypto import x509
from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.config import SignatureFieldSpec, SignatureRequest
from signing.dev_pki import DevPki
from signing.report_xml import VR_NAMESPACE, validation_report_xml
from signing.service import SigningService
from signing.signature_fields import prepare_signature_fields
from signing.verification import (
    Indication,
    LtvLevel,
    VerificationPolicy,
    VerificationReport,
    Verifier,
    async_verify_pdf,
    verify_pdf_in_process,
)

ORGANISATION = "188000000"
VR = {"vr": VR_NAMESPACE}


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier(workers=1) as running:
        yield running


@pytest.fixture(scope="module")
def policy(dev_pki: DevPki) -> VerificationPolicy:
    return VerificationPolicy.from_files([dev_pki.root_cert_path])


def _sign(service: SigningService, pdf: bytes, field: str, role: str) -> bytes:
    return service.sign_pades(
        pdf,
        service.signer_for(ORGANISATION, role),
        SignatureRequest(field, "Protokolo tvirtinimas"),
    )


@pytest.fixture(scope="module")
def two_signatures(signing_service: SigningService, pdfa_factory: Callable[..., bytes]) -> bytes:
    """Document K: chair then secretary, both B-LTA (fields laid out before signing)."""
    pdf = prepare_signature_fields(
        pdfa_factory(),
        [
            SignatureFieldSpec("pirmininkas", 0, (60, 60, 290, 150)),
            SignatureFieldSpec("sekretorius", 0, (300, 60, 530, 150)),
        ],
    )
    pdf = _sign(signing_service, pdf, "pirmininkas", "rasa-kazlauskiene")
    return _sign(signing_service, pdf, "sekretorius", "jonas-petrauskas")


@pytest.fixture(scope="module")
def report(
    two_signatures: bytes, verifier: Verifier, policy: VerificationPolicy
) -> VerificationReport:
    return verifier.verify(two_signatures, policy)


def test_b_lta_document_passes_with_chain_revocation_and_times(
    report: VerificationReport, dev_pki: DevPki
) -> None:
    assert report.indication is Indication.TOTAL_PASSED
    assert report.sub_indication is None
    chair, secretary = report.signatures
    assert chair.field_name == "pirmininkas"
    assert chair.signer is not None and chair.signer.common_name == "Rasa Kazlauskienė"
    assert chair.signer.organisation == "Tiltas bandomoji PKI (nekvalifikuota)"
    assert secretary.signer is not None and secretary.signer.common_name == "Jonas Petrauskas"
    root = x509.Certificate.load(dev_pki.root_cert_der())
    for signature in report.signatures:
        assert signature.indication is Indication.TOTAL_PASSED
        assert signature.ltv_level is LtvLevel.B_LTA
        assert [c.common_name for c in signature.chain][1:] == [
            "Tiltas bandomoji tarpinė CA",
            "Tiltas bandomoji šakninė CA",
        ]
        assert signature.trust_anchor is not None
        assert signature.trust_anchor.sha256 == root.sha256.hex()
        # OCSP for the signer and the intermediate, from the DSS, never fetched
        covered = {info.certificate_serial for info in signature.revocation}
        assert {c.serial_number for c in signature.chain[:-1]} <= covered
        assert {info.source for info in signature.revocation} == {"DSS"}
        assert all(info.kind == "OCSP" and info.status == "good" for info in signature.revocation)
        assert signature.timestamp_time is not None and signature.claimed_signing_time is not None
        assert abs(signature.timestamp_time - signature.claimed_signing_time) < timedelta(minutes=1)
        assert signature.timestamp_authority is not None
        assert signature.reason and signature.name and signature.signing_time_entry
    # the chair's signature saw the secretary's signature added: allowed form filling
    assert chair.modification_level == "FORM_FILLING"
    assert secretary.modification_level == "LTA_UPDATES"
    assert not report.fetched_revocation
    assert len(report.document_timestamps) == 2
    first_ts, last_ts = report.document_timestamps
    assert first_ts.superseded and not last_ts.superseded
    assert last_ts.indication is Indication.TOTAL_PASSED


def test_renewal_due_is_tsa_expiry_minus_margin(
    report: VerificationReport, policy: VerificationPolicy
) -> None:
    last_ts = report.document_timestamps[-1]
    assert last_ts.timestamp_authority is not None
    assert report.archive_timestamp_expires == last_ts.timestamp_authority.not_after
    assert report.renewal_due == last_ts.timestamp_authority.not_after - policy.renewal_margin
    assert not report.renewal_needed


def test_document_findings_pdfa_and_pdf_lt(report: VerificationReport) -> None:
    document = report.document
    assert (document.pdfa_part, document.pdfa_conformance) == ("2", "B")
    assert document.has_dss and not document.certification_signature
    assert document.embedded_files == 0
    codes = {finding.code for finding in document.findings}
    # the test input has no LTUd metadata: PDF-LT-V1.0 conformance is reported missing
    assert "pdf_lt_standard_version" in codes
    assert "pdf_lt_signature_entries" not in codes
    assert not document.pdf_lt_conformant


def test_json_round_trips(report: VerificationReport) -> None:
    data = json.loads(json.dumps(report.to_json(), ensure_ascii=False))
    assert data["indication"] == "TOTAL-PASSED"
    assert data["signatures"][0]["ltv_level"] == "B-LTA"
    assert data["signatures"][0]["signer"]["common_name"] == "Rasa Kazlauskienė"
    assert data["renewal_due"] == report.renewal_due.isoformat()  # type: ignore[union-attr]
    assert data["renewal_needed"] is False


def test_xml_report_is_well_formed_with_the_same_indications(report: VerificationReport) -> None:
    root = etree.fromstring(validation_report_xml(report))
    assert root.tag == f"{{{VR_NAMESPACE}}}ValidationReport"
    reports = root.findall("vr:SignatureValidationReport", VR)
    expected = [*report.signatures, *report.document_timestamps]
    assert len(reports) == len(expected)
    for element, signature in zip(reports, expected, strict=True):
        main = element.findtext("vr:SignatureValidationStatus/vr:MainIndication", namespaces=VR)
        assert main == signature.indication.uri
        assert element.find("vr:SignatureIdentifier", VR) is not None
        assert element.find("vr:ValidationTimeInfo/vr:ValidationTime", VR) is not None
        assert element.find("vr:SignatureValidationProcess", VR) is not None
        assert element.find("vr:SignatureQuality", VR) is not None
    signer = reports[0].findtext("vr:SignerInformation/vr:Signer", namespaces=VR)
    assert signer == "Rasa Kazlauskienė"


def _modify_page_after_signing(signed: bytes) -> bytes:
    """An incremental update that rewrites the page content: illegal after a signature."""
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=b"BT /F1 16 Tf 72 760 Td (Suklastota) Tj ET")
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def test_illegal_modification_caps_an_ades_pass(
    two_signatures: bytes, verifier: Verifier, policy: VerificationPolicy
) -> None:
    tampered = verifier.verify(_modify_page_after_signing(two_signatures), policy)

    assert tampered.indication is Indication.TOTAL_FAILED
    assert tampered.sub_indication == "SIG_CONSTRAINTS_FAILURE"
    for signature in tampered.signatures:
        # the signed bytes are intact and AdES alone would pass ...
        assert signature.ades_sub_indication == "OK"
        # ... but the later modification makes the verdict TOTAL-FAILED
        assert signature.indication is Indication.TOTAL_FAILED
        assert signature.modification_level == "OTHER"
        assert "illegal_modification" in {f.code for f in signature.findings}
    xml = etree.fromstring(validation_report_xml(tampered))
    mains = xml.findall(".//vr:MainIndication", VR)
    assert mains[0].text == "urn:etsi:019102:mainindication:total-failed"


def test_unknown_trust_anchor_is_indeterminate(
    two_signatures: bytes, verifier: Verifier, dev_pki: DevPki
) -> None:
    # the intermediate as the only anchor would be accepted; an unrelated root must not be
    from signing.keys import load_certificates

    tsa_cert = load_certificates([dev_pki.directory / "certs" / "tsa.cert.pem"])[0]
    stranger = VerificationPolicy(trust_roots=(tsa_cert.dump(),))
    result = verifier.verify(two_signatures, stranger)
    assert result.indication is Indication.INDETERMINATE
    assert all(s.indication is Indication.INDETERMINATE for s in result.signatures)
    assert all(s.trust_anchor is None for s in result.signatures)


def test_unsigned_pdf_is_indeterminate(
    pdfa_bytes: bytes, verifier: Verifier, policy: VerificationPolicy
) -> None:
    result = verifier.verify(pdfa_bytes, policy)
    assert result.indication is Indication.INDETERMINATE
    assert result.sub_indication == "SIGNED_DATA_NOT_FOUND"
    assert result.signatures == () and result.renewal_due is None


def test_after_tsa_expiry_without_renewal_it_is_not_passed(
    two_signatures: bytes, verifier: Verifier, policy: VerificationPolicy
) -> None:
    later = datetime.now(UTC) + timedelta(days=365 * 11)  # dev TSA certificate: 10 years
    result = verifier.verify(two_signatures, _with_time(policy, later))
    assert result.indication is not Indication.TOTAL_PASSED
    assert result.renewal_needed


def test_a_year_later_offline_it_still_passes(
    two_signatures: bytes, verifier: Verifier, policy: VerificationPolicy
) -> None:
    # the OCSP responses in the DSS are valid for one hour only
    later = datetime.now(UTC) + timedelta(days=365)
    result = verifier.verify(two_signatures, _with_time(policy, later))
    assert result.indication is Indication.TOTAL_PASSED
    assert not result.fetched_revocation


def test_async_variant_runs_inside_an_event_loop(
    two_signatures: bytes, verifier: Verifier, policy: VerificationPolicy
) -> None:
    async def inside_loop() -> VerificationReport:
        return await async_verify_pdf(two_signatures, policy, verifier=verifier)

    assert asyncio.run(inside_loop()).indication is Indication.TOTAL_PASSED


def test_in_process_verification_matches_the_worker(
    two_signatures: bytes, report: VerificationReport, policy: VerificationPolicy
) -> None:
    direct = asyncio.run(verify_pdf_in_process(two_signatures, policy, report.validation_time))
    assert direct.indication == report.indication
    assert [s.ltv_level for s in direct.signatures] == [s.ltv_level for s in report.signatures]


def test_pdf_lt_metadata_and_embedded_files_are_reported(
    signing_service: SigningService, verifier: Verifier, policy: VerificationPolicy
) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    xmp = _PDF_LT_XMP.encode("utf-8")
    pdf.Root.Metadata = pdf.make_stream(xmp, Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
    pdf.attachments["priedas.txt"] = pikepdf.AttachedFileSpec(pdf, b"priedas")
    out = BytesIO()
    pdf.save(out)
    signed = signing_service.sign_pades(
        out.getvalue(),
        signing_service.signer_for(ORGANISATION, "rasa-kazlauskiene"),
        SignatureRequest("parasas", "Tvirtinu", new_field=SignatureFieldSpec("parasas", 0, None)),
    )
    result = verifier.verify(signed, policy)
    document = result.document
    assert document.pdf_lt_standard_version == "PDF-LT-V1.0"
    assert document.pdf_lt_level == "A"
    assert (document.pdfa_part, document.pdfa_conformance) == ("2", "A")
    assert document.embedded_files == 1
    codes = {finding.code for finding in document.findings}
    assert "pdf_lt_embedded_files" in codes and "pdf_lt_standard_version" not in codes
    assert PdfFileReader(BytesIO(signed)).embedded_signatures


def _with_time(policy: VerificationPolicy, moment: datetime) -> VerificationPolicy:
    from dataclasses import replace

    return replace(policy, validation_time=moment)


_PDF_LT_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:LTUd="http://archyvai.lt/pdf-ltud/2013/metadata/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:xmpidq="http://ns.adobe.com/xmp/Identifier/qual/1.0/">
   <pdfaid:part>2</pdfaid:part>
   <pdfaid:conformance>A</pdfaid:conformance>
   <LTUd:standardVersion>PDF-LT-V1.0</LTUd:standardVersion>
   <xmp:Identifier>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <xmpidq:Scheme>http://archyvai.lt/pdf-ltud/2013/level/</xmpidq:Scheme>
      <rdf:value>A</rdf:value>
     </rdf:li>
    </rdf:Bag>
   </xmp:Identifier>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def test_html_report_green_in_lithuanian(report: VerificationReport) -> None:
    from signing.report_html import validation_report_html

    page = validation_report_html(report)
    assert 'data-verdict="žalia"' in page
    assert "Parašas galioja" in page or "Visi parašai galioja" in page
    assert "Rasa Kazlauskienė" in page and "B-LTA" in page
    assert "Archyvinę laiko žymą atnaujinti iki" in page


def test_html_report_red_with_reason_and_escaped_values(
    two_signatures: bytes, verifier: Verifier, policy: VerificationPolicy
) -> None:
    from dataclasses import replace

    from signing.report_html import validation_report_html

    tampered = verifier.verify(_modify_page_after_signing(two_signatures), policy)
    hostile = replace(tampered.signatures[0], reason='<script>alert("x")</script> & ąčęėįšųūž')
    page = validation_report_html(replace(tampered, signatures=(hostile,)))
    assert 'data-verdict="raudona"' in page
    assert "Dokumentas pakeistas po pasirašymo" in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; ąčęėįšųūž" in page


def test_html_report_amber_when_chain_unknown(
    two_signatures: bytes, verifier: Verifier, dev_pki: DevPki
) -> None:
    from signing.keys import load_certificates
    from signing.report_html import validation_report_html

    tsa_cert = load_certificates([dev_pki.directory / "certs" / "tsa.cert.pem"])[0]
    result = verifier.verify(two_signatures, VerificationPolicy(trust_roots=(tsa_cert.dump(),)))
    page = validation_report_html(result)
    assert 'data-verdict="geltona"' in page
    assert "Nepavyko galutinai patikrinti parašo" in page
