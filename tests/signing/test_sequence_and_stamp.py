"""Document K: chair then secretary on pre-created fields; the visible Lithuanian stamp."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from signing.config import SignatureFieldSpec, SignatureRequest, SigningConfig
from signing.dev_responders import DevResponders
from signing.errors import SignatureFieldError
from signing.service import SigningService
from signing.signature_fields import prepare_signature_fields
from signing.validation import DocumentValidation

ORGANISATION = "188000000"
K_FIELDS = (
    SignatureFieldSpec("komisijos-pirmininkas", 0, (60, 60, 290, 150)),
    SignatureFieldSpec("komisijos-sekretorius", 0, (310, 60, 540, 150)),
)


def _sign_protocol_k(service: SigningService, pdf: bytes) -> tuple[bytes, bytes]:
    prepared = prepare_signature_fields(pdf, K_FIELDS)
    chair = service.signer_for(ORGANISATION, "rasa-kazlauskiene")
    secretary = service.signer_for(ORGANISATION, "jonas-petrauskas")
    after_chair = service.sign_pades(
        prepared,
        chair,
        SignatureRequest("komisijos-pirmininkas", "Komisijos posėdžio protokolas"),
    )
    after_secretary = service.sign_pades(
        after_chair,
        secretary,
        SignatureRequest("komisijos-sekretorius", "Komisijos posėdžio protokolas"),
    )
    return after_chair, after_secretary


def test_protocol_k_chair_then_secretary_all_signatures_valid(
    signing_service: SigningService,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    _, final = _sign_protocol_k(signing_service, pdfa_bytes)
    report = validator(final)
    assert [check.field_name for check in report.signatures] == [
        "komisijos-pirmininkas",
        "komisijos-sekretorius",
    ]
    assert [check.name for check in report.signatures] == [
        "Rasa Kazlauskienė",
        "Jonas Petrauskas",
    ]
    assert all(check.passed for check in report.signatures)
    assert report.document_timestamps == 2
    assert report.reaches_lta


def test_no_field_may_be_added_after_the_first_signature(
    signing_service: SigningService, pdfa_bytes: bytes
) -> None:
    after_chair, _ = _sign_protocol_k(signing_service, pdfa_bytes)
    with pytest.raises(SignatureFieldError):
        prepare_signature_fields(after_chair, [SignatureFieldSpec("veliau")])
    late = SignatureRequest("veliau", "x", new_field=SignatureFieldSpec("veliau"))
    with pytest.raises(SignatureFieldError) as refused:
        signing_service.sign_pades(
            after_chair, signing_service.signer_for(ORGANISATION, "tomas-jankauskas"), late
        )
    assert refused.value.field_name == "veliau"
    # and a filled field cannot be signed twice
    again = SignatureRequest("komisijos-pirmininkas", "x")
    with pytest.raises(SignatureFieldError):
        signing_service.sign_pades(
            after_chair, signing_service.signer_for(ORGANISATION, "rasa-kazlauskiene"), again
        )


def test_stamp_text_is_lithuanian_with_embedded_noto_sans(
    signing_service: SigningService, pdfa_bytes: bytes, tmp_path: Path
) -> None:
    _, final = _sign_protocol_k(signing_service, pdfa_bytes)
    path = tmp_path / "k.pdf"
    path.write_bytes(final)

    fonts = subprocess.run(
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    ).stdout
    noto_rows = [line for line in fonts.splitlines() if "NotoSans-Regular" in line]
    assert noto_rows and all(" yes yes " in row for row in noto_rows)  # embedded, subset
    assert "Courier" not in fonts

    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert text.count("Pasirašyta elektroniniu parašu") == 2
    assert "Rasa Kazlauskienė" in text and "Komisijos pirmininkė" in text
    assert "Jonas Petrauskas" in text and "Komisijos sekretorius" in text
    assert "Nekvalifikuotas – tik bandymams" in text
    assert "(Lietuvos laiku)" in text


def test_font_with_wrong_units_per_em_is_refused_at_start(
    config_for: Callable[..., SigningConfig], responders: DevResponders
) -> None:
    import dataclasses

    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    assert dejavu.exists(), "fonts-dejavu-core is installed by the test command"
    config = dataclasses.replace(config_for(responders.tsa_url), stamp_font_path=dejavu)
    with pytest.raises(ValueError, match="unitsPerEm"):
        SigningService(config)
