"""Shared fixtures: every database test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.factories import World
from tests.support.servers import PostgresServer, RedisServer, start_postgres, start_redis
from tiltas.migrate import upgrade
from tiltas.settings import Settings

TEMPLATE_DB = "tiltas_template"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    with psycopg.connect(server.url().replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    upgrade(server.url(TEMPLATE_DB))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "tiltas.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty database for each test."""
    if request.param == "sqlite":
        path = tmp_path / "tiltas.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin_url = server.url().replace("+psycopg", "")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    yield server.url(name)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data", max_body_bytes=65_536)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def world(client: TestClient) -> World:
    """Organisations of every kind, each with keys for its roles."""
    return World.build(client)


@pytest.fixture(scope="session")
def converter_profiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One place for LibreOffice profiles, so the process-wide converter pool is shared."""
    return tmp_path_factory.mktemp("converters")


@pytest.fixture(scope="session")
def dev_pki_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One development PKI for the session, with its TSA and OCSP responders running."""
    from signing.dev_pki import ensure_dev_pki
    from signing.dev_responders import DevResponders

    root = tmp_path_factory.mktemp("pki")
    with DevResponders(ensure_dev_pki(root)):
        yield root


@pytest.fixture
def document_settings(
    database_url: str,
    tmp_path: Path,
    redis_server: RedisServer,
    converter_profiles: Path,
    dev_pki_root: Path,
) -> Settings:
    """Settings for tests that make documents: a real broker, converters and the dev PKI.
    A module that makes documents overrides ``settings`` with these."""
    return Settings(
        dev_pki_dir=dev_pki_root,
        database_url=database_url,
        data_dir=tmp_path / "data",
        broker_url=redis_server.url,
        converter_profile_dir=converter_profiles,
        document_wait_s=90,
        max_body_bytes=1_048_576,
    )


@pytest.fixture(scope="module")
def signed_pdf(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    redis_server: RedisServer,
    converter_profiles: Path,
    dev_pki_root: Path,
) -> bytes:
    """A protocol K signed through the API (chair, secretary; B-LTA), once per test module."""
    from tests.support.verification import module_settings, signed_protocol_pdf

    tmp_path = tmp_path_factory.mktemp("signed-protocol")
    return signed_protocol_pdf(
        module_settings(tmp_path, sqlite_template, redis_server, converter_profiles, dev_pki_root)
    )
