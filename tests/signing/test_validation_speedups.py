"""The verification workers' speed-ups change nothing but the time: same reports, same errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from asn1crypto import x509
from freezegun import freeze_time
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfStreamError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import general
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, policies
from pyhanko.sign.validation import generic_cms, pdf_embedded
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

from signing import validation_speedups
from signing.config import SignatureFieldSpec, SignatureRequest
from signing.dev_pki import DevPki
from signing.keys import load_certificates
from signing.service import SigningService
from signing.signature_fields import prepare_signature_fields
from signing.verification import VerificationPolicy, verify_pdf_in_process

ORGANISATION = "188000000"


@pytest.fixture(scope="module")
def signed(signing_service: SigningService, pdfa_factory: Callable[..., bytes]) -> bytes:
    pdf = prepare_signature_fields(
        pdfa_factory(),
        [
            SignatureFieldSpec("pirmininkas", 0, (60, 60, 290, 150)),
            SignatureFieldSpec("sekretorius", 0, (300, 60, 530, 150)),
        ],
    )
    for field, role in (("pirmininkas", "rasa-kazlauskiene"), ("sekretorius", "jonas-petrauskas")):
        pdf = signing_service.sign_pades(
            pdf, signing_service.signer_for(ORGANISATION, role), SignatureRequest(field, "Tvirtinu")
        )
    return pdf


def _tampered(pdf: bytes) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT ET"))
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _orphan_added(pdf: bytes) -> bytes:
    """An incremental update that adds an object nothing refers to (an orphan)."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    writer.add_object(generic.pdf_name("/Nieko"))
    out = BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


def _flipped_signature_byte(pdf: bytes) -> bytes:
    start = pdf.index(b"/Contents <") + len(b"/Contents <") + 200
    flipped = b"0" if pdf[start : start + 1] != b"0" else b"1"
    return pdf[:start] + flipped + pdf[start + 1 :]


@pytest.mark.parametrize(
    "variant",
    [
        "as_signed",
        "a_year_later",
        "modified_after_signing",
        "orphan_added",
        "signature_byte_flipped",
    ],
)
def test_reports_are_the_same_with_the_speedups(
    signed: bytes, dev_pki: DevPki, variant: str
) -> None:
    pdf = {
        "as_signed": signed,
        "a_year_later": signed,
        "modified_after_signing": _tampered(signed),
        "orphan_added": _orphan_added(signed),
        "signature_byte_flipped": _flipped_signature_byte(signed),
    }[variant]
    moment = datetime.now(UTC) + (timedelta(days=365) if variant == "a_year_later" else timedelta())
    policy = VerificationPolicy.from_files([dev_pki.root_cert_path])

    def report() -> dict[str, Any]:
        # pyHanko gives what has no proof of existence the machine clock's time: freeze it
        with freeze_time(moment):
            return asyncio.run(verify_pdf_in_process(pdf, policy, moment)).to_json()

    plain = report()
    with validation_speedups.installed():
        fast = report()
        again = report()  # now from the caches
    assert fast == plain
    assert again == plain
    if variant in ("modified_after_signing", "signature_byte_flipped"):
        assert plain["indication"] != "TOTAL-PASSED"


@pytest.mark.parametrize(
    "data",
    [
        b"<48656c6c6f>",
        b"<48 65\n6c\r\n6C\t6f> trailing",
        b"<abc>",
        b"<>",
        b"<48%comment>\n65>",
        b"<4g>",
        b"<4865",
        b"<" + b"0a" * 40_000 + b">",
    ],
)
def test_hex_strings_read_as_pyhanko_reads_them(data: bytes) -> None:
    def read(reader: Callable[[Any], Any]) -> tuple[str, Any, int]:
        stream = BytesIO(data)
        try:
            value = reader(stream)
        except PdfStreamError as error:
            return "error", type(error), stream.tell()
        return "value", (type(value), bytes(value.original_bytes)), stream.tell()

    ours = read(validation_speedups.read_hex_string)
    assert ours[:2] == read(validation_speedups._pyhanko_read_hex_string)[:2]
    if ours[0] == "value":
        assert ours == read(validation_speedups._pyhanko_read_hex_string)


@pytest.mark.parametrize(
    "data",
    [b"Type /Page", b"Page>>", b"abc(def", b"12 0 R", b"A#20B]", b"tail", b"", b"x" * 700 + b"\n1"],
)
def test_tokens_read_as_pyhanko_reads_them(data: bytes) -> None:
    def read(reader: Callable[[Any], bytes]) -> tuple[bytes, int]:
        stream = BytesIO(data)
        return reader(stream), stream.tell()

    assert read(validation_speedups.read_until_delimiter) == read(misc.read_until_delimiter)


def test_modification_analysis_runs_once_per_signature(
    signed: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    analyse = pdf_embedded.EmbeddedPdfSignature.evaluate_modifications

    def counting(self: Any, diff_policy: Any) -> Any:
        calls.append(self.signed_revision)
        return analyse(self, diff_policy)

    monkeypatch.setattr(pdf_embedded.EmbeddedPdfSignature, "evaluate_modifications", counting)
    signatures = PdfFileReader(BytesIO(signed)).embedded_signatures
    validation_speedups.analyse_once(signatures)
    for _ in range(3):
        for signature in signatures:
            signature.compute_integrity_info(DEFAULT_DIFF_POLICY)
            signature.compute_integrity_info(DEFAULT_DIFF_POLICY, skip_diff=True)
    assert sorted(calls) == sorted(s.signed_revision for s in signatures)
    assert all(s.diff_result is not None for s in signatures)


def test_parsed_objects_and_names_are_shared_not_changed(dev_pki: DevPki) -> None:
    root = load_certificates([dev_pki.root_cert_path])[0]
    der = root.dump()
    with validation_speedups.installed():
        first = x509.Certificate.load(der)
        assert x509.Certificate.load(der) is first
        assert first.dump() == der
        assert first.subject == root.subject and first.subject != first.public_key
        assert first.subject.hashable == root.subject.hashable
        other = x509.Name.build({"common_name": "Kita CA", "country_name": "LT"})
        assert (first.subject == other) is False
    assert x509.Certificate.load(der) is not x509.Certificate.load(der)  # uninstalled


def _certificate_info_ders(info: Any) -> tuple[bytes, list[bytes], list[bytes]]:
    return (
        info.signer_cert.dump(),
        [cert.dump() for cert in info.other_certs],
        [cert.dump() for cert in info.attribute_certs],
    )


def test_certificates_of_a_signature_come_from_the_parse_cache(signed: bytes) -> None:
    signatures = PdfFileReader(BytesIO(signed)).embedded_signatures
    tokens = [s.signed_data for s in signatures]
    tokens += [
        token
        for s in signatures
        if s.sig_object_type == "/Sig"
        for token in extract_tst_data_iter(s.signer_info, signed=False)
    ]
    assert len(tokens) == 6  # two signatures, their timestamps and two document timestamps
    expected = [_certificate_info_ders(general.extract_certificate_info(t)) for t in tokens]
    with validation_speedups.installed():
        assert (
            generic_cms.__dict__["extract_certificate_info"]
            is validation_speedups.extract_certificate_info
        )
        first = [validation_speedups.extract_certificate_info(t) for t in tokens]
        again = [validation_speedups.extract_certificate_info(t) for t in tokens]
    assert [_certificate_info_ders(info) for info in first] == expected
    assert all(a.signer_cert is b.signer_cert for a, b in zip(first, again, strict=True))
    assert (
        generic_cms.__dict__["extract_certificate_info"] is general.extract_certificate_info
    )  # uninstalled


def test_xref_lookups_and_orphans_answer_as_pyhanko_does(signed: bytes) -> None:
    def answers(pdf: bytes) -> list[Any]:
        reader = PdfFileReader(BytesIO(pdf))
        xrefs = reader.xrefs
        refs = {
            ref
            for rev in range(xrefs.total_revisions)
            for ref in xrefs.explicit_refs_in_revision(rev)
        }
        refs.add(generic.Reference(99_999, 0, reader))  # in no revision: KeyError

        def attempt(lookup: Callable[[Any], int], ref: Any) -> Any:
            try:
                return lookup(ref)
            except KeyError:
                return KeyError

        found: list[Any] = []
        for _ in range(2):  # the second round from the memo
            for ref in sorted(refs, key=lambda r: (r.idnum, r.generation)):
                found.append(attempt(xrefs.get_last_change, ref))
                found.append(attempt(xrefs.get_introducing_revision, ref))
                for rev in range(xrefs.total_revisions):
                    found.append(xrefs.get_historical_ref(ref, rev))
            for rev in range(1, xrefs.total_revisions):
                orphans = policies._find_orphans(reader.get_historical_resolver(rev))
                found.append(sorted((r.idnum, r.generation) for r in orphans))
                orphans.add(generic.Reference(12_345, 0, reader))  # the caller's own set
        return found

    pdf = _orphan_added(signed)
    plain = answers(pdf)
    with validation_speedups.installed():
        fast = answers(pdf)
    assert fast == plain
    reader = PdfFileReader(BytesIO(pdf))
    last = reader.get_historical_resolver(reader.xrefs.total_revisions - 1)
    (orphan,) = policies._find_orphans(last)  # the object the update added
    assert [(orphan.idnum, orphan.generation)] in plain


@pytest.mark.parametrize(
    "name", [b"Type", b"A#20B", b"Kazlauskien#c4#97", b"#e9t#e9", b"Bad#4", b"Bad#zz", b"x" * 200]
)
def test_names_decode_as_pyhanko_decodes_them(name: bytes) -> None:
    def decode() -> tuple[str, Any]:
        try:
            value = generic._decode_name(name)
        except misc.PdfReadError as error:
            return "error", str(error)
        return "name", (type(value), str(value))

    plain = decode()
    with validation_speedups.installed():
        fast, again = decode(), decode()
        if plain[0] == "name":  # every read gets an object of its own
            assert generic._decode_name(name) is not generic._decode_name(name)
    assert fast == again == plain
