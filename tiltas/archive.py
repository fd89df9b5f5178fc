"""The archive's record of renewals: which signed documents to check, and what each renewal did.

DOMAIN.md §8: a document's archive timestamp is renewed before the TSA certificate of its
last document timestamp expires. Each renewal makes a new PDF version; the previous one stays
in the file store, listed in ``pdf_history`` like the versions signing made. Every outcome
that changed something or that someone must act on goes into ``documents.renewals``:

- ``renewed``: ``at``, ``reason``, ``previous_sha256``, ``new_sha256``, ``tsa_url``,
  ``previous_tsa_expires``, ``tsa_expires``;
- ``refused``: ``at``, ``reason`` (``chain_invalid``, ``no_archive_timestamp``…),
  ``previous_sha256`` and the verification's ``indication``; recorded once per version and
  reason, and also set as the document's ``failure``.

What the daily scan needs from each stored version — when the TSA certificate of its last
document timestamp expires — is read from the PDF once and kept in
``archive_timestamp_expiries`` (by the version's SHA-256: a version never changes), so later
scans are one query that returns only the versions not read yet or due.

Nothing here holds personal data: hashes, times, codes and the TSA's URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tiltas.models import ArchiveTimestampExpiry, Document

RENEWAL_REASON = "tsa_certificate_expiring"
"""Why the scheduled job renews: the last TSA certificate expires within the margin."""


@dataclass(frozen=True)
class ArchivedVersion:
    """A signed document's current PDF, as the renewal job sees it."""

    public_id: str
    pdf_sha256: str
    expiry_known: bool = False
    """The version was read before: ``tsa_expires`` is what it holds."""
    tsa_expires: dt.datetime | None = None
    """notAfter of its last document timestamp's TSA certificate (``None``: no document
    timestamp, or not read yet)."""


def count_signed(session: Session) -> int:
    """How many documents have a signed current PDF."""
    return int(
        session.scalar(
            select(func.count(Document.id)).where(
                Document.signed_at.is_not(None), Document.pdf_sha256.is_not(None)
            )
        )
        or 0
    )


def versions_to_check(
    session: Session, *, due_before: dt.datetime, batch: int = 500
) -> Iterator[ArchivedVersion]:
    """The signed current PDFs the renewal must look at, in id order, read in batches: those
    not read yet, those without a document timestamp, and those whose TSA certificate expires
    before ``due_before``. The rest are known not to be due."""
    last_id = 0
    while True:
        rows = session.execute(
            select(
                Document.id,
                Document.public_id,
                Document.pdf_sha256,
                ArchiveTimestampExpiry.pdf_sha256,
                ArchiveTimestampExpiry.tsa_expires,
            )
            .outerjoin(
                ArchiveTimestampExpiry,
                ArchiveTimestampExpiry.pdf_sha256 == Document.pdf_sha256,
            )
            .where(
                Document.signed_at.is_not(None),
                Document.pdf_sha256.is_not(None),
                Document.id > last_id,
                or_(
                    ArchiveTimestampExpiry.pdf_sha256.is_(None),
                    ArchiveTimestampExpiry.tsa_expires.is_(None),
                    ArchiveTimestampExpiry.tsa_expires <= due_before.astimezone(dt.UTC),
                ),
            )
            .order_by(Document.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row_id, public_id, pdf_sha256, known_sha256, tsa_expires in rows:
            last_id = row_id
            if pdf_sha256 is not None:
                yield ArchivedVersion(public_id, pdf_sha256, known_sha256 is not None, tsa_expires)


def remember_expiries(
    session: Session, expiries: Mapping[str, dt.datetime | None], *, at: dt.datetime
) -> None:
    """Keep each version's expiry (read from its PDF); a version already kept is left alone,
    so two runs at once both succeed."""
    if not expiries:
        return
    rows = [
        {"pdf_sha256": sha256, "tsa_expires": expires, "read_at": at}
        for sha256, expires in expiries.items()
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(ArchiveTimestampExpiry)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["pdf_sha256"])
    )


def record_renewal(
    document: Document,
    *,
    new_sha256: str,
    new_size: int,
    tsa_url: str | None,
    previous_tsa_expires: dt.datetime,
    tsa_expires: dt.datetime | None,
    at: dt.datetime,
) -> None:
    """The renewed PDF becomes the current version; the previous one joins the history."""
    previous = document.pdf_sha256 or ""
    document.pdf_history = [*document.pdf_history, previous]
    document.renewals = [
        *document.renewals,
        {
            "at": at.isoformat(),
            "outcome": "renewed",
            "reason": RENEWAL_REASON,
            "previous_sha256": previous,
            "new_sha256": new_sha256,
            "tsa_url": tsa_url,
            "previous_tsa_expires": previous_tsa_expires.isoformat(),
            "tsa_expires": tsa_expires.isoformat() if tsa_expires else None,
        },
    ]
    document.pdf_sha256 = new_sha256
    document.pdf_size = new_size
    document.failure = None
    document.version += 1
    document.updated_at = at


def record_refusal(
    document: Document, *, reason: str, indication: str | None, at: dt.datetime
) -> bool:
    """Note that this version may not be renewed; ``False`` if that was already noted."""
    entry: dict[str, Any] = {
        "at": at.isoformat(),
        "outcome": "refused",
        "reason": reason,
        "previous_sha256": document.pdf_sha256 or "",
        "indication": indication,
    }
    last = document.renewals[-1] if document.renewals else None
    if (
        last is not None
        and last.get("outcome") == "refused"
        and last.get("reason") == reason
        and last.get("previous_sha256") == entry["previous_sha256"]
    ):
        return False
    document.renewals = [*document.renewals, entry]
    document.failure = {
        "code": "archive_renewal_refused",
        "message": f"archive timestamp not renewed: {reason} ({indication or 'no indication'})",
    }
    document.version += 1
    document.updated_at = at
    return True
