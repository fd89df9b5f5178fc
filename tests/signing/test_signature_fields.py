"""Signature fields written with pikepdf are the ones pyHanko would write."""

from __future__ import annotations

import io
from typing import Any

import pikepdf
import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields

from signing.config import SignatureFieldSpec
from signing.errors import InvalidDocument, SignatureFieldError
from signing.signature_fields import prepare_signature_fields
from tests.signing.conftest import make_pdfa

SPECS = (
    SignatureFieldSpec("parasas-1", 1, (50, 36, 290, 98)),
    SignatureFieldSpec("parasas-2", 1, (305, 36, 545, 98)),
    SignatureFieldSpec("nematomas", 0),
)


def _two_pages() -> bytes:
    with pikepdf.open(io.BytesIO(make_pdfa())) as pdf:
        pdf.add_blank_page(page_size=(595, 842))
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def _by_pyhanko(pdf: bytes, specs: tuple[SignatureFieldSpec, ...]) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for spec in specs:
        fields.append_signature_field(
            writer, fields.SigFieldSpec(spec.name, on_page=spec.page, box=spec.box)
        )
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _plain(value: Any, pages: dict[tuple[int, int], int]) -> Any:
    if isinstance(value, pikepdf.Stream):
        return {"data": value.read_bytes(), **_plain_dict(value.stream_dict, pages)}
    if isinstance(value, pikepdf.Dictionary):
        if value.is_indirect and value.objgen in pages:
            return ("page", pages[value.objgen])
        return _plain_dict(value, pages)
    if isinstance(value, pikepdf.Array):
        return [_plain(item, pages) for item in value]
    if isinstance(value, pikepdf.Name | pikepdf.String):
        return str(value)
    return float(value) if isinstance(value, int | float | pikepdf.Object) else value


def _plain_dict(value: pikepdf.Dictionary, pages: dict[tuple[int, int], int]) -> dict[str, Any]:
    # Length and Filter say how a stream is stored, not what it holds.
    return {k: _plain(v, pages) for k, v in value.items() if k not in ("/Length", "/Filter")}


def _form(pdf: bytes) -> dict[str, Any]:
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        pages = {page.obj.objgen: number for number, page in enumerate(opened.pages)}
        form = opened.Root.AcroForm
        widgets_on_pages = {
            number: sorted(str(a.T) for a in page.obj.get("/Annots", []) if "/FT" in a)
            for number, page in enumerate(opened.pages)
        }
        return {
            "SigFlags": int(form.SigFlags),
            "fields": [_plain(field, pages) for field in form.Fields],
            "widgets on pages": widgets_on_pages,
        }


def test_the_fields_are_pyhankos() -> None:
    pdf = _two_pages()
    ours, theirs = _form(prepare_signature_fields(pdf, SPECS)), _form(_by_pyhanko(pdf, SPECS))
    assert ours == theirs
    assert ours["widgets on pages"] == {0: ["nematomas"], 1: ["parasas-1", "parasas-2"]}
    # and a second call adds to the form the first made, as pyHanko does
    again = SignatureFieldSpec("parasas-3", 0, (50, 120, 290, 182))
    twice = prepare_signature_fields(prepare_signature_fields(pdf, SPECS), (again,))
    assert _form(twice) == _form(_by_pyhanko(_by_pyhanko(pdf, SPECS), (again,)))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SignatureFieldSpec("parasas-1"), "already exists"),
        (SignatureFieldSpec("parasas.vidinis"), "may not contain"),
        (SignatureFieldSpec("parasas-9", page=5), "no page 6"),
    ],
)
def test_a_field_that_cannot_be_made_is_refused(spec: SignatureFieldSpec, message: str) -> None:
    prepared = prepare_signature_fields(_two_pages(), SPECS)
    with pytest.raises(SignatureFieldError, match=message) as refused:
        prepare_signature_fields(prepared, (spec,))
    assert refused.value.field_name == spec.name


def test_what_is_not_a_pdf_is_refused() -> None:
    with pytest.raises(InvalidDocument):
        prepare_signature_fields(b"GIF89a", SPECS)
    with pytest.raises(InvalidDocument):
        prepare_signature_fields(b"%PDF-1.7\n" + b"\x00" * 64, SPECS)
