"""Verify a signed PDF for an archivist: ETSI EN 319 102-1 indication, chain, LTV, renewal.

Entry points::

    verifier = Verifier()                       # long-lived: owns supervised worker processes
    report = verifier.verify(pdf, policy)       # or: await verifier.async_verify(pdf, policy)
    report.to_json()                            # -> dict, JSON-serialisable
    verify_pdf(pdf, policy)                     # one-shot (starts and stops a worker)

Every verification runs in a child process (``forkserver``, pyHanko preloaded) that the
caller's thread can kill: a PDF that makes pyHanko loop, or inflate a stream to gigabytes,
ends as :class:`~signing.errors.VerificationRefused` (``time_limit`` / ``memory_limit``)
instead of hanging the service. Cheaper limits apply first: input size and header in the
caller, then object count, encryption and pyHanko's decode limits (per stream and per
document) in the worker; the address-space limit (``RLIMIT_AS``) of the worker is the backstop.

The overall indication is the worst of the signatures' and of the last document timestamp's
indications, and a signature's indication is never better than its modification analysis:
an AdES pass with illegal later changes is TOTAL-FAILED (SIG_CONSTRAINTS_FAILURE).

Revocation data comes from the document's DSS only (``allow_fetching=False`` by default).
Offline, the newest evidence can never have fresh revocation data: pyHanko validates the last
document timestamp at the validation time and, with its default freshness rule, a B-LTA
document is INDETERMINATE/NO_POE five days after signing (measured with the development PKI,
OCSP valid 1 h). So the newest evidence — the last document timestamp, or a signature that
no document timestamp covers — is checked at the validation time with DSS revocation data up
to ``revocation_max_age`` old (default: any age), and its certificate must not have expired.
Everything a document timestamp covers is validated the AdES-LTA way: its proofs of
existence come from the timestamp chain and the past validation slides the control time
back to when the revocation data was fresh (``revocation_freshness``). That freshness must
be finite: with "any age" the control time never moves, and a renewed document fails as soon
as the first TSA certificate expires (the renewal's fresh OCSP responses for that TSA are
never used). pyHanko is told that the last timestamp's certificate is not revoked only after
our own check of that timestamp passed (:class:`NonRevokedStatusAssertion`, as pyHanko's
``simulate_future_ades_lta_validation`` does). An expired, un-renewed archive timestamp
still fails.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import multiprocessing
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from io import BytesIO
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypedDict

from asn1crypto import crl, ocsp, x509
from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import (
    DecodeLimits,
    DecodePurpose,
    DocumentDecodeBudget,
    StreamDecodeLimits,
)
from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed, AdESStatus, AdESSubIndic
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation.ades import (
    AdESBasicValidationResult,
    AdESLTAValidationResult,
    ades_lta_validation,
    ades_timestamp_validation,
)
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter, message_imprint_checker
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.policy_decl import (
    LocalKnowledge,
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import SignatureCoverageLevel, TimestampSignatureStatus
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import FetcherBackend
from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
from pyhanko_certvalidator.policy_decl import (
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    FreshnessReqType,
    NonRevokedStatusAssertion,
)
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

from signing import validation_speedups
from signing.errors import VerificationRefused
from signing.trusted_list import QualificationAssessment, TrustedList
from signing.validation_speedups import analyse_once, one_document

__all__ = [
    "CertificateInfo",
    "DocumentFindings",
    "Finding",
    "Indication",
    "LtvLevel",
    "RevocationInfo",
    "SignatureReport",
    "VerificationPolicy",
    "VerificationReport",
    "Verifier",
    "async_verify_pdf",
    "verify_pdf",
    "verify_pdf_in_process",
]

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
PDF_LT_STANDARD_VERSION = "PDF-LT-V1.0"
_LTUD_NS = "http://archyvai.lt/pdf-ltud/2013/metadata/"
_PDFAID_NS = "http://www.aiim.org/pdfa/ns/id/"
_XMP_NS = "http://ns.adobe.com/xap/1.0/"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_PDF_LT_LEVEL_SCHEME = "http://archyvai.lt/pdf-ltud/2013/level/"


class Indication(StrEnum):
    """ETSI EN 319 102-1 main indication."""

    TOTAL_PASSED = "TOTAL-PASSED"
    INDETERMINATE = "INDETERMINATE"
    TOTAL_FAILED = "TOTAL-FAILED"

    @property
    def severity(self) -> int:
        return {"TOTAL-PASSED": 0, "INDETERMINATE": 1, "TOTAL-FAILED": 2}[self.value]

    @property
    def uri(self) -> str:
        return f"urn:etsi:019102:mainindication:{self.value.lower()}"


class LtvLevel(StrEnum):
    """PAdES baseline level a signature reaches (ETSI EN 319 142-1)."""

    NONE = "none"
    B_B = "B-B"
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


@dataclass(frozen=True)
class VerificationPolicy:
    """How to verify: trust anchors, network, time and the hostile-input limits."""

    trust_roots: tuple[bytes, ...]
    """DER certificates of the trust anchors (root CAs of signers and TSAs)."""
    name: str = "tiltas-archyvas-v1"
    """Policy identifier written to the reports."""
    trusted_list: TrustedList | None = None
    """An ETSI TS 119 612 list: signatures then say whether they chain to a CA/QC service."""
    allow_fetching: bool = False
    """Fetch OCSP/CRL over the network; by default only the document's DSS is used."""
    validation_time: datetime | None = None
    """Validate as of this time (timezone-aware); ``None`` means now."""
    revocation_max_age: timedelta | None = None
    """Oldest acceptable revocation data for the newest evidence (last document timestamp,
    or a signature no document timestamp covers) at the validation time; ``None``: any age."""
    revocation_freshness: timedelta = timedelta(days=1)
    """How long after its thisUpdate revocation data counts as fresh in past validation
    (EN 319 102-1 time-sliding). Shorter than ``renewal_margin``, or the renewal's fresh
    revocation data cannot carry an expired TSA certificate back into its validity."""
    renewal_margin: timedelta = timedelta(days=180)
    """Renewal of the archive timestamp is due this long before its TSA certificate expires."""
    max_input_bytes: int = 64 * MiB
    max_objects: int = 200_000
    """Indirect objects over all revisions (object-stream members included)."""
    max_stream_bytes: int = 64 * MiB
    """Largest decoded size of one stream."""
    max_decoded_bytes: int = 256 * MiB
    """Decoded bytes over the whole document (re-decoding counts again)."""
    time_limit_seconds: float = 60.0
    """Wall-clock limit of one verification; the worker is killed after it."""

    def __post_init__(self) -> None:
        if not self.trust_roots:
            raise ValueError("at least one trust root is required")
        if self.validation_time is not None and self.validation_time.tzinfo is None:
            raise ValueError("validation_time must be timezone-aware")
        if min(self.max_input_bytes, self.max_objects, self.max_stream_bytes) <= 0:
            raise ValueError("limits must be positive")
        if self.time_limit_seconds <= 0:
            raise ValueError("time_limit_seconds must be positive")
        if not timedelta(0) < self.revocation_freshness < self.renewal_margin:
            raise ValueError("revocation_freshness must be positive and below renewal_margin")

    @classmethod
    def from_files(cls, trust_roots: Sequence[Path | str], **options: Any) -> VerificationPolicy:
        """Build a policy from PEM/DER trust-anchor files."""
        from signing.keys import load_certificates

        certificates = load_certificates([Path(path) for path in trust_roots])
        return cls(trust_roots=tuple(cert.dump() for cert in certificates), **options)


@dataclass(frozen=True)
class Finding:
    """One observation, machine-readable (``code``) with an English message."""

    code: str
    severity: str
    """``error`` (caps the verdict or breaks a profile), ``warning`` or ``info``."""
    message: str
    subject: str | None = None
    """Signature field name the finding is about, if any."""


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    common_name: str | None
    organisation: str | None
    issuer: str
    serial_number: str
    """Hexadecimal."""
    not_before: datetime
    not_after: datetime
    sha256: str


@dataclass(frozen=True)
class RevocationInfo:
    """Revocation data that covers one certificate of a chain."""

    kind: str
    """``OCSP`` or ``CRL``."""
    certificate_serial: str
    certificate_subject: str
    status: str
    """``good``, ``revoked`` or ``unknown``."""
    issuer: str
    """OCSP responder or CRL issuer."""
    produced_at: datetime | None
    """OCSP producedAt; for a CRL its thisUpdate."""
    this_update: datetime | None
    next_update: datetime | None
    source: str
    """``DSS`` (document security store), ``CMS`` (inside the signature) or ``fetched``."""


@dataclass(frozen=True)
class SignatureReport:
    """Everything verified about one signature or document timestamp."""

    field_name: str
    kind: str
    """``signature`` or ``document_timestamp``."""
    revision: int
    indication: Indication
    sub_indication: str | None
    """EN 319 102-1 sub-indication name, e.g. ``HASH_FAILURE``; ``None`` when passed."""
    ades_sub_indication: str
    """pyHanko's AdES result before the modification analysis was applied."""
    signer: CertificateInfo | None
    chain: tuple[CertificateInfo, ...]
    """Signer (or TSA) first, trust anchor last."""
    trust_anchor: CertificateInfo | None
    revocation: tuple[RevocationInfo, ...]
    claimed_signing_time: datetime | None
    """Signer's own claim (signingTime or /M); not proven."""
    timestamp_time: datetime | None
    """Time of the signature timestamp, or the document timestamp's own time."""
    timestamp_authority: CertificateInfo | None
    best_signature_time: datetime | None
    """Earliest proven existence (EN 319 102-1), after long-term validation."""
    ltv_level: LtvLevel
    coverage: str | None
    modification_level: str | None
    """pyHanko ModificationLevel of later revisions: NONE, LTA_UPDATES, FORM_FILLING, ..."""
    sub_filter: str | None
    reason: str | None
    name: str | None
    signing_time_entry: str | None
    """Raw /M entry."""
    qualification: QualificationAssessment | None
    superseded: bool = False
    """Document timestamps only: a later document timestamp covers this one."""
    signature_value: str | None = None
    """Base64 of the CMS signature value (identifies the signature in the XML report)."""
    digest_algorithm: str | None = None
    signed_bytes_digest: str | None = None
    """Hex digest of the /ByteRange (the signer's document), with ``digest_algorithm``."""
    findings: tuple[Finding, ...] = ()
    messages: tuple[str, ...] = ()
    """pyHanko's failure messages (technical, English)."""


@dataclass(frozen=True)
class DocumentFindings:
    """Document-level facts: PDF/A identification and the PDF-LT-V1.0 profile checks."""

    header_version: str | None
    catalog_version: str | None
    pdfa_part: str | None
    pdfa_conformance: str | None
    pdf_lt_standard_version: str | None
    pdf_lt_level: str | None
    embedded_files: int
    certification_signature: bool
    has_dss: bool
    revisions: int
    findings: tuple[Finding, ...]

    @property
    def pdf_lt_conformant(self) -> bool:
        return not any(f.severity == "error" and f.code.startswith("pdf_lt") for f in self.findings)


@dataclass(frozen=True)
class VerificationReport:
    """The archivist's report. ``to_json()`` gives a JSON-serialisable dict."""

    indication: Indication
    sub_indication: str | None
    validation_time: datetime
    policy: str
    trust_anchors: tuple[CertificateInfo, ...]
    document_sha256: str
    document_size: int
    signatures: tuple[SignatureReport, ...]
    document_timestamps: tuple[SignatureReport, ...]
    document: DocumentFindings
    archive_timestamp_expires: datetime | None
    """notAfter of the TSA certificate of the last document timestamp."""
    renewal_due: datetime | None
    """``archive_timestamp_expires`` minus the policy's renewal margin."""
    findings: tuple[Finding, ...]
    fetched_revocation: bool

    @property
    def renewal_needed(self) -> bool:
        return self.renewal_due is not None and self.renewal_due <= self.validation_time

    def to_json(self) -> dict[str, Any]:
        result = _jsonable(self)
        assert isinstance(result, dict)
        result["renewal_needed"] = self.renewal_needed
        result["document"]["pdf_lt_conformant"] = self.document.pdf_lt_conformant
        return result


# -- public entry points --------------------------------------------------------------------


class Verifier:
    """Supervised worker processes that run verifications; create once, reuse, ``close()``.

    ``workers`` processes run at most that many verifications at once (others wait).
    ``memory_limit_bytes`` is each worker's address-space limit (``RLIMIT_AS``).
    A worker is replaced after ``max_jobs_per_worker`` jobs, a time-out or a crash.
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        memory_limit_bytes: int | None = 1024 * MiB,
        max_jobs_per_worker: int = 1000,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._memory_limit = memory_limit_bytes
        self._max_jobs = max_jobs_per_worker
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([__name__])
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        for _ in range(workers):
            self._idle.put(None)  # started lazily
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def verify(self, pdf: bytes, policy: VerificationPolicy) -> VerificationReport:
        """Verify ``pdf``; blocking. Safe to call from several threads.

        :raises VerificationRefused: the PDF was not verified (see ``reason``).
        """
        _check_envelope(pdf, policy)
        validation_time = policy.validation_time or datetime.now(UTC)
        slot = self._idle.get()
        if self._closed:
            self._idle.put(slot)
            raise RuntimeError("Verifier is closed")
        worker = slot
        try:
            if worker is None or not worker.alive:
                worker = self._start_worker()
            outcome = worker.run((pdf, policy, validation_time), policy.time_limit_seconds)
        except BaseException:
            if worker is not None:
                self._discard(worker)
            self._idle.put(None)
            raise
        if worker.jobs >= self._max_jobs or not worker.alive:
            self._discard(worker)
            worker = None
        self._idle.put(worker)
        return _unpack(outcome)

    async def async_verify(self, pdf: bytes, policy: VerificationPolicy) -> VerificationReport:
        """:meth:`verify` for code inside a running event loop (waits in a thread)."""
        return await asyncio.to_thread(self.verify, pdf, policy)

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers, self._all = list(self._all), set()
        for worker in workers:
            worker.stop()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start_worker(self) -> _Worker:
        worker = _Worker(self._context, self._memory_limit)
        with self._lock:
            self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.stop()
        with self._lock:
            self._all.discard(worker)


def verify_pdf(
    pdf: bytes, policy: VerificationPolicy, *, verifier: Verifier | None = None
) -> VerificationReport:
    """Verify a PDF; without ``verifier`` a one-shot worker is started (about a second).

    :raises VerificationRefused: the PDF was not verified (see ``reason``).
    """
    if verifier is not None:
        return verifier.verify(pdf, policy)
    with Verifier(workers=1) as one_shot:
        return one_shot.verify(pdf, policy)


async def async_verify_pdf(
    pdf: bytes, policy: VerificationPolicy, *, verifier: Verifier | None = None
) -> VerificationReport:
    """:func:`verify_pdf` usable inside a running event loop (FastAPI)."""
    return await asyncio.to_thread(verify_pdf, pdf, policy, verifier=verifier)


async def verify_pdf_in_process(
    pdf: bytes, policy: VerificationPolicy, validation_time: datetime | None = None
) -> VerificationReport:
    """The verification itself, in this process: no time or memory limit is enforced.

    Only for documents this service produced (renewal, tests); use :class:`Verifier` for
    anything uploaded.
    """
    _check_envelope(pdf, policy)
    return await _verify(
        pdf, policy, validation_time or policy.validation_time or datetime.now(UTC)
    )


# -- worker supervision ---------------------------------------------------------------------

_Job = tuple[bytes, VerificationPolicy, datetime]
_Outcome = tuple[str, Any]


class _Worker:
    def __init__(self, context: Any, memory_limit: int | None) -> None:
        parent_end, child_end = context.Pipe(duplex=True)
        self._conn: Connection = parent_end
        self._process = context.Process(
            target=_worker_main,
            args=(child_end, memory_limit),
            name="tiltas-verification",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self.jobs = 0

    @property
    def alive(self) -> bool:
        return bool(self._process.is_alive())

    def run(self, job: _Job, time_limit: float) -> _Outcome:
        self.jobs += 1
        try:
            self._conn.send(job)
            ready = self._conn.poll(time_limit)
        except (OSError, EOFError) as exc:
            self.stop()
            raise VerificationRefused(
                "the verification worker failed", reason="worker_failed"
            ) from exc
        if not ready:
            self.stop()
            raise VerificationRefused(
                "verification took longer than the time limit",
                reason="time_limit",
                limit=time_limit,
            )
        try:
            outcome: _Outcome = self._conn.recv()
        except (OSError, EOFError) as exc:
            exit_code = self._process.exitcode
            self.stop()
            raise VerificationRefused(
                "the verification worker died (memory limit or crash)",
                reason="memory_limit" if exit_code in (-9, None) else "worker_failed",
            ) from exc
        return outcome

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.close()
        if self._process.is_alive():
            self._process.kill()
        self._process.join(5)


def _worker_main(conn: Connection, memory_limit: int | None) -> None:
    """Child process: verify jobs until the pipe closes. Never logs document data."""
    import resource

    if memory_limit is not None:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    # pyHanko logs certificate subjects and tracebacks of failed paths: not in our logs.
    for name in ("pyhanko", "pyhanko_certvalidator", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    validation_speedups.install()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        pdf, policy, validation_time = job
        try:
            report = asyncio.run(_verify(pdf, policy, validation_time))
            outcome: _Outcome = ("ok", report)
        except VerificationRefused as exc:
            outcome = ("refused", (exc.message, exc.reason, exc.limit))
        except PdfDecodeLimitError:
            outcome = (
                "refused",
                (
                    "a stream decompresses beyond the allowed size",
                    "decompression_limit",
                    policy.max_stream_bytes,
                ),
            )
        except MemoryError:
            outcome = ("refused", ("memory limit exceeded", "memory_limit", memory_limit))
        except RecursionError:
            outcome = ("refused", ("the PDF nests too deeply", "malformed", None))
        except Exception as exc:  # anything pyHanko did not foresee in a hostile file
            outcome = (
                "refused",
                (f"the PDF cannot be processed ({type(exc).__name__})", "malformed", None),
            )
        try:
            conn.send(outcome)
        except (OSError, ValueError):
            return
        if outcome[0] == "refused" and outcome[1][1] == "memory_limit":
            return  # the heap may be fragmented: let the parent start a fresh worker


def _unpack(outcome: _Outcome) -> VerificationReport:
    status, payload = outcome
    if status == "ok":
        assert isinstance(payload, VerificationReport)
        return payload
    message, reason, limit = payload
    raise VerificationRefused(message, reason=reason, limit=limit)


def _check_envelope(pdf: bytes, policy: VerificationPolicy) -> None:
    if len(pdf) > policy.max_input_bytes:
        raise VerificationRefused(
            "the file is larger than allowed", reason="too_large", limit=policy.max_input_bytes
        )
    if b"%PDF-" not in pdf[:1024]:
        raise VerificationRefused("the file is not a PDF", reason="not_pdf")


# -- the verification -----------------------------------------------------------------------


async def _verify(
    pdf: bytes, policy: VerificationPolicy, validation_time: datetime
) -> VerificationReport:
    # One fetcher backend for the whole document (pyHanko otherwise makes one per operation,
    # on a new copy of the specification): the specifications stay the same objects from one
    # signature to the next, so one_document() can share the evidence-record work.
    backend = AIOHttpFetcherBackend()
    try:
        with one_document():
            return await _verify_document(pdf, policy, validation_time, backend)
    finally:
        await backend.close()  # type: ignore[no-untyped-call]


async def _verify_document(
    pdf: bytes, policy: VerificationPolicy, validation_time: datetime, backend: FetcherBackend
) -> VerificationReport:
    reader = _open(pdf, policy)
    roots = [x509.Certificate.load(der) for der in policy.trust_roots]
    dss_knowledge, dss_revocation = _read_dss(reader)
    newest_age = policy.revocation_max_age or timedelta(days=365 * 200)
    timestamp_spec = _validation_spec(policy, roots, dss_knowledge, newest_age, backend)
    # pyHanko's LTA validation reads the DSS itself: giving it ours too only doubles the
    # certificates and responses it searches (measured: a third of the time in a worker).
    newest_spec = _validation_spec(policy, roots, LocalKnowledge(), newest_age, backend)
    timing = ValidationTimingInfo(validation_time, validation_time, point_in_time_validation=True)
    try:
        embedded = list(reader.embedded_signatures)
    except PdfDecodeLimitError as exc:
        raise _decode_refusal(policy) from exc
    analyse_once(embedded)
    document_timestamps = [e for e in embedded if e.sig_object_type == "/DocTimeStamp"]
    last_doc_ts = max((e.signed_revision for e in document_timestamps), default=None)
    signatures: list[SignatureReport] = []
    timestamps: list[SignatureReport] = []
    archive_expiry: datetime | None = None
    unrevoked: list[NonRevokedStatusAssertion] = []
    try:
        for signature in document_timestamps:
            report = await _verify_document_timestamp(
                signature,
                timestamp_spec,
                timing,
                dss_revocation,
                policy,
                superseded=signature.signed_revision != last_doc_ts,
            )
            timestamps.append(report)
            if not report.superseded and report.timestamp_authority is not None:
                archive_expiry = report.timestamp_authority.not_after
                if report.indication is Indication.TOTAL_PASSED:
                    unrevoked.append(
                        NonRevokedStatusAssertion(signature.signer_cert.sha256, validation_time)
                    )
        archival_spec = _validation_spec(
            policy, roots, LocalKnowledge(), policy.revocation_freshness, backend, unrevoked
        )
        for signature in embedded:
            if signature.sig_object_type == "/DocTimeStamp":
                continue
            covered = last_doc_ts is not None and last_doc_ts > signature.signed_revision
            signatures.append(
                await _verify_signature(
                    signature,
                    archival_spec if covered else newest_spec,
                    timing,
                    dss_revocation,
                    policy,
                    has_later_doc_ts=covered,
                    dss_knowledge=dss_knowledge,
                )
            )
    except PdfDecodeLimitError as exc:
        raise _decode_refusal(policy) from exc
    try:
        document = _document_findings(reader, pdf, embedded, dss_revocation)
    except PdfDecodeLimitError as exc:
        raise _decode_refusal(policy) from exc
    indication, sub_indication, findings = _overall(signatures, timestamps)
    fetched = any(r.source == "fetched" for s in signatures + timestamps for r in s.revocation)
    return VerificationReport(
        indication=indication,
        sub_indication=sub_indication,
        validation_time=validation_time,
        policy=policy.name,
        trust_anchors=tuple(_certificate_info(root) for root in roots),
        document_sha256=hashlib.sha256(pdf).hexdigest(),
        document_size=len(pdf),
        signatures=tuple(signatures),
        document_timestamps=tuple(timestamps),
        document=document,
        archive_timestamp_expires=archive_expiry,
        renewal_due=archive_expiry - policy.renewal_margin if archive_expiry else None,
        findings=tuple(findings),
        fetched_revocation=fetched,
    )


def _open(pdf: bytes, policy: VerificationPolicy) -> PdfFileReader:
    limits = DecodeLimits(
        per_stream=StreamDecodeLimits(max_output_size=policy.max_stream_bytes),
        per_purpose={
            purpose: replace(
                limit,
                max_output_size=min(
                    limit.max_output_size or policy.max_stream_bytes, policy.max_stream_bytes
                ),
            )
            for purpose, limit in DecodeLimits().per_purpose.items()
        },
        document_budget=DocumentDecodeBudget(base_allowance=policy.max_decoded_bytes, max_ratio=0),
    )
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False, decode_limits=limits)
    except PdfDecodeLimitError as exc:
        raise _decode_refusal(policy) from exc
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        raise VerificationRefused("the PDF cannot be parsed", reason="malformed") from exc
    if reader.encrypted:
        raise VerificationRefused(
            "encrypted PDFs are not verified (PDF-LT forbids encryption)", reason="encrypted"
        )
    xrefs = reader.xrefs
    objects = 0
    for revision in range(xrefs.total_revisions):
        objects += len(xrefs.explicit_refs_in_revision(revision))
        if objects > policy.max_objects:
            raise VerificationRefused(
                "the PDF has more objects than allowed",
                reason="too_many_objects",
                limit=policy.max_objects,
            )
    return reader


def _decode_refusal(policy: VerificationPolicy) -> VerificationRefused:
    return VerificationRefused(
        "a stream decompresses beyond the allowed size (decompression bomb?)",
        reason="decompression_limit",
        limit=policy.max_stream_bytes,
    )


def _validation_spec(
    policy: VerificationPolicy,
    roots: list[x509.Certificate],
    knowledge: LocalKnowledge,
    freshness: timedelta,
    backend: FetcherBackend,
    unrevoked: Sequence[NonRevokedStatusAssertion] = (),
) -> PdfSignatureValidationSpec:
    revinfo_policy = CertRevTrustPolicy(
        revocation_checking_policy=REQUIRE_REVINFO,
        freshness=freshness,
        freshness_req_type=FreshnessReqType.MAX_DIFF_REVOCATION_VALIDATION,
    )
    if unrevoked:
        knowledge = replace(knowledge, nonrevoked_assertions=list(unrevoked))
    return PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=roots),
                revinfo_policy=revinfo_policy,
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=(
                    RevinfoOnlineFetchingRule.ALWAYS_FETCH
                    if policy.allow_fetching
                    else RevinfoOnlineFetchingRule.LOCAL_ONLY
                ),
                fetcher_backend=backend,
            ),
            local_knowledge=knowledge,
        )
    )


def _with_knowledge(
    spec: PdfSignatureValidationSpec, knowledge: LocalKnowledge
) -> PdfSignatureValidationSpec:
    signature_spec = spec.signature_validation_spec
    assumed = signature_spec.local_knowledge.nonrevoked_assertions
    return replace(
        spec,
        signature_validation_spec=replace(
            signature_spec,
            local_knowledge=replace(knowledge, nonrevoked_assertions=list(assumed)),
        ),
    )


@dataclass(frozen=True)
class _DssRevocation:
    ocsps: tuple[ocsp.OCSPResponse, ...]
    crls: tuple[crl.CertificateList, ...]
    certificates: tuple[x509.Certificate, ...]
    present: bool


def _read_dss(reader: PdfFileReader) -> tuple[LocalKnowledge, _DssRevocation]:
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return LocalKnowledge(), _DssRevocation((), (), (), present=False)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, PdfDecodeLimitError):
            raise
        return LocalKnowledge(), _DssRevocation((), (), (), present=True)
    ocsps: list[ocsp.OCSPResponse] = []
    crls: list[crl.CertificateList] = []
    for ref in dss.ocsps:
        with contextlib.suppress(ValueError, TypeError, KeyError, PdfError):
            response = ocsp.OCSPResponse.load(
                ref.get_object().read_data(DecodePurpose.OCSP_RESPONSE)
            )
            _ = response["response_bytes"]["response"].parsed["tbs_response_data"]["produced_at"]
            ocsps.append(response)
    for ref in dss.crls:
        with contextlib.suppress(ValueError, TypeError, KeyError, PdfError):
            revocation_list = crl.CertificateList.load(
                ref.get_object().read_data(DecodePurpose.CRL)
            )
            _ = revocation_list["tbs_cert_list"]["this_update"].native
            crls.append(revocation_list)
    certificates: list[x509.Certificate] = []
    with contextlib.suppress(ValueError, TypeError, KeyError, PdfError):
        certificates = list(dss.load_certs())
    knowledge = LocalKnowledge(
        known_ocsps=[c for response in ocsps for c in OCSPContainer.load_multi(response)],
        known_crls=[CRLContainer(revocation_list) for revocation_list in crls],
        known_certs=certificates,
    )
    return knowledge, _DssRevocation(tuple(ocsps), tuple(crls), tuple(certificates), True)


def _unprocessable_report(
    embedded: EmbeddedPdfSignature,
    kind: str,
    result: AdESBasicValidationResult[Any] | None,
    *,
    findings: tuple[Finding, ...],
    messages: tuple[str, ...],
    base: _SigDictEntries,
    superseded: bool = False,
) -> SignatureReport:
    """The report of a signature or document timestamp that could not be validated at all."""
    return SignatureReport(
        field_name=str(embedded.field_name),
        kind=kind,
        revision=embedded.signed_revision,
        indication=Indication.TOTAL_FAILED,
        sub_indication="FORMAT_FAILURE",
        ades_sub_indication=_subindic_name(result.ades_subindic) if result else "FORMAT_FAILURE",
        signer=None,
        chain=(),
        trust_anchor=None,
        revocation=(),
        claimed_signing_time=None,
        timestamp_time=None,
        timestamp_authority=None,
        best_signature_time=None,
        ltv_level=LtvLevel.NONE,
        coverage=None,
        modification_level=None,
        qualification=None,
        superseded=superseded,
        findings=findings,
        messages=messages,
        **base,
    )


async def _verify_signature(
    embedded: EmbeddedPdfSignature,
    spec: PdfSignatureValidationSpec,
    timing: ValidationTimingInfo,
    dss: _DssRevocation,
    policy: VerificationPolicy,
    *,
    has_later_doc_ts: bool,
    dss_knowledge: LocalKnowledge,
) -> SignatureReport:
    sig_object = embedded.sig_object
    base = _sig_dict_entries(embedded)
    findings: list[Finding] = []
    try:
        result: AdESLTAValidationResult | None = await ades_lta_validation(
            embedded, spec, timing_info=timing
        )
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, PdfDecodeLimitError):
            raise
        result = None
        findings.append(
            Finding(
                "signature_unreadable",
                "error",
                "the signature cannot be processed",
                str(embedded.field_name),
            )
        )
        messages: tuple[str, ...] = (f"{type(exc).__name__}: {str(exc)[:300]}",)
    if result is None or result.api_status is None:
        return _unprocessable_report(
            embedded,
            "signature",
            result,
            findings=tuple(findings),
            messages=messages if result is None else (result.failure_msg or "",),
            base=base,
        )
    status = result.api_status
    if has_later_doc_ts and status.timestamp_validity is None:
        status = replace(
            status,
            timestamp_validity=await _signature_timestamp_at_poe(
                embedded, _with_knowledge(spec, dss_knowledge), result
            ),
        )
    indication, sub_indication = _from_ades(result.ades_subindic)
    coverage = status.coverage
    level = status.modification_level
    # The modification analysis caps the AdES result (DOMAIN.md §8).
    if not status.intact:
        indication, sub_indication = Indication.TOTAL_FAILED, "HASH_FAILURE"
        findings.append(
            Finding(
                "digest_mismatch",
                "error",
                "the signed bytes were changed",
                str(embedded.field_name),
            )
        )
    elif not status.valid:
        indication, sub_indication = Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE"
    elif coverage not in (
        SignatureCoverageLevel.ENTIRE_FILE,
        SignatureCoverageLevel.ENTIRE_REVISION,
    ):
        indication, sub_indication = Indication.TOTAL_FAILED, "FORMAT_FAILURE"
        findings.append(
            Finding(
                "partial_coverage",
                "error",
                "the signature does not cover its whole revision",
                str(embedded.field_name),
            )
        )
    elif level == ModificationLevel.OTHER or status.docmdp_ok is False:
        indication, sub_indication = _worst(
            (indication, sub_indication), (Indication.TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE")
        )
        findings.append(
            Finding(
                "illegal_modification",
                "error",
                "the document was modified after signing in a way that is not allowed",
                str(embedded.field_name),
            )
        )
    elif level is None and coverage == SignatureCoverageLevel.ENTIRE_REVISION:
        indication, sub_indication = _worst(
            (indication, sub_indication), (Indication.INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")
        )
        findings.append(
            Finding(
                "modification_unknown",
                "warning",
                "later changes could not be analysed",
                str(embedded.field_name),
            )
        )
    elif level == ModificationLevel.ANNOTATIONS:
        findings.append(
            Finding(
                "annotations_added",
                "warning",
                "annotations were added after signing",
                str(embedded.field_name),
            )
        )
    if indication is not Indication.TOTAL_PASSED and result.failure_msg:
        findings.append(
            Finding(
                "ades_" + (sub_indication or "failed").lower(),
                "error",
                result.failure_msg[:300],
                str(embedded.field_name),
            )
        )
    path = status.validation_path
    chain_certs = list(path.iter_certs(include_root=True))[::-1] if path is not None else []
    chain = tuple(_certificate_info(cert) for cert in chain_certs)
    anchor = chain[-1] if path is not None and chain else None
    signature_ts = status.timestamp_validity
    tsa_cert = signature_ts.signing_cert if signature_ts is not None else None
    tsa_chain: list[x509.Certificate] = []
    if signature_ts is not None and signature_ts.validation_path is not None:
        tsa_chain = list(signature_ts.validation_path.iter_certs(include_root=False))
    revocation = _revocation_for([*chain_certs, *tsa_chain], dss, result)
    ltv = _ltv_level(status, signature_ts, dss, chain_certs, revocation, result, has_later_doc_ts)
    qualification = None
    if policy.trusted_list is not None and chain_certs:
        qualification = policy.trusted_list.assess_chain(
            [cert.dump() for cert in chain_certs], result.best_signature_time
        )
    if sig_object.get("/Type") is not None and str(sig_object.get("/Type")) not in ("/Sig",):
        findings.append(
            Finding(
                "unexpected_type", "warning", "signature dictionary /Type", str(embedded.field_name)
            )
        )
    return SignatureReport(
        field_name=str(embedded.field_name),
        kind="signature",
        revision=embedded.signed_revision,
        indication=indication,
        sub_indication=sub_indication,
        ades_sub_indication=_subindic_name(result.ades_subindic),
        signer=_certificate_info(status.signing_cert),
        chain=chain,
        trust_anchor=anchor,
        revocation=revocation,
        claimed_signing_time=embedded.self_reported_timestamp,
        timestamp_time=signature_ts.timestamp if signature_ts is not None else None,
        timestamp_authority=_certificate_info(tsa_cert) if tsa_cert is not None else None,
        best_signature_time=result.best_signature_time,
        ltv_level=ltv,
        coverage=coverage.name if coverage is not None else None,
        modification_level=level.name if level is not None else None,
        qualification=qualification,
        findings=tuple(findings),
        messages=(result.failure_msg,) if result.failure_msg else (),
        **base,
    )


async def _signature_timestamp_at_poe(
    embedded: EmbeddedPdfSignature,
    spec: PdfSignatureValidationSpec,
    result: AdESLTAValidationResult,
) -> TimestampSignatureStatus | None:
    """The signature timestamp, validated when the document timestamps prove it existed.

    pyHanko's LTA validation past-validates a signature timestamp only for some current-time
    outcomes; when its revocation data is merely old (TRY_LATER) the signature still passes
    on the evidence record, but no timestamp status is returned and the report would show
    B-B. Only for reporting: the verdict stays pyHanko's.
    """
    if result.ades_subindic != AdESPassed.OK or result.best_signature_time is None:
        return None
    moment = result.best_signature_time
    timing = ValidationTimingInfo(moment, moment, point_in_time_validation=True)
    for token in extract_tst_data_iter(embedded.signer_info, signed=False):
        checked = await ades_timestamp_validation(
            token,
            spec.signature_validation_spec,
            expected_tst_imprint=message_imprint_checker(embedded.signer_info),
            timing_info=timing,
        )
        if checked.ades_subindic == AdESPassed.OK and isinstance(
            checked.api_status, TimestampSignatureStatus
        ):
            return checked.api_status
    return None


async def _verify_document_timestamp(
    embedded: EmbeddedPdfSignature,
    spec: PdfSignatureValidationSpec,
    timing: ValidationTimingInfo,
    dss: _DssRevocation,
    policy: VerificationPolicy,
    *,
    superseded: bool,
) -> SignatureReport:
    base = _sig_dict_entries(embedded)
    findings: list[Finding] = []
    try:
        embedded.compute_integrity_info(spec.diff_policy)  # type: ignore[no-untyped-call]
        result: AdESBasicValidationResult[Any] | None = await ades_timestamp_validation(
            embedded.signed_data,
            spec.signature_validation_spec,
            expected_tst_imprint=embedded.compute_digest,
            timing_info=timing,
        )
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, PdfDecodeLimitError):
            raise
        result = None
        messages: tuple[str, ...] = (f"{type(exc).__name__}: {str(exc)[:300]}",)
    if result is None or result.api_status is None:
        return _unprocessable_report(
            embedded,
            "document_timestamp",
            result,
            findings=(
                Finding(
                    "timestamp_unreadable",
                    "error",
                    "the document timestamp cannot be processed",
                    str(embedded.field_name),
                ),
            ),
            messages=messages if result is None else (result.failure_msg or "",),
            base=base,
            superseded=superseded,
        )
    status = result.api_status
    indication, sub_indication = _from_ades(result.ades_subindic)
    coverage = embedded.coverage
    if not status.intact:
        indication, sub_indication = Indication.TOTAL_FAILED, "HASH_FAILURE"
        findings.append(
            Finding(
                "digest_mismatch",
                "error",
                "the time-stamped bytes were changed",
                str(embedded.field_name),
            )
        )
    elif not status.valid:
        indication, sub_indication = Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE"
    diff = embedded.diff_result
    level = getattr(diff, "modification_level", None) if diff is not None else None
    if diff is not None and level is None:
        level = ModificationLevel.OTHER
    if level == ModificationLevel.OTHER:
        indication, sub_indication = _worst(
            (indication, sub_indication), (Indication.TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE")
        )
        findings.append(
            Finding(
                "illegal_modification",
                "error",
                "the document was modified after this timestamp in a way that is not allowed",
                str(embedded.field_name),
            )
        )
    path = status.validation_path
    chain_certs = list(path.iter_certs(include_root=True))[::-1] if path is not None else []
    chain = tuple(_certificate_info(cert) for cert in chain_certs)
    tsa = _certificate_info(status.signing_cert) if status.signing_cert is not None else None
    revocation = _revocation_for(chain_certs, dss, result)
    if superseded and indication is Indication.INDETERMINATE:
        findings.append(
            Finding(
                "superseded_timestamp",
                "info",
                "not valid at the validation time on its own; protected by a "
                "later document timestamp",
                str(embedded.field_name),
            )
        )
    qualification = None
    if policy.trusted_list is not None and chain_certs:
        qualification = policy.trusted_list.assess_chain(
            [c.dump() for c in chain_certs], status.timestamp
        )
    return SignatureReport(
        field_name=str(embedded.field_name),
        kind="document_timestamp",
        revision=embedded.signed_revision,
        indication=indication,
        sub_indication=sub_indication,
        ades_sub_indication=_subindic_name(result.ades_subindic),
        signer=tsa,
        chain=chain,
        trust_anchor=chain[-1] if path is not None and chain else None,
        revocation=revocation,
        claimed_signing_time=None,
        timestamp_time=status.timestamp,
        timestamp_authority=tsa,
        best_signature_time=status.timestamp,
        ltv_level=LtvLevel.NONE,
        coverage=coverage.name if coverage is not None else None,
        modification_level=level.name if level is not None else None,
        qualification=qualification,
        superseded=superseded,
        findings=tuple(findings),
        messages=(result.failure_msg,) if result.failure_msg else (),
        **base,
    )


def _ltv_level(
    status: Any,
    signature_ts: Any,
    dss: _DssRevocation,
    chain: list[x509.Certificate],
    revocation: tuple[RevocationInfo, ...],
    result: AdESLTAValidationResult,
    has_later_doc_ts: bool,
) -> LtvLevel:
    if not (status.intact and status.valid):
        return LtvLevel.NONE
    if signature_ts is None or not (signature_ts.intact and signature_ts.valid):
        return LtvLevel.B_B
    non_roots = {cert.serial_number for cert in chain[:-1]} if chain else set()
    covered = {int(r.certificate_serial, 16) for r in revocation if r.source in ("DSS", "CMS")}
    if not (dss.present and chain and non_roots <= covered):
        return LtvLevel.B_T
    if has_later_doc_ts and result.oldest_evidence_record_timestamp is not None:
        return LtvLevel.B_LTA
    return LtvLevel.B_LT


def _overall(
    signatures: list[SignatureReport], timestamps: list[SignatureReport]
) -> tuple[Indication, str | None, list[Finding]]:
    findings: list[Finding] = []
    if not signatures and not timestamps:
        findings.append(Finding("no_signature", "error", "the PDF carries no signature"))
        return Indication.INDETERMINATE, "SIGNED_DATA_NOT_FOUND", findings
    worst: tuple[Indication, str | None] = (Indication.TOTAL_PASSED, None)
    for report in signatures:
        worst = _worst(worst, (report.indication, report.sub_indication))
    for report in timestamps:
        if not report.superseded or report.sub_indication in (
            "HASH_FAILURE",
            "SIG_CRYPTO_FAILURE",
            "SIG_CONSTRAINTS_FAILURE",
            "FORMAT_FAILURE",
        ):
            worst = _worst(worst, (report.indication, report.sub_indication))
    if not timestamps:
        findings.append(
            Finding(
                "no_archive_timestamp",
                "warning",
                "no document timestamp: the document is not B-LTA",
            )
        )
    return worst[0], worst[1], findings


def _worst(
    a: tuple[Indication, str | None], b: tuple[Indication, str | None]
) -> tuple[Indication, str | None]:
    return b if b[0].severity > a[0].severity else a


def _from_ades(sub: AdESSubIndic) -> tuple[Indication, str | None]:
    status = sub.status
    if status == AdESStatus.PASSED:
        return Indication.TOTAL_PASSED, None
    name = _subindic_name(sub)
    if status == AdESStatus.FAILED:
        return Indication.TOTAL_FAILED, name
    return Indication.INDETERMINATE, name


def _subindic_name(sub: AdESSubIndic) -> str:
    return str(getattr(sub, "standard_name", None) or getattr(sub, "name", sub))


class _SigDictEntries(TypedDict):
    sub_filter: str | None
    reason: str | None
    name: str | None
    signing_time_entry: str | None
    signature_value: str | None
    digest_algorithm: str | None
    signed_bytes_digest: str | None


def _sig_dict_entries(embedded: EmbeddedPdfSignature) -> _SigDictEntries:
    sig_object = embedded.sig_object
    try:
        algorithm: str | None = str(embedded.md_algorithm)
        digest: str | None = embedded.compute_digest().hex()
        value: str | None = base64.b64encode(
            bytes(embedded.signer_info["signature"].native)
        ).decode("ascii")
    except (ValueError, TypeError, KeyError, PdfError, SignatureValidationError):
        algorithm = digest = value = None

    def text(key: str) -> str | None:
        value = sig_object.get(key)
        return str(value) if value is not None else None

    return {
        "sub_filter": text("/SubFilter"),
        "reason": text("/Reason"),
        "name": text("/Name"),
        "signing_time_entry": text("/M"),
        "signature_value": value,
        "digest_algorithm": algorithm,
        "signed_bytes_digest": digest,
    }


def _revocation_for(
    chain: list[x509.Certificate], dss: _DssRevocation, result: AdESBasicValidationResult[Any]
) -> tuple[RevocationInfo, ...]:
    """OCSP responses / CRLs (DSS first, then fetched) that cover each certificate."""
    dss_ocsp_ids = {response.dump() for response in dss.ocsps}
    fetched_ocsps: list[ocsp.OCSPResponse] = []
    fetched_crls: list[crl.CertificateList] = []
    for vo in result.validation_objects:
        value = vo.value
        if isinstance(value, ocsp.OCSPResponse) and value.dump() not in dss_ocsp_ids:
            fetched_ocsps.append(value)
        elif isinstance(value, crl.CertificateList) and value not in dss.crls:
            fetched_crls.append(value)
    by_issuer = {cert.subject.dump(): cert for cert in chain}
    found: list[RevocationInfo] = []
    seen: set[tuple[str, str, str]] = set()
    for cert in chain:
        if cert.self_signed == "maybe" or cert.self_signed == "yes":
            continue
        issuer = by_issuer.get(cert.issuer.dump())
        for source, responses in (("DSS", dss.ocsps), ("fetched", tuple(fetched_ocsps))):
            for response in responses:
                for info in _ocsp_matches(response, cert, issuer, source):
                    key = (info.kind, info.certificate_serial, str(info.produced_at))
                    if key not in seen:
                        seen.add(key)
                        found.append(info)
        for source, lists in (("DSS", dss.crls), ("fetched", tuple(fetched_crls))):
            for revocation_list in lists:
                crl_info = _crl_match(revocation_list, cert, source)
                if crl_info is not None:
                    found.append(crl_info)
    return tuple(found)


def _ocsp_matches(
    response: ocsp.OCSPResponse,
    cert: x509.Certificate,
    issuer: x509.Certificate | None,
    source: str,
) -> Iterator[RevocationInfo]:
    try:
        basic = response["response_bytes"]["response"].parsed
        data = basic["tbs_response_data"]
        responder = _responder_name(data["responder_id"])
        produced_at = data["produced_at"].native
        for single in data["responses"]:
            cert_id = single["cert_id"]
            if cert_id["serial_number"].native != cert.serial_number:
                continue
            name_hash = cert_id["issuer_name_hash"].native
            algo = cert_id["hash_algorithm"]["algorithm"].native
            if hashlib.new(algo, cert.issuer.dump()).digest() != name_hash:
                continue
            if issuer is not None:
                key_hash = hashlib.new(algo, issuer.public_key["public_key"].native).digest()
                if key_hash != cert_id["issuer_key_hash"].native:
                    continue
            yield RevocationInfo(
                kind="OCSP",
                certificate_serial=format(cert.serial_number, "x"),
                certificate_subject=cert.subject.human_friendly,
                status=str(single["cert_status"].name),
                issuer=responder,
                produced_at=produced_at,
                this_update=single["this_update"].native,
                next_update=single["next_update"].native,
                source=source,
            )
    except (ValueError, TypeError, KeyError):
        return


def _responder_name(responder_id: Any) -> str:
    if responder_id.name == "by_name":
        return str(responder_id.chosen.human_friendly)
    return "key:" + bytes(responder_id.chosen.native).hex()


def _crl_match(
    revocation_list: crl.CertificateList, cert: x509.Certificate, source: str
) -> RevocationInfo | None:
    try:
        tbs = revocation_list["tbs_cert_list"]
        if tbs["issuer"].dump() != cert.issuer.dump():
            return None
        revoked = any(
            entry["user_certificate"].native == cert.serial_number
            for entry in (tbs["revoked_certificates"] or [])
        )
        return RevocationInfo(
            kind="CRL",
            certificate_serial=format(cert.serial_number, "x"),
            certificate_subject=cert.subject.human_friendly,
            status="revoked" if revoked else "good",
            issuer=tbs["issuer"].human_friendly,
            produced_at=tbs["this_update"].native,
            this_update=tbs["this_update"].native,
            next_update=tbs["next_update"].native,
            source=source,
        )
    except (ValueError, TypeError, KeyError):
        return None


def _certificate_info(cert: x509.Certificate) -> CertificateInfo:
    subject = cert.subject.native
    validity = cert["tbs_certificate"]["validity"]
    return CertificateInfo(
        subject=cert.subject.human_friendly,
        common_name=_first_value(subject.get("common_name")),
        organisation=_first_value(subject.get("organization_name")),
        issuer=cert.issuer.human_friendly,
        serial_number=format(cert.serial_number, "x"),
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        sha256=cert.sha256.hex(),
    )


def _first_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return str(value[0]) if value else None
    return str(value)


# -- document level: PDF/A and PDF-LT-V1.0 ----------------------------------------------------

_HEADER = re.compile(rb"%PDF-(\d\.\d)")


def _document_findings(
    reader: PdfFileReader,
    pdf: bytes,
    embedded: list[EmbeddedPdfSignature],
    dss: _DssRevocation,
) -> DocumentFindings:
    findings: list[Finding] = []
    header = _HEADER.search(pdf[:1024])
    header_version = header.group(1).decode() if header else None
    root = reader.root
    catalog_version = _name_text(root.get("/Version"))
    effective = max(filter(None, (header_version, catalog_version)), default=None)
    if effective != "1.7":
        findings.append(
            Finding("pdf_lt_version", "error", f"PDF version {effective} (PDF-LT-V1.0 wants 1.7)")
        )
    part = conformance = standard_version = level = None
    metadata = _xmp(root)
    if metadata is None:
        findings.append(
            Finding(
                "pdfa_identification_missing",
                "error",
                "no XMP metadata: the file does not identify as PDF/A",
            )
        )
    else:
        part = _xmp_value(metadata, _PDFAID_NS, "part")
        conformance = _xmp_value(metadata, _PDFAID_NS, "conformance")
        standard_version = _xmp_value(metadata, _LTUD_NS, "standardVersion")
        level = _pdf_lt_level(metadata)
        if part is None:
            findings.append(
                Finding(
                    "pdfa_identification_missing",
                    "error",
                    "XMP has no pdfaid:part: not identified as PDF/A",
                )
            )
        if standard_version != PDF_LT_STANDARD_VERSION:
            findings.append(
                Finding(
                    "pdf_lt_standard_version", "error", "LTUd:standardVersion is not PDF-LT-V1.0"
                )
            )
    eof = pdf.rfind(b"%%EOF")
    if eof < 0 or pdf[eof + 5 :].strip():
        findings.append(
            Finding(
                "trailing_data",
                "warning",
                "bytes after the last %%EOF are ignored and not signed "
                "(a truncated or appended-to file?)",
            )
        )
    embedded_files = _count_embedded_files(root)
    if embedded_files:
        findings.append(
            Finding(
                "pdf_lt_embedded_files",
                "error",
                f"{embedded_files} embedded file(s); PDF-LT forbids them",
            )
        )
    certification = "/Perms" in root and "/DocMDP" in root["/Perms"]
    for signature in embedded:
        if signature.sig_object_type == "/DocTimeStamp":
            continue
        if signature.docmdp_level is not None and "/Reference" in signature.sig_object:
            certification = True
        missing = [key for key in ("/Reason", "/Name", "/M") if key not in signature.sig_object]
        if missing:
            findings.append(
                Finding(
                    "pdf_lt_signature_entries",
                    "error",
                    "signature dictionary lacks " + ", ".join(missing),
                    str(signature.field_name),
                )
            )
    if certification:
        findings.append(
            Finding(
                "pdf_lt_certification_signature",
                "error",
                "a certification (DocMDP) signature is present; PDF-LT forbids it",
            )
        )
    return DocumentFindings(
        header_version=header_version,
        catalog_version=catalog_version,
        pdfa_part=part,
        pdfa_conformance=conformance,
        pdf_lt_standard_version=standard_version,
        pdf_lt_level=level,
        embedded_files=embedded_files,
        certification_signature=certification,
        has_dss=dss.present,
        revisions=reader.xrefs.total_revisions,
        findings=tuple(findings),
    )


def _name_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text[1:] if text.startswith("/") else text


def _xmp(root: Any) -> Any:
    try:
        stream = root.get("/Metadata")
        if stream is None:
            return None
        stream = stream.get_object()
        if not isinstance(stream, generic.StreamObject):
            return None
        data = stream.read_data(DecodePurpose.XMP_METADATA)
    except PdfDecodeLimitError:
        raise
    except (PdfError, ValueError, KeyError, TypeError):
        return None
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
    )
    try:
        return etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError:
        return None


def _xmp_value(xmp: Any, namespace: str, name: str) -> str | None:
    """A simple XMP property, in element or attribute form."""
    qualified = f"{{{namespace}}}{name}"
    for description in xmp.iter(f"{{{_RDF_NS}}}Description"):
        attribute = description.get(qualified)
        if attribute is not None:
            return str(attribute).strip()
        element = description.find(qualified)
        if element is not None:
            return "".join(element.itertext()).strip() or None
    return None


def _pdf_lt_level(xmp: Any) -> str | None:
    """The level in xmp:Identifier with the PDF-LT level scheme (``A``)."""
    for identifier in xmp.iter(f"{{{_XMP_NS}}}Identifier"):
        for item in identifier.iter(f"{{{_RDF_NS}}}li"):
            text = "".join(item.itertext()).strip()
            scheme = None
            for element in item.iter():
                for key, value in element.attrib.items():
                    if key.endswith("Scheme") or key.endswith("scheme"):
                        scheme = value
                if str(element.tag).endswith("Scheme"):
                    # pyHanko rewrites the XMP when signing: the literal becomes rdf:resource
                    scheme = (element.text or "").strip() or element.get(f"{{{_RDF_NS}}}resource")
            if scheme == _PDF_LT_LEVEL_SCHEME:
                value_element = item.find(f".//{{{_RDF_NS}}}value")
                if value_element is not None:
                    return (value_element.text or "").strip() or None
                return text.replace(_PDF_LT_LEVEL_SCHEME, "").strip() or None
    return None


def _count_embedded_files(root: Any) -> int:
    try:
        names = root.get("/Names")
        if names is None or "/EmbeddedFiles" not in names:
            return 0
        tree = names["/EmbeddedFiles"]
        count = 0
        stack = [tree]
        visited = 0
        while stack and visited < 10_000:
            node = stack.pop()
            visited += 1
            if "/Names" in node:
                count += len(node["/Names"]) // 2
            if "/Kids" in node:
                stack.extend(kid.get_object() for kid in node["/Kids"])
        return max(count, 1)
    except (PdfError, ValueError, KeyError, TypeError, AttributeError):
        return 1


# -- JSON -----------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value
