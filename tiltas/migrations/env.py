"""Alembic environment: the URL comes from the caller (tiltas.migrate), never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from tiltas import models  # noqa: F401  (registers the tables)
from tiltas.db import Base, make_engine

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as new_connection:
        run(new_connection)
    engine.dispose()
