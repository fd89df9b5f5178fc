"""Archive renewal with a short-lived TSA: renewed in time it validates decades later, else not.

The PKI of ``tests.support.short_tsa_pki``: TSA "trumpa" (2 years) signs, TSA "ilga"
(25 years) renews. Time is frozen (freezegun, ticking) while signing and renewing, so the
responders and pyHanko all see the same clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any, cast

import aiohttp
import pytest
from freezegun import freeze_time
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from signing.config import SignatureFieldSpec, SignatureRequest
from signing.dev_pki import DevPki
from signing.dev_responders import DevResponders
from signing.errors import RenewalRefused
from signing.keys import load_certificates
from signing.renewal import renew_archive_timestamp
from signing.service import SigningService
from signing.verification import (
    Indication,
    LtvLevel,
    VerificationPolicy,
    Verifier,
    verify_pdf_in_process,
)
from tests.support.short_tsa_pki import (
    ORGANISATION,
    SIGNER_ROLE,
    T0,
    ShortTsaPki,
    build_short_tsa_pki,
    short_tsa_service,
)


@dataclass(frozen=True)
class _Archive:
    pki: ShortTsaPki
    original: bytes
    renewed: bytes


@pytest.fixture(scope="module")
def short_tsa_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShortTsaPki]:
    pki = build_short_tsa_pki(tmp_path_factory.mktemp("short-tsa"))
    with DevResponders(cast(DevPki, pki)):
        yield pki


@pytest.fixture(scope="module")
def archive(short_tsa_pki: ShortTsaPki, pdfa_factory: Any) -> _Archive:
    pki = short_tsa_pki
    with freeze_time(T0, tick=True), short_tsa_service(pki, "trumpa") as service:
        original = service.sign_pades(
            pdfa_factory(),
            service.signer_for(ORGANISATION, SIGNER_ROLE),
            SignatureRequest(
                "parasas", "Tvirtinu", new_field=SignatureFieldSpec("parasas", 0, None)
            ),
        )
    policy = VerificationPolicy.from_files([pki.root_cert_path])
    # 23 months later: within the 180-day margin of the 2-year TSA certificate
    with (
        freeze_time(T0 + timedelta(days=700), tick=True),
        short_tsa_service(pki, "ilga") as service,
    ):
        renewed = renew_archive_timestamp(original, service, policy)
    assert renewed.new_expiry is not None
    assert renewed.previous_expiry < renewed.new_expiry
    return _Archive(pki, original, renewed.pdf)


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier() as running:
        yield running


def _policy(archive: _Archive, moment: datetime | None) -> VerificationPolicy:
    return VerificationPolicy.from_files([archive.pki.root_cert_path], validation_time=moment)


def test_renewed_document_still_validates_decades_later(
    archive: _Archive, verifier: Verifier
) -> None:
    # now = T0 + 13 years: the short TSA and the signer certificates expired long ago
    later = datetime.now(UTC)
    report = verifier.verify(archive.renewed, _policy(archive, None))
    assert report.indication is Indication.TOTAL_PASSED, report.to_json()
    signature = report.signatures[0]
    assert signature.ltv_level is LtvLevel.B_LTA
    # proven to exist at signing time, through the expired first timestamp
    assert signature.best_signature_time is not None
    assert signature.best_signature_time < T0 + timedelta(days=1)
    assert len(report.document_timestamps) == 2
    assert report.archive_timestamp_expires is not None
    assert report.archive_timestamp_expires > later
    assert not report.renewal_needed
    assert archive.renewed.startswith(archive.original)  # incremental: the old version inside


def test_a_bare_timestamp_without_fresh_revocation_data_does_not_survive(
    archive: _Archive, verifier: Verifier
) -> None:
    # What the renewal adds before its timestamp matters: a second document timestamp alone
    # (no fresh OCSP for the first TSA's chain) leaves the first one unprovable once expired.
    async def timestamp_only(service: SigningService) -> bytes:
        async with aiohttp.ClientSession() as session:
            context = ValidationContext(
                trust_roots=load_certificates([archive.pki.root_cert_path]),
                allow_fetching=True,
                fetcher_backend=AIOHttpFetcherBackend(session),
            )
            output = await PdfTimeStamper(service.timestampers[0]).async_timestamp_pdf(
                IncrementalPdfFileWriter(BytesIO(archive.original)),
                "sha256",
                validation_context=context,
                in_place=True,
            )
        return bytes(output.getvalue())

    with (
        freeze_time(T0 + timedelta(days=700), tick=True),
        short_tsa_service(archive.pki, "ilga") as service,
    ):
        bare = service.run(timestamp_only(service))
    report = verifier.verify(bare, _policy(archive, None))
    assert len(report.document_timestamps) == 2
    assert report.document_timestamps[-1].indication is Indication.TOTAL_PASSED
    assert report.indication is not Indication.TOTAL_PASSED
    assert report.signatures[0].sub_indication == "NO_POE"


def test_document_not_renewed_fails_after_tsa_expiry(archive: _Archive, verifier: Verifier) -> None:
    report = verifier.verify(archive.original, _policy(archive, None))
    assert report.indication is not Indication.TOTAL_PASSED
    assert report.renewal_needed


@pytest.mark.parametrize(
    ("version", "day"),
    # the renewed version exists from day 700 on; the short TSA expires on day 730
    [("original", 400), ("original", 710), ("renewed", 710)],
)
def test_both_validate_before_the_short_tsa_expires(
    archive: _Archive, version: str, day: int
) -> None:
    # pyHanko takes proofs of existence at the machine clock: freeze it, verify in-process
    policy = VerificationPolicy.from_files([archive.pki.root_cert_path])
    pdf = archive.original if version == "original" else archive.renewed
    with freeze_time(T0 + timedelta(days=day), tick=True):
        report = asyncio.run(verify_pdf_in_process(pdf, policy))
    assert report.indication is Indication.TOTAL_PASSED, report.to_json()
    assert report.signatures[0].ltv_level is LtvLevel.B_LTA
    assert report.signatures[0].timestamp_time is not None


def test_renewal_not_due_is_refused(archive: _Archive) -> None:
    policy = VerificationPolicy.from_files([archive.pki.root_cert_path])
    with (
        freeze_time(T0 + timedelta(days=30), tick=True),
        short_tsa_service(archive.pki, "ilga") as service,
        pytest.raises(RenewalRefused) as caught,
    ):
        renew_archive_timestamp(archive.original, service, policy)
    assert caught.value.reason == "not_due"


def test_renewal_after_expiry_is_refused(archive: _Archive) -> None:
    policy = VerificationPolicy.from_files([archive.pki.root_cert_path])
    with (
        freeze_time(T0 + timedelta(days=365 * 2 + 30), tick=True),
        short_tsa_service(archive.pki, "ilga") as service,
        pytest.raises(RenewalRefused) as caught,
    ):
        renew_archive_timestamp(archive.original, service, policy)
    assert caught.value.reason == "chain_invalid"
    assert caught.value.indication is not None


def test_revocation_freshness_must_stay_below_the_renewal_margin(archive: _Archive) -> None:
    with pytest.raises(ValueError, match="revocation_freshness"):
        replace(_policy(archive, None), revocation_freshness=timedelta(days=200))


def test_replace_policy_margin_changes_due_date(archive: _Archive, verifier: Verifier) -> None:
    policy = replace(_policy(archive, T0 + timedelta(days=10)), renewal_margin=timedelta(days=730))
    report = verifier.verify(archive.original, policy)
    assert report.renewal_needed
