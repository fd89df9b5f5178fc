"""Empty signature fields, laid out before the first signature (DOMAIN.md §9).

Written with pikepdf, as part of a full save of a document not yet signed: the fields are the
ones pyHanko's ``append_signature_field`` makes (a test compares them), but pyHanko would read
the whole PDF again and write an incremental update of its own, which cost more than the
document's metadata and PDF/A check together.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

import pikepdf

from signing.config import SignatureFieldSpec
from signing.errors import InvalidDocument, SignatureFieldError

__all__ = ["add_signature_fields", "prepare_signature_fields"]

PRINT_AND_LOCKED = 4 | 128
"""Annotation flags of a signature widget (/F 132, as pyHanko sets them)."""


def prepare_signature_fields(pdf: bytes, field_specs: Sequence[SignatureFieldSpec]) -> bytes:
    """``pdf`` with empty signature fields added; it must not be signed yet.

    A field added after a signature is an illegal modification once a certification signature
    exists, and PDF-LT wants every signer's field laid out in advance (document K: chair, then
    secretary).
    """
    if not pdf.startswith(b"%PDF-"):
        raise InvalidDocument("the input is not a PDF", reason="no_pdf_header")
    try:
        document = pikepdf.open(io.BytesIO(pdf), inherit_page_attributes=False)
    except pikepdf.PasswordError as exc:
        raise InvalidDocument(
            "encrypted PDFs are not accepted (PDF-LT)", reason="encrypted"
        ) from exc
    except pikepdf.PdfError as exc:
        raise InvalidDocument("the PDF cannot be parsed", reason=str(exc)[:200]) from exc
    with document:
        if document.is_encrypted:
            raise InvalidDocument("encrypted PDFs are not accepted (PDF-LT)", reason="encrypted")
        add_signature_fields(document, field_specs)
        output = io.BytesIO()
        document.save(output, fix_metadata_version=False)
    return output.getvalue()


def add_signature_fields(document: pikepdf.Pdf, field_specs: Sequence[SignatureFieldSpec]) -> None:
    """Add empty signature fields to an open document that carries no signature."""
    form = document.Root.get("/AcroForm")
    if not isinstance(form, pikepdf.Dictionary):
        form = document.make_indirect(pikepdf.Dictionary(Fields=pikepdf.Array()))
        document.Root.AcroForm = form
    fields = form.get("/Fields")
    if not isinstance(fields, pikepdf.Array):
        fields = form.Fields = pikepdf.Array()
    existing = dict(_signature_fields(fields))
    if any(filled for filled in existing.values()):
        raise SignatureFieldError(
            "signature fields must be created before the first signature",
            field_name=",".join(spec.name for spec in field_specs),
        )
    for spec in field_specs:
        if spec.name in existing:
            raise SignatureFieldError("signature field already exists", field_name=spec.name)
        if "." in spec.name:
            raise SignatureFieldError("a field name may not contain '.'", field_name=spec.name)
        try:
            page = document.pages[spec.page]
        except IndexError as exc:
            raise SignatureFieldError(
                f"the PDF has no page {spec.page + 1}", field_name=spec.name
            ) from exc
        widget = document.make_indirect(_widget(document, spec, page.obj))
        fields.append(widget)
        annotations = page.obj.get("/Annots")
        if isinstance(annotations, pikepdf.Array):
            annotations.append(widget)
        else:
            page.obj.Annots = pikepdf.Array([widget])
        existing[spec.name] = False
    if "/SigFlags" not in form:
        form.SigFlags = 1  # signatures exist (or will); not append-only


def _widget(
    document: pikepdf.Pdf, spec: SignatureFieldSpec, page: pikepdf.Dictionary
) -> pikepdf.Dictionary:
    box = spec.box or (0, 0, 0, 0)
    widget = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Widget,
        FT=pikepdf.Name.Sig,
        T=pikepdf.String(spec.name),
        F=PRINT_AND_LOCKED,
        P=page,
        Rect=pikepdf.Array(box),
    )
    width, height = abs(box[2] - box[0]), abs(box[3] - box[1])
    if width and height:
        # An empty appearance until signed (the stamp replaces it).
        appearance = document.make_stream(
            b"",
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Form,
            BBox=pikepdf.Array([0, height, width, 0]),
            Resources=pikepdf.Dictionary(),
        )
        widget.AP = pikepdf.Dictionary(N=appearance)
    return widget


def _signature_fields(fields: pikepdf.Array) -> Iterator[tuple[str, bool]]:
    """(full name, filled) of every signature field in the tree, each object once."""
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[pikepdf.Object, str, pikepdf.Object | None]] = [
        (field, "", None) for field in fields
    ]
    while stack:
        field, parent_name, parent_type = stack.pop()
        if not isinstance(field, pikepdf.Dictionary):
            continue
        if field.is_indirect:
            if field.objgen in seen:
                continue
            seen.add(field.objgen)
        partial = field.get("/T")
        name = parent_name if partial is None else f"{parent_name}.{partial}".lstrip(".")
        field_type = field.get("/FT", parent_type)  # inherited from the parent field
        kids = field.get("/Kids")
        if isinstance(kids, pikepdf.Array):
            stack.extend((kid, name, field_type) for kid in kids)
        if field_type == pikepdf.Name.Sig and partial is not None:
            yield name, "/V" in field
