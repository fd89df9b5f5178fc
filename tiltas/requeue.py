"""Finding documents whose next step was never queued, or whose task was given up.

The API stores a document and then puts its task on the queue: should it die between the two,
or the broker be unreachable at that moment, the document would wait ``requested`` forever.
Likewise a batch document whose signing task ran out of retries (a TSA gone for hours, a
database down for long) would stay ``generated``. The sweep finds such documents and puts
their step back on the queue; the steps are idempotent, so a document whose task was only
slow is not made twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiltas.batches import BatchState
from tiltas.documents import DocumentStatus, next_signer
from tiltas.models import Batch, Document

RETRYABLE_SIGNING_FAILURES = frozenset(
    {"timestamp_unavailable", "revocation_unavailable", "storage_full"}
)
"""A batch document whose last signing attempt failed for one of these is tried again."""


@dataclass(frozen=True)
class Stalled:
    generate: list[str]
    """Documents to produce (public ids)."""
    sign: list[tuple[str, int]]
    """Batch documents and the signer to sign next."""


def stalled(session: Session, now: dt.datetime, after: dt.timedelta, limit: int) -> Stalled:
    """Documents that have not moved for ``after`` (and were not put back within it), marked
    as put back now. At most ``limit`` of each kind per call; the next sweep takes the rest."""
    cutoff = now - after
    quiet = func.coalesce(Document.requeued_at, Document.updated_at) < cutoff
    to_generate = list(
        session.scalars(
            select(Document)
            .where(Document.status == DocumentStatus.requested, quiet)
            .order_by(Document.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    signing = session.scalars(
        select(Document)
        .join(Batch, Document.batch_id == Batch.id)
        .where(
            Document.status == DocumentStatus.generated,
            Batch.sign.is_(True),
            Batch.status != BatchState.cancelled,
            quiet,
        )
        .order_by(Document.id)
        .limit(limit)
        .with_for_update(of=Document, skip_locked=True)
    )
    to_sign: list[tuple[Document, int]] = []
    for document in signing:
        failure = document.failure
        if failure is not None and failure.get("code") not in RETRYABLE_SIGNING_FAILURES:
            continue
        index = next_signer(document)
        if index is not None:
            to_sign.append((document, index))
    for document in [*to_generate, *(d for d, _ in to_sign)]:
        document.requeued_at = now
    return Stalled(
        generate=[d.public_id for d in to_generate],
        sign=[(d.public_id, index) for d, index in to_sign],
    )
