"""Batches: many documents asked for in one call, followed as one job.

A batch's progress is its documents' states, counted from the documents themselves, so
nothing can drift: a batch is finished when each document is signed (or generated, for a
batch that does not sign), failed or cancelled. Cancelling stops what has not started: the
documents still waiting are cancelled; those made stay as they are and are signed no further.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiltas import audit
from tiltas.access import CASE_ROLES
from tiltas.apikeys import Principal
from tiltas.documents import DocumentStatus, next_signer
from tiltas.errors import Forbidden, NotFound
from tiltas.models import Batch, Document, utcnow


class BatchState(StrEnum):
    running = "running"
    completed = "completed"
    cancelled = "cancelled"


@dataclass(frozen=True)
class BatchProgress:
    batch: Batch
    counts: dict[str, int]
    failures: list[dict[str, Any]]
    state: BatchState


def create(session: Session, principal: Principal, documents: list[Document], sign: bool) -> Batch:
    """Group requested documents (already stored in this transaction) into a batch."""
    batch = Batch(
        public_id=str(uuid.uuid4()),
        organisation_id=principal.organisation_id,
        status=BatchState.running.value,
        sign=sign,
        total=len(documents),
        created_at=utcnow(),
        created_by=principal.key_id,
    )
    session.add(batch)
    session.flush()
    for document in documents:
        document.batch_id = batch.id
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.create,
        "batch",
        batch.public_id,
        detail={"documents": len(documents), "sign": sign},
    )
    return batch


def load(
    session: Session, principal: Principal, public_id: str, *, for_update: bool = False
) -> Batch:
    """A batch of the caller's organisation (others' are not found)."""
    query = select(Batch).where(
        Batch.public_id == public_id, Batch.organisation_id == principal.organisation_id
    )
    batch = session.scalar(query.with_for_update() if for_update else query)
    if batch is None:
        raise NotFound(f"no batch {public_id}")
    return batch


def progress(session: Session, batch: Batch) -> BatchProgress:
    counts: Counter[str] = Counter(
        {
            status: count
            for status, count in session.execute(
                select(Document.status, func.count())
                .where(Document.batch_id == batch.id)
                .group_by(Document.status)
            ).tuples()
        }
    )
    failing = session.execute(
        select(Document.public_id, Document.status, Document.failure)
        .where(Document.batch_id == batch.id, Document.failure.is_not(None))
        .order_by(Document.id)
    ).tuples()
    failures = [
        {"document_id": public_id, "status": status, **(failure or {})}
        for public_id, status, failure in failing
    ]
    finished = {DocumentStatus.signed, DocumentStatus.failed, DocumentStatus.cancelled}
    if not batch.sign:
        finished.add(DocumentStatus.generated)
    pending = sum(n for status, n in counts.items() if status not in finished)
    if batch.status == BatchState.cancelled:
        state = BatchState.cancelled
    else:
        state = BatchState.running if pending else BatchState.completed
    all_counts = {status.value: counts.get(status.value, 0) for status in DocumentStatus}
    return BatchProgress(batch, all_counts, failures, state)


def cancel(session: Session, principal: Principal, public_id: str) -> Batch:
    batch = load(session, principal, public_id, for_update=True)
    if principal.role not in CASE_ROLES:
        # An auditor or administrator reads a batch's counts; stopping documents is casework.
        raise Forbidden(f"role {principal.role.value} may not cancel documents")
    if batch.status == BatchState.cancelled:
        return batch
    now = utcnow()
    batch.status = BatchState.cancelled.value
    batch.cancelled_at = now
    waiting = session.scalars(
        select(Document)
        .where(Document.batch_id == batch.id, Document.status == DocumentStatus.requested)
        .with_for_update()
    )
    for document in waiting:
        document.status = DocumentStatus.cancelled.value
        document.version += 1
        document.updated_at = now
    audit.record(
        session, principal.actor, audit.AuditAction.update, "batch", batch.public_id,
        detail={"to": "cancelled"},
    )  # fmt: skip
    return batch


def documents_of(session: Session, batch: Batch) -> list[Document]:
    return list(
        session.scalars(select(Document).where(Document.batch_id == batch.id).order_by(Document.id))
    )


def next_signature(session: Session, document: Document) -> int | None:
    """For a batch that signs: the signer to sign this document next, if any (None when the
    document is in no such batch, the batch was cancelled, or every signer has signed)."""
    if document.batch_id is None:
        return None
    batch = session.get(Batch, document.batch_id)
    if batch is None or not batch.sign or batch.status == BatchState.cancelled:
        return None
    if document.status != DocumentStatus.generated or document.failure is not None:
        return None
    return next_signer(document)
