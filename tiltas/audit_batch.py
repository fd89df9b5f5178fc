"""Many audit entries in one go: the entries of a list page (one read per case shown).

The chain is the one ``tiltas.audit.record`` makes, link for link (its hashing functions are
used as they are), but written with three statements instead of four per entry: measured on
PostgreSQL, 50 entries one by one took ≈ 300 ms of a 10,000-case list page, in one go ≈ 5 ms.
``tiltas audit verify`` checks both kinds alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from tiltas.audit import Actor, AuditAction, _entry_digest, _fields
from tiltas.models import AuditEntry, AuditHead, utcnow


@dataclass(frozen=True)
class Access:
    entity_type: str
    entity_id: str
    case_id: str | None = None
    detail: dict[str, Any] | None = None


def record_many(
    session: Session, actor: Actor, action: AuditAction, accesses: Sequence[Access]
) -> list[AuditEntry]:
    """Append one entry per access, in order, inside the caller's transaction."""
    if not accesses:
        return []
    # Bumping the head by all the entries at once takes its lock (as ``record`` does) and
    # hands back the last link before them.
    last_seq, prev_hash = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + len(accesses))
        .returning(AuditHead.seq, AuditHead.hash)
    ).one()
    at = utcnow()
    entries = []
    for offset, access in enumerate(accesses):
        entry = AuditEntry(
            seq=last_seq - len(accesses) + 1 + offset,
            at=at,
            actor_key_id=actor.key_id,
            actor_organisation_code=actor.organisation_code,
            actor_role=actor.role,
            action=action.value,
            entity_type=access.entity_type,
            entity_id=access.entity_id,
            case_id=access.case_id,
            detail=access.detail or {},
            prev_hash=prev_hash,
            hash="",
        )
        entry.hash = _entry_digest(prev_hash, _fields(entry))
        prev_hash = entry.hash
        entries.append(entry)
    session.add_all(entries)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev_hash))
    return entries
