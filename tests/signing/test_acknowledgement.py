"""A signature-pad PNG is placed in the convict's box, then sealed by the officer's signature."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

import pikepdf
import pytest
from PIL import Image, ImageDraw

from signing.acknowledgement import place_signature_image
from signing.config import SignatureFieldSpec, SignatureRequest
from signing.errors import InvalidDocument
from signing.service import SigningService
from signing.signature_fields import prepare_signature_fields
from signing.validation import DocumentValidation


def _pad_png() -> bytes:
    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    ImageDraw.Draw(image).line([(10, 80), (80, 20), (150, 70), (290, 30)], fill="navy", width=4)
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_pad_image_is_sealed_by_the_officer_signature(
    signing_service: SigningService,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    with_field = prepare_signature_fields(
        pdfa_bytes, [SignatureFieldSpec("pareigune", 0, (310, 60, 540, 150))]
    )
    with_image = place_signature_image(with_field, _pad_png(), page=0, box=(60, 60, 290, 150))
    with pikepdf.open(BytesIO(with_image)) as pdf:
        xobjects = pdf.pages[0].Resources.XObject
        assert any(
            obj.get("/Subtype") == "/Image"
            or any(
                inner.get("/Subtype") == "/Image"
                for inner in obj.get("/Resources", {}).get("/XObject", {}).values()
            )
            for obj in xobjects.values()
        )

    officer = signing_service.signer_for("188000000", "egle-vaitkiene")
    signed = signing_service.sign_pades(
        with_image, officer, SignatureRequest("pareigune", "Supažindinimas su tvarka")
    )
    report = validator(signed)
    assert report.reaches_lta

    with pytest.raises(InvalidDocument) as too_late:
        place_signature_image(signed, _pad_png(), page=0, box=(60, 200, 290, 290))
    assert too_late.value.reason == "already_signed"


def test_non_png_is_refused(pdfa_bytes: bytes) -> None:
    with pytest.raises(InvalidDocument) as refused:
        place_signature_image(pdfa_bytes, b"GIF89a....", page=0, box=(0, 0, 10, 10))
    assert refused.value.reason == "bad_image"
