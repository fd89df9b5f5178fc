"""People who sign in to the web pages, and their browser sessions.

A user belongs to one organisation and has one role, exactly like an API key, and is turned
into the same :class:`~tiltas.apikeys.Principal` on every request: the pages call the same
domain functions as the API, so organisation scoping, role sections and the audit log are the
same for both. Passwords are stored as Argon2id hashes (``argon2-cffi``); a session cookie holds
a random 256-bit secret of which the database keeps only the SHA-256.

Errors::

    TiltasError
    ├── InvalidInput          a bad e-mail, role or password when creating a user
    └── SignInRefused         wrong e-mail or password, a disabled user, or too many failures
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tiltas import audit
from tiltas.access import OrganisationKind, Role, role_allowed_for
from tiltas.apikeys import Principal
from tiltas.errors import FieldProblem, InvalidInput, NotFound, TiltasError
from tiltas.models import User, WebSession, utcnow
from tiltas.organisations import get_organisation
from tiltas.schema_types import EMAIL_PATTERN

SESSION_IDLE = dt.timedelta(hours=8)
"""A session not used for this long ends (a working day)."""
SESSION_REFRESH = dt.timedelta(minutes=5)
"""A used session's expiry is pushed forward at most this often (one write, not one per page)."""
MIN_PASSWORD_LENGTH = 12
MAX_FAILED_SIGN_INS = 10
LOCKOUT = dt.timedelta(minutes=15)

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so that an unknown e-mail takes as long as a
# wrong password and does not tell who has an account.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class SignInRefused(TiltasError):
    code = "sign_in_refused"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def principal_of(user: User) -> Principal:
    """The user as the domain sees a caller: the same shape an API key resolves to."""
    organisation = user.organisation
    return Principal(
        key_id=f"user:{user.public_id}",
        organisation_id=organisation.id,
        organisation_code=organisation.code,
        organisation_kind=OrganisationKind(organisation.kind),
        role=Role(user.role),
    )


def create_user(
    session: Session,
    organisation_code: str,
    role: Role,
    email: str,
    password: str,
    full_name: str = "",
) -> User:
    problems: list[FieldProblem] = []
    email = normalise_email(email)
    if not re.match(EMAIL_PATTERN, email) or len(email) > 320:
        problems.append(FieldProblem("email", "not an e-mail address", "email"))
    elif session.scalar(select(User.id).where(User.email == email)) is not None:
        problems.append(
            FieldProblem("email", "a user with this e-mail already exists", "duplicate")
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            FieldProblem(
                "password", f"use at least {MIN_PASSWORD_LENGTH} characters", "password_short"
            )
        )
    if len(full_name) > 200:
        problems.append(FieldProblem("full_name", "at most 200 characters", "too_long"))
    try:
        organisation = get_organisation(session, organisation_code)
    except NotFound:
        problems.append(
            FieldProblem("organisation_code", "no organisation with this code", "unknown")
        )
        raise InvalidInput(problems) from None
    kind = OrganisationKind(organisation.kind)
    if not role_allowed_for(kind, role):
        problems.append(
            FieldProblem(
                "role", f"role {role.value} does not belong to a {kind.value}", "role_kind"
            )
        )
    if problems:
        raise InvalidInput(problems)
    user = User(
        public_id=secrets.token_hex(8),
        email=email,
        full_name=full_name.strip(),
        organisation_id=organisation.id,
        role=role.value,
        password_hash=_hasher.hash(password),
        failed_sign_ins=0,
        organisation=organisation,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user {email}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            [
                FieldProblem(
                    "password", f"use at least {MIN_PASSWORD_LENGTH} characters", "password_short"
                )
            ]
        )
    user.password_hash = _hasher.hash(password)
    user.failed_sign_ins = 0
    user.locked_until = None
    # A new password ends every session opened with the old one.
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def check_password(
    session: Session, email: str, password: str, *, now: dt.datetime | None = None
) -> User:
    """The user if the password is right; :class:`SignInRefused` (one message for every
    reason, so it tells nothing about which accounts exist) otherwise."""
    now = now or utcnow()
    refused = SignInRefused("wrong e-mail or password")
    user = session.scalar(
        select(User).where(User.email == normalise_email(email)).with_for_update(of=User)
    )
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        raise refused
    if user.locked_until is not None and user.locked_until > now:
        raise SignInRefused("too many failed sign-ins; try again later")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            user.failed_sign_ins = 0
            user.locked_until = now + LOCKOUT
        raise refused from None
    if user.disabled_at is not None:
        raise refused
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_sign_ins = 0
    user.locked_until = None
    return user


@dataclass(frozen=True)
class OpenedSession:
    secret: str
    """For the cookie only; never stored."""
    web_session: WebSession


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def open_session(session: Session, user: User, *, now: dt.datetime | None = None) -> OpenedSession:
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    web_session = WebSession(
        secret_sha256=_digest(secret),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_IDLE,
        user=user,
    )
    session.add(web_session)
    # Expired sessions of anyone are removed on the way: the table stays small.
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.flush()
    audit.record(
        session,
        principal_of(user).actor,
        audit.AuditAction.create,
        "web_session",
        str(web_session.id),
    )
    return OpenedSession(secret, web_session)


def resolve_session(
    session: Session, secret: str, *, now: dt.datetime | None = None
) -> tuple[User, Principal] | None:
    """The signed-in user of a cookie, or None when the session is unknown, expired or its
    user was disabled. Using a session keeps it alive for another ``SESSION_IDLE``."""
    now = now or utcnow()
    if not secret or len(secret) > 100:
        return None
    web_session = session.scalar(
        select(WebSession).where(WebSession.secret_sha256 == _digest(secret))
    )
    if web_session is None or web_session.expires_at <= now:
        return None
    user = web_session.user
    if user.disabled_at is not None:
        return None
    if now - web_session.last_seen_at >= SESSION_REFRESH:
        web_session.last_seen_at = now
        web_session.expires_at = now + SESSION_IDLE
    return user, principal_of(user)


def close_session(session: Session, secret: str) -> None:
    session.execute(delete(WebSession).where(WebSession.secret_sha256 == _digest(secret)))


def csrf_token(secret: str) -> str:
    """The form token of a session: derived from its secret, so it needs no storage and a page
    of another site, which cannot read the cookie, cannot compute it."""
    return hmac.new(secret.encode(), b"tiltas-web-form", hashlib.sha256).hexdigest()


def disable_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"no user {email}")
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user
