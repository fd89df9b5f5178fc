"""PDF-LT-V1.0 metadata and PDF/A identification survive field preparation, signatures, the
DSS and the document timestamp byte-for-byte in meaning (pyHanko would rewrite the XMP)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pikepdf

from signing.config import SignatureFieldSpec, SignatureRequest
from signing.service import SigningService
from signing.signature_fields import prepare_signature_fields
from signing.validation import DocumentValidation
from signing.xmp_preservation import update_xmp_dates
from templates.pdfa import PdfAProblemCode, check_pdfa
from templates.pdflt import PdfLtEntity, PdfLtMetadata, apply_pdflt_metadata


def _pdflt(pdfa: bytes) -> bytes:
    metadata = PdfLtMetadata(
        title="Komisijos posėdžio protokolas",
        authors=(
            PdfLtEntity("Lietuvos kalėjimų tarnyba", code="188000004", email="info@example.lt"),
        ),
        recipients=(PdfLtEntity("Marijampolės pataisos namai", code="188000011"),),
    )
    return apply_pdflt_metadata(pdfa, metadata)


def _metadata_problems(pdf: bytes) -> set[PdfAProblemCode]:
    # The test input has a standard font and no /Lang: only the metadata checks matter here.
    return {p.code for p in check_pdfa(pdf)} - {
        PdfAProblemCode.FONT_NOT_EMBEDDED,
        PdfAProblemCode.LANGUAGE,
    }


def test_two_signatures_keep_pdflt_metadata(
    signing_service: SigningService,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    original = _pdflt(pdfa_bytes)
    assert _metadata_problems(original) == set()
    prepared = prepare_signature_fields(
        original,
        [
            SignatureFieldSpec("pirmininkas", box=(60, 40, 280, 110)),
            SignatureFieldSpec("sekretorius", box=(300, 40, 520, 110)),
        ],
    )
    assert _metadata_problems(prepared) == set()
    first = signing_service.sign_pades(
        prepared,
        signing_service.signer_for("188000000", "rasa-kazlauskiene"),
        SignatureRequest("pirmininkas", "Tvirtinu"),
    )
    second = signing_service.sign_pades(
        first,
        signing_service.signer_for("188000000", "jonas-petrauskas"),
        SignatureRequest("sekretorius", "Tvirtinu"),
    )
    assert _metadata_problems(second) == set()
    assert validator(second).reaches_lta
    with pikepdf.open(io.BytesIO(second)) as pdf:
        producer_info = str(pdf.docinfo["/Producer"])
        with pdf.open_metadata() as xmp:
            assert xmp["pdf:Producer"] == producer_info
            assert xmp["pdfaid:part"] == "2"


def test_update_changes_only_dates_and_producer() -> None:
    packet = (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:xmpidq="http://ns.adobe.com/xmp/Identifier/qual/1.0/">'
        b"<xmp:ModifyDate>2020-01-01T00:00:00Z</xmp:ModifyDate>"
        b'<xmp:Identifier><rdf:Bag><rdf:li rdf:parseType="Resource"><rdf:value>A</rdf:value>'
        b"<xmpidq:Scheme>http://archyvai.lt/pdf-ltud/2013/level/</xmpidq:Scheme></rdf:li></rdf:Bag></xmp:Identifier>"
        b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    when = dt.datetime(2026, 11, 23, 12, 0, 5, 123, tzinfo=dt.UTC)
    updated = update_xmp_dates(packet, when, "Tiltas")
    assert b"<xmp:ModifyDate>2026-11-23T12:00:05+00:00</xmp:ModifyDate>" in updated
    assert b"<xmpidq:Scheme>http://archyvai.lt/pdf-ltud/2013/level/</xmpidq:Scheme>" in updated
    assert b'pdf:Producer="Tiltas"' in updated
    assert updated.startswith(b"<?xpacket begin=") and updated.endswith(b'<?xpacket end="w"?>')
