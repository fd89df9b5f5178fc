"""Signed-in people: the session cookie, the form tokens (CSRF) and the page's principal.

The session cookie is HttpOnly, SameSite=Lax and Secure whenever the page is served over
HTTPS (always in production); it holds a random secret the database keeps only a hash of.
Every form carries a token derived from that secret (``tiltas.users.csrf_token``) and every
POST is refused unless the token matches and, when the browser names one, the ``Origin`` is
this site. The sign-in form, which has no session yet, uses a short-lived cookie of its own
whose value the form must repeat (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData as StarletteFormData
from starlette.responses import Response

from api.deps import DatabaseDep
from tiltas import users
from tiltas.apikeys import Principal
from tiltas.settings import Environment, Settings

SESSION_COOKIE = "tiltas_session"
SIGN_IN_COOKIE = "tiltas_sign_in"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class SignInRequired(Exception):
    """No valid session: the page sends the browser to the sign-in form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class FormRefused(Exception):
    """A POST without the right form token or from another site (403)."""


@dataclass(frozen=True)
class WebUser:
    principal: Principal
    email: str
    full_name: str
    organisation_name: str
    csrf: str

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


def secure_cookies(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.environment is Environment.production


def set_session_cookie(
    response: Response, request: Request, settings: Settings, secret: str
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(users.SESSION_IDLE.total_seconds()),
        path="/",
        httponly=True,
        secure=secure_cookies(request, settings),
        samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        secure=secure_cookies(request, settings),
        samesite="lax",
    )


def sign_in_token(request: Request) -> str:
    """The sign-in form's token: the cookie's, or a new one (set by :func:`keep_sign_in_token`)."""
    existing = request.cookies.get(SIGN_IN_COOKIE, "")
    return existing if 20 <= len(existing) <= 100 else secrets.token_urlsafe(24)


def keep_sign_in_token(
    response: Response, request: Request, settings: Settings, token: str
) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path="/web/prisijungti",
        httponly=True,
        secure=secure_cookies(request, settings),
        samesite="strict",
    )


def _same_origin(request: Request) -> bool:
    # Browsers name the origin of every cross-site POST; without the header the token alone
    # guards the form.
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == request.headers.get("host", "")


def check_sign_in_form(request: Request, form: StarletteFormData) -> None:
    presented = str(form.get(CSRF_FIELD, ""))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not _same_origin(request) or not expected or not hmac.compare_digest(presented, expected):
        raise FormRefused


def current_user(request: Request, database: DatabaseDep) -> WebUser:
    secret = request.cookies.get(SESSION_COOKIE, "")
    if secret:
        with database.transaction() as session:
            found = users.resolve_session(session, secret)
            if found is not None:
                user, principal = found
                return WebUser(
                    principal=principal,
                    email=user.email,
                    full_name=user.full_name,
                    organisation_name=user.organisation.name,
                    csrf=users.csrf_token(secret),
                )
    next_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise SignInRequired(next_url if request.method == "GET" else "/web/")


CurrentUser = Annotated[WebUser, Depends(current_user)]


async def checked_form(request: Request, user: CurrentUser) -> AsyncIterator[StarletteFormData]:
    """The posted form, once its token and origin are checked (the token may come in the
    ``X-CSRF-Token`` header instead, for requests made by the page's scripts). Uploaded files
    are closed when the request is done."""
    form = await request.form()
    try:
        presented = request.headers.get(CSRF_HEADER) or str(form.get(CSRF_FIELD, ""))
        if not _same_origin(request) or not hmac.compare_digest(presented, user.csrf):
            raise FormRefused
        yield form
    finally:
        await form.close()


CheckedForm = Annotated[StarletteFormData, Depends(checked_form)]


def safe_next(next_url: str | None) -> str:
    """Only a path of these pages: never another site (an open redirect)."""
    if next_url and next_url.startswith("/web/") and not next_url.startswith("//"):
        return next_url
    return "/web/"
