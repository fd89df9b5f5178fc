"""Faster validation in the verification workers, with the same results.

Measured with cProfile on our B-LTA documents (two signatures, two document timestamps, dev
PKI), CPU per verification in a warm worker, on a busy 2-core machine (figures approximate):
0.32 s before, about 0.09-0.10 s with everything below on documents it has not seen.

- pyHanko reads a PDF hex string one byte at a time through a generator (about 10 ms for a
  signature's 16 KiB ``/Contents``), and each signature dictionary is read several times
  (0.32 -> 0.19 s). :func:`read_hex_string` finds the closing ``>`` in one pass and decodes
  with :func:`binascii.unhexlify`; anything unusual inside (a comment, a character that is
  not a hex digit, no ``>`` before the end) is handed to pyHanko's own reader, so the result
  and the errors are pyHanko's.
- pyHanko repeats the modification analysis of every signature for each signature it
  validates: :func:`analyse_once` keeps the first result (0.19 -> 0.18 s).
- asn1crypto prepares every name attribute (RFC 4518 stringprep) again for each newly parsed
  certificate, and pyHanko parses the same certificates, OCSP responses and CRLs from the
  DSS again for every signature it validates (0.18 -> 0.12 s); names are compared and hashed
  again and again (-> 0.107 s); the same certificate and OCSP signatures are verified again
  for every path built (-> 0.085 s). All of these are pure functions of their input, so the
  results are cached per process: prepared strings by value, parsed objects and name
  comparisons by their exact DER encoding, signatures that verified by signature, digest of
  the signed data, key and algorithm (failures are never cached). Each cache is bounded in
  entries and in the size of what it keeps. Documents of one institution share their CA,
  TSA and OCSP certificates (and the signing service reuses fresh OCSP responses), so the
  caches keep paying off from one document to the next.
- pyHanko's LTA validation of each signature rebuilds and re-validates the whole chain of
  document timestamps; within one verification (:func:`one_document`) that is done once per
  policy (about 7 % less on fresh two-signature documents).
- Measured later with callgrind (instructions per document, same documents, load-proof):
  the certificates pyHanko takes out of each CMS signature (about 20 times per document,
  each an unparsed copy) come from the parse cache (-9 %); xref lookups, which walk every
  section and catch a KeyError in each, are answered once per reader (-8 %, with the next
  one); each revision's orphaned objects are searched once, not once per earlier signature;
  decoded PDF names are kept (together -19 %, from about 0.58 to 0.47 G instructions per
  document). Caching the tuples pyHanko hashes paths by cost more than it saved: not done.

:func:`install` patches pyHanko, pyhanko-certvalidator and asn1crypto in the calling process;
it is meant for the verification worker processes (:mod:`signing.verification`), which only
verify. tests/signing/test_validation_speedups.py checks that reports are identical with and
without it, for passing and failing documents.
"""

from __future__ import annotations

import binascii
import dataclasses
import functools
import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from copy import copy
from typing import Any

from asn1crypto import algos, cms, crl, keys, ocsp, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_DELIMITERS, PDF_WHITESPACE
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.pdf_utils.xref import XRefCache
from pyhanko.sign import general
from pyhanko.sign.diff_analysis import policies
from pyhanko.sign.validation import ades, dss, generic_cms
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import LocalKnowledge
from pyhanko_certvalidator.ltv.poe import POEManager
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
)

__all__ = [
    "analyse_once",
    "extract_certificate_info",
    "install",
    "installed",
    "one_document",
    "read_hex_string",
]

_pyhanko_read_hex_string = generic.read_hex_string_from_stream
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]*")
_CHUNK = 64 * 1024

PARSE_CACHE_ENTRIES = 1024
"""Parsed certificates, OCSP responses and CRLs kept per process."""
PARSE_CACHE_MAX_BYTES = 16 * 1024
"""Larger encodings are parsed every time (a CRL of a big CA, a hostile blob)."""
NAME_CACHE_MAX_BYTES = 1024
"""Longer encoded names are compared every time: the caches stay small whatever comes in."""


def read_hex_string(stream: Any) -> generic.ByteStringObject | generic.TextStringObject:
    """``<...>`` at the stream's position, as pyHanko's ``read_hex_string_from_stream``."""
    start = stream.tell()
    stream.read(1)  # the "<"
    chunks: list[bytes] = []
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        end = chunk.find(b">")
        if end < 0:
            chunks.append(chunk)
            continue
        chunks.append(chunk[:end])
        body = b"".join(chunks)
        digits = body.translate(None, PDF_WHITESPACE)
        if b"%" in body or _HEX_DIGITS.fullmatch(digits) is None:
            break
        stream.seek(start + 1 + len(body) + 1)
        if len(digits) % 2:
            digits += b"0"
        return generic.pdf_string(binascii.unhexlify(digits))
    stream.seek(start)
    result: generic.ByteStringObject | generic.TextStringObject = _pyhanko_read_hex_string(stream)
    return result


_DELIMITER = re.compile(rb"[" + re.escape(PDF_WHITESPACE + PDF_DELIMITERS) + rb"]")
_TOKEN_CHUNK = 256


def read_until_delimiter(stream: Any) -> bytes:
    """As pyHanko's ``read_until_delimiter`` (names, numbers, keywords): the bytes before
    the next whitespace or delimiter, the stream left on that character (or at the end)."""
    start = stream.tell()
    chunks: list[bytes] = []
    read = 0
    while True:
        chunk = stream.read(_TOKEN_CHUNK)
        if not chunk:
            return b"".join(chunks)
        found = _DELIMITER.search(chunk)
        if found is not None:
            chunks.append(chunk[: found.start()])
            stream.seek(start + read + found.start())
            return b"".join(chunks)
        chunks.append(chunk)
        read += len(chunk)


_asn1crypto_string_prep = x509.NameTypeAndValue._ldap_string_prep


@functools.lru_cache(maxsize=4096)
def _prepared(value: str) -> str:
    prepared: str = _asn1crypto_string_prep(None, value)  # uses no instance state
    return prepared


def _ldap_string_prep(self: x509.NameTypeAndValue, value: str) -> str:
    return _prepared(value)


class _BoundedCache:
    """A thread-safe mapping that forgets its oldest entries beyond ``size``."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)


_asn1crypto_name_eq = x509.Name.__eq__
_asn1crypto_name_hashable = x509.Name.hashable.fget
_name_comparisons = _BoundedCache(8192)
_name_keys = _BoundedCache(4096)


def _name_eq(self: x509.Name, other: object) -> bool:
    if not isinstance(other, x509.Name):
        return False
    key = (self.dump(), other.dump())
    if max(len(key[0]), len(key[1])) > NAME_CACHE_MAX_BYTES:
        return bool(_asn1crypto_name_eq(self, other))
    equal = _name_comparisons.get(key)
    if equal is None:
        # asn1crypto's comparison may raise (names that violate stringprep): not cached
        equal = bool(_asn1crypto_name_eq(self, other))
        _name_comparisons.put(key, equal)
    return bool(equal)


def _name_hashable(self: x509.Name) -> str:
    encoded = self.dump()
    if len(encoded) > NAME_CACHE_MAX_BYTES:
        return str(_asn1crypto_name_hashable(self))
    key = _name_keys.get(encoded)
    if key is None:
        key = _asn1crypto_name_hashable(self)
        _name_keys.put(encoded, key)
    return str(key)


_pyhanko_validate_signature = DefaultSignatureValidator.validate_signature
_valid_signatures = _BoundedCache(4096)


def _validate_signature(
    self: DefaultSignatureValidator,
    signature: bytes,
    signed_data: bytes,
    public_key_info: keys.PublicKeyInfo,
    signature_algorithm: algos.SignedDigestAlgorithm,
    context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
) -> None:
    # A signature that verified once verifies again: only successes are remembered.
    key = (
        bytes(signature),
        hashlib.sha256(signed_data).digest(),
        public_key_info.dump(),
        signature_algorithm.dump(),
        context,
    )
    if _valid_signatures.get(key) is None:
        _pyhanko_validate_signature(
            self, signature, signed_data, public_key_info, signature_algorithm, context
        )
        _valid_signatures.put(key, True)


class _ParseCache:
    """``cls.load(der)`` memoised by the exact encoding, for one asn1crypto class."""

    def __init__(self, cls: type[Any]) -> None:
        self.cls = cls
        self.original: Callable[..., Any] = cls.load.__func__
        self._entries: OrderedDict[tuple[bytes, bool], Any] = OrderedDict()
        self._lock = threading.Lock()

    def load(
        self, klass: type[Any], /, encoded_data: bytes, strict: bool = False, **kwargs: Any
    ) -> Any:
        if klass is not self.cls or kwargs or len(encoded_data) > PARSE_CACHE_MAX_BYTES:
            return self.original(klass, encoded_data, strict=strict, **kwargs)
        key = (bytes(encoded_data), strict)
        with self._lock:
            parsed = self._entries.get(key)
            if parsed is not None:
                self._entries.move_to_end(key)
                return parsed
        parsed = self.original(klass, encoded_data, strict=strict)
        with self._lock:
            self._entries[key] = parsed
            if len(self._entries) > PARSE_CACHE_ENTRIES:
                self._entries.popitem(last=False)
        return parsed


# pyHanko's LTA validation of each signature rebuilds and re-validates the whole chain of
# document timestamps (the evidence record): the same work for every signature of the
# document. Within one verification (:func:`one_document`) the chain is built once per
# reader, and validated once per validation policy, knowledge and time; each caller gets
# its own copy of the resulting proofs of existence. A chain that fails is not kept.
_document: ContextVar[dict[Any, Any] | None] = ContextVar("tiltas_document_memo", default=None)
_pyhanko_build_poe_index = ades._build_prima_facie_poe_index_from_pdf_timestamps
_pyhanko_validate_poe = ades._validate_prima_facie_poe


@contextmanager
def one_document() -> Iterator[None]:
    """Scope of the evidence-record memo: one document's verification."""
    token = _document.set({})
    try:
        yield
    finally:
        _document.reset(token)


def _build_poe_index(reader: Any, include_content_ts: bool, diff_policy: Any) -> Any:
    memo = _document.get()
    if memo is None:
        return _pyhanko_build_poe_index(reader, include_content_ts, diff_policy)
    key = ("index", id(reader), include_content_ts, id(diff_policy))
    if key not in memo:
        index = _pyhanko_build_poe_index(reader, include_content_ts, diff_policy)
        memo[key] = (index, reader, diff_policy)
    return memo[key][0]


async def _validate_poe(
    prima_facie_poe_sets: Any, validation_spec: Any, cur_timing_info: Any = None
) -> POEManager:
    memo = _document.get()
    if memo is None or cur_timing_info is None:
        return await _pyhanko_validate_poe(prima_facie_poe_sets, validation_spec, cur_timing_info)
    knowledge = validation_spec.local_knowledge
    key = (
        "chain",
        id(prima_facie_poe_sets),
        # the specification, field by field (pyHanko derives it per signature with
        # dataclasses.replace: everything but the local knowledge is the same object)
        tuple(
            id(getattr(validation_spec, f.name))
            for f in dataclasses.fields(validation_spec)
            if f.name != "local_knowledge"
        ),
        _knowledge_key(knowledge),
        cur_timing_info,
    )
    known = memo.get(key)
    if known is None:
        result = await _pyhanko_validate_poe(prima_facie_poe_sets, validation_spec, cur_timing_info)
        memo[key] = known = (copy(result), prima_facie_poe_sets, validation_spec)
    return copy(known[0])


def _knowledge_key(knowledge: LocalKnowledge) -> tuple[frozenset[Any], ...]:
    def digest(encoded: bytes) -> bytes:
        return hashlib.sha256(encoded).digest()

    return (
        frozenset((digest(o.ocsp_response_data.dump()), o.index) for o in knowledge.known_ocsps),
        frozenset(digest(c.crl_data.dump()) for c in knowledge.known_crls),
        frozenset(digest(c.dump()) for c in knowledge.known_certs),
        frozenset((p.poe_type, p.digest, p.poe_time) for p in knowledge.known_poes),
        frozenset(knowledge.nonrevoked_assertions),
    )


# pyHanko takes the certificates of a CMS signature (the signer's chain, the TSA's) through
# extract_certificate_info about 20 times per document, and every call untags them into fresh,
# unparsed copies: each use parses the certificate again. Loading the copy's encoding through
# the parse cache gives the same certificate (same DER, same fields), already parsed: the CA,
# TSA and signer certificates of one institution are the same from one document to the next.
_pyhanko_extract_certificate_info = general.extract_certificate_info


def extract_certificate_info(signed_data: cms.SignedData) -> general.SignedDataCerts:
    """As pyHanko's ``extract_certificate_info``, with the certificates from the parse cache."""
    certs = []
    attribute_certs = []
    for choice in signed_data["certificates"]:
        untagged = choice.chosen.untag()
        if choice.name == "certificate":
            certs.append(x509.Certificate.load(untagged.dump()))
        elif choice.name == "v2_attr_cert":
            attribute_certs.append(untagged)
    signer_info = general.extract_signer_info(signed_data)
    signer_cert, other_certs = general._partition_certs(certs, signer_info)  # type: ignore[no-untyped-call]
    return general.SignedDataCerts(
        signer_cert=signer_cert, other_certs=other_certs, attribute_certs=attribute_certs
    )


# Where an object of a revision lives: pyHanko walks the xref sections for every lookup,
# raising and catching KeyError in each section that lacks the object (a third of the
# historical-object reads). The sections of a reader never change once read, so each answer
# is kept on the XRefCache, keyed by object number, generation (and revision).
_pyhanko_last_change = XRefCache.get_last_change
_pyhanko_introducing_revision = XRefCache.get_introducing_revision
_pyhanko_historical_ref = XRefCache.get_historical_ref
_ABSENT = object()


def _xref_memo(xrefs: XRefCache) -> dict[Any, Any]:
    sections = len(xrefs._xref_sections)
    memo: tuple[int, dict[Any, Any]] | None = xrefs.__dict__.get("_tiltas_memo")
    if memo is None or memo[0] != sections:
        memo = (sections, {})
        xrefs.__dict__["_tiltas_memo"] = memo
    return memo[1]


def _memoised_revision(
    lookup: Callable[[XRefCache, Any], int], kind: str
) -> Callable[[XRefCache, Any], int]:
    def memoised(self: XRefCache, ref: Any) -> int:
        memo = _xref_memo(self)
        key = (kind, ref.idnum, ref.generation)
        revision = memo.get(key, _ABSENT)
        if revision is _ABSENT:
            try:
                revision = lookup(self, ref)
            except KeyError:
                revision = None
            memo[key] = revision
        if revision is None:
            raise KeyError(ref)
        return int(revision)

    return memoised


def _historical_ref(self: XRefCache, ref: Any, revision: int) -> Any:
    memo = _xref_memo(self)
    key = ("at", ref.idnum, ref.generation, revision)
    found = memo.get(key, _ABSENT)
    if found is _ABSENT:
        found = memo[key] = _pyhanko_historical_ref(self, ref, revision)
    return found


# The orphaned objects of a revision depend on that revision alone, yet pyHanko looks for
# them again for every earlier signature whose modification analysis reaches it (twelve
# searches for five revisions in a document with two signatures and two document timestamps).
_pyhanko_find_orphans = policies._find_orphans


def _find_orphans(revision: HistoricalResolver) -> set[Any]:
    known: frozenset[Any] | None = revision.__dict__.get("_tiltas_orphans")
    if known is None:
        known = frozenset(_pyhanko_find_orphans(revision))
        revision.__dict__["_tiltas_orphans"] = known
    return set(known)  # the caller's own set, as pyHanko's


# Names are decoded byte by byte (escapes, UTF-8): the same few dozen names over and over.
# The text is kept; every read still gets a NameObject of its own (pyHanko sets attributes
# on the objects it reads). Names longer than PDF's 127-byte limit are not kept.
_pyhanko_decode_name = generic._decode_name


@functools.lru_cache(maxsize=4096)
def _name_text(name_bytes: bytes) -> str:
    return str(_pyhanko_decode_name(name_bytes))


def _decode_name(name_bytes: bytes) -> generic.NameObject:
    if len(name_bytes) > 127:
        name: generic.NameObject = _pyhanko_decode_name(name_bytes)
        return name
    return generic.NameObject(_name_text(bytes(name_bytes)))


_PARSED_CLASSES = (x509.Certificate, ocsp.OCSPResponse, crl.CertificateList)
_INHERITED = object()
_lock = threading.Lock()
_installed: list[tuple[Any, str, Any]] = []


def install() -> None:
    """Apply the speed-ups in this process (idempotent)."""
    with _lock:
        if _installed:
            return
        patches: list[tuple[Any, str, Any]] = [
            (generic, "read_hex_string_from_stream", read_hex_string),
            (generic, "read_until_delimiter", read_until_delimiter),
            (x509.NameTypeAndValue, "_ldap_string_prep", _ldap_string_prep),
            (x509.Name, "__eq__", _name_eq),
            (x509.Name, "hashable", property(_name_hashable)),
            (DefaultSignatureValidator, "validate_signature", _validate_signature),
            (ades, "_build_prima_facie_poe_index_from_pdf_timestamps", _build_poe_index),
            (ades, "_validate_prima_facie_poe", _validate_poe),
            (XRefCache, "get_last_change", _memoised_revision(_pyhanko_last_change, "last")),
            (
                XRefCache,
                "get_introducing_revision",
                _memoised_revision(_pyhanko_introducing_revision, "first"),
            ),
            (XRefCache, "get_historical_ref", _historical_ref),
            (policies, "_find_orphans", _find_orphans),
            (generic, "_decode_name", _decode_name),
        ]
        # pyHanko's modules import extract_certificate_info by name: patch each binding
        for module in (general, generic_cms, ades, dss):
            patches.append((module, "extract_certificate_info", extract_certificate_info))
        for cls in _PARSED_CLASSES:
            cache = _ParseCache(cls)
            patches.append((cls, "load", classmethod(cache.load)))
        for owner, name, replacement in patches:
            _installed.append((owner, name, owner.__dict__.get(name, _INHERITED)))
            setattr(owner, name, replacement)


def uninstall() -> None:
    """Undo :func:`install` (tests)."""
    with _lock:
        while _installed:
            owner, name, original = _installed.pop()
            if original is _INHERITED:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        _prepared.cache_clear()
        _name_text.cache_clear()


@contextmanager
def installed() -> Iterator[None]:
    """The speed-ups for the duration of a ``with`` block (tests)."""
    already = bool(_installed)
    install()
    try:
        yield
    finally:
        if not already:
            uninstall()


def analyse_once(signatures: Iterable[EmbeddedPdfSignature]) -> None:
    """Run each signature's modification analysis once per diff policy, however many times
    pyHanko asks (it asks again for every signature of the document it validates).

    The analysis depends only on the document and the policy; a call that skips it
    (``skip_diff``) after a full one leaves the same state as pyHanko would.
    """
    for signature in signatures:
        compute = signature.compute_integrity_info
        signature.compute_integrity_info = _once(compute)  # type: ignore[method-assign]


def _once(compute: Callable[..., None]) -> Callable[..., None]:
    analysed: list[object] = []

    def compute_integrity_info(diff_policy: Any = None, skip_diff: bool = False) -> None:
        if analysed and (skip_diff or analysed[0] is diff_policy):
            return
        compute(diff_policy, skip_diff)
        if not skip_diff:
            analysed[:] = [diff_policy]

    return compute_integrity_info
