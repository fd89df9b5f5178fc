"""The tables the models describe are the tables the migrations make."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import tiltas.models  # noqa: F401  (registers every table)
from tiltas.db import Base
from tiltas.migrate import alembic_config, upgrade


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_0007_goes_down_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0006")
    engine = create_engine(url)
    try:
        assert "webhook_deliveries" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"delivery_events", "deadlines", "events", "webhook_subscriptions",
            "webhook_deliveries", "webhook_attempts", "feed_tokens"} <= tables  # fmt: skip
