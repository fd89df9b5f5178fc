"""Entries written in one go (a list page's reads) make the same chain as one by one."""

from __future__ import annotations

from sqlalchemy import select, text

from tests.support.factories import World
from tiltas import audit
from tiltas.audit_batch import Access, record_many
from tiltas.db import transaction
from tiltas.models import AuditEntry


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
        assert [e.seq for e in written] == list(range(written[0].seq, written[0].seq + 5))
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
