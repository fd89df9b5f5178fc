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

from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
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
    from fontTools import subset
    from fontTools.ttLib import TTFont

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
class InMemoryFontFactory(GlyphAccumulatorFactory):
    """pyHanko's font factory on the stamp font cut down to ``characters``, made once (its own
    reads the whole font for every signature and leaves a file handle open)."""

    characters: frozenset[str] = STAMP_CHARACTERS

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer,
            font_handle=BytesIO(_font_bytes(Path(self.font_file), self.characters)),
            font_size=self.font_size,
            ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag,
            writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code,
            obj_stream=obj_stream,
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
