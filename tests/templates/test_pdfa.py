"""PDF-LT metadata and the PDF/A checks, on real LibreOffice output and on PDFs broken on purpose."""

from __future__ import annotations

import datetime
import importlib.util
import io
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pikepdf
import pytest
from lxml import etree

from templates.conversion import ConverterPool, ConverterPoolSettings
from templates.pdfa import PdfACheckFailed, PdfAProblemCode, check_pdfa, ensure_pdfa
from templates.pdflt import (
    DC_NAMESPACE,
    LTUD_ENTITY_NAMESPACE,
    LTUD_NAMESPACE,
    LTUD_REGISTRATION_NAMESPACE,
    PDFA_EXTENSION_NAMESPACE,
    PDFA_ID_NAMESPACE,
    PDFA_SCHEMA_NAMESPACE,
    RDF_NAMESPACE,
    PdfLtEntity,
    PdfLtMetadata,
    PdfLtMetadataError,
    PdfLtRegistration,
    apply_pdflt_metadata,
)


def _load_fixture_module() -> ModuleType:
    path = Path(__file__).parent / "fixtures" / "lithuanian_docx.py"
    spec = importlib.util.spec_from_file_location("lithuanian_docx_fixture", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lithuanian_docx: Callable[..., bytes] = _load_fixture_module().lithuanian_docx

INSTITUTION = PdfLtEntity(
    name="Marijampolės pataisos namai",
    code="188716516",
    address="Sasnavos g. 19, Marijampolė",
    email="info@example.lt",
)
MUNICIPALITY = PdfLtEntity(name="Vilniaus miesto savivaldybės administracija", code="188710061")
CONVICT = PdfLtEntity(name="Jonas Žemaitis", individual=True)
REGISTRATION = PdfLtRegistration(
    date=datetime.date(2026, 4, 30), number="S-2026-0147", code="188716516"
)
NOTICE_A = PdfLtMetadata(
    title="Pranešimas savivaldybės administracijai apie asmens paleidimą iš pataisos įstaigos",
    authors=(INSTITUTION,),
    recipients=(MUNICIPALITY,),
    registration=REGISTRATION,
)


def codes(pdf: bytes, **options: bool) -> set[PdfAProblemCode]:
    return {problem.code for problem in check_pdfa(pdf, **options)}


def q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def xmp_of(pdf: bytes) -> etree._Element:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        stream = document.Root.Metadata
        assert isinstance(stream, pikepdf.Stream)
        return etree.fromstring(stream.read_bytes())


def edit(pdf: bytes, change: Callable[[pikepdf.Pdf], None]) -> bytes:
    with pikepdf.open(io.BytesIO(pdf)) as document:
        change(document)
        output = io.BytesIO()
        document.save(output)
    return output.getvalue()


def edit_xmp(pdf: bytes, change: Callable[[etree._Element], None]) -> bytes:
    def rewrite(document: pikepdf.Pdf) -> None:
        stream = document.Root.Metadata
        assert isinstance(stream, pikepdf.Stream)
        xmp = etree.fromstring(stream.read_bytes())
        change(xmp)
        document.Root.Metadata = document.make_stream(
            etree.tostring(xmp), Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML
        )

    return edit(pdf, rewrite)


def remove_all(xmp: etree._Element, tag: str) -> None:
    for element in list(xmp.iter(tag)):
        parent = element.getparent()
        assert parent is not None
        parent.remove(element)


@pytest.fixture(scope="module")
def libreoffice_pdf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bytes]:
    """Raw PDF/A-2b from LibreOffice for a Lithuanian letter."""
    root = tmp_path_factory.mktemp("pdfa-pool")
    settings = ConverterPoolSettings(pool_size=1, profile_root=root, startup_timeout=30.0)
    with ConverterPool(settings) as pool:
        yield pool.convert(lithuanian_docx("PDF-LT"))


@pytest.fixture(scope="module")
def good_pdf(libreoffice_pdf: bytes) -> bytes:
    return apply_pdflt_metadata(libreoffice_pdf, NOTICE_A)


# ------------------------------------------------------------------------------- good output


def test_converted_letter_with_pdflt_metadata_passes_every_check(good_pdf: bytes) -> None:
    assert check_pdfa(good_pdf) == ()
    ensure_pdfa(good_pdf)
    assert good_pdf.startswith(b"%PDF-1.7\n")
    text = subprocess.run(
        ["pdftotext", "-raw", "-", "-"], input=good_pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "ą č ę ė į š ų ū ž" in text


def test_libreoffice_output_alone_lacks_version_17_and_pdflt(libreoffice_pdf: bytes) -> None:
    # LibreOffice 7.4 embeds fonts, sets /Lang and identifies PDF/A-2b, but writes 1.6, no LTUd.
    assert codes(libreoffice_pdf) == {
        PdfAProblemCode.HEADER_VERSION,
        PdfAProblemCode.PDFLT_STANDARD_VERSION,
        PdfAProblemCode.PDFLT_LEVEL,
        PdfAProblemCode.PDFLT_AUTHORS,
        PdfAProblemCode.PDFLT_RECIPIENTS,
        PdfAProblemCode.PDFLT_TITLE,
        PdfAProblemCode.PDFLT_EXTENSION_SCHEMA,
    }


def test_version_17_survives_a_later_save(good_pdf: bytes) -> None:
    resaved = edit(good_pdf, lambda document: None)
    assert resaved.startswith(b"%PDF-1.7")
    assert PdfAProblemCode.HEADER_VERSION not in codes(resaved)


# ------------------------------------------------------------------------------ the metadata


def test_pdflt_metadata_content(good_pdf: bytes) -> None:
    xmp = xmp_of(good_pdf)
    standard = xmp.find(f".//{q(LTUD_NAMESPACE, 'standardVersion')}")
    assert standard is not None and standard.text == "PDF-LT-V1.0"

    authors = xmp.findall(f".//{q(LTUD_NAMESPACE, 'authors')}/{q(RDF_NAMESPACE, 'Seq')}/*")
    assert len(authors) == 1
    fields = {etree.QName(child).localname: child.text for child in authors[0]}
    assert fields == {
        "individual": "False",
        "name": "Marijampolės pataisos namai",
        "code": "188716516",
        "address": "Sasnavos g. 19, Marijampolė",
        "eMail": "info@example.lt",
    }
    assert all(etree.QName(child).namespace == LTUD_ENTITY_NAMESPACE for child in authors[0])

    recipients = xmp.findall(f".//{q(LTUD_NAMESPACE, 'recipients')}/{q(RDF_NAMESPACE, 'Seq')}/*")
    assert [r.findtext(q(LTUD_ENTITY_NAMESPACE, "name")) for r in recipients] == [
        "Vilniaus miesto savivaldybės administracija"
    ]

    registration = xmp.find(f".//{q(LTUD_NAMESPACE, 'registration')}")
    assert registration is not None
    assert {etree.QName(c).localname: c.text for c in registration} == {
        "date": "2026-04-30",
        "number": "S-2026-0147",
        "code": "188716516",
    }
    assert all(etree.QName(c).namespace == LTUD_REGISTRATION_NAMESPACE for c in registration)

    with pikepdf.open(io.BytesIO(good_pdf)) as document:
        metadata = document.open_metadata()
        assert metadata["dc:title"] == NOTICE_A.title
        assert metadata["dc:creator"] == ["Marijampolės pataisos namai"]
        assert metadata["pdfaid:part"] == "2"
        assert metadata["pdfaid:conformance"] == "B"
        assert str(document.docinfo.Title) == NOTICE_A.title
        assert str(document.docinfo.Author) == "Marijampolės pataisos namai"
        assert "/Filter" not in document.Root.Metadata  # PDF/A: metadata stays unfiltered


def test_extension_schema_describes_ltud_and_its_types(good_pdf: bytes) -> None:
    xmp = xmp_of(good_pdf)
    schemas = xmp.findall(
        f".//{q(PDFA_EXTENSION_NAMESPACE, 'schemas')}/{q(RDF_NAMESPACE, 'Bag')}/*"
    )
    ltud = [
        s for s in schemas if s.findtext(q(PDFA_SCHEMA_NAMESPACE, "namespaceURI")) == LTUD_NAMESPACE
    ]
    assert len(ltud) == 1
    assert ltud[0].findtext(q(PDFA_SCHEMA_NAMESPACE, "prefix")) == "LTUd"
    text = etree.tostring(ltud[0]).decode()
    for expected in ("standardVersion", "authors", "recipients", "registration", "seq Entity"):
        assert f">{expected}<" in text
    assert f">{LTUD_ENTITY_NAMESPACE}<" in text
    assert f">{LTUD_REGISTRATION_NAMESPACE}<" in text


def test_applying_twice_replaces_instead_of_duplicating(good_pdf: bytes) -> None:
    draft = PdfLtMetadata(title="Kitas pavadinimas", authors=(INSTITUTION,), recipients=(CONVICT,))
    again = apply_pdflt_metadata(good_pdf, draft)

    assert check_pdfa(again) == ()
    xmp = xmp_of(again)
    assert len(xmp.findall(f".//{q(LTUD_NAMESPACE, 'standardVersion')}")) == 1
    assert len(xmp.findall(f".//{q(PDFA_ID_NAMESPACE, 'part')}")) == 1
    assert xmp.find(f".//{q(LTUD_NAMESPACE, 'registration')}") is None  # a draft has none
    schemas = xmp.findall(
        f".//{q(PDFA_EXTENSION_NAMESPACE, 'schemas')}/{q(RDF_NAMESPACE, 'Bag')}/*"
    )
    assert len(schemas) == 1
    recipient = xmp.find(
        f".//{q(LTUD_NAMESPACE, 'recipients')}//{q(LTUD_ENTITY_NAMESPACE, 'individual')}"
    )
    assert recipient is not None and recipient.text == "True"
    with pikepdf.open(io.BytesIO(again)) as document:
        assert document.open_metadata()["dc:title"] == "Kitas pavadinimas"


def test_other_extension_schemas_are_kept(good_pdf: bytes) -> None:
    other = "http://example.lt/ns/other/"

    def add_other_schema(xmp: etree._Element) -> None:
        bag = xmp.find(f".//{q(PDFA_EXTENSION_NAMESPACE, 'schemas')}/{q(RDF_NAMESPACE, 'Bag')}")
        assert bag is not None
        item = etree.SubElement(bag, q(RDF_NAMESPACE, "li"))
        item.set(q(RDF_NAMESPACE, "parseType"), "Resource")
        etree.SubElement(item, q(PDFA_SCHEMA_NAMESPACE, "namespaceURI")).text = other

    with_other = edit_xmp(good_pdf, add_other_schema)
    result = xmp_of(apply_pdflt_metadata(with_other, NOTICE_A))
    uris = [u.text for u in result.iter(q(PDFA_SCHEMA_NAMESPACE, "namespaceURI"))]
    assert sorted(uris) == sorted([other, LTUD_NAMESPACE])


def test_an_old_pdf_version_in_the_xmp_is_dropped(good_pdf: bytes) -> None:
    pdf_namespace = "http://ns.adobe.com/pdf/1.3/"

    def claim_version_14(xmp: etree._Element) -> None:
        description = xmp.find(f".//{q(RDF_NAMESPACE, 'Description')}")
        assert description is not None
        etree.SubElement(description, q(pdf_namespace, "PDFVersion")).text = "1.4"

    with_version = edit_xmp(good_pdf, claim_version_14)
    assert list(xmp_of(with_version).iter(q(pdf_namespace, "PDFVersion")))
    result = apply_pdflt_metadata(with_version, NOTICE_A)
    assert list(xmp_of(result).iter(q(pdf_namespace, "PDFVersion"))) == []
    assert result.startswith(b"%PDF-1.7")


def test_several_creators_drop_the_single_valued_author_entry(libreoffice_pdf: bytes) -> None:
    metadata = PdfLtMetadata(
        title="Komisijos posėdžio protokolas",
        authors=(INSTITUTION,),
        recipients=(MUNICIPALITY,),
        creators=("Marijampolės pataisos namai", "Socialinės globos sektoriaus komisija"),
    )
    pdf = apply_pdflt_metadata(libreoffice_pdf, metadata)
    assert check_pdfa(pdf) == ()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert "/Author" not in document.docinfo
        assert document.open_metadata()["dc:creator"] == list(metadata.creators)


def test_document_without_recipients(libreoffice_pdf: bytes) -> None:
    acknowledgement = PdfLtMetadata(title="Supažindinimas", authors=(INSTITUTION,))
    pdf = apply_pdflt_metadata(libreoffice_pdf, acknowledgement)

    assert xmp_of(pdf).find(f".//{q(LTUD_NAMESPACE, 'recipients')}") is None
    assert codes(pdf) == {PdfAProblemCode.PDFLT_RECIPIENTS}
    assert check_pdfa(pdf, require_recipients=False) == ()


@pytest.mark.parametrize(
    "build",
    [
        lambda: PdfLtMetadata(title=" ", authors=(INSTITUTION,)),
        lambda: PdfLtMetadata(title="Pranešimas", authors=()),
        lambda: PdfLtMetadata(title="Pranešimas", authors=(INSTITUTION,), creators=("",)),
        lambda: PdfLtEntity(name=""),
        lambda: PdfLtRegistration(date=datetime.date(2026, 1, 5), number=""),
        lambda: PdfLtRegistration(date=datetime.datetime(2026, 1, 5, 10, 0), number="S-1"),
    ],
)
def test_incomplete_metadata_is_refused(build: Callable[[], object]) -> None:
    with pytest.raises(PdfLtMetadataError):
        build()


def test_metadata_for_something_that_is_not_a_pdf_is_refused() -> None:
    with pytest.raises(PdfLtMetadataError):
        apply_pdflt_metadata(b"%PDF-1.7 broken", NOTICE_A)


# ---------------------------------------------------------------------------------- bad PDFs


def _first_font_descriptor(document: pikepdf.Pdf) -> pikepdf.Dictionary:
    fonts = document.pages[0].Resources.Font
    descriptor = next(iter(fonts.values())).FontDescriptor
    assert isinstance(descriptor, pikepdf.Dictionary)
    return descriptor


def test_font_without_program_is_reported_with_name_and_page(good_pdf: bytes) -> None:
    def unembed(document: pikepdf.Pdf) -> None:
        descriptor = _first_font_descriptor(document)
        for key in ("/FontFile", "/FontFile2", "/FontFile3"):
            if key in descriptor:
                del descriptor[key]

    problems = check_pdfa(edit(good_pdf, unembed))
    assert [p.code for p in problems] == [PdfAProblemCode.FONT_NOT_EMBEDDED]
    assert problems[0].page == 1
    assert "Noto" in problems[0].message


def _add_form_xobject_with_font(document: pikepdf.Pdf, font: pikepdf.Dictionary) -> None:
    form = document.make_stream(
        b"BT /Fx 12 Tf 72 72 Td (x) Tj ET",
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Form,
        BBox=[0, 0, 200, 200],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(Fx=font)),
    )
    page = document.pages[-1]
    resources = page.Resources
    assert isinstance(resources, pikepdf.Dictionary)
    if "/XObject" not in resources:
        resources.XObject = pikepdf.Dictionary()
    resources.XObject.FormWithFont = form
    page.contents_add(document.make_stream(b"q /FormWithFont Do Q"), prepend=False)


def test_unembedded_font_inside_a_form_xobject_is_found(good_pdf: bytes) -> None:
    def add(document: pikepdf.Pdf) -> None:
        helvetica = document.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type1,
                BaseFont=pikepdf.Name.Helvetica,
            )
        )
        _add_form_xobject_with_font(document, helvetica)

    problems = check_pdfa(edit(good_pdf, add))
    assert [(p.code, p.page) for p in problems] == [(PdfAProblemCode.FONT_NOT_EMBEDDED, 1)]
    assert "Helvetica" in problems[0].message


def test_unembedded_descendant_of_a_type0_font_is_found(good_pdf: bytes) -> None:
    def add(document: pikepdf.Pdf) -> None:
        descendant = pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.CIDFontType2,
            BaseFont=pikepdf.Name("/DejaVuSans"),
            FontDescriptor=pikepdf.Dictionary(
                Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/DejaVuSans")
            ),
        )
        type0 = document.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type0,
                BaseFont=pikepdf.Name("/DejaVuSans"),
                Encoding=pikepdf.Name("/Identity-H"),
                DescendantFonts=[descendant],
            )
        )
        _add_form_xobject_with_font(document, type0)

    problems = check_pdfa(edit(good_pdf, add))
    assert [p.code for p in problems] == [PdfAProblemCode.FONT_NOT_EMBEDDED]
    assert "DejaVuSans" in problems[0].message


@pytest.mark.parametrize("language", [None, "en-US"])
def test_missing_or_wrong_language_is_reported(good_pdf: bytes, language: str | None) -> None:
    def set_language(document: pikepdf.Pdf) -> None:
        if language is None:
            del document.Root.Lang
        else:
            document.Root.Lang = pikepdf.String(language)

    assert codes(edit(good_pdf, set_language)) == {PdfAProblemCode.LANGUAGE}


def test_missing_pdfa_identification_is_reported(good_pdf: bytes) -> None:
    def drop_pdfaid(xmp: etree._Element) -> None:
        remove_all(xmp, q(PDFA_ID_NAMESPACE, "part"))
        remove_all(xmp, q(PDFA_ID_NAMESPACE, "conformance"))

    assert codes(edit_xmp(good_pdf, drop_pdfaid)) == {PdfAProblemCode.PDFA_IDENTIFICATION}


def test_pdfa_1_identification_is_reported(good_pdf: bytes) -> None:
    def make_part_1(xmp: etree._Element) -> None:
        for part in xmp.iter(q(PDFA_ID_NAMESPACE, "part")):
            part.text = "1"

    assert codes(edit_xmp(good_pdf, make_part_1)) == {PdfAProblemCode.PDFA_IDENTIFICATION}


def test_pdf_16_header_is_reported(good_pdf: bytes) -> None:
    with pikepdf.open(io.BytesIO(good_pdf)) as document:
        output = io.BytesIO()
        document.save(output, force_version="1.6")
    assert codes(output.getvalue()) == {PdfAProblemCode.HEADER_VERSION}


def test_missing_ltud_metadata_is_reported_property_by_property(good_pdf: bytes) -> None:
    def drop_ltud(xmp: etree._Element) -> None:
        for name in ("standardVersion", "authors", "recipients"):
            remove_all(xmp, q(LTUD_NAMESPACE, name))

    assert codes(edit_xmp(good_pdf, drop_ltud)) == {
        PdfAProblemCode.PDFLT_STANDARD_VERSION,
        PdfAProblemCode.PDFLT_AUTHORS,
        PdfAProblemCode.PDFLT_RECIPIENTS,
    }

    def drop_title_and_creator(xmp: etree._Element) -> None:
        remove_all(xmp, q(DC_NAMESPACE, "title"))
        remove_all(xmp, q(DC_NAMESPACE, "creator"))

    assert codes(edit_xmp(good_pdf, drop_title_and_creator)) == {
        PdfAProblemCode.PDFLT_TITLE,
        PdfAProblemCode.PDFLT_CREATOR,
    }


def test_missing_extension_schema_is_reported(good_pdf: bytes) -> None:
    def drop_schemas(xmp: etree._Element) -> None:
        remove_all(xmp, q(PDFA_EXTENSION_NAMESPACE, "schemas"))

    assert codes(edit_xmp(good_pdf, drop_schemas)) == {PdfAProblemCode.PDFLT_EXTENSION_SCHEMA}


def test_creator_not_repeating_the_author_is_reported(good_pdf: bytes) -> None:
    def rename_creator(xmp: etree._Element) -> None:
        for creator in xmp.iter(q(DC_NAMESPACE, "creator")):
            for item in creator.iter(q(RDF_NAMESPACE, "li")):
                item.text = "Kažkas kitas"

    assert codes(edit_xmp(good_pdf, rename_creator)) == {PdfAProblemCode.PDFLT_CREATOR}


def test_encrypted_pdf_is_reported(good_pdf: bytes) -> None:
    with pikepdf.open(io.BytesIO(good_pdf)) as document:
        output = io.BytesIO()
        document.save(output, encryption=pikepdf.Encryption(owner="savininkas", user=""))
    assert PdfAProblemCode.ENCRYPTED in codes(output.getvalue())

    with pikepdf.open(io.BytesIO(good_pdf)) as document:
        locked = io.BytesIO()
        document.save(locked, encryption=pikepdf.Encryption(owner="o", user="naudotojas"))
    assert codes(locked.getvalue()) == {PdfAProblemCode.ENCRYPTED}


def test_embedded_file_is_reported(good_pdf: bytes) -> None:
    def attach(document: pikepdf.Pdf) -> None:
        document.attachments["priedas.txt"] = pikepdf.AttachedFileSpec(document, b"priedas")

    assert codes(edit(good_pdf, attach)) == {PdfAProblemCode.EMBEDDED_FILES}


def test_certification_signature_is_reported(good_pdf: bytes) -> None:
    def certify(document: pikepdf.Pdf) -> None:
        document.Root.Perms = pikepdf.Dictionary(DocMDP=pikepdf.Dictionary())

    assert codes(edit(good_pdf, certify)) == {PdfAProblemCode.CERTIFICATION_SIGNATURE}


def test_something_that_is_not_a_pdf_is_reported() -> None:
    assert codes(b"PK\x03\x04 a zip, not a PDF") == {
        PdfAProblemCode.HEADER_VERSION,
        PdfAProblemCode.UNREADABLE_PDF,
    }


def test_every_problem_is_reported_at_once_and_ensure_raises_with_all(
    libreoffice_pdf: bytes,
) -> None:
    def break_more(document: pikepdf.Pdf) -> None:
        del document.Root.Lang
        descriptor = _first_font_descriptor(document)
        for key in ("/FontFile", "/FontFile2", "/FontFile3"):
            if key in descriptor:
                del descriptor[key]

    broken = edit(libreoffice_pdf, break_more)
    with pytest.raises(PdfACheckFailed) as failed:
        ensure_pdfa(broken)

    found = {problem.code for problem in failed.value.problems}
    assert {
        PdfAProblemCode.HEADER_VERSION,
        PdfAProblemCode.LANGUAGE,
        PdfAProblemCode.FONT_NOT_EMBEDDED,
        PdfAProblemCode.PDFLT_STANDARD_VERSION,
        PdfAProblemCode.PDFLT_EXTENSION_SCHEMA,
    } <= found
    assert failed.value.code == "pdfa_check_failed"
    assert failed.value.problems == check_pdfa(broken)
