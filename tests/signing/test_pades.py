"""PAdES B-LTA profile on a PDF/A input (PDF-LT Level A requirements)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from io import BytesIO

import pikepdf
import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.config import SignatureFieldSpec, SignatureRequest
from signing.errors import InvalidDocument, KeyUnavailable, SignatureFieldError
from signing.service import SigningService
from signing.validation import DocumentValidation

ORGANISATION = "188000000"
CHAIR = "rasa-kazlauskiene"


def _sign_new_field(service: SigningService, pdf: bytes, role: str = CHAIR) -> bytes:
    signer = service.signer_for(ORGANISATION, role)
    request = SignatureRequest(
        field_name="parasas",
        reason="Dokumento pasirašymas",
        location="Vilnius",
        new_field=SignatureFieldSpec("parasas", 0, (60, 60, 290, 150)),
    )
    return service.sign_pades(pdf, signer, request)


def test_signature_is_b_lta_with_pdf_lt_entries(
    signing_service: SigningService,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    signed = _sign_new_field(signing_service, pdfa_bytes)

    # incremental update: the original bytes are untouched
    assert signed.startswith(pdfa_bytes)
    reader = PdfFileReader(BytesIO(signed))
    (signature,) = reader.embedded_regular_signatures
    sig_dict = signature.sig_object
    assert sig_dict["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig_dict["/Name"] == "Rasa Kazlauskienė"
    assert "Komisijos pirmininkė" in sig_dict["/Reason"]
    assert str(sig_dict["/M"]).startswith("D:20")
    assert "/Reference" not in sig_dict  # no DocMDP transform
    assert "/Perms" not in reader.root  # no certification signature
    # the claimed role travels in the CAdES signer-attributes-v2 attribute too
    signed_attrs = signature.signer_info["signed_attrs"]
    role_attr = next(a for a in signed_attrs if a["type"].native == "signer_attributes_v2")
    claimed = role_attr["values"][0]["claimed_attributes"][0]
    assert isinstance(claimed, cms.AttCertAttribute)
    role_name = claimed["values"][0]["role_name"].chosen.native
    assert role_name["common_name"] == "Komisijos pirmininkė"
    # signature timestamp, DSS and document timestamp (B-T, B-LT, B-LTA)
    unsigned_attrs = signature.signer_info["unsigned_attrs"]
    assert any(a["type"].native == "signature_time_stamp_token" for a in unsigned_attrs)
    assert "/DSS" in reader.root
    assert len(reader.embedded_timestamp_signatures) == 1
    # two incremental updates: the signature, then the DSS with the document timestamp
    assert signed.count(b"%%EOF") == pdfa_bytes.count(b"%%EOF") + 2
    assert "/VRI" not in reader.root["/DSS"]

    report = validator(signed)
    (check,) = report.signatures
    assert check.intact and check.valid and check.trusted
    assert check.docmdp_ok is True
    assert check.ades_indication == "OK"
    assert not report.certification_signature_present
    assert report.reaches_lta


def test_pdfa_identification_and_xmp_survive_signing(
    signing_service: SigningService, pdfa_factory: Callable[..., bytes]
) -> None:
    original = pdfa_factory(title="Pranešimas savivaldybei")
    signed = _sign_new_field(signing_service, original)

    with pikepdf.open(BytesIO(signed)) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2"
        assert meta["pdfaid:conformance"] == "B"
        assert meta["dc:title"] == "Pranešimas savivaldybei"
        # PDF/A-2 and PDF-LT want 1.7 (not the 2.0 pyHanko declares for ECDSA), plus ESIC
        assert str(pdf.Root.Version) == "/1.7"
        assert "/ESIC" in pdf.Root.Extensions


def test_tampering_after_signing_is_detected(
    signing_service: SigningService,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    signed = bytearray(_sign_new_field(signing_service, pdfa_bytes))
    # flip one hex digit of the original trailer /ID: covered by the signature, still parses
    position = signed.index(b"/ID [<") + 6
    signed[position : position + 1] = b"0" if signed[position : position + 1] != b"0" else b"1"
    report = validator(bytes(signed))
    assert not report.signatures[0].intact
    assert not report.reaches_lta


def test_async_variant_works_inside_a_running_event_loop(
    signing_service: SigningService,
    pdfa_bytes: bytes,
    validator: Callable[[bytes], DocumentValidation],
) -> None:
    signer = signing_service.signer_for(ORGANISATION, "istaigos-e-spaudas")
    request = SignatureRequest(
        "spaudas", "Sistemos kopija", new_field=SignatureFieldSpec("spaudas")
    )

    async def inside_fastapi_like_loop() -> bytes:
        return await signing_service.async_sign_pades(pdfa_bytes, signer, request)

    signed = asyncio.run(inside_fastapi_like_loop())
    assert validator(signed).reaches_lta


def test_key_is_loaded_once_and_cached(
    signing_service: SigningService,
) -> None:
    first = signing_service.signer_for(ORGANISATION, "tomas-jankauskas")
    again = signing_service.signer_for(ORGANISATION, "tomas-jankauskas")
    assert again is first


def test_unknown_role_and_bad_password_raise_key_unavailable(
    config_for: Callable[..., object], responders: object
) -> None:
    import dataclasses

    from signing.config import Pkcs12KeySource, SigningConfig

    config = config_for("http://127.0.0.1:9/unused")
    assert isinstance(config, SigningConfig)
    broken_key = dataclasses.replace(
        config.keys[0],
        source=Pkcs12KeySource(
            config.keys[0].source.path,  # type: ignore[union-attr]
            b"wrong password",
        ),
    )
    with SigningService(dataclasses.replace(config, keys=(broken_key,))) as service:
        with pytest.raises(KeyUnavailable) as bad_password:
            service.signer_for(broken_key.organisation_code, broken_key.role)
        assert bad_password.value.reason == "bad_pkcs12"
        with pytest.raises(KeyUnavailable) as unknown:
            service.signer_for(ORGANISATION, "no-such-role")
        assert unknown.value.details()["code"] == "key_unavailable"


def test_non_pdf_and_missing_field_are_refused(
    signing_service: SigningService, pdfa_bytes: bytes
) -> None:
    signer = signing_service.signer_for(ORGANISATION, CHAIR)
    with pytest.raises(InvalidDocument):
        signing_service.sign_pades(b"not a pdf", signer, SignatureRequest("x", "y"))
    with pytest.raises(SignatureFieldError) as missing:
        signing_service.sign_pades(pdfa_bytes, signer, SignatureRequest("nera", "y"))
    assert missing.value.field_name == "nera"
