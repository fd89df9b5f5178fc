"""Archive renewal: a new document timestamp before the last one's TSA certificate expires.

DOMAIN.md §8: archive timestamps must be renewed while the chain still validates; after the
last TSA certificate has expired (or its chain is broken) nothing can repair the document.
So :func:`async_renew_archive_timestamp` first verifies the whole document (offline, from the
DSS, at the current time) and refuses unless the verdict is TOTAL-PASSED. Then pyHanko's
``update_archival_timestamp_chain`` fetches fresh revocation data for the previous
timestamp's TSA chain into the DSS and adds a new document timestamp from the configured
TSA (the first that answers), in the same incremental update, so the new timestamp proves
that data existed while the previous TSA certificate was valid. That is what carries the
previous timestamp once its certificate has expired: the verifier slides its validation back
to the renewal's revocation data (see :mod:`signing.verification`); a bare second timestamp
does not (tests/signing/test_renewal.py). The input is left untouched: the caller keeps the
previous version and stores the returned PDF as a new one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO

import aiohttp
from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from signing.errors import RenewalRefused, TimestampAttempt, TimestampUnavailable
from signing.service import SigningService
from signing.verification import (
    Indication,
    VerificationPolicy,
    VerificationReport,
    verify_pdf_in_process,
)

__all__ = [
    "RenewalResult",
    "async_check_renewal",
    "async_renew_archive_timestamp",
    "last_archive_timestamp_expiry",
    "renew_archive_timestamp",
]


@dataclass(frozen=True)
class RenewalResult:
    """A renewed document and what was checked before renewing it."""

    pdf: bytes
    """The new version (the input plus DSS update and document timestamp)."""
    verification_before: VerificationReport
    """Verification of the input that allowed the renewal (TOTAL-PASSED)."""
    previous_expiry: datetime
    """notAfter of the TSA certificate of the archive timestamp that was renewed."""
    new_expiry: datetime | None
    """notAfter of the new archive timestamp's TSA certificate."""
    tsa_url: str | None


async def async_check_renewal(
    pdf: bytes,
    policy: VerificationPolicy,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> VerificationReport:
    """Verify ``pdf`` (offline, in this process) and decide whether it may be renewed now.

    ``policy.renewal_margin`` decides "due". Only for documents this service produced or
    already verified: the verification runs without the worker limits.

    :raises RenewalRefused: ``not_due``, ``no_archive_timestamp``, ``chain_invalid``.
    """
    moment = now or datetime.now(UTC)
    report = await verify_pdf_in_process(pdf, policy, moment)
    if report.archive_timestamp_expires is None or report.renewal_due is None:
        raise RenewalRefused(
            "the document has no document timestamp to renew", reason="no_archive_timestamp"
        )
    if not force and moment < report.renewal_due:
        raise RenewalRefused("renewal is not due yet", reason="not_due")
    if report.indication is not Indication.TOTAL_PASSED:
        raise RenewalRefused(
            "the document does not validate; a new timestamp cannot repair it",
            reason="chain_invalid",
            indication=f"{report.indication.value}/{report.sub_indication}",
        )
    return report


async def async_renew_archive_timestamp(
    pdf: bytes,
    *,
    policy: VerificationPolicy,
    timestampers: Sequence[TimeStamper],
    force: bool = False,
    now: datetime | None = None,
) -> RenewalResult:
    """Renew the archive timestamp of ``pdf`` if it is due (or ``force``); see module docs.

    :raises RenewalRefused: as :func:`async_check_renewal`, or ``chain_invalid`` when the
        previous timestamp cannot be re-validated with fresh revocation data.
    :raises TimestampUnavailable: no TSA answered; nothing was changed.
    """
    moment = now or datetime.now(UTC)
    report = await async_check_renewal(pdf, policy, force=force, now=moment)
    async with aiohttp.ClientSession() as session:
        # Revocation data fetched now is "too recent" for a moment taken before the whole
        # verification above (seconds on a busy machine): validate it as of the fetch.
        context = _fetching_context(pdf, policy, now or datetime.now(UTC), session)
        return await _renew(pdf, report, context, timestampers)


async def _renew(
    pdf: bytes,
    report: VerificationReport,
    context: ValidationContext,
    timestampers: Sequence[TimeStamper],
) -> RenewalResult:
    assert report.archive_timestamp_expires is not None
    attempts: list[TimestampAttempt] = []
    for timestamper in timestampers:
        url = str(
            getattr(getattr(timestamper, "authority", None), "url", type(timestamper).__name__)
        )
        try:
            output = await PdfTimeStamper(timestamper).async_update_archival_timestamp_chain(
                PdfFileReader(BytesIO(pdf)), context, in_place=False, output=BytesIO()
            )
        except TimestampRequestError as exc:
            attempts.append(TimestampAttempt(url, str(exc)[:300]))
            continue
        except (PyHankoSigningError, PdfError, ValueError) as exc:
            cause = exc.__cause__
            if isinstance(cause, TimestampRequestError):
                attempts.append(TimestampAttempt(url, str(cause)[:300]))
                continue
            raise RenewalRefused(
                "the previous timestamp could not be re-validated for renewal",
                reason="chain_invalid",
            ) from exc
        renewed = output.getvalue()
        return RenewalResult(
            pdf=renewed,
            verification_before=report,
            previous_expiry=report.archive_timestamp_expires,
            new_expiry=last_archive_timestamp_expiry(renewed),
            tsa_url=url,
        )
    raise TimestampUnavailable(attempts)


def renew_archive_timestamp(
    pdf: bytes, service: SigningService, policy: VerificationPolicy, *, force: bool = False
) -> RenewalResult:
    """Synchronous wrapper on a :class:`~signing.service.SigningService` (its TSAs and loop)."""
    return service.run(
        async_renew_archive_timestamp(
            pdf, policy=policy, timestampers=service.timestampers, force=force
        )
    )


_FETCH_TIME_TOLERANCE = timedelta(minutes=1)


def _fetching_context(
    pdf: bytes, policy: VerificationPolicy, moment: datetime, session: aiohttp.ClientSession
) -> ValidationContext:
    """Online context: fresh OCSP/CRL for the previous TSA chain, DSS data as a start."""
    reader = PdfFileReader(BytesIO(pdf))
    other_certs: list[x509.Certificate] = []
    with contextlib.suppress(NoDSSFoundError):
        other_certs = list(DocumentSecurityStore.read_dss(reader).load_certs())
    return ValidationContext(
        trust_roots=[x509.Certificate.load(der) for der in policy.trust_roots],
        other_certs=other_certs,
        allow_fetching=True,
        fetcher_backend=AIOHttpFetcherBackend(session),
        revocation_mode="require",
        moment=moment,
        # [design] responders stamp their answers with their own clock, and pyHanko asks for
        # them seconds after fixing the moment (after the TSA answered): a minute of leeway,
        # not pyHanko's one second, or a busy machine refuses data fetched that instant
        time_tolerance=_FETCH_TIME_TOLERANCE,
    )


def last_archive_timestamp_expiry(pdf: bytes) -> datetime | None:
    """notAfter of the TSA certificate of the last document timestamp (``None``: none).

    Reads only the signature dictionaries: cheap enough to scan the archive for what is due.
    A PDF that cannot be read raises pyHanko's ``PdfError`` (or ``ValueError``).
    """
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    timestamps = reader.embedded_timestamp_signatures
    if not timestamps:
        return None
    cert = timestamps[-1].signer_cert
    expiry: datetime = cert["tbs_certificate"]["validity"]["not_after"].native
    return expiry
