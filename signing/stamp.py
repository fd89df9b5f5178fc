"""The visible signature stamp (Lithuanian) and hand-written signature images.

The font must have unitsPerEm = 1000 (Noto Sans): pyHanko lays out TrueType text as if it
had, so DejaVu/Liberation (2048) come out about twice too wide, and its default Courier can
neither draw ą č ę ė į š ų ū ž nor be embedded (breaks PDF/A).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

import uharfbuzz as hb
from fontTools import subset
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine
from pyhanko.pdf_utils.font.opentype import (
    CIDFontType2,
    GlyphAccumulator,
    GlyphAccumulatorFactory,
    _check_ot_tag,
    _read_ps_name,
)
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.stamp import TextStampStyle

__all__ = [
    "STAMP_CHARACTERS",
    "STAMP_HEADING",
    "InMemoryFontFactory",
    "stamp_characters",
    "stamp_style",
    "stamp_text_params",
]

STAMP_HEADING = "Pasirašyta elektroniniu parašu"
logging.getLogger("fontTools").setLevel(logging.WARNING)  # it logs every subset at INFO
_TIME_FORMAT = "%Y-%m-%d %H:%M"


STAMP_CHARACTERS = frozenset(
    [chr(c) for c in (*range(0x20, 0x7F), *range(0xA0, 0x180))] + list("–—‘’‚“”„…")
)
"""Characters every stamp font carries: Latin-1 and Latin Extended-A (Lithuanian and the
neighbours' letters) and typographic punctuation; a stamp needing others gets its own font."""


def stamp_characters(*texts: str) -> frozenset[str]:
    """The characters of these texts that ``STAMP_CHARACTERS`` lacks."""
    return frozenset("".join(texts)) - STAMP_CHARACTERS


@lru_cache(maxsize=64)
def _font_bytes(font_path: Path, characters: frozenset[str]) -> bytes:
    """The stamp font cut down to ``characters``, without OpenType layout tables.

    pyHanko subsets the font again for every signature, and with the whole of Noto Sans
    (3,300 glyphs, large GSUB/GPOS tables) that was about four fifths of a stamped
    signature's CPU. A stamp's few lines need no ligatures or kerning [design].
    """
    font = TTFont(BytesIO(font_path.read_bytes()))
    units_per_em = font["head"].unitsPerEm
    if units_per_em != 1000:
        raise ValueError(
            f"stamp font {font_path.name} has unitsPerEm={units_per_em}; pyHanko draws it "
            "too wide: use a 1000-unit font such as Noto Sans"
        )
    options = subset.Options()
    options.layout_features = []
    options.drop_tables = [*options.drop_tables, "GSUB", "GPOS", "GDEF"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in characters])
    subsetter.subset(font)
    reduced = BytesIO()
    font.save(reduced)
    return reduced.getvalue()


@dataclass(frozen=True)
class _ParsedFont:
    """A stamp font parsed once per process and only read afterwards: every stamp shares it."""

    font_bytes: bytes
    tt: TTFont
    hb_font: hb.Font
    ps_name: str
    glyph_set: Any
    reverse_cmap: dict[str, int]


@lru_cache(maxsize=64)
def _parsed_font(font_path: Path, characters: frozenset[str]) -> _ParsedFont:
    font_bytes = _font_bytes(font_path, characters)
    tt = TTFont(BytesIO(font_bytes))
    glyph_set = tt.getGlyphSet(preferCFF=True)
    tt.ensureDecompiled()  # fontTools loads tables lazily, which is not thread-safe
    return _ParsedFont(
        font_bytes,
        tt,
        hb.Font(hb.Face(font_bytes)),
        _read_ps_name(tt),
        glyph_set,
        tt["cmap"].buildReversed(),
    )


@lru_cache(maxsize=1024)
def _subset_program(font_bytes: bytes, glyph_ids: frozenset[int]) -> bytes:
    """The embedded font program of a stamp: pyHanko's own subset (same options, glyph ids
    kept), made once per set of glyphs instead of once per signature."""
    font = TTFont(BytesIO(font_bytes))
    options = subset.Options(layout_closure=False)
    options.drop_tables += ["GPOS", "GDEF", "GSUB"]
    options.retain_gids = True
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(gids=sorted(glyph_ids))
    subsetter.subset(font)
    program = BytesIO()
    font.save(program)
    return program.getvalue()


class _SharedFontProgram(CIDFontType2):
    """pyHanko's CIDFontType2 whose /FontFile2 comes from :func:`_subset_program`."""

    def __init__(self, font: _ParsedFont, subset_prefix: str, glyph_ids: dict[int, Any]) -> None:
        super().__init__(font.tt, font.ps_name, subset_prefix)
        self._font = font
        self._glyph_ids = glyph_ids

    def set_font_file(self, writer: Any) -> Any:
        program = _subset_program(self._font.font_bytes, frozenset(self._glyph_ids))
        font_stream = generic.StreamObject(stream_data=program)
        font_stream.compress()  # type: ignore[no-untyped-call]
        font_stream_ref = writer.add_object(font_stream)
        self._font_descriptor[pdf_name("/FontFile2")] = font_stream_ref
        return font_stream_ref


class _SharedFontAccumulator(GlyphAccumulator):
    """pyHanko's glyph accumulator for a TrueType stamp font, on a font parsed once.

    pyHanko parses the font for every signature and then subsets that copy destructively;
    with a stamp on every signature this was about two fifths of a signature's CPU. Here the
    parsed font is shared (read only) and the subset program is cached by glyph set. The
    attributes are those ``GlyphAccumulator.__init__`` sets for a TrueType font (pyHanko
    0.38); tests/signing/test_stamp.py compares the result with pyHanko's own accumulator.
    """

    def __init__(
        self, writer: Any, font: _ParsedFont, factory: GlyphAccumulatorFactory, obj_stream: Any
    ) -> None:
        FontEngine.__init__(
            self, writer, font.ps_name, embedded_subset=True, obj_stream=obj_stream,
            font_size=factory.font_size,
        )  # fmt: skip
        self.hb_font = font.hb_font
        self.tt = font.tt
        self._font_ref = writer.allocate_placeholder()
        self.cff_charset = None
        self.use_raw_gids = True
        self._glyphs: dict[int, tuple[int, int]] = {}
        self.cidfont_obj = _SharedFontProgram(font, self.subset_prefix, self._glyphs)
        self.features = None
        self.units_per_em = font.tt["head"].unitsPerEm
        self._glyph_set = font.glyph_set
        self._cid_to_unicode: dict[int, str] = {}
        self._GlyphAccumulator__reverse_cmap = font.reverse_cmap
        self.ot_language_tag = _check_ot_tag(factory.ot_language_tag)  # type: ignore[no-untyped-call]
        self.ot_script_tag = _check_ot_tag(factory.ot_script_tag)  # type: ignore[no-untyped-call]
        self.writing_direction = factory.writing_direction
        self.bcp47_lang_code = factory.bcp47_lang_code
        self._subset_created = self._write_prepared = False

    def _extract_subset(self, options: Any = None) -> None:
        """Nothing to cut here: :class:`_SharedFontProgram` embeds the cached subset."""


@dataclass(frozen=True)
class InMemoryFontFactory(GlyphAccumulatorFactory):
    """pyHanko's font factory on the stamp font cut down to ``characters``, parsed once (its
    own reads the whole font for every signature and leaves a file handle open)."""

    characters: frozenset[str] = STAMP_CHARACTERS

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return _SharedFontAccumulator(
            writer,
            _parsed_font(Path(self.font_file), self.characters),
            self,
            obj_stream,
        )


@lru_cache(maxsize=64)
def stamp_style(
    font_path: Path, notice: str | None, extra_characters: frozenset[str] = frozenset()
) -> TextStampStyle:
    """Stamp style: heading, name, position, local date and time, optional notice line.
    ``extra_characters``: those of the name and position beyond ``STAMP_CHARACTERS``."""
    characters = STAMP_CHARACTERS | stamp_characters(STAMP_HEADING, notice or "") | extra_characters
    _font_bytes(font_path, characters)  # fail at start-up on a wrong font, not mid-signature
    lines = [STAMP_HEADING, "%(signer_name)s", "%(position)s", "%(signed_at)s"]
    if notice:
        lines.append("%(notice)s")
    return TextStampStyle(
        stamp_text="\n".join(lines),
        text_box_style=TextBoxStyle(
            font=InMemoryFontFactory(
                str(font_path), font_size=9, bcp47_lang_code="lt", characters=characters
            ),
            font_size=9,
            leading=11,
        ),
        border_width=1,
        background=None,
    )


def stamp_text_params(
    signer_name: str, position: str, signed_at: datetime, notice: str | None
) -> dict[str, str]:
    """Values for the placeholders of :func:`stamp_style`."""
    params = {
        "signer_name": signer_name,
        "position": position,
        "signed_at": f"{signed_at.strftime(_TIME_FORMAT)} (Lietuvos laiku)",
    }
    if notice:
        params["notice"] = notice
    return params
