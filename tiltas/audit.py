"""The append-only, hash-chained audit log of every access to personal data.

Each entry's hash covers the previous entry's hash and the entry's own canonical JSON, so
changing, inserting or removing an entry anywhere breaks every later link; the head row
holds the last link, so removing entries at the end is detected too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, event, insert, or_, select, text, update
from sqlalchemy.orm import Session, sessionmaker

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


def _canonical(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _entry_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(fields).encode("utf-8")).hexdigest()


def _unlinked_canonical(entry: RecordedEntry) -> str:
    """The entry's canonical JSON up to its ``seq``, which sorts last of its keys: serialised
    when the entry is recorded, so the chain's lock is held only for ``_linked_digest``."""
    canonical = _canonical(_fields(entry) | {"seq": 0})
    return canonical.removesuffix("0}")


def _linked_digest(prev_hash: str, unlinked: str, seq: int) -> str:
    """``_entry_digest`` of the entry once linked at ``seq``."""
    return hashlib.sha256(f"{prev_hash}{unlinked}{seq}}}".encode()).hexdigest()


def _fields(entry: AuditEntry | RecordedEntry) -> dict[str, Any]:
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


@dataclass
class RecordedEntry:
    """An entry recorded in a transaction; ``seq``, ``prev_hash`` and ``hash`` are set when
    it is linked into the chain at commit (``AuditEntry``'s columns, without the ORM's cost
    for a page of 50)."""

    at: dt.datetime
    actor_key_id: str
    actor_organisation_code: str
    actor_role: str
    action: str
    entity_type: str
    entity_id: str
    case_id: str | None
    detail: dict[str, Any]
    seq: int | None = None
    prev_hash: str = ""
    hash: str = ""


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
    """Record one entry in the caller's transaction: it is linked into the chain and written
    when that transaction commits, and is gone if it rolls back."""
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
    """Record one entry per access, in order (a list page's reads), as ``record`` does.

    The entries get their place in the chain (``seq``, ``prev_hash``, ``hash``) at commit."""
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
    session.info.setdefault(_PENDING, []).extend(
        (entry, _unlinked_canonical(entry)) for entry in entries
    )
    return entries


_PENDING = "tiltas.audit.pending"


def append_on_commit(sessions: sessionmaker[Session]) -> None:
    """Have every session of ``sessions`` link its recorded entries into the chain as the last
    thing before it commits (after any other hook that may still record or lock)."""
    # Called once, by ``make_sessionmaker`` on the factory it has just made: no guard (a guard
    # with ``event.contains``, which keys by ``id()``, skipped factories that reused an id).
    event.listen(sessions, "before_commit", _append_pending)
    event.listen(sessions, "after_commit", _nothing_left)
    event.listen(sessions, "after_rollback", _drop_pending)


def _append_pending(session: Session) -> None:
    """Bumping the head takes its row lock (PostgreSQL) or the write lock (SQLite), so
    concurrent appenders queue there instead of forking the chain. Taken after the
    transaction's own writes are flushed, the lock is held only for the append and the commit:
    taken at the first entry, it was held while a list page serialised its 50 cases or a new
    case's deadlines were computed, and every other audited request queued behind it."""
    pending: list[tuple[RecordedEntry, str]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        _append_in_one_statement(session, pending)
        return
    # From here to the commit every other audited request waits: only hashing and rows.
    last_seq, prev_hash = session.execute(_BUMP_HEAD, {"added": len(pending)}).one()
    last_hash = _link(pending, last_seq, prev_hash)
    session.execute(_INSERT_ENTRIES, [dict(vars(entry)) for entry, _ in pending])
    session.execute(_SET_HEAD_HASH, {"last_hash": last_hash})


def _link(pending: list[tuple[RecordedEntry, str]], last_seq: int, prev_hash: str) -> str:
    """Give the entries their ``seq`` (ending at ``last_seq``) and hashes after ``prev_hash``;
    returns the last hash."""
    for seq, (entry, unlinked) in enumerate(pending, start=last_seq - len(pending) + 1):
        entry.seq = seq
        entry.prev_hash = prev_hash
        entry.hash = prev_hash = _linked_digest(prev_hash, unlinked, seq)
    return prev_hash


# Core statements on the tables, built once: each round trip under the head's lock is one
# more wait for every audited request behind it, and building the statements anew for every
# commit was a fifth of a list page's CPU. The entries go as one statement executed for many
# rows (psycopg pipelines them in one round trip); a multi-row VALUES was compiled afresh for
# every commit (bench/load_api.py --profile).
_HEAD = AuditHead.metadata.tables[AuditHead.__tablename__]
_BUMP_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(seq=_HEAD.c.seq + bindparam("added"))
    .returning(_HEAD.c.seq, _HEAD.c.hash)
)
_INSERT_ENTRIES = insert(AuditEntry.metadata.tables[AuditEntry.__tablename__])
_SET_HEAD_HASH = update(_HEAD).where(_HEAD.c.id == 1).values(hash=bindparam("last_hash"))


def _append_in_one_statement(session: Session, pending: list[tuple[RecordedEntry, str]]) -> None:
    """PostgreSQL: lock the head, link the entries (the digests in SQL, from the canonical
    JSON serialised when they were recorded), insert them and move the head, in one round
    trip. Appending from Python took four round trips under the lock, each one more wait for
    the GIL in a busy process, and under load requests queued more for the lock than they
    took to run (bench/load_api.py)."""
    # One JSON parameter: psycopg dumps Python lists as arrays in Python, which cost more
    # than the rest of a list page.
    given = json.dumps(
        [_fields(entry) | {"unlinked": unlinked} for entry, unlinked in pending],
        ensure_ascii=False,
    )
    last_seq, first_prev_hash = session.execute(_APPEND_POSTGRESQL, {"entries": given}).one()
    # The same links in Python, for the recorded entries (microseconds, after the statement).
    _link(pending, last_seq, first_prev_hash)


# ``_linked_digest`` in SQL: sha256(prev_hash || canonical JSON up to "seq": || seq || "}").
# The head's row lock, taken by the first CTE, is held until the transaction commits.
_APPEND_POSTGRESQL = text(
    """
WITH RECURSIVE
head AS (SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE),
pending AS (
    SELECT e.i, e.item FROM jsonb_array_elements(CAST(:entries AS jsonb)) WITH ORDINALITY
        AS e(item, i)
),
chain (i, seq, prev_hash, hash) AS (
    SELECT CAST(0 AS bigint), seq, CAST(NULL AS text), CAST(hash AS text) FROM head
    UNION ALL
    SELECT c.i + 1, c.seq + 1, c.hash,
        encode(sha256(convert_to(
            c.hash || (p.item ->> 'unlinked') || CAST(c.seq + 1 AS text) || '}', 'UTF8'
        )), 'hex')
    FROM chain AS c JOIN pending AS p ON p.i = c.i + 1
),
written AS (
    INSERT INTO audit_entries (seq, at, actor_key_id, actor_organisation_code, actor_role,
        action, entity_type, entity_id, case_id, detail, prev_hash, hash)
    SELECT c.seq, CAST(p.item ->> 'at' AS timestamptz), p.item ->> 'actor_key_id',
        p.item ->> 'actor_organisation_code', p.item ->> 'actor_role', p.item ->> 'action',
        p.item ->> 'entity_type', p.item ->> 'entity_id', p.item ->> 'case_id',
        p.item -> 'detail', c.prev_hash, c.hash
    FROM chain AS c JOIN pending AS p ON p.i = c.i
)
UPDATE audit_head SET seq = last.seq, hash = last.hash
FROM (
    SELECT seq, hash, (SELECT hash FROM head) AS first_prev_hash
    FROM chain ORDER BY i DESC LIMIT 1
) AS last
WHERE audit_head.id = 1
RETURNING last.seq, last.first_prev_hash
"""
)


def _nothing_left(session: Session) -> None:
    if session.info.get(_PENDING):
        raise RuntimeError("audit entries were recorded after the chain was appended")


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


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
