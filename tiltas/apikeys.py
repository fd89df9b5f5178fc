"""API keys: each bound to one organisation and one role, stored as a SHA-256 of its secret.

A key reads ``tlt_<key id>_<secret>``; the secret has 256 bits of entropy, so a plain
SHA-256 is enough (no password stretching needed) and lookup by key id is a single row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from tiltas.access import OrganisationKind, Role, role_allowed_for
from tiltas.audit import Actor
from tiltas.errors import FieldProblem, InvalidInput, NotFound, Unauthenticated
from tiltas.models import ApiKey, Organisation, utcnow
from tiltas.organisations import get_organisation

PREFIX = "tlt"


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from the API key on every request."""

    key_id: str
    organisation_id: int
    organisation_code: str
    organisation_kind: OrganisationKind
    role: Role

    @property
    def actor(self) -> Actor:
        return Actor(self.key_id, self.organisation_code, self.role.value)


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    secret_key: str
    """The whole key; shown once, never stored."""
    api_key: ApiKey


def create_api_key(
    session: Session, organisation_code: str, role: Role, label: str = ""
) -> IssuedKey:
    try:
        organisation = get_organisation(session, organisation_code)
    except NotFound:
        raise InvalidInput(
            [FieldProblem("organisation_code", "no organisation with this code", "unknown")]
        ) from None
    kind = OrganisationKind(organisation.kind)
    if not role_allowed_for(kind, role):
        raise InvalidInput(
            [
                FieldProblem(
                    "role", f"role {role.value} does not belong to a {kind.value}", "role_kind"
                )
            ]
        )
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    api_key = ApiKey(
        key_id=key_id,
        secret_sha256=hashlib.sha256(secret.encode()).digest(),
        organisation_id=organisation.id,
        role=role.value,
        label=label,
    )
    session.add(api_key)
    session.flush()
    return IssuedKey(key_id, f"{PREFIX}_{key_id}_{secret}", api_key)


def authenticate(session: Session | Connection, presented: str) -> Principal:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise Unauthenticated("the API key is malformed")
    _, key_id, secret = parts
    # One query for columns: every request authenticates, and the ORM objects (the key, then
    # its organisation) cost more than the query.
    found = session.execute(
        select(
            ApiKey.secret_sha256,
            ApiKey.revoked_at,
            ApiKey.role,
            Organisation.id,
            Organisation.code,
            Organisation.kind,
        )
        .join(Organisation, Organisation.id == ApiKey.organisation_id)
        .where(ApiKey.key_id == key_id)
    ).one_or_none()
    digest = hashlib.sha256(secret.encode()).digest()
    if found is None or not hmac.compare_digest(found.secret_sha256, digest):
        raise Unauthenticated("the API key is not valid")
    if found.revoked_at is not None:
        raise Unauthenticated("the API key was revoked")
    return Principal(
        key_id=key_id,
        organisation_id=found.id,
        organisation_code=found.code,
        organisation_kind=OrganisationKind(found.kind),
        role=Role(found.role),
    )


def list_api_keys(session: Session, organisation_id: int) -> list[ApiKey]:
    """The keys of one organisation (an administrator manages its own organisation's)."""
    return list(
        session.scalars(
            select(ApiKey).where(ApiKey.organisation_id == organisation_id).order_by(ApiKey.id)
        )
    )


def revoke_api_key(session: Session, key_id: str, organisation_id: int) -> ApiKey:
    api_key = session.scalar(
        select(ApiKey).where(ApiKey.key_id == key_id, ApiKey.organisation_id == organisation_id)
    )
    if api_key is None:
        raise NotFound(f"no API key {key_id}")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
    return api_key
