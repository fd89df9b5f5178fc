"""Entries written in one go (a list page's reads) make the same chain as one by one; entries
join the chain when their transaction commits, and not at all when it rolls back."""

from __future__ import annotations

import datetime as dt
import gc
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.support.factories import World
from tiltas import audit
from tiltas.audit import Access, record_many
from tiltas.db import make_engine, make_sessionmaker, transaction
from tiltas.migrate import upgrade
from tiltas.models import AuditEntry, AuditHead


def test_batched_entries_continue_the_chain_and_tampering_shows(world: World) -> None:
    database = world.client.app.state.database  # type: ignore[attr-defined]
    actor = audit.Actor("user:abc", world.institution.code, "director")
    with transaction(database.sessions) as session:
        audit.record(session, actor, audit.AuditAction.read, "case", "c-0", case_id="c-0")
        written = record_many(
            session,
            actor,
            audit.AuditAction.read,
            [Access("case", f"c-{i}", f"c-{i}", {"via": "list"}) for i in range(1, 6)],
        )
        audit.record(session, actor, audit.AuditAction.read, "case", "c-6", case_id="c-6")
        assert record_many(session, actor, audit.AuditAction.read, []) == []
    with transaction(database.sessions) as session:
        assert audit.verify_chain(session).ok
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        ours = [e.entity_id for e in entries if e.actor_key_id == "user:abc"]
        assert ours == [f"c-{i}" for i in range(7)]
        first = written[0].seq
        assert first is not None, "linked into the chain at commit"
        assert [e.seq for e in written] == list(range(first, first + 5))
        middle = written[2].seq
    with transaction(database.sessions) as session:
        # Triggers refuse UPDATE; a forger drops them first (as the audit tests do).
        dialect = session.bind.dialect.name if session.bind else ""
        if dialect == "sqlite":
            session.execute(text("DROP TRIGGER audit_entries_no_update"))
        else:
            session.execute(
                text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only")
            )
        session.execute(
            text("UPDATE audit_entries SET entity_id = 'c-x' WHERE seq = :seq"), {"seq": middle}
        )
    with transaction(database.sessions) as session:
        report = audit.verify_chain(session)
        assert not report.ok and report.first_bad_seq == middle


def test_entries_of_a_rolled_back_transaction_are_not_written(world: World) -> None:
    database = world.client.app.state.database  # type: ignore[attr-defined]
    actor = audit.Actor("user:abc", world.institution.code, "director")
    with transaction(database.sessions) as session:
        before = session.get(AuditHead, 1)
        assert before is not None
        head_before = (before.seq, before.hash)
    try:
        with transaction(database.sessions) as session:
            audit.record(session, actor, audit.AuditAction.read, "case", "gone", case_id="gone")
            raise LookupError("the caller's work failed")
    except LookupError:
        pass
    with transaction(database.sessions) as session:
        head = session.get(AuditHead, 1)
        assert head is not None and (head.seq, head.hash) == head_before
        assert session.scalars(select(AuditEntry).where(AuditEntry.entity_id == "gone")).all() == []
        audit.record(session, actor, audit.AuditAction.read, "case", "kept", case_id="kept")
    with transaction(database.sessions) as session:
        assert [e.entity_id for e in session.scalars(select(AuditEntry)).all()][-1] == "kept"
        assert audit.verify_chain(session).ok


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_chain_is_not_locked_while_a_transaction_works(world: World) -> None:
    """Entries join the chain at commit: a transaction that recorded an entry and is still
    working does not hold up another transaction's audited commit (on PostgreSQL; SQLite has
    one writer at a time anyway)."""
    database = world.client.app.state.database  # type: ignore[attr-defined]
    actor = audit.Actor("user:abc", world.institution.code, "director")
    committed = threading.Event()

    def other() -> None:
        with transaction(database.sessions) as session:
            audit.record(session, actor, audit.AuditAction.read, "case", "second", case_id="s")
        committed.set()

    with transaction(database.sessions) as session:
        audit.record(session, actor, audit.AuditAction.read, "case", "first", case_id="f")
        session.flush()
        thread = threading.Thread(target=other)
        thread.start()
        # Before, the first entry took the chain's lock and the other commit waited here.
        assert committed.wait(60), "the other transaction's commit waited for this one"
    thread.join(60)
    with transaction(database.sessions) as session:
        ours = [e.entity_id for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert ours[-2:] == ["second", "first"]
        assert audit.verify_chain(session).ok


def test_every_new_session_factory_appends_entries(tmp_path: Path) -> None:
    """Tests and tools make many session factories; one made where a collected one lived must
    still get the hooks (``event.contains`` said it had them when its id was reused)."""
    url = f"sqlite:///{tmp_path / 'tiltas.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    actor = audit.Actor("user:abc", "188000011", "director")
    for index in range(50):
        with transaction(make_sessionmaker(engine)) as session:
            audit.record(session, actor, audit.AuditAction.read, "case", f"f-{index}")
        gc.collect()
    with transaction(make_sessionmaker(engine)) as session:
        assert len(session.scalars(select(AuditEntry)).all()) == 50
        assert audit.verify_chain(session).ok
    engine.dispose()


@pytest.mark.parametrize("seq", [1, 9, 10, 123_456_789])
def test_an_entry_serialised_before_linking_hashes_as_verification_does(seq: int) -> None:
    """Entries are serialised when recorded and only get their ``seq`` under the lock; the
    digest must be the one ``verify_chain`` recomputes from the stored row."""
    actor = audit.Actor("user:ž", "188700001", "director")
    entry = audit.RecordedEntry(
        at=dt.datetime.now(dt.UTC),
        actor_key_id=actor.key_id,
        actor_organisation_code=actor.organisation_code,
        actor_role=actor.role,
        action="read",
        entity_type="case",
        entity_id="c-1",
        case_id=None,
        detail={"sections": ["needs", "risk"], "pastaba": "Šiaulių ąžuolas"},
    )
    unlinked = audit._unlinked_canonical(entry)
    entry.seq = seq
    prev = "ab" * 32
    assert audit._linked_digest(prev, unlinked, seq) == audit._entry_digest(
        prev, audit._fields(entry)
    )
