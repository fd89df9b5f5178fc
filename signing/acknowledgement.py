"""Hand-written acknowledgements: a signature-pad image placed before the officer signs.

The convict signs "pasirašytinai" on a pad (documents E, F, L); the PNG goes into the page in
an incremental update, and the officer's PAdES signature then seals it. Adding page content
after any signature would be an illegal modification, so a signed PDF is refused.
"""

from __future__ import annotations

from io import BytesIO

from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.stamp.static import StaticStampStyle

from signing.errors import InvalidDocument

__all__ = ["place_signature_image"]

_MAX_IMAGE_PIXELS = 4_000_000


def place_signature_image(
    pdf: bytes, png: bytes, *, page: int, box: tuple[int, int, int, int]
) -> bytes:
    """Draw ``png`` scaled into ``box`` (x1, y1, x2, y2 in points) on ``page`` (from 0)."""
    if PdfFileReader(BytesIO(pdf)).embedded_signatures:
        raise InvalidDocument(
            "the image must be placed before the first signature", reason="already_signed"
        )
    try:
        image = Image.open(BytesIO(png))
        if image.format != "PNG":
            raise InvalidDocument("the signature image must be a PNG", reason="not_png")
        if image.width * image.height > _MAX_IMAGE_PIXELS:
            raise InvalidDocument("the signature image is too large", reason="too_large")
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidDocument("the signature image cannot be read", reason="bad_image") from exc
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        raise InvalidDocument("empty image box", reason="bad_box")
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    # A static stamp draws only the image: a text stamp would reference pyHanko's default
    # Courier, which is not embedded and breaks PDF/A (measured).
    style = StaticStampStyle(background=PdfImage(image), background_opacity=1.0, border_width=0)
    style.create_stamp(writer, BoxConstraints(x2 - x1, y2 - y1), {}).apply(page, x1, y1)
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()
