"""The append-only, hash-chained audit log of every access to personal data.

Each entry's hash covers the previous entry's hash and the entry's own canonical JSON, so
changing, inserting or removing an entry anywhere breaks every later link; the head row
holds the last link, so removing entries at the end is detected too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from tiltas.models import AuditEntry, AuditHead, Case, CaseParticipant, utcnow

GENESIS = "0" * 64


class AuditAction(StrEnum):
    create = "create"
    read = "read"
    update = "update"
    revoke = "revoke"


@dataclass(frozen=True)
class Actor:
    key_id: str
    organisation_code: str
    role: str


def _entry_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev_hash.encode() + canonical.encode("utf-8")).hexdigest()


def _fields(entry: AuditEntry) -> dict[str, Any]:
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=dt.UTC)
    return {
        "seq": entry.seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_key_id": entry.actor_key_id,
        "actor_organisation_code": entry.actor_organisation_code,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "case_id": entry.case_id,
        "detail": entry.detail,
    }


def record(
    session: Session,
    actor: Actor,
    action: AuditAction,
    entity_type: str,
    entity_id: str,
    *,
    case_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's transaction (it commits with the change it records)."""
    # Bumping the head first takes its row lock (PostgreSQL) or the write lock (SQLite),
    # so concurrent appenders queue here instead of forking the chain.
    seq = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq)
    ).scalar_one()
    prev_hash = session.execute(select(AuditHead.hash).where(AuditHead.id == 1)).scalar_one()
    entry = AuditEntry(
        seq=seq,
        at=utcnow(),
        actor_key_id=actor.key_id,
        actor_organisation_code=actor.organisation_code,
        actor_role=actor.role,
        action=action.value,
        entity_type=entity_type,
        entity_id=entity_id,
        case_id=case_id,
        detail=detail or {},
        prev_hash=prev_hash,
        hash="",
    )
    entry.hash = _entry_digest(prev_hash, _fields(entry))
    session.add(entry)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=entry.hash))
    return entry


@dataclass(frozen=True)
class ChainReport:
    entries: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows: Iterable[AuditEntry] = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        rows = list(rows)
        if not rows:
            break
        for entry in rows:
            if entry.seq != expected_seq:
                return ChainReport(count, False, expected_seq, "an entry is missing")
            if entry.prev_hash != prev_hash:
                return ChainReport(
                    count, False, entry.seq, "the link to the previous entry is broken"
                )
            if _entry_digest(prev_hash, _fields(entry)) != entry.hash:
                return ChainReport(
                    count, False, entry.seq, "the entry was changed after it was written"
                )
            prev_hash = entry.hash
            expected_seq += 1
            count += 1
            last_seq = entry.seq
    head = session.get(AuditHead, 1)
    if head is None:
        return ChainReport(count, False, None, "the chain head is missing")
    if head.seq != count or head.hash != prev_hash:
        return ChainReport(count, False, count + 1, "entries at the end of the log were removed")
    return ChainReport(count, True)


def entries_for_organisation(
    session: Session,
    organisation_id: int,
    organisation_code: str,
    *,
    case_id: str | None,
    after_seq: int,
    limit: int,
) -> list[AuditEntry]:
    """Entries made by the organisation's keys or about cases it takes part in."""
    own_cases = (
        select(Case.public_id)
        .join(CaseParticipant, CaseParticipant.case_id == Case.id)
        .where(CaseParticipant.organisation_id == organisation_id)
    )
    query = select(AuditEntry).where(
        AuditEntry.seq > after_seq,
        or_(
            AuditEntry.actor_organisation_code == organisation_code,
            AuditEntry.case_id.in_(own_cases),
        ),
    )
    if case_id is not None:
        query = query.where(AuditEntry.case_id == case_id)
    return list(session.scalars(query.order_by(AuditEntry.seq).limit(limit)))
