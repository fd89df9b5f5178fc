"""PDF-LT-V1.0 Level A metadata (the Lithuanian chief archivist's PDF profile) written with pikepdf.

`apply_pdflt_metadata` takes a PDF/A-2b produced by LibreOffice and returns it with:

- ``LTUd:standardVersion`` = "PDF-LT-V1.0" and the level in ``xmp:Identifier`` (an item qualified
  with ``xmpidq:Scheme`` = http://archyvai.lt/pdf-ltud/2013/level/, value ``A``);
- ``LTUd:authors`` / ``LTUd:recipients`` (ordered arrays of ``LTUdEnt`` entities: individual, name,
  code, address, eMail) and, once the DMS has registered the document, ``LTUd:registration``
  (``LTUdReg`` date, number, code);
- ``dc:title`` (x-default) and ``dc:creator`` (by default the authors' names, as the profile asks);
- the PDF/A extension-schema description of the LTUd, LTUdEnt and LTUdReg namespaces, so the XMP
  stays PDF/A-valid, and ``pdfaid:part`` 2 / ``pdfaid:conformance`` B;
- the document information dictionary kept equivalent to the XMP (/Title, /Author);
- the header raised to ``%PDF-1.7`` (PDF-LT's verifier wants 1.7; LibreOffice 7.4 writes 1.6).

Other XMP properties (producer, creator tool, dates, other extension schemas) are kept.
Names, codes and addresses are personal data: never log them.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pikepdf
from lxml import etree

__all__ = [
    "DC_NAMESPACE",
    "LEVEL_A",
    "LEVEL_SCHEME",
    "LTUD_ENTITY_NAMESPACE",
    "LTUD_NAMESPACE",
    "LTUD_REGISTRATION_NAMESPACE",
    "PDFA_EXTENSION_NAMESPACE",
    "PDFA_ID_NAMESPACE",
    "PDFA_PROPERTY_NAMESPACE",
    "PDFA_SCHEMA_NAMESPACE",
    "PDFA_TYPE_NAMESPACE",
    "PDF_VERSION",
    "RDF_NAMESPACE",
    "STANDARD_VERSION",
    "XMPIDQ_NAMESPACE",
    "XMP_NAMESPACE",
    "PdfLtEntity",
    "PdfLtMetadata",
    "PdfLtMetadataError",
    "PdfLtRegistration",
    "apply_pdflt_metadata",
    "parse_xmp",
]

LTUD_NAMESPACE = "http://archyvai.lt/pdf-ltud/2013/metadata/"
LTUD_ENTITY_NAMESPACE = "http://archyvai.lt/pdf-ltud/2013/metadata/Entity/"
LTUD_REGISTRATION_NAMESPACE = "http://archyvai.lt/pdf-ltud/2013/metadata/Registration/"
LEVEL_SCHEME = "http://archyvai.lt/pdf-ltud/2013/level/"
LEVEL_A = "A"
STANDARD_VERSION = "PDF-LT-V1.0"
PDF_VERSION = "1.7"

RDF_NAMESPACE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"
DC_NAMESPACE = "http://purl.org/dc/elements/1.1/"
XMP_NAMESPACE = "http://ns.adobe.com/xap/1.0/"
PDF_NAMESPACE = "http://ns.adobe.com/pdf/1.3/"
XMPIDQ_NAMESPACE = "http://ns.adobe.com/xmp/Identifier/qual/1.0/"
PDFA_ID_NAMESPACE = "http://www.aiim.org/pdfa/ns/id/"
PDFA_EXTENSION_NAMESPACE = "http://www.aiim.org/pdfa/ns/extension/"
PDFA_SCHEMA_NAMESPACE = "http://www.aiim.org/pdfa/ns/schema#"
PDFA_PROPERTY_NAMESPACE = "http://www.aiim.org/pdfa/ns/property#"
PDFA_TYPE_NAMESPACE = "http://www.aiim.org/pdfa/ns/type#"
PDFA_FIELD_NAMESPACE = "http://www.aiim.org/pdfa/ns/field#"
_X_NAMESPACE = "adobe:ns:meta/"

_PDFLT_NAMESPACES = frozenset({LTUD_NAMESPACE, LTUD_ENTITY_NAMESPACE, LTUD_REGISTRATION_NAMESPACE})
_XPACKET_BEGIN = b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_XPACKET_END = b'\n<?xpacket end="w"?>'


class PdfLtMetadataError(ValueError):
    """The metadata cannot make a Level A document, or the PDF cannot take it."""

    code = "pdflt_metadata_error"


@dataclass(frozen=True)
class PdfLtEntity:
    """An author or recipient (LTUdEnt:*): a legal entity or a natural person."""

    name: str
    """Legal entity's name, or a person's first name and surname."""
    individual: bool = False
    """True for a natural person, False for a legal entity (institution)."""
    code: str | None = None
    """Legal entity code, or a person's code; only when the document's recipients may see it."""
    address: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise PdfLtMetadataError("an author or recipient needs a name")


@dataclass(frozen=True)
class PdfLtRegistration:
    """Registration of the document in the institution's DMS (LTUdReg:*)."""

    date: datetime.date
    """Registration date (a `datetime.datetime` must carry a time zone)."""
    number: str
    """Registration number as given by the DMS."""
    code: str | None = None
    """Code of the registering legal entity, when it is not the author."""

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise PdfLtMetadataError("a registration needs a number")
        if isinstance(self.date, datetime.datetime) and self.date.tzinfo is None:
            raise PdfLtMetadataError("a registration time needs a time zone")


@dataclass(frozen=True)
class PdfLtMetadata:
    """What PDF-LT-V1.0 Level A asks of a document's XMP."""

    title: str
    """dc:title (x-default), the document's Lithuanian title."""
    authors: tuple[PdfLtEntity, ...]
    """LTUd:authors, at least one (normally the author institution)."""
    recipients: tuple[PdfLtEntity, ...] = ()
    """LTUd:recipients; empty for documents with no addressee (then the property is left out)."""
    creators: tuple[str, ...] = ()
    """dc:creator; empty = the authors' names, which the profile requires to be repeated there."""
    registration: PdfLtRegistration | None = None
    """LTUd:registration, once the DMS has registered the document; None for a draft."""

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise PdfLtMetadataError("a document needs a title")
        if not self.authors:
            raise PdfLtMetadataError("a Level A document needs at least one author")
        if any(not creator.strip() for creator in self.creators):
            raise PdfLtMetadataError("a creator needs a name")

    @property
    def creator_names(self) -> tuple[str, ...]:
        return self.creators or tuple(author.name for author in self.authors)


def apply_pdflt_metadata(
    pdf: bytes, metadata: PdfLtMetadata, edit: Callable[[pikepdf.Pdf], None] | None = None
) -> bytes:
    """Return ``pdf`` with PDF-LT Level A XMP metadata and a 1.7 header; ``edit`` makes
    further changes in the same pass (one parse, one write)."""
    try:
        # Page attributes stay where the PDF puts them: pushing inherited ones down to every
        # page (pikepdf's default) was most of the cost of opening LibreOffice's output.
        document = pikepdf.open(io.BytesIO(pdf), inherit_page_attributes=False)
    except pikepdf.PdfError as error:
        raise PdfLtMetadataError(f"not a readable PDF: {type(error).__name__}") from error
    with document:
        existing = document.Root.get("/Metadata")
        xmp = parse_xmp(existing.read_bytes()) if isinstance(existing, pikepdf.Stream) else None
        rdf = _rdf_root(xmp)
        _replace_pdflt_properties(rdf, metadata)
        document.Root.Metadata = document.make_stream(
            _serialise_xmp(rdf.getroottree().getroot()),
            Type=pikepdf.Name.Metadata,
            Subtype=pikepdf.Name.XML,
        )
        _sync_document_info(document, metadata)
        if edit is not None:
            edit(document)
        output = io.BytesIO()
        # The XMP carries no pdf:PDFVersion (it is dropped above), so pikepdf need not parse
        # the packet again to keep one in step with the header.
        document.save(output, min_version=PDF_VERSION, fix_metadata_version=False)
    return output.getvalue()


def parse_xmp(packet: bytes) -> etree._Element | None:
    """Parse an XMP packet without DTDs, entities or network access; None if unreadable."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True
    )
    try:
        return etree.fromstring(packet, parser)
    except etree.XMLSyntaxError:
        return None


# --------------------------------------------------------------------------------- internals


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _rdf_root(xmp: etree._Element | None) -> etree._Element:
    if xmp is not None:
        rdf = (
            xmp
            if xmp.tag == _q(RDF_NAMESPACE, "RDF")
            else xmp.find(f".//{_q(RDF_NAMESPACE, 'RDF')}")
        )
        if rdf is not None:
            return rdf
    meta = etree.Element(_q(_X_NAMESPACE, "xmpmeta"), nsmap={"x": _X_NAMESPACE})
    return etree.SubElement(meta, _q(RDF_NAMESPACE, "RDF"), nsmap={"rdf": RDF_NAMESPACE})


_REPLACED_PROPERTIES = frozenset(
    {
        _q(DC_NAMESPACE, "title"),
        _q(DC_NAMESPACE, "creator"),
        _q(XMP_NAMESPACE, "Identifier"),
        _q(PDFA_ID_NAMESPACE, "part"),
        _q(PDFA_ID_NAMESPACE, "conformance"),
        _q(PDFA_ID_NAMESPACE, "amd"),
        _q(PDFA_ID_NAMESPACE, "corr"),
        # Optional, and the header says it; an input's old value would contradict the 1.7.
        _q(PDF_NAMESPACE, "PDFVersion"),
    }
)


def _is_replaced(tag: str) -> bool:
    return tag in _REPLACED_PROPERTIES or etree.QName(tag).namespace in _PDFLT_NAMESPACES


def _replace_pdflt_properties(rdf: etree._Element, metadata: PdfLtMetadata) -> None:
    kept_schemas: list[etree._Element] = []
    description_tag = _q(RDF_NAMESPACE, "Description")
    for description in list(rdf.iter(description_tag)):
        if description.getparent() is not rdf:
            continue
        for attribute in list(description.attrib):
            if _is_replaced(attribute):
                del description.attrib[attribute]
        for child in list(description):
            if not isinstance(child.tag, str):
                continue
            if child.tag == _q(PDFA_EXTENSION_NAMESPACE, "schemas"):
                kept_schemas.extend(
                    item
                    for item in child.iter(_q(RDF_NAMESPACE, "li"))
                    if item.getparent() is not None
                    and item.getparent().getparent() is child
                    and _schema_namespace(item) not in _PDFLT_NAMESPACES
                )
                description.remove(child)
            elif _is_replaced(child.tag):
                description.remove(child)
        if len(description) == 0 and set(description.attrib) <= {_q(RDF_NAMESPACE, "about")}:
            rdf.remove(description)

    rdf.append(_pdfa_identification())
    rdf.append(_extension_schemas(kept_schemas))
    rdf.append(_level_identifier())
    rdf.append(_ltud_description(metadata))
    rdf.append(_dublin_core(metadata))


def _schema_namespace(schema_item: etree._Element) -> str:
    uri = schema_item.findtext(_q(PDFA_SCHEMA_NAMESPACE, "namespaceURI"))
    return (uri or "").strip()


def _description(nsmap: dict[str, str]) -> etree._Element:
    description = etree.Element(
        _q(RDF_NAMESPACE, "Description"), nsmap={"rdf": RDF_NAMESPACE, **nsmap}
    )
    description.set(_q(RDF_NAMESPACE, "about"), "")
    return description


def _text(parent: etree._Element, namespace: str, name: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, _q(namespace, name))
    element.text = value
    return element


def _array(parent: etree._Element, kind: str) -> etree._Element:
    return etree.SubElement(parent, _q(RDF_NAMESPACE, kind))


def _resource_item(array: etree._Element) -> etree._Element:
    item = etree.SubElement(array, _q(RDF_NAMESPACE, "li"))
    item.set(_q(RDF_NAMESPACE, "parseType"), "Resource")
    return item


def _pdfa_identification() -> etree._Element:
    description = _description({"pdfaid": PDFA_ID_NAMESPACE})
    _text(description, PDFA_ID_NAMESPACE, "part", "2")
    _text(description, PDFA_ID_NAMESPACE, "conformance", "B")
    return description


def _level_identifier() -> etree._Element:
    description = _description({"xmp": XMP_NAMESPACE, "xmpidq": XMPIDQ_NAMESPACE})
    bag = _array(etree.SubElement(description, _q(XMP_NAMESPACE, "Identifier")), "Bag")
    qualified = etree.SubElement(
        etree.SubElement(bag, _q(RDF_NAMESPACE, "li")), _q(RDF_NAMESPACE, "Description")
    )
    _text(qualified, RDF_NAMESPACE, "value", LEVEL_A)
    _text(qualified, XMPIDQ_NAMESPACE, "Scheme", LEVEL_SCHEME)
    return description


def _entity_items(parent: etree._Element, name: str, entities: Iterable[PdfLtEntity]) -> None:
    sequence = _array(etree.SubElement(parent, _q(LTUD_NAMESPACE, name)), "Seq")
    for entity in entities:
        item = _resource_item(sequence)
        _text(item, LTUD_ENTITY_NAMESPACE, "individual", "True" if entity.individual else "False")
        _text(item, LTUD_ENTITY_NAMESPACE, "name", entity.name)
        for field_name, value in (
            ("code", entity.code),
            ("address", entity.address),
            ("eMail", entity.email),
        ):
            if value:
                _text(item, LTUD_ENTITY_NAMESPACE, field_name, value)


def _ltud_description(metadata: PdfLtMetadata) -> etree._Element:
    description = _description(
        {
            "LTUd": LTUD_NAMESPACE,
            "LTUdEnt": LTUD_ENTITY_NAMESPACE,
            "LTUdReg": LTUD_REGISTRATION_NAMESPACE,
        }
    )
    _text(description, LTUD_NAMESPACE, "standardVersion", STANDARD_VERSION)
    _entity_items(description, "authors", metadata.authors)
    if metadata.recipients:
        _entity_items(description, "recipients", metadata.recipients)
    registration = metadata.registration
    if registration is not None:
        element = etree.SubElement(description, _q(LTUD_NAMESPACE, "registration"))
        element.set(_q(RDF_NAMESPACE, "parseType"), "Resource")
        _text(element, LTUD_REGISTRATION_NAMESPACE, "date", registration.date.isoformat())
        _text(element, LTUD_REGISTRATION_NAMESPACE, "number", registration.number)
        if registration.code:
            _text(element, LTUD_REGISTRATION_NAMESPACE, "code", registration.code)
    return description


def _dublin_core(metadata: PdfLtMetadata) -> etree._Element:
    description = _description({"dc": DC_NAMESPACE})
    alternatives = _array(etree.SubElement(description, _q(DC_NAMESPACE, "title")), "Alt")
    title = _text(alternatives, RDF_NAMESPACE, "li", metadata.title)
    title.set(_q(XML_NAMESPACE, "lang"), "x-default")
    creators = _array(etree.SubElement(description, _q(DC_NAMESPACE, "creator")), "Seq")
    for name in metadata.creator_names:
        _text(creators, RDF_NAMESPACE, "li", name)
    return description


# The PDF/A extension schema for PDF-LT, as published by the chief archivist (value types in the
# spelling PDF/A validators accept: "closed Choice of Text", "seq Entity").
_LTUD_PROPERTIES = (
    ("standardVersion", "closed Choice of Text", "internal",
     "Elektroninio dokumento specifikacijos identifikatorius (pvz., PDF-LT-V1.0)"),
    ("authors", "seq Entity", "external", "Dokumento sudarytojas (-ai)"),
    ("recipients", "seq Entity", "external", "Dokumento adresatas (-ai)"),
    ("documentCopyIdentifier", "Text", "external", "Dokumento egzemplioriaus identifikatorius"),
    ("originalRegistrations", "seq Registration", "external",
     "Originalaus dokumento registracija (-os) kopijoje"),
    ("originalReceptions", "seq Registration", "external",
     "Gauto originalaus dokumento registracija (-os) kopijoje"),
    ("originalReceivers", "seq Entity", "external", "Originalaus dokumento gavėjas (-ai) kopijoje"),
    ("registration", "Registration", "external", "Sudaryto dokumento registracija"),
    ("reception", "Registration", "external", "Gauto dokumento registracija"),
    ("receiver", "Entity", "external", "Dokumento gavėjas"),
)  # fmt: skip

_LTUD_TYPES = (
    ("Entity", LTUD_ENTITY_NAMESPACE, "LTUdEnt", "Asmuo (sudarytojas, adresatas, gavėjas)", (
        ("individual", "Boolean", "Požymis: fizinis (taip) ar juridinis (ne) asmuo"),
        ("name", "Text", "Juridinio asmens pavadinimas arba fizinio asmens vardas ir pavardė"),
        ("code", "Text", "Juridinio ar fizinio asmens kodas"),
        ("address", "Text", "Adresas"),
        ("eMail", "Text", "El. pašto adresas"),
    )),
    ("Registration", LTUD_REGISTRATION_NAMESPACE, "LTUdReg",
     "Sudaryto ar gauto dokumento registracija", (
        ("date", "Date", "Registravimo data"),
        ("number", "Text", "Registracijos numeris"),
        ("code", "Text", "Juridinio ar fizinio asmens kodas"),
    )),
)  # fmt: skip


def _extension_schemas(kept_schemas: list[etree._Element]) -> etree._Element:
    description = _description(
        {
            "pdfaExtension": PDFA_EXTENSION_NAMESPACE,
            "pdfaSchema": PDFA_SCHEMA_NAMESPACE,
            "pdfaProperty": PDFA_PROPERTY_NAMESPACE,
            "pdfaType": PDFA_TYPE_NAMESPACE,
            "pdfaField": PDFA_FIELD_NAMESPACE,
        }
    )
    bag = _array(etree.SubElement(description, _q(PDFA_EXTENSION_NAMESPACE, "schemas")), "Bag")
    for kept in kept_schemas:
        bag.append(kept)
    schema = _resource_item(bag)
    _text(schema, PDFA_SCHEMA_NAMESPACE, "schema",
          "PDF-LT-V1.0 elektroninio dokumento metaduomenų plėtinio schema")  # fmt: skip
    _text(schema, PDFA_SCHEMA_NAMESPACE, "namespaceURI", LTUD_NAMESPACE)
    _text(schema, PDFA_SCHEMA_NAMESPACE, "prefix", "LTUd")
    properties = _array(etree.SubElement(schema, _q(PDFA_SCHEMA_NAMESPACE, "property")), "Seq")
    for name, value_type, category, text in _LTUD_PROPERTIES:
        item = _resource_item(properties)
        _text(item, PDFA_PROPERTY_NAMESPACE, "name", name)
        _text(item, PDFA_PROPERTY_NAMESPACE, "valueType", value_type)
        _text(item, PDFA_PROPERTY_NAMESPACE, "category", category)
        _text(item, PDFA_PROPERTY_NAMESPACE, "description", text)
    value_types = _array(etree.SubElement(schema, _q(PDFA_SCHEMA_NAMESPACE, "valueType")), "Seq")
    for type_name, namespace, prefix, text, fields in _LTUD_TYPES:
        item = _resource_item(value_types)
        _text(item, PDFA_TYPE_NAMESPACE, "type", type_name)
        _text(item, PDFA_TYPE_NAMESPACE, "namespaceURI", namespace)
        _text(item, PDFA_TYPE_NAMESPACE, "prefix", prefix)
        _text(item, PDFA_TYPE_NAMESPACE, "description", text)
        field_list = _array(etree.SubElement(item, _q(PDFA_TYPE_NAMESPACE, "field")), "Seq")
        for field_name, field_type, field_text in fields:
            field_item = _resource_item(field_list)
            _text(field_item, PDFA_FIELD_NAMESPACE, "name", field_name)
            _text(field_item, PDFA_FIELD_NAMESPACE, "valueType", field_type)
            _text(field_item, PDFA_FIELD_NAMESPACE, "description", field_text)
    return description


def _serialise_xmp(xmpmeta: etree._Element) -> bytes:
    etree.cleanup_namespaces(xmpmeta)
    body: bytes = etree.tostring(xmpmeta, encoding="utf-8", pretty_print=True)
    return _XPACKET_BEGIN + body.strip() + _XPACKET_END


def _sync_document_info(document: pikepdf.Pdf, metadata: PdfLtMetadata) -> None:
    """Keep /Title and /Author equivalent to dc:title and dc:creator, as PDF/A requires."""
    info = document.trailer.get("/Info")
    if not isinstance(info, pikepdf.Dictionary):
        info = document.make_indirect(pikepdf.Dictionary())
        document.trailer.Info = info
    info.Title = pikepdf.String(metadata.title)
    creators = metadata.creator_names
    if len(creators) == 1:
        info.Author = pikepdf.String(creators[0])
    elif "/Author" in info:
        del info.Author
