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

Nothing here holds personal data: hashes, times, codes and the TSA's URL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiltas.models import Document

RENEWAL_REASON = "tsa_certificate_expiring"
"""Why the scheduled job renews: the last TSA certificate expires within the margin."""


@dataclass(frozen=True)
class ArchivedVersion:
    """A signed document's current PDF, as the renewal job sees it."""

    public_id: str
    pdf_sha256: str


def signed_versions(session: Session, *, batch: int = 500) -> Iterator[ArchivedVersion]:
    """Every signed document's current PDF, in id order, read in batches."""
    last_id = 0
    while True:
        rows = session.execute(
            select(Document.id, Document.public_id, Document.pdf_sha256)
            .where(
                Document.signed_at.is_not(None),
                Document.pdf_sha256.is_not(None),
                Document.id > last_id,
            )
            .order_by(Document.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row_id, public_id, pdf_sha256 in rows:
            last_id = row_id
            if pdf_sha256 is not None:
                yield ArchivedVersion(public_id, pdf_sha256)


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
