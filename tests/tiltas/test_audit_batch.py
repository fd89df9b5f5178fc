"""Entries written in one go (a list page's reads) make the same chain as one by one; entries
are written when their transaction commits (not at all when it rolls back) and linked into the
chain right after, by one linker at a time; readers of the log link what a linker left."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text

from tests.support.factories import World
from tiltas import audit
from tiltas.access import Role
from tiltas.audit import Access, record_many
from tiltas.db import transaction
from tiltas.messaging import LINK_AUDIT_ENTRIES
from tiltas.models import AuditEntry, AuditHead, AuditPending, utcnow
from tiltas.settings import Settings
from workers.app import make_celery


def test_batched_entries_continue_the_chain_and_tampering_shows(world: World) -> None:
    database = world.client.app.state.database  # type: ignore[attr-defined]
    actor = audit.Actor("user:abc", world.institution.code, "director")
    with transaction(database.sessions) as session:
        audit.record(session, actor, audit.AuditAction.read, "case", "c-0", case_id="c-0")
        record_many(
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
        ours = [e for e in entries if e.actor_key_id == "user:abc"]
        assert [e.entity_id for e in ours] == [f"c-{i}" for i in range(7)]
        assert [e.seq for e in ours] == list(range(ours[0].seq, ours[0].seq + 7))
        middle = ours[3].seq
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


@pytest.mark.postgres
def test_the_chain_is_not_locked_while_a_transaction_works(world: World) -> None:
    """Entries join the chain at commit: a transaction that recorded an entry and is still
    working does not hold up another transaction's audited commit (on PostgreSQL; SQLite has
    one writer at a time anyway)."""
    database = world.client.app.state.database  # type: ignore[attr-defined]
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises every writing transaction")
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


@pytest.mark.postgres
def test_concurrent_commits_all_end_up_in_one_chain(world: World) -> None:
    """Many transactions committing at once on PostgreSQL: whichever of them links, every entry
    is linked exactly once, in one unbroken chain, and none is left waiting."""
    database = world.client.app.state.database  # type: ignore[attr-defined]
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises every writing transaction")
    actor = audit.Actor("user:many", world.institution.code, "director")
    start = threading.Barrier(8)

    def writer(index: int) -> None:
        start.wait(60)
        for round_ in range(25):
            with transaction(database.sessions) as session:
                accesses = [Access("case", f"w{index}-{round_}-{i}", None) for i in range(3)]
                record_many(session, actor, audit.AuditAction.read, accesses)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with transaction(database.sessions) as session:
        assert session.scalars(select(AuditPending)).all() == []
        ours = session.scalars(
            select(AuditEntry.entity_id).where(AuditEntry.actor_key_id == "user:many")
        ).all()
        assert sorted(ours) == sorted(
            f"w{i}-{r}-{k}" for i in range(8) for r in range(25) for k in range(3)
        )
        assert audit.verify_chain(session).ok


def _leave_unlinked(world: World, entity_id: str) -> None:
    """An entry committed but not linked: its linking process died, or the database went away
    right after the commit."""
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        session.add(
            AuditPending(
                at=utcnow(),
                actor_key_id="user:left",
                actor_organisation_code=world.institution.code,
                actor_role="director",
                action="read",
                entity_type="case",
                entity_id=entity_id,
                case_id=None,
                detail={},
            )
        )
    with transaction(database.sessions) as session:
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.entity_id == entity_id)).all() == []
        )


def _linked_once(world: World, entity_id: str) -> None:
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        assert session.scalars(select(AuditPending)).all() == []
        linked = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == entity_id))
        assert len(linked.all()) == 1
        assert audit.verify_chain(session).ok


def test_entries_a_linker_left_are_linked_before_the_log_is_read(world: World) -> None:
    _leave_unlinked(world, "left-behind")
    answer = world.client.get("/v1/audit/verify", headers=world.institution.auth(Role.auditor))
    assert answer.status_code == 200 and answer.json()["ok"] is True
    _linked_once(world, "left-behind")


def test_entries_a_linker_left_are_linked_by_the_beat_task(world: World, tmp_path: Path) -> None:
    _leave_unlinked(world, "left-for-beat")
    engine = world.client.app.state.database.engine  # type: ignore[attr-defined]
    settings = Settings(
        data_dir=tmp_path,
        database_url=engine.url.render_as_string(hide_password=False),
        broker_url="redis://unused:6379/0",
        signing_keys_file=tmp_path / "keys.json",
    )
    app = make_celery(settings)
    app.loader.import_default_modules()
    assert app.tasks[LINK_AUDIT_ENTRIES].apply().get() == 1
    _linked_once(world, "left-for-beat")
