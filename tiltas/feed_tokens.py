"""Feed tokens: a calendar application subscribes to an organisation's deadlines feed with a
URL holding a token instead of an API key (calendar apps cannot send ``Authorization``).

A token reads ``ftk_<token id>_<secret>`` (256-bit secret, stored as its SHA-256, like API
keys). It opens the iCalendar feed of its organisation and nothing else; the feed holds case ids,
deadline kinds, dates and legal bases, no personal data (``tiltas.deadlines.ical``). Tokens are
made, listed and revoked by the organisation's case workers, who see the same deadlines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pydantic import Field
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from tiltas import audit
from tiltas.access import CASE_ROLES
from tiltas.apikeys import Principal
from tiltas.case_deadlines import OrganisationDeadline, deadlines_of_cases
from tiltas.errors import Forbidden, NotFound
from tiltas.models import Case, CaseParticipant, FeedToken, Organisation, utcnow
from tiltas.schema_types import StrictModel

PREFIX = "ftk"


class FeedTokenCreate(StrictModel):
    label: str = Field(default="", max_length=200, description="e.g. the calendar it is for")


@dataclass(frozen=True)
class IssuedFeedToken:
    record: FeedToken
    token: str
    """The whole token: shown once, never stored."""


def _require_case_worker(principal: Principal) -> None:
    if principal.role not in CASE_ROLES:
        raise Forbidden(f"role {principal.role.value} has no deadlines feed")


def create_feed_token(
    session: Session, principal: Principal, data: FeedTokenCreate
) -> IssuedFeedToken:
    _require_case_worker(principal)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = FeedToken(
        token_id=token_id,
        secret_sha256=hashlib.sha256(secret.encode()).digest(),
        organisation_id=principal.organisation_id,
        label=data.label,
        created_at=utcnow(),
        created_by=principal.key_id,
    )
    session.add(record)
    session.flush()
    audit.record(session, principal.actor, audit.AuditAction.create, "feed_token", token_id)
    return IssuedFeedToken(record, f"{PREFIX}_{token_id}_{secret}")


def list_feed_tokens(session: Session, principal: Principal) -> list[FeedToken]:
    _require_case_worker(principal)
    return list(
        session.scalars(
            select(FeedToken)
            .where(FeedToken.organisation_id == principal.organisation_id)
            .order_by(FeedToken.id)
        )
    )


def revoke_feed_token(session: Session, principal: Principal, token_id: str) -> FeedToken:
    _require_case_worker(principal)
    record = session.scalar(
        select(FeedToken).where(
            FeedToken.token_id == token_id, FeedToken.organisation_id == principal.organisation_id
        )
    )
    if record is None:
        raise NotFound(f"no feed token {token_id}")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit.record(session, principal.actor, audit.AuditAction.revoke, "feed_token", token_id)
    return record


def organisation_for_token(session: Session, presented: str) -> Organisation:
    """The organisation whose feed the token opens; NotFound for anything else (a calendar app
    shows that as a broken subscription, and the answer tells a guesser nothing)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise NotFound("no such feed")
    _, token_id, secret = parts
    record = session.scalar(select(FeedToken).where(FeedToken.token_id == token_id))
    digest = hashlib.sha256(secret.encode()).digest()
    if (
        record is None
        or not hmac.compare_digest(record.secret_sha256, digest)
        or record.revoked_at is not None
    ):
        raise NotFound("no such feed")
    return session.get_one(Organisation, record.organisation_id)


def feed_deadlines(
    session: Session, organisation: Organisation, today: dt.date
) -> list[OrganisationDeadline]:
    cases = session.execute(
        select(Case.id, Case.public_id, Case.kind, Case.release_date)
        .where(
            exists().where(
                CaseParticipant.case_id == Case.id,
                CaseParticipant.organisation_id == organisation.id,
            )
        )
        .order_by(Case.id)
    ).all()
    return deadlines_of_cases(session, cases, today, of_organisation=organisation.id)
