"""ETSI TS 119 102-2 (v1.2.1) XML validation report, kept by the archivist beside the JSON.

pyHanko has a generator (``pyhanko.sign.validation.report.tools.generate_report``), but it
needs the optional ``xsdata`` dependency, writes one ``ValidationReport`` per signature and
states pyHanko's AdES indication alone. This module writes one report for the whole PDF from
our :class:`~signing.verification.VerificationReport`, so every ``SignatureValidationStatus``
carries the same indication as the JSON — the one capped by the modification analysis.
Document timestamps get their own ``SignatureValidationReport`` (process ``Basic``).
"""

from __future__ import annotations

import base64
from datetime import datetime

from lxml import etree

from signing.verification import (
    CertificateInfo,
    Indication,
    SignatureReport,
    VerificationReport,
)

__all__ = ["VR_NAMESPACE", "validation_report_xml"]

VR_NAMESPACE = "http://uri.etsi.org/19102/v1.2.1#"
DS_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"
_NSMAP = {"vr": VR_NAMESPACE, "ds": DS_NAMESPACE}
_DIGEST_URIS = {
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "sha512": "http://www.w3.org/2001/04/xmlenc#sha512",
    "sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
}
_QUALITY_QUALIFIED = "urn:cef:dss:signatureQualification:QESig"
_QUALITY_NOT_QUALIFIED = "urn:cef:dss:signatureQualification:notQualified"
_QUALITY_UNKNOWN = "urn:cef:dss:signatureQualification:na"


def validation_report_xml(report: VerificationReport) -> bytes:
    """The report as UTF-8 XML bytes (with declaration)."""
    root = etree.Element(_vr("ValidationReport"), nsmap=_NSMAP)
    certificates: dict[str, CertificateInfo] = {}
    for index, signature in enumerate((*report.signatures, *report.document_timestamps)):
        _signature_report(root, signature, index, report, certificates)
    objects = etree.SubElement(root, _vr("SignatureValidationObjects"))
    for identifier, cert in certificates.items():
        vo = etree.SubElement(objects, _vr("ValidationObject"), id=identifier)
        _text(vo, "ObjectType", "urn:etsi:019102:validationObject:certificate")
        representation = etree.SubElement(vo, _vr("ValidationObjectRepresentation"))
        digest = etree.SubElement(representation, _vr("DigestAlgAndValue"))
        etree.SubElement(digest, _ds("DigestMethod"), Algorithm=_DIGEST_URIS["sha256"])
        etree.SubElement(digest, _ds("DigestValue")).text = base64.b64encode(
            bytes.fromhex(cert.sha256)
        ).decode("ascii")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _signature_report(
    root: etree._Element,
    signature: SignatureReport,
    index: int,
    report: VerificationReport,
    certificates: dict[str, CertificateInfo],
) -> None:
    element = etree.SubElement(root, _vr("SignatureValidationReport"))
    identifier = etree.SubElement(element, _vr("SignatureIdentifier"), id=f"sig-{index + 1}")
    if signature.signed_bytes_digest is not None:
        _digest(identifier, signature.digest_algorithm, signature.signed_bytes_digest)
    if signature.signature_value is not None:
        etree.SubElement(identifier, _ds("SignatureValue")).text = signature.signature_value
    _text(identifier, "HashOnly", "false")
    _text(identifier, "DocHashOnly", "false")
    _text(identifier, "DAIdentifier", signature.field_name)

    time_info = etree.SubElement(element, _vr("ValidationTimeInfo"))
    _text(time_info, "ValidationTime", _time(report.validation_time))
    if signature.best_signature_time is not None:
        best = etree.SubElement(time_info, _vr("BestSignatureTime"))
        _text(best, "POETime", _time(signature.best_signature_time))
        _text(best, "TypeOfProof", "urn:etsi:019102:poetype:validation")

    if signature.signed_bytes_digest is not None:
        signers_document = etree.SubElement(element, _vr("SignersDocument"))
        _digest(signers_document, signature.digest_algorithm, signature.signed_bytes_digest)

    attributes = etree.SubElement(element, _vr("SignatureAttributes"))
    if signature.claimed_signing_time is not None:
        signing_time = etree.SubElement(attributes, _vr("SigningTime"), Signed="true")
        _text(signing_time, "Time", _time(signature.claimed_signing_time))
    if signature.kind == "signature" and signature.timestamp_time is not None:
        timestamp = etree.SubElement(attributes, _vr("SignatureTimeStamp"), Signed="false")
        _text(timestamp, "TimeStampValue", _time(signature.timestamp_time))
    if signature.reason is not None:
        reason = etree.SubElement(attributes, _vr("Reason"), Signed="true")
        _text(reason, "ReasonElement", signature.reason)
    if signature.name is not None:
        name = etree.SubElement(attributes, _vr("Name"), Signed="true")
        _text(name, "NameElement", signature.name)
    if signature.sub_filter is not None:
        sub_filter = etree.SubElement(attributes, _vr("SubFilter"), Signed="true")
        _text(sub_filter, "SubFilterElement", signature.sub_filter.lstrip("/"))

    if signature.signer is not None:
        information = etree.SubElement(element, _vr("SignerInformation"))
        signer_id = f"cert-{signature.signer.sha256[:16]}"
        certificates[signer_id] = signature.signer
        reference = etree.SubElement(information, _vr("SignerCertificate"))
        etree.SubElement(reference, _vr("VOReference"), VOReference=signer_id)
        _text(information, "Signer", signature.signer.common_name or signature.signer.subject)
        for cert in signature.chain[1:]:
            certificates.setdefault(f"cert-{cert.sha256[:16]}", cert)

    quality = etree.SubElement(element, _vr("SignatureQuality"))
    if signature.qualification is None:
        quality_uri = _QUALITY_UNKNOWN
    elif signature.qualification.qualified:
        quality_uri = _QUALITY_QUALIFIED
    else:
        quality_uri = _QUALITY_NOT_QUALIFIED
    _text(quality, "SignatureQualityInformation", quality_uri)

    process = etree.SubElement(element, _vr("SignatureValidationProcess"))
    process_id = "LTA" if signature.kind == "signature" else "Basic"
    _text(
        process, "SignatureValidationProcessID", f"urn:etsi:019102:validationprocess:{process_id}"
    )

    status = etree.SubElement(element, _vr("SignatureValidationStatus"))
    _text(status, "MainIndication", signature.indication.uri)
    if signature.indication is not Indication.TOTAL_PASSED and signature.sub_indication:
        _text(status, "SubIndication", f"urn:etsi:019102:subindication:{signature.sub_indication}")
    for finding in signature.findings:
        data = etree.SubElement(status, _vr("AssociatedValidationReportData"))
        _text(data, "AdditionalValidationReportData", f"{finding.code}: {finding.message}")


def _digest(parent: etree._Element, algorithm: str | None, hex_value: str) -> None:
    digest = etree.SubElement(parent, _vr("DigestAlgAndValue"))
    etree.SubElement(
        digest, _ds("DigestMethod"), Algorithm=_DIGEST_URIS.get(algorithm or "", algorithm or "")
    )
    etree.SubElement(digest, _ds("DigestValue")).text = base64.b64encode(
        bytes.fromhex(hex_value)
    ).decode("ascii")


def _text(parent: etree._Element, local_name: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, _vr(local_name))
    element.text = _xml_safe(value)
    return element


def _xml_safe(value: str) -> str:
    """Drop characters XML 1.0 cannot carry (a hostile /Reason may contain them)."""
    return "".join(
        ch
        for ch in value
        if ch in "\t\n\r"
        or 0x20 <= ord(ch) <= 0xD7FF
        or 0xE000 <= ord(ch) <= 0xFFFD
        or 0x10000 <= ord(ch) <= 0x10FFFF
    )


def _time(moment: datetime) -> str:
    return moment.isoformat()


def _vr(local_name: str) -> str:
    return f"{{{VR_NAMESPACE}}}{local_name}"


def _ds(local_name: str) -> str:
    return f"{{{DS_NAMESPACE}}}{local_name}"
