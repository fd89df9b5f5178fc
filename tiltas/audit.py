"""The append-only, hash-chained audit log of every access to personal data.

Each entry's hash covers the previous entry's hash and the entry's own canonical JSON, so
changing, inserting or removing an entry anywhere breaks every later link; the head row
holds the last link, so removing entries at the end is detected too.

An entry is written with the transaction that records it (``audit_pending``, gone if it rolls
back) and linked into the chain right after that commit by one linker at a time, so no
request waits for the chain's lock. Readers of the log link what is left before they read; a
beat task links what a dead linker left. Until then (normally milliseconds) an entry is
stored but not yet chained.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, event, insert, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from tiltas.db import Base
from tiltas.models import AuditEntry, AuditHead, AuditPending, Case, CaseParticipant, utcnow

log = logging.getLogger(__name__)

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
    return _canonical_fields({name: getattr(entry, name) for name in _ENTRY_FIELDS}, entry.seq)


_ENTRY_FIELDS = (
    "at",
    "actor_key_id",
    "actor_organisation_code",
    "actor_role",
    "action",
    "entity_type",
    "entity_id",
    "case_id",
    "detail",
)


def _canonical_fields(values: Mapping[Any, Any], seq: int) -> dict[str, Any]:
    at = values["at"] if values["at"].tzinfo else values["at"].replace(tzinfo=dt.UTC)
    return {
        "seq": seq,
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_key_id": values["actor_key_id"],
        "actor_organisation_code": values["actor_organisation_code"],
        "actor_role": values["actor_role"],
        "action": values["action"],
        "entity_type": values["entity_type"],
        "entity_id": values["entity_id"],
        "case_id": values["case_id"],
        "detail": values["detail"],
    }


@dataclass(frozen=True)
class RecordedEntry:
    """An entry recorded in a transaction, written with it when it commits."""

    at: dt.datetime
    actor_key_id: str
    actor_organisation_code: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str
    case_id: str | None
    detail: dict[str, Any]


def record(
    session: Session,
    actor: Actor,
    action: AuditAction,
    entity_type: str,
    entity_id: str,
    *,
    case_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> RecordedEntry:
    """Record one entry in the caller's transaction: written when that transaction commits
    (gone if it rolls back) and linked into the chain right after."""
    [entry] = record_many(session, actor, action, [Access(entity_type, entity_id, case_id, detail)])
    return entry


@dataclass(frozen=True)
class Access:
    entity_type: str
    entity_id: str
    case_id: str | None = None
    detail: dict[str, Any] | None = None


def record_many(
    session: Session, actor: Actor, action: AuditAction, accesses: Sequence[Access]
) -> list[RecordedEntry]:
    """Record one entry per access, in order (a list page's reads), as ``record`` does."""
    at = utcnow()
    entries = [
        RecordedEntry(
            at=at,
            actor_key_id=actor.key_id,
            actor_organisation_code=actor.organisation_code,
            actor_role=actor.role,
            action=action.value,
            entity_type=access.entity_type,
            entity_id=access.entity_id,
            case_id=access.case_id,
            detail=access.detail or {},
        )
        for access in accesses
    ]
    session.info.setdefault(_PENDING, []).extend(entries)
    return entries


_PENDING = "tiltas.audit.pending"
_WROTE = "tiltas.audit.wrote"


def append_on_commit(sessions: sessionmaker[Session]) -> None:
    """Have every session of ``sessions`` write its recorded entries with its commit, as the
    last thing before it, and link them into the chain right after it."""
    if not event.contains(sessions, "before_commit", _write_pending):
        event.listen(sessions, "before_commit", _write_pending)
        event.listen(sessions, "after_commit", _nothing_left)
        # After the session has given its connection back: linking needs one of its own.
        event.listen(sessions, "after_transaction_end", _link_written)
        event.listen(sessions, "after_rollback", _drop_pending)


def _write_pending(session: Session) -> None:
    # [design] Entries are committed unlinked and chained by one linker at a time right after:
    # appending to the chain inside each transaction took the head's row lock until commit,
    # and under load ≈ 10 audited requests at a time waited for it.
    pending: list[RecordedEntry] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.execute(insert(_table(AuditPending)).values([vars(entry) for entry in pending]))
    session.info[_WROTE] = True


def _nothing_left(session: Session) -> None:
    if session.info.get(_PENDING):
        raise RuntimeError("audit entries were recorded after the transaction's were written")


def _link_written(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or not session.info.pop(_WROTE, False):
        return
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    try:
        link_pending(engine)
    except (DBAPIError, PoolTimeout):
        # Committed, so not lost: the next linker (any commit's, or the audit sweep's) takes it.
        log.warning("audit entries left for the next linker: the database did not answer")


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_WROTE, None)


def link_pending(engine: Engine, *, batch: int = 1000) -> int:
    """Move committed, unlinked entries into the chain, oldest first, and return how many.

    One linker at a time holds the chain's head. A busy head means another linker is at work:
    this returns at once, and that linker takes these entries too (it looks again after each
    commit, and these were committed before the head was found busy)."""
    linked = 0
    while True:
        with engine.begin() as connection:
            moved = _link_once(connection, wait=False, batch=batch)
        if not moved:
            return linked
        linked += moved


def link_before_reading(session: Session) -> None:
    """Link every entry committed so far, in the reader's transaction (waiting for a linker
    at work): the audit log's readers and its check see all of them."""
    while _link_once(session.connection(), wait=True, batch=1000):
        pass


def _link_once(connection: Connection, *, wait: bool, batch: int) -> int:
    head, pending, entries = _table(AuditHead), _table(AuditPending), _table(AuditEntry)
    found = connection.execute(
        select(head.c.seq, head.c.hash).where(head.c.id == 1).with_for_update(skip_locked=not wait)
    ).first()
    if found is None:
        return 0
    seq, prev_hash = found
    rows = connection.execute(select(pending).order_by(pending.c.id).limit(batch)).mappings().all()
    if not rows:
        return 0
    chained = []
    for row in rows:
        seq += 1
        digest = _entry_digest(prev_hash, _canonical_fields(row, seq))
        values = {name: row[name] for name in _ENTRY_FIELDS}
        chained.append({**values, "seq": seq, "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    connection.execute(insert(entries).values(chained))
    connection.execute(delete(pending).where(pending.c.id.in_([row["id"] for row in rows])))
    connection.execute(update(head).where(head.c.id == 1).values(seq=seq, hash=prev_hash))
    return len(rows)


def _table(model: type[Base]) -> Table:
    return model.metadata.tables[model.__tablename__]


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
