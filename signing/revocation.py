"""OCSP/CRL cache: fetch once, reuse while fresh, build a fresh offline context per document.

A reused pyHanko ``ValidationContext`` freezes its validation time at creation and keeps OCSP
responses forever: past their ``nextUpdate`` pyHanko still signs, but the document then fails
AdES LTA validation (measured). So this cache keeps the responses itself, with the time they
must be refreshed (``revocation_refresh_fraction`` of their remaining validity), and every
document gets a new context that is offline (no fetching) and valid "now".

One snapshot per (signer certificate, TSA): it holds exactly the responses for the signer's
chain and the TSA's chain, so a document's DSS carries no other official's data.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import crl, ocsp, x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession

from signing.errors import RevocationUnavailable
from signing.keys import ConfiguredSigner
from signing.timestamps import ConfiguredTimeStamper, TimestampRequestError

__all__ = ["RevocationCache", "RevocationSnapshot"]


@dataclass(frozen=True, eq=False)
class RevocationSnapshot:
    """Revocation data for one signer and one TSA, as fetched at ``fetched_at``."""

    ocsps: tuple[ocsp.OCSPResponse, ...]
    crls: tuple[crl.CertificateList, ...]
    certificates: tuple[x509.Certificate, ...]
    fetched_at: datetime
    refresh_at: datetime


# [design] Signing validates certificates as of at most a minute ago (the context's moment):
# validating each document's TSA paths anew cost a fifth of the signing CPU.
CONTEXT_LIFETIME = timedelta(minutes=1)


class RevocationCache:
    """Per-(signer, TSA) revocation snapshots; lives on the signing service's event loop."""

    def __init__(
        self,
        trust_roots: Iterable[x509.Certificate],
        session: LazySession,
        *,
        refresh_fraction: float = 0.5,
        max_age: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._trust_roots = list(trust_roots)
        self._session = session
        self._refresh_fraction = refresh_fraction
        self._max_age = max_age
        self._clock = clock
        self._snapshots: dict[tuple[str, str], RevocationSnapshot] = {}
        self._contexts: weakref.WeakKeyDictionary[
            RevocationSnapshot, tuple[datetime, ValidationContext]
        ] = weakref.WeakKeyDictionary()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self.fetch_count = 0
        """How many times revocation data was fetched over the network (for tests/bench)."""

    def invalidate(self) -> None:
        self._snapshots.clear()

    async def snapshot_for(
        self, signer: ConfiguredSigner, timestamper: ConfiguredTimeStamper
    ) -> RevocationSnapshot:
        """A fresh snapshot, refetched when its refresh time has come.

        :raises TimestampRequestError: the TSA did not answer (its certificate is unknown).
        :raises RevocationUnavailable: OCSP/CRL could not be obtained for a chain.
        """
        key = (signer.certificate_sha256, timestamper.authority.url)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            snapshot = self._snapshots.get(key)
            if snapshot is None or self._clock() >= snapshot.refresh_at:
                snapshot = await self._fetch(signer, timestamper)
                self._snapshots[key] = snapshot
            return snapshot

    def validation_context(self, snapshot: RevocationSnapshot) -> ValidationContext:
        """An offline context holding the snapshot's data. A context validates as of the
        moment it was made, so it is shared (and what is validated against it, such as the
        TSA's paths, reused) for at most ``CONTEXT_LIFETIME``, then made anew."""
        now = self._clock()
        made = self._contexts.get(snapshot)
        if made is None or now - made[0] >= CONTEXT_LIFETIME:
            context = ValidationContext(
                trust_roots=self._trust_roots,
                other_certs=list(snapshot.certificates),
                ocsps=list(snapshot.ocsps),
                crls=list(snapshot.crls),
                allow_fetching=False,
                revocation_mode="hard-fail",
                moment=now,
            )
            made = self._contexts[snapshot] = (now, context)
        return made[1]

    async def _fetch(
        self, signer: ConfiguredSigner, timestamper: ConfiguredTimeStamper
    ) -> RevocationSnapshot:
        fetched_at = self._clock()
        context = ValidationContext(
            trust_roots=self._trust_roots,
            allow_fetching=True,
            revocation_mode="require",
            # the backend accepts pyHanko's LazySession like its fetchers do (typed too narrowly)
            fetcher_backend=AIOHttpFetcherBackend(self._session),  # type: ignore[arg-type]
        )
        validator = CertificateValidator(
            signer.certificate,
            intermediate_certs=list(signer.pyhanko_signer.cert_registry),
            validation_context=context,
        )
        try:
            await validator.async_validate_usage(set())  # type: ignore[no-untyped-call]
        except (PathBuildingError, PathValidationError) as exc:
            raise RevocationUnavailable(
                "the signer's certificate chain cannot be validated now",
                subject="signer",
                reason=str(exc)[:300],
            ) from exc
        try:
            async for _ in timestamper.validation_paths(context):
                pass
        except TimestampRequestError:
            raise
        except (PathBuildingError, PathValidationError) as exc:
            raise RevocationUnavailable(
                "the TSA certificate chain cannot be validated now",
                subject=timestamper.authority.url,
                reason=str(exc)[:300],
            ) from exc
        self.fetch_count += 1
        ocsps = tuple(context.ocsps)
        crls = tuple(context.crls)
        certificates = (
            tuple(cert for response in ocsps for cert in _ocsp_certificates(response))
            + tuple(timestamper.cert_registry)
            + tuple(signer.pyhanko_signer.cert_registry)
        )
        return RevocationSnapshot(
            ocsps=ocsps,
            crls=crls,
            certificates=certificates,
            fetched_at=fetched_at,
            refresh_at=self._refresh_time(fetched_at, ocsps, crls),
        )

    def _refresh_time(
        self,
        fetched_at: datetime,
        ocsps: Iterable[ocsp.OCSPResponse],
        crls: Iterable[crl.CertificateList],
    ) -> datetime:
        expiries: list[datetime] = []
        for response in ocsps:
            basic = response["response_bytes"]["response"].parsed
            for single in basic["tbs_response_data"]["responses"]:
                next_update = single["next_update"].native
                expiries.append(next_update or fetched_at + self._max_age)
        for revocation_list in crls:
            next_update = revocation_list["tbs_cert_list"]["next_update"].native
            expiries.append(next_update or fetched_at + self._max_age)
        earliest = min(expiries, default=fetched_at + self._max_age)
        remaining = max(earliest - fetched_at, timedelta(0))
        return fetched_at + min(remaining * self._refresh_fraction, self._max_age)


def _ocsp_certificates(response: ocsp.OCSPResponse) -> list[x509.Certificate]:
    basic = response["response_bytes"]["response"].parsed
    certs = basic["certs"]
    return list(certs) if certs.native is not None else []
