"""Database engine and sessions (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Engine, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")
NullableJSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
"""JSON whose Python None is SQL NULL (plain JSON stores None as the JSON value null)."""


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that always comes back time-zone aware: SQLite gives back naive values,
    and every one we store is UTC (PostgreSQL's ``timestamptz`` already answers aware)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value  # type: ignore[no-any-return]
        return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, **kwargs: Any) -> Engine:
    # A database error's message would quote its statement's parameters (personal codes,
    # names): it reaches logs whenever a task or request fails.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _serialise_sqlite_writers(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _serialise_sqlite_writers(engine: Engine) -> None:
    # Every request writes (the audit log records reads too). A deferred SQLite transaction
    # that read first and writes later fails at once with "database is locked" when another
    # writer got in between; BEGIN IMMEDIATE takes the write lock up front and waits instead.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    from tiltas.audit import append_on_commit

    sessions = sessionmaker(engine, expire_on_commit=False)
    # Every transaction's audit entries join the chain when it commits.
    append_on_commit(sessions)
    return sessions


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session, session.begin():
        yield session
