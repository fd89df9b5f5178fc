"""The stamp font: cut down once to the characters stamps use, plus any a name brings."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from fontTools.ttLib import TTFont
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.writer import PdfFileWriter

from signing.config import NOTO_SANS_PATH
from signing.stamp import (
    STAMP_CHARACTERS,
    InMemoryFontFactory,
    _font_bytes,
    stamp_characters,
    stamp_style,
)


def _font_of(extra: frozenset[str]) -> TTFont:
    style = stamp_style(NOTO_SANS_PATH, "Nekvalifikuotas – tik bandymams", extra)
    factory = style.text_box_style.font
    assert isinstance(factory, InMemoryFontFactory)
    return TTFont(BytesIO(_font_bytes(NOTO_SANS_PATH, factory.characters)))


def test_the_stamp_font_keeps_lithuanian_and_drops_layout_tables() -> None:
    font = _font_of(frozenset())
    cmap = font.getBestCmap()
    assert all(ord(c) in cmap for c in "ąčęėįšųūžĄČĘĖĮŠŲŪŽ–„“")
    assert not {"GSUB", "GPOS", "GDEF"} & set(font.keys())
    assert len(font.getGlyphOrder()) < 400  # of Noto Sans's 3,300


def test_a_name_beyond_the_common_letters_brings_its_own() -> None:
    extra = stamp_characters("Ștefan Ɓello", "komisijos narys")
    assert extra == frozenset("ȘƁ")
    cmap = _font_of(extra).getBestCmap()
    assert ord("Ș") in cmap and ord("Ɓ") in cmap
    assert ord("Ș") not in _font_of(frozenset()).getBestCmap()
    assert stamp_characters("Rūta Žemaitė") == frozenset() and "ė" in STAMP_CHARACTERS


def _written_font(engine: GlyphAccumulator, writer: PdfFileWriter) -> tuple[Any, ...]:
    """What a stamp's text and font come to in the PDF: content, advance, widths, ToUnicode,
    and the embedded outline of every glyph the text uses."""
    shaped = engine.shape("Pasirašyta elektroniniu parašu Rūta Čepulienė 2026-11-24 15:52")
    engine.prepare_write()
    type0 = engine.as_resource().get_object()
    descendant = type0["/DescendantFonts"][0].get_object()
    program = descendant["/FontDescriptor"]["/FontFile2"].get_object().data
    font = TTFont(BytesIO(program))
    glyf = font["glyf"]
    used = sorted(engine._glyphs)  # glyph ids (= CIDs) the text used
    outlines = [
        (font.getGlyphName(g), glyf[font.getGlyphName(g)].getCoordinates(glyf)[0].array.tolist())
        for g in used
    ]
    return (
        shaped.graphics_ops,
        shaped.x_advance,
        list(type0["/ToUnicode"].get_object().data.splitlines()),
        [str(w) for w in descendant["/W"]],
        outlines,
    )


def test_the_shared_font_writes_what_pyhankos_own_accumulator_writes() -> None:
    factory = stamp_style(NOTO_SANS_PATH, None).text_box_style.font
    assert isinstance(factory, InMemoryFontFactory)
    font_bytes = _font_bytes(NOTO_SANS_PATH, factory.characters)
    for _ in range(2):  # the second time from the caches; nothing shared was changed
        writer = PdfFileWriter()
        stock = GlyphAccumulator(writer, BytesIO(font_bytes), 9, bcp47_lang_code="lt")
        ours = factory.create_font_engine(writer)
        assert type(ours) is not GlyphAccumulator
        assert _written_font(ours, writer) == _written_font(stock, writer)
