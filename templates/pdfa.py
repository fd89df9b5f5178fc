"""Checks a generated PDF must pass before it is stored: PDF/A-2b basics plus PDF-LT-V1.0 Level A.

These are the checks our pipeline can get wrong (LibreOffice settings, template language, the
metadata step); they are not a full PDF/A validator. `check_pdfa` returns every problem found, in
one pass; `ensure_pdfa` raises `PdfACheckFailed` carrying them. A PDF that fails is an error, never
stored.

Checked:

- header ``%PDF-1.7`` (PDF-LT's verifier wants 1.7; LibreOffice 7.4 writes 1.6), no higher /Version;
- not encrypted, no embedded files (PDF-LT), no certification (DocMDP) signature (PDF-LT);
- ``/Lang`` lt-LT in the catalog (set by the template's document defaults, DOMAIN.md §9);
- every font embedded (FontFile, FontFile2 or FontFile3), on every page, in Form XObjects, tiling
  patterns, Type 3 glyph resources and annotation appearances, and for Type 0 descendant fonts;
- XMP present, unfiltered, readable, with ``pdfaid:part`` 2 and ``pdfaid:conformance`` B;
- PDF-LT Level A: ``LTUd:standardVersion``, level A in ``xmp:Identifier``, ``LTUd:authors``,
  ``LTUd:recipients`` (unless the document has none), ``dc:title`` x-default, ``dc:creator``
  naming the authors, and the PDF/A extension schema describing every LTUd property and type.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Iterator
from dataclasses import dataclass

import pikepdf
from lxml import etree

from templates.pdflt import (
    DC_NAMESPACE,
    LEVEL_A,
    LEVEL_SCHEME,
    LTUD_ENTITY_NAMESPACE,
    LTUD_NAMESPACE,
    LTUD_REGISTRATION_NAMESPACE,
    PDF_VERSION,
    PDFA_EXTENSION_NAMESPACE,
    PDFA_ID_NAMESPACE,
    PDFA_PROPERTY_NAMESPACE,
    PDFA_SCHEMA_NAMESPACE,
    PDFA_TYPE_NAMESPACE,
    RDF_NAMESPACE,
    STANDARD_VERSION,
    XMP_NAMESPACE,
    XMPIDQ_NAMESPACE,
    parse_xmp,
)

__all__ = [
    "DOCUMENT_LANGUAGE",
    "PdfACheckFailed",
    "PdfAProblem",
    "PdfAProblemCode",
    "check_pdfa",
    "ensure_pdfa",
]

DOCUMENT_LANGUAGE = "lt-LT"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


class PdfAProblemCode(enum.StrEnum):
    UNREADABLE_PDF = "unreadable_pdf"
    HEADER_VERSION = "header_version"
    ENCRYPTED = "encrypted"
    EMBEDDED_FILES = "embedded_files"
    CERTIFICATION_SIGNATURE = "certification_signature"
    LANGUAGE = "language"
    FONT_NOT_EMBEDDED = "font_not_embedded"
    XMP_MISSING = "xmp_missing"
    XMP_FILTERED = "xmp_filtered"
    XMP_UNREADABLE = "xmp_unreadable"
    PDFA_IDENTIFICATION = "pdfa_identification"
    PDFLT_STANDARD_VERSION = "pdflt_standard_version"
    PDFLT_LEVEL = "pdflt_level"
    PDFLT_AUTHORS = "pdflt_authors"
    PDFLT_RECIPIENTS = "pdflt_recipients"
    PDFLT_TITLE = "pdflt_title"
    PDFLT_CREATOR = "pdflt_creator"
    PDFLT_EXTENSION_SCHEMA = "pdflt_extension_schema"


@dataclass(frozen=True)
class PdfAProblem:
    code: PdfAProblemCode
    message: str
    """English, for logs and reports; names PDF objects and fonts, never document text."""
    page: int | None = None
    """1-based page number where the problem was found, when it belongs to a page."""


class PdfACheckFailed(Exception):
    """The PDF must not be stored: it fails the PDF/A or PDF-LT checks."""

    code = "pdfa_check_failed"

    def __init__(self, problems: tuple[PdfAProblem, ...]) -> None:
        self.problems = problems
        summary = "; ".join(problem.message for problem in problems)
        super().__init__(f"{len(problems)} PDF/A problem(s): {summary}")


def ensure_pdfa(pdf: bytes, *, require_recipients: bool = True) -> None:
    """Raise `PdfACheckFailed` with every problem if ``pdf`` may not be stored."""
    problems = check_pdfa(pdf, require_recipients=require_recipients)
    if problems:
        raise PdfACheckFailed(problems)


def check_pdfa(pdf: bytes, *, require_recipients: bool = True) -> tuple[PdfAProblem, ...]:
    """Every PDF/A-2b and PDF-LT Level A problem of ``pdf``; empty when it may be stored.

    ``require_recipients=False`` for documents without an addressee (the profile then wants no
    LTUd:recipients property at all).
    """
    problems: list[PdfAProblem] = []
    if not pdf.startswith(f"%PDF-{PDF_VERSION}".encode()):
        found = pdf[:8].decode("latin-1", errors="replace")
        problems.append(
            PdfAProblem(PdfAProblemCode.HEADER_VERSION, f"header is {found!r}, not %PDF-1.7")
        )
    try:
        # Read as written: the walk below finds inherited resources itself.
        document = pikepdf.open(io.BytesIO(pdf), inherit_page_attributes=False)
    except pikepdf.PasswordError:
        return (*problems, PdfAProblem(PdfAProblemCode.ENCRYPTED, "the PDF is encrypted"))
    except pikepdf.PdfError as error:
        problem = PdfAProblem(
            PdfAProblemCode.UNREADABLE_PDF, f"not a readable PDF ({type(error).__name__})"
        )
        return (*problems, problem)
    with document:
        problems.extend(_document_problems(document))
        problems.extend(_font_problems(document))
        problems.extend(_metadata_problems(document, require_recipients))
    return tuple(problems)


# ---------------------------------------------------------------------------- document level


def _document_problems(document: pikepdf.Pdf) -> Iterator[PdfAProblem]:
    root = document.Root
    if document.is_encrypted:
        yield PdfAProblem(PdfAProblemCode.ENCRYPTED, "the PDF is encrypted")
    catalog_version = root.get("/Version")
    if isinstance(catalog_version, pikepdf.Name) and str(catalog_version)[1:] != PDF_VERSION:
        yield PdfAProblem(
            PdfAProblemCode.HEADER_VERSION,
            f"catalog /Version is {str(catalog_version)[1:]}, not {PDF_VERSION}",
        )
    language = root.get("/Lang")
    if language is None:
        yield PdfAProblem(PdfAProblemCode.LANGUAGE, "catalog has no /Lang")
    elif str(language).lower() != DOCUMENT_LANGUAGE.lower():
        yield PdfAProblem(
            PdfAProblemCode.LANGUAGE, f"catalog /Lang is {str(language)!r}, not {DOCUMENT_LANGUAGE}"
        )
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/EmbeddedFiles" in names:
        yield PdfAProblem(PdfAProblemCode.EMBEDDED_FILES, "catalog /Names has /EmbeddedFiles")
    if "/AF" in root:
        yield PdfAProblem(PdfAProblemCode.EMBEDDED_FILES, "catalog has associated files (/AF)")
    for number, page in enumerate(document.pages, start=1):
        for annotation in _annotations(page.obj):
            if annotation.get("/Subtype") == pikepdf.Name.FileAttachment:
                yield PdfAProblem(
                    PdfAProblemCode.EMBEDDED_FILES, "file attachment annotation", page=number
                )
    permissions = root.get("/Perms")
    if isinstance(permissions, pikepdf.Dictionary) and "/DocMDP" in permissions:
        yield PdfAProblem(
            PdfAProblemCode.CERTIFICATION_SIGNATURE,
            "the PDF has a certification (DocMDP) signature, which PDF-LT forbids",
        )


def _annotations(page: pikepdf.Dictionary) -> list[pikepdf.Dictionary]:
    annotations = page.get("/Annots")
    if not isinstance(annotations, pikepdf.Array):
        return []
    return [a for a in annotations if isinstance(a, pikepdf.Dictionary)]


# ------------------------------------------------------------------------------------- fonts


class _FontWalk:
    """Visits every resource dictionary reachable from the pages, each object once."""

    def __init__(self) -> None:
        self.problems: list[PdfAProblem] = []
        self._visited: set[tuple[int, int]] = set()

    def _first_visit(self, obj: pikepdf.Object) -> bool:
        if not obj.is_indirect:
            return True
        key = obj.objgen
        if key in self._visited:
            return False
        self._visited.add(key)
        return True

    def resources(self, resources: pikepdf.Object | None, page: int) -> None:
        if not isinstance(resources, pikepdf.Dictionary) or not self._first_visit(resources):
            return
        fonts = resources.get("/Font")
        if isinstance(fonts, pikepdf.Dictionary):
            for font in fonts.values():
                if isinstance(font, pikepdf.Dictionary):
                    self.font(font, page)
        for group in ("/XObject", "/Pattern"):
            entries = resources.get(group)
            if not isinstance(entries, pikepdf.Dictionary):
                continue
            for entry in entries.values():
                if isinstance(entry, pikepdf.Stream | pikepdf.Dictionary) and self._first_visit(
                    entry
                ):
                    # Form XObjects and tiling patterns carry their own resources; images don't.
                    self.resources(entry.get("/Resources"), page)

    def appearance(self, appearance: pikepdf.Object | None, page: int) -> None:
        if isinstance(appearance, pikepdf.Stream):
            if self._first_visit(appearance):
                self.resources(appearance.get("/Resources"), page)
        elif isinstance(appearance, pikepdf.Dictionary):
            for state in appearance.values():
                self.appearance(state, page)

    def font(self, font: pikepdf.Dictionary, page: int) -> None:
        if not self._first_visit(font):
            return
        subtype = font.get("/Subtype")
        if subtype == pikepdf.Name.Type3:
            self.resources(font.get("/Resources"), page)
            return
        if subtype == pikepdf.Name.Type0:
            descendants = font.get("/DescendantFonts")
            if not isinstance(descendants, pikepdf.Array) or len(descendants) == 0:
                self._not_embedded(font, page, "Type0 font without descendant font")
                return
            for descendant in descendants:
                if isinstance(descendant, pikepdf.Dictionary):
                    self._check_program(descendant, page)
            return
        self._check_program(font, page)

    def _check_program(self, font: pikepdf.Dictionary, page: int) -> None:
        descriptor = font.get("/FontDescriptor")
        if isinstance(descriptor, pikepdf.Dictionary) and any(
            key in descriptor for key in _FONT_FILES
        ):
            return
        self._not_embedded(font, page, "font program not embedded")

    def _not_embedded(self, font: pikepdf.Dictionary, page: int, why: str) -> None:
        name = str(font.get("/BaseFont", "(unnamed)")).lstrip("/")
        self.problems.append(
            PdfAProblem(PdfAProblemCode.FONT_NOT_EMBEDDED, f"{why}: {name}", page=page)
        )


def _inherited_resources(page: pikepdf.Dictionary) -> pikepdf.Object | None:
    node: pikepdf.Object | None = page
    for _ in range(64):  # a page tree deeper than this is malformed
        if not isinstance(node, pikepdf.Dictionary):
            return None
        if "/Resources" in node:
            return node.get("/Resources")
        node = node.get("/Parent")
    return None


def _font_problems(document: pikepdf.Pdf) -> list[PdfAProblem]:
    walk = _FontWalk()
    for number, page in enumerate(document.pages, start=1):
        walk.resources(_inherited_resources(page.obj), number)
        for annotation in _annotations(page.obj):
            appearances = annotation.get("/AP")
            if isinstance(appearances, pikepdf.Dictionary):
                for appearance in appearances.values():
                    walk.appearance(appearance, number)
    return walk.problems


# ---------------------------------------------------------------------------------- metadata


def _q(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


class _Xmp:
    """Read access to top-level XMP properties, written as elements or as attributes."""

    def __init__(self, rdf: etree._Element) -> None:
        self._descriptions = [
            child for child in rdf if child.tag == _q(RDF_NAMESPACE, "Description")
        ]

    def property(self, namespace: str, name: str) -> etree._Element | None:
        tag = _q(namespace, name)
        for description in self._descriptions:
            element = description.find(tag)
            if element is not None:
                return element
        return None

    def simple(self, namespace: str, name: str) -> str | None:
        tag = _q(namespace, name)
        for description in self._descriptions:
            if tag in description.attrib:
                return str(description.attrib[tag]).strip()
        element = self.property(namespace, name)
        if element is None:
            return None
        return _value_text(element)

    def items(self, namespace: str, name: str) -> list[etree._Element] | None:
        """Items of an array property; None when the property is absent."""
        element = self.property(namespace, name)
        if element is None:
            return None
        return _array_items(element)

    def names_used(self, namespace: str) -> set[str]:
        used = set()
        for description in self._descriptions:
            for child in description:
                if isinstance(child.tag, str) and etree.QName(child).namespace == namespace:
                    used.add(etree.QName(child).localname)
            for attribute in description.attrib:
                if etree.QName(attribute).namespace == namespace:
                    used.add(etree.QName(attribute).localname)
        return used


def _value_text(element: etree._Element) -> str:
    value = element.find(_q(RDF_NAMESPACE, "value"))
    if value is None:
        nested = element.find(_q(RDF_NAMESPACE, "Description"))
        if nested is not None:
            value = nested.find(_q(RDF_NAMESPACE, "value"))
    return ("" if value is None else value.text or "").strip() or (element.text or "").strip()


def _array_items(element: etree._Element) -> list[etree._Element]:
    for kind in ("Seq", "Bag", "Alt"):
        array = element.find(_q(RDF_NAMESPACE, kind))
        if array is not None:
            return list(array.iterfind(_q(RDF_NAMESPACE, "li")))
    return []


def _field(item: etree._Element, namespace: str, name: str) -> str:
    """A field of a struct array item (rdf:parseType="Resource" or nested rdf:Description)."""
    tag = _q(namespace, name)
    holders = [item, *item.iterfind(_q(RDF_NAMESPACE, "Description"))]
    for holder in holders:
        if tag in holder.attrib:
            return str(holder.attrib[tag]).strip()
        found = holder.find(tag)
        if found is not None:
            return (found.text or "").strip()
    return ""


def _metadata_problems(document: pikepdf.Pdf, require_recipients: bool) -> list[PdfAProblem]:
    stream = document.Root.get("/Metadata")
    if not isinstance(stream, pikepdf.Stream):
        return [PdfAProblem(PdfAProblemCode.XMP_MISSING, "catalog has no XMP /Metadata stream")]
    problems = []
    if "/Filter" in stream:
        problems.append(PdfAProblem(PdfAProblemCode.XMP_FILTERED, "XMP stream has a /Filter"))
    try:
        packet = stream.read_bytes()
    except pikepdf.PdfError:
        packet = b""
    xmp = parse_xmp(packet)
    rdf = None
    if xmp is not None:
        rdf = (
            xmp
            if xmp.tag == _q(RDF_NAMESPACE, "RDF")
            else xmp.find(f".//{_q(RDF_NAMESPACE, 'RDF')}")
        )
    if rdf is None:
        problems.append(PdfAProblem(PdfAProblemCode.XMP_UNREADABLE, "XMP is not readable RDF"))
        return problems
    properties = _Xmp(rdf)
    problems.extend(_pdfa_identification_problems(properties))
    problems.extend(_pdflt_problems(properties, require_recipients))
    problems.extend(_extension_schema_problems(properties, rdf))
    return problems


def _pdfa_identification_problems(xmp: _Xmp) -> Iterator[PdfAProblem]:
    part = xmp.simple(PDFA_ID_NAMESPACE, "part")
    conformance = xmp.simple(PDFA_ID_NAMESPACE, "conformance")
    if part != "2" or conformance != "B":
        yield PdfAProblem(
            PdfAProblemCode.PDFA_IDENTIFICATION,
            f"XMP identifies PDF/A part {part!r} conformance {conformance!r}, not 2 / B",
        )


def _pdflt_problems(xmp: _Xmp, require_recipients: bool) -> Iterator[PdfAProblem]:
    version = xmp.simple(LTUD_NAMESPACE, "standardVersion")
    if version != STANDARD_VERSION:
        yield PdfAProblem(
            PdfAProblemCode.PDFLT_STANDARD_VERSION,
            f"LTUd:standardVersion is {version!r}, not {STANDARD_VERSION!r}",
        )
    identifiers = xmp.items(XMP_NAMESPACE, "Identifier") or []
    if not any(
        _field(item, XMPIDQ_NAMESPACE, "Scheme") == LEVEL_SCHEME and _value_text(item) == LEVEL_A
        for item in identifiers
    ):
        yield PdfAProblem(
            PdfAProblemCode.PDFLT_LEVEL,
            f"xmp:Identifier has no item {LEVEL_A!r} with scheme {LEVEL_SCHEME}",
        )
    authors = xmp.items(LTUD_NAMESPACE, "authors") or []
    author_names = [_field(item, LTUD_ENTITY_NAMESPACE, "name") for item in authors]
    if not authors or not all(author_names):
        yield PdfAProblem(
            PdfAProblemCode.PDFLT_AUTHORS, "LTUd:authors is missing, empty or has a nameless entity"
        )
    recipients = xmp.items(LTUD_NAMESPACE, "recipients")
    if recipients is not None:
        if not recipients or not all(
            _field(item, LTUD_ENTITY_NAMESPACE, "name") for item in recipients
        ):
            yield PdfAProblem(
                PdfAProblemCode.PDFLT_RECIPIENTS,
                "LTUd:recipients is empty or has a nameless entity",
            )
    elif require_recipients:
        yield PdfAProblem(PdfAProblemCode.PDFLT_RECIPIENTS, "LTUd:recipients is missing")
    titles = xmp.items(DC_NAMESPACE, "title") or []
    if not any(item.get(_XML_LANG) == "x-default" and (item.text or "").strip() for item in titles):
        yield PdfAProblem(PdfAProblemCode.PDFLT_TITLE, "dc:title has no x-default title")
    creators = [(item.text or "").strip() for item in xmp.items(DC_NAMESPACE, "creator") or []]
    if not any(creators):
        yield PdfAProblem(PdfAProblemCode.PDFLT_CREATOR, "dc:creator is missing or empty")
    elif missing := [name for name in author_names if name and name not in creators]:
        yield PdfAProblem(
            PdfAProblemCode.PDFLT_CREATOR,
            f"dc:creator does not repeat {len(missing)} author name(s) of LTUd:authors",
        )


def _extension_schema_problems(xmp: _Xmp, rdf: etree._Element) -> Iterator[PdfAProblem]:
    schema = None
    for item in rdf.iter(_q(RDF_NAMESPACE, "li")):
        parent = item.getparent()
        holder = parent.getparent() if parent is not None else None
        if holder is None or holder.tag != _q(PDFA_EXTENSION_NAMESPACE, "schemas"):
            continue
        if (
            item.findtext(_q(PDFA_SCHEMA_NAMESPACE, "namespaceURI")) or ""
        ).strip() == LTUD_NAMESPACE:
            schema = item
            break
    if schema is None:
        yield PdfAProblem(
            PdfAProblemCode.PDFLT_EXTENSION_SCHEMA,
            "no PDF/A extension schema describes the LTUd namespace",
        )
        return
    if (schema.findtext(_q(PDFA_SCHEMA_NAMESPACE, "prefix")) or "").strip() != "LTUd":
        yield PdfAProblem(
            PdfAProblemCode.PDFLT_EXTENSION_SCHEMA, "the LTUd extension schema's prefix is not LTUd"
        )
    described = set()
    property_list = schema.find(_q(PDFA_SCHEMA_NAMESPACE, "property"))
    if property_list is not None:
        for item in _array_items(property_list):
            described.add((item.findtext(_q(PDFA_PROPERTY_NAMESPACE, "name")) or "").strip())
    undescribed = sorted(xmp.names_used(LTUD_NAMESPACE) - described)
    if undescribed:
        yield PdfAProblem(
            PdfAProblemCode.PDFLT_EXTENSION_SCHEMA,
            f"LTUd properties not described in the extension schema: {', '.join(undescribed)}",
        )
    described_types = set()
    type_list = schema.find(_q(PDFA_SCHEMA_NAMESPACE, "valueType"))
    if type_list is not None:
        for item in _array_items(type_list):
            described_types.add(
                (item.findtext(_q(PDFA_TYPE_NAMESPACE, "namespaceURI")) or "").strip()
            )
    for namespace, type_name in (
        (LTUD_ENTITY_NAMESPACE, "Entity"),
        (LTUD_REGISTRATION_NAMESPACE, "Registration"),
    ):
        if namespace not in described_types:
            yield PdfAProblem(
                PdfAProblemCode.PDFLT_EXTENSION_SCHEMA,
                f"the extension schema does not describe the {type_name} type ({namespace})",
            )
