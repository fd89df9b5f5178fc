"""Thin, idempotent tasks that call the domain packages."""

from __future__ import annotations

from functools import cache
from typing import Any

from celery import shared_task
from sqlalchemy.orm import Session, sessionmaker

from tiltas import audit
from tiltas.db import make_engine, make_sessionmaker, transaction
from tiltas.settings import Settings


@cache
def _sessions(database_url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(database_url))


def _settings(task: Any) -> Settings:
    settings: Settings = task.app.conf.tiltas_settings
    return settings


@shared_task(bind=True, name="tiltas.audit.verify_chain")  # type: ignore[untyped-decorator]
def verify_audit_chain(self: Any) -> dict[str, Any]:
    """Check the audit log's hash chain (read-only, so safe to run twice)."""
    with transaction(_sessions(_settings(self).resolved_database_url)) as session:
        report = audit.verify_chain(session)
    return {
        "entries": report.entries,
        "ok": report.ok,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
    }
