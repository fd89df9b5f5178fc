"""Signing in and out, and the start page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import DatabaseDep, SettingsDep
from api.web import session as web_session
from api.web.rendering import WebRoute, page
from api.web.session import CheckedForm, CurrentUser
from tiltas import users
from tiltas.access import CASE_ROLES, Role

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)


def _sign_in_page(
    request: Request,
    settings: SettingsDep,
    *,
    next_url: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    token = web_session.sign_in_token(request)
    response = page(
        request,
        "sign_in.html",
        None,
        status_code=status_code,
        csrf=token,
        next_url=web_session.safe_next(next_url),
        email=email,
        error=error,
    )
    web_session.keep_sign_in_token(response, request, settings, token)
    return response


@router.get("/prisijungti")
def sign_in_form(
    request: Request,
    settings: SettingsDep,
    next_url: Annotated[str, Query(alias="next")] = "/web/",
) -> Response:
    return _sign_in_page(request, settings, next_url=next_url)


@router.post("/prisijungti")
async def sign_in(request: Request, database: DatabaseDep, settings: SettingsDep) -> Response:
    form = await request.form()
    web_session.check_sign_in_form(request, form)
    email = str(form.get("email", ""))[:320]
    password = str(form.get("password", ""))[:1024]
    next_url = str(form.get("next", "/web/"))
    refused: users.SignInRefused | None = None
    opened: users.OpenedSession | None = None
    with database.transaction() as session:
        try:
            user = users.check_password(session, email, password)
        except users.SignInRefused as error:
            # Caught inside the transaction: the failed attempt is counted (lockout).
            refused = error
        else:
            opened = users.open_session(session, user)
    if opened is None:
        message = (
            "Per daug nesėkmingų bandymų. Bandykite vėliau."
            if refused is not None and "too many" in refused.message
            else "Neteisingas el. paštas arba slaptažodis."
        )
        return _sign_in_page(
            request, settings, next_url=next_url, email=email, error=message, status_code=401
        )
    response = RedirectResponse(web_session.safe_next(next_url), 303)
    web_session.set_session_cookie(response, request, settings, opened.secret)
    response.delete_cookie(web_session.SIGN_IN_COOKIE, path="/web/prisijungti")
    return response


@router.post("/atsijungti")
def sign_out(
    request: Request,
    user: CurrentUser,
    form: CheckedForm,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    with database.transaction() as session:
        users.close_session(session, request.cookies.get(web_session.SESSION_COOKIE, ""))
    response = RedirectResponse("/web/prisijungti", 303)
    web_session.clear_session_cookie(response, request, settings)
    return response


@router.get("/")
def start(request: Request, user: CurrentUser) -> Response:
    role = user.principal.role
    if role in CASE_ROLES:
        return RedirectResponse("/web/bylos", 303)
    if role is Role.archivist:
        return RedirectResponse("/web/tikrinti", 303)
    return page(request, "start.html", user)
