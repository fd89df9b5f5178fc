"""Scheduled archive renewal (DOMAIN.md §8): a new document timestamp before the last one's TSA
certificate expires; renewing after that cannot repair the chain.

One run looks at every signed document's current PDF, picks those whose last document
timestamp's TSA certificate expires within the margin (read from each stored version once and
kept in the database, :func:`tiltas.archive.versions_to_check`), verifies each (whole document,
offline) and refuses a broken one — a warning naming only the document's public id, and a
refusal in ``documents.renewals`` — or adds fresh validation data and a new document
timestamp (:mod:`signing.renewal`). The new version is stored, the previous one stays in
the file store and in ``pdf_history``, and the renewal is recorded (:mod:`tiltas.archive`).

Idempotent and safe to run twice at once: a renewed document is no longer due, and the new
version is recorded only if the document still has the version that was renewed (row lock),
so a duplicate run's extra timestamp is dropped, never stored as a version. When no TSA
answers nothing changes; the next run tries again (the margin is months, runs are daily).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pyhanko.pdf_utils.misc import PdfError
from sqlalchemy.orm import Session, sessionmaker

from signing.errors import RenewalRefused, TimestampUnavailable, VerificationRefused
from signing.renewal import (
    async_check_renewal,
    async_renew_archive_timestamp,
    last_archive_timestamp_expiry,
)
from signing.verification import VerificationPolicy
from tiltas import archive, documents
from tiltas.db import transaction
from tiltas.settings import Settings
from tiltas.storage import FileStore, StorageError
from workers.signing_runtime import SigningRuntime, signing_runtime_for

log = logging.getLogger("tiltas.archive")

RENEWALS_PER_RUN = 500
"""At most this many renewals per run (about a second each), so that a run stays well below
the broker's visibility timeout (DOMAIN.md §9); the rest are renewed by the next runs."""


EXPIRIES_PER_TRANSACTION = 200
"""Expiries read from PDFs are written in groups of this many: a run that stops midway keeps
what it read."""


@dataclass
class RenewalRun:
    """What one run did (counts only: no document data)."""

    dry_run: bool
    checked: int = 0
    """Signed documents looked at."""
    due: int = 0
    renewed: int = 0
    refused: int = 0
    """Broken chain (or no document timestamp): not renewed, alert raised."""
    unavailable: int = 0
    """No TSA answered: not renewed this time."""
    unreadable: int = 0
    """The stored PDF is missing, corrupt or cannot be parsed."""
    deferred: int = 0
    """Due, left for the next run (``RENEWALS_PER_RUN``) or changed meanwhile."""

    def summary(self) -> str:
        verb = "would renew" if self.dry_run else "renewed"
        text = (
            f"archive renewal{' (dry run)' if self.dry_run else ''}: {self.checked} signed "
            f"documents checked, {self.due} due, {verb} {self.renewed}, refused {self.refused}"
        )
        if self.unavailable:
            text += f", no TSA answered for {self.unavailable}"
        if self.unreadable:
            text += f", unreadable {self.unreadable}"
        if self.deferred:
            text += f", deferred {self.deferred}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ArchiveRenewal:
    sessions: sessionmaker[Session]
    store: FileStore
    runtime: SigningRuntime
    margin: timedelta

    @property
    def policy(self) -> VerificationPolicy:
        return VerificationPolicy(
            trust_roots=tuple(cert.dump() for cert in self.runtime.service.trust_roots),
            renewal_margin=self.margin,
        )

    def run(
        self,
        *,
        dry_run: bool = False,
        now: datetime | None = None,
        limit: int = RENEWALS_PER_RUN,
    ) -> RenewalRun:
        moment = now or datetime.now(UTC)
        outcome = RenewalRun(dry_run=dry_run)
        policy = self.policy
        attempts = 0
        versions, outcome.checked = self._versions(due_before=moment + self.margin)
        read: dict[str, datetime | None] = {}
        try:
            for version in versions:
                try:
                    pdf = self.store.get(version.pdf_sha256)
                    if version.expiry_known:
                        expiry = version.tsa_expires
                    else:
                        expiry = last_archive_timestamp_expiry(pdf)
                        read[version.pdf_sha256] = expiry
                except (StorageError, PdfError, ValueError, KeyError, TypeError):
                    log.warning("archive renewal: document %s cannot be read", version.public_id)
                    outcome.unreadable += 1
                    continue
                if len(read) >= EXPIRIES_PER_TRANSACTION:
                    self._remember(read, moment)
                if expiry is not None and expiry - self.margin > moment:
                    continue
                outcome.due += 1
                if expiry is None:  # signed, but no document timestamp: nothing to renew
                    self._refuse(version, "no_archive_timestamp", None, moment, outcome, dry_run)
                    continue
                if attempts >= limit:
                    outcome.deferred += 1
                    continue
                attempts += 1
                self._renew(version, pdf, policy, moment, outcome, dry_run=dry_run, now=now)
        finally:
            self._remember(read, moment)
        return outcome

    def _versions(self, *, due_before: datetime) -> tuple[list[archive.ArchivedVersion], int]:
        with transaction(self.sessions) as session:
            versions = list(archive.versions_to_check(session, due_before=due_before))
            return versions, archive.count_signed(session)

    def _remember(self, read: dict[str, datetime | None], moment: datetime) -> None:
        if read:
            with transaction(self.sessions) as session:
                archive.remember_expiries(session, read, at=moment)
            read.clear()

    def _renew(
        self,
        version: archive.ArchivedVersion,
        pdf: bytes,
        policy: VerificationPolicy,
        moment: datetime,
        outcome: RenewalRun,
        *,
        dry_run: bool,
        now: datetime | None,
    ) -> None:
        service = self.runtime.service
        try:
            if dry_run:
                service.run(async_check_renewal(pdf, policy, now=moment))
                outcome.renewed += 1
                return
            # the document's own time (unless the run was given one): fresh revocation data
            # fetched minutes into a long run is "too recent" for the run's start
            result = service.run(
                async_renew_archive_timestamp(
                    pdf, policy=policy, timestampers=service.timestampers, now=now
                )
            )
        except RenewalRefused as refusal:
            if refusal.reason == "not_due":  # the full verification saw a later expiry
                outcome.due -= 1
                return
            self._refuse(version, refusal.reason, refusal.indication, moment, outcome, dry_run)
            return
        except VerificationRefused as refusal:
            self._refuse(version, refusal.reason, None, moment, outcome, dry_run)
            return
        except TimestampUnavailable:
            log.warning("archive renewal: no TSA answered for document %s", version.public_id)
            outcome.unavailable += 1
            return
        new_sha256 = self.store.put(result.pdf)
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, version.public_id)
            if document is None or document.pdf_sha256 != version.pdf_sha256:
                outcome.deferred += 1  # changed meanwhile (another run, a new signature)
                return
            archive.record_renewal(
                document,
                new_sha256=new_sha256,
                new_size=len(result.pdf),
                tsa_url=result.tsa_url,
                previous_tsa_expires=result.previous_expiry,
                tsa_expires=result.new_expiry,
                at=moment,
            )
            if result.new_expiry is not None:  # the new version need not be read again
                archive.remember_expiries(session, {new_sha256: result.new_expiry}, at=moment)
        log.info("archive renewal: document %s renewed", version.public_id)
        outcome.renewed += 1

    def _refuse(
        self,
        version: archive.ArchivedVersion,
        reason: str,
        indication: str | None,
        moment: datetime,
        outcome: RenewalRun,
        dry_run: bool = False,
    ) -> None:
        # An alert for people: the public id only, never the document's content.
        log.warning(
            "archive renewal %s for document %s: %s (%s)",
            "would be REFUSED" if dry_run else "REFUSED",
            version.public_id,
            reason,
            indication or "-",
        )
        outcome.refused += 1
        if dry_run:
            return
        with transaction(self.sessions) as session:
            document = documents.load_for_generation(session, version.public_id)
            if document is not None and document.pdf_sha256 == version.pdf_sha256:
                archive.record_refusal(document, reason=reason, indication=indication, at=moment)


def archive_renewal_for(settings: Settings, sessions: sessionmaker[Session]) -> ArchiveRenewal:
    return ArchiveRenewal(
        sessions,
        FileStore(settings.documents_dir),
        signing_runtime_for(settings),
        timedelta(days=settings.renewal_margin_days),
    )
