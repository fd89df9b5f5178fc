"""Typed dependencies: the database, the settings and the authenticated caller."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tiltas.access import Role
from tiltas.apikeys import Principal, authenticate
from tiltas.concurrency import ANY_VERSION
from tiltas.deadline_tracking import lithuanian_today
from tiltas.errors import FieldProblem, Forbidden, InvalidInput, Unauthenticated
from tiltas.settings import Settings


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work, committed before the response is sent."""
        with self.sessions() as session, session.begin():
            yield session


# The dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in the
# thread pool, one hand-over per dependency per request.


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_today() -> dt.date:
    """Today in Lithuania, whatever the server's time zone, as the sweep counts it (a
    dependency, so tests can set the day)."""
    return lithuanian_today()


DATABASE_INT_MAX = 2**63 - 1
"""The largest integer a query may compare with a column (SQLite's INTEGER, PostgreSQL's
BIGINT): a cursor beyond it is a 422, not a driver's overflow."""

TodayDep = Annotated[dt.date, Depends(get_today)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(
    database: DatabaseDep,
    authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
) -> Principal:
    if not authorization:
        raise Unauthenticated("send Authorization: Bearer <API key>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send Authorization: Bearer <API key>")
    # One statement outside a transaction: no BEGIN and COMMIT round trips for every request.
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        return authenticate(connection, token.strip())


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role.value} may not do this")


def parse_if_match(value: str | None) -> int | None:
    """``If-Match: "7"`` → 7; ``*`` → any version; absent → None."""
    if value is None:
        return None
    value = value.strip()
    if value == "*":
        return ANY_VERSION
    if value.startswith("W/"):
        raise InvalidInput(
            [FieldProblem("If-Match", "use the strong ETag given by the API", "header")]
        )
    inner = value.strip('"')
    if not inner.isdigit():
        raise InvalidInput([FieldProblem("If-Match", "not an ETag given by this API", "header")])
    return int(inner)


def etag(version: int) -> str:
    return f'"{version}"'


IfMatch = Annotated[str | None, Header(alias="If-Match")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", description="Retries with the same key return the first result"
    ),
]
