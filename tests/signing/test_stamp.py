"""The stamp font: cut down once to the characters stamps use, plus any a name brings."""

from __future__ import annotations

from io import BytesIO

from fontTools.ttLib import TTFont

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
