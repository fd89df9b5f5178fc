"""Hostile uploads: every bad PDF ends as a report or VerificationRefused, never a hang or crash."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from io import BytesIO

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signing.config import SignatureFieldSpec, SignatureRequest
from signing.dev_pki import DevPki
from signing.errors import VerificationRefused
from signing.service import SigningService
from signing.verification import Indication, VerificationPolicy, Verifier

ORGANISATION = "188000000"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier(workers=1, memory_limit_bytes=768 * MiB) as running:
        yield running


@pytest.fixture(scope="module")
def policy(dev_pki: DevPki) -> VerificationPolicy:
    return VerificationPolicy.from_files([dev_pki.root_cert_path], time_limit_seconds=30)


@pytest.fixture(scope="module")
def signed(signing_service: SigningService, pdfa_factory: Callable[..., bytes]) -> bytes:
    return signing_service.sign_pades(
        pdfa_factory(),
        signing_service.signer_for(ORGANISATION, "rasa-kazlauskiene"),
        SignatureRequest("parasas", "Tvirtinu", new_field=SignatureFieldSpec("parasas", 0, None)),
    )


def _refusal(verifier: Verifier, pdf: bytes, policy: VerificationPolicy) -> str:
    with pytest.raises(VerificationRefused) as caught:
        verifier.verify(pdf, policy)
    assert caught.value.details()["code"] == "verification_refused"
    return caught.value.reason


def _pdf_with_metadata_stream(raw: bytes, filters: list[str]) -> bytes:
    """A one-page PDF, written by hand, whose /Metadata stream holds ``raw`` (pre-encoded)."""
    filter_entry = "[" + " ".join(filters) + "]"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        f"<< /Type /Metadata /Subtype /XML /Filter {filter_entry} /Length {len(raw)} >>\n".encode()
        + b"stream\n"
        + raw
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _deflate_zeros(size: int) -> bytes:
    compressor = zlib.compressobj(9)
    chunk = bytes(4 * MiB)
    parts = [compressor.compress(chunk) for _ in range(size // len(chunk))]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_oversized_input_is_refused_before_parsing(
    verifier: Verifier, policy: VerificationPolicy, signed: bytes
) -> None:
    small = replace(policy, max_input_bytes=len(signed) - 1)
    assert _refusal(verifier, signed, small) == "too_large"


@pytest.mark.parametrize("junk", [b"", b"hello", b"GIF89a" + bytes(100), b"%PDF-1.7\n" + bytes(50)])
def test_non_pdf_and_garbage(verifier: Verifier, policy: VerificationPolicy, junk: bytes) -> None:
    assert _refusal(verifier, junk, policy) in {"not_pdf", "malformed"}


def test_encrypted_pdf_is_refused(verifier: Verifier, policy: VerificationPolicy) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    out = BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner="savininkas", user=""))
    assert _refusal(verifier, out.getvalue(), policy) == "encrypted"


def test_truncated_signed_pdf(
    verifier: Verifier, policy: VerificationPolicy, signed: bytes
) -> None:
    assert _refusal(verifier, signed[: len(signed) // 3], policy) == "malformed"
    assert _refusal(verifier, signed[:-5], policy) == "malformed"  # no %%EOF left
    # cut inside the last revision: pyHanko finds the previous %%EOF, i.e. reads an earlier,
    # genuinely signed version; the leftover bytes must at least be reported
    for cut in range(len(signed) - 600, len(signed) - 10, 97):
        try:
            result = verifier.verify(signed[:cut], policy)
        except VerificationRefused as refused:
            assert refused.reason == "malformed"
            continue
        if result.indication is Indication.TOTAL_PASSED:
            assert "trailing_data" in {f.code for f in result.document.findings}


def test_too_many_objects(verifier: Verifier, policy: VerificationPolicy, signed: bytes) -> None:
    assert _refusal(verifier, signed, replace(policy, max_objects=10)) == "too_many_objects"


def test_decompression_bomb_in_metadata_hits_the_decode_limit(
    verifier: Verifier, policy: VerificationPolicy
) -> None:
    bomb = _pdf_with_metadata_stream(_deflate_zeros(64 * MiB), ["/FlateDecode"])
    assert len(bomb) < MiB
    limited = replace(policy, max_stream_bytes=8 * MiB)
    assert _refusal(verifier, bomb, limited) == "decompression_limit"


def test_stacked_filter_bomb_is_stopped_even_with_policy_limits_lifted(
    verifier: Verifier, policy: VerificationPolicy
) -> None:
    """Measured: pyHanko's per-purpose cap for XMP (32 MiB, ratio 100) still applies when the
    policy's own limits are lifted, so 1 GiB never gets allocated (the worker's RLIMIT_AS is
    only the last line of defence)."""
    inner = _deflate_zeros(1024 * MiB)  # 1 GiB of zeros, about 1 MB compressed
    bomb = _pdf_with_metadata_stream(zlib.compress(inner, 9), ["/FlateDecode", "/FlateDecode"])
    assert len(bomb) < 64 * 1024
    unlimited = replace(policy, max_stream_bytes=8 * 1024 * MiB, max_decoded_bytes=16 * 1024 * MiB)
    assert _refusal(verifier, bomb, unlimited) == "decompression_limit"
    # the verifier still works afterwards
    assert _refusal(verifier, b"not a pdf", policy) == "not_pdf"


def test_time_limit_kills_the_worker_and_the_next_call_works(
    verifier: Verifier, policy: VerificationPolicy, signed: bytes
) -> None:
    hurried = replace(policy, time_limit_seconds=0.001)
    assert _refusal(verifier, signed, hurried) == "time_limit"
    assert verifier.verify(signed, policy).indication is Indication.TOTAL_PASSED


def _signed_ranges(pdf: bytes) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for match in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf):
        a, b, c, d = (int(x) for x in match.groups())
        ranges.extend([(a, a + b), (c, c + d)])
    return ranges


@st.composite
def _mutations(draw: st.DrawFn, size: int) -> tuple[str, int, int, bytes]:
    kind = draw(st.sampled_from(["flip", "flip", "truncate", "splice"]))
    position = draw(st.integers(min_value=0, max_value=size - 1))
    bit = draw(st.integers(min_value=0, max_value=7))
    payload = draw(st.binary(min_size=1, max_size=64))
    return kind, position, bit, payload


def _apply(pdf: bytes, kind: str, position: int, bit: int, payload: bytes) -> bytes:
    if kind == "flip":
        mutated = bytearray(pdf)
        mutated[position] ^= 1 << bit
        return bytes(mutated)
    if kind == "truncate":
        return pdf[:position]
    return pdf[:position] + payload + pdf[position:]


def test_fuzzed_signed_pdf_never_escapes_or_passes_when_signed_bytes_change(
    verifier: Verifier, policy: VerificationPolicy, signed: bytes
) -> None:
    ranges = _signed_ranges(signed)
    assert ranges, "the sample must be signed"

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(_mutations(len(signed)))
    def check(mutation: tuple[str, int, int, bytes]) -> None:
        kind, position, bit, payload = mutation
        mutated = _apply(signed, kind, position, bit, payload)
        try:
            result = verifier.verify(mutated, policy)
        except VerificationRefused:
            return
        in_signed_range = any(start <= position < end for start, end in ranges)
        if kind == "flip" and in_signed_range:
            assert result.indication is not Indication.TOTAL_PASSED, (kind, position)
        if kind == "splice" and 0 < position < ranges[-1][1]:
            assert result.indication is not Indication.TOTAL_PASSED, (kind, position)

    check()
