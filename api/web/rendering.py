"""Drawing pages: the Jinja environment, security headers, and error pages in Lithuanian."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.responses import Response

from api.errors import STATUS_BY_ERROR
from api.web import labels
from api.web.session import FormRefused, SignInRequired, WebUser
from tiltas.access import CASE_ROLES, Role
from tiltas.documents import AcknowledgementRefused, DocumentNotReady, SigningOutOfOrder
from tiltas.errors import Forbidden, NotFound, TiltasError

log = logging.getLogger("tiltas.web")

VILNIUS = ZoneInfo("Europe/Vilnius")
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

# Everything the pages load comes from this site; no inline scripts or styles.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def iso_date(value: dt.date | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value[:10]
    return value.isoformat()


def local_time(value: dt.datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VILNIUS).strftime("%Y-%m-%d %H:%M")


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(iso_date=iso_date, local_time=local_time)
    environment.globals.update(labels=labels, Role=Role, CASE_ROLES=CASE_ROLES)
    return environment


ENVIRONMENT = _environment()


def secure_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Pages show personal data: never kept by a shared cache or the browser's back cache.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def page(
    request: Request,
    template: str,
    user: WebUser | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    html = ENVIRONMENT.get_template(template).render(
        request=request, user=user, path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status_code)


_MESSAGES: list[tuple[type[TiltasError], str]] = [
    (Forbidden, "Jūsų vaidmeniui tai neleidžiama."),
    (NotFound, "Tokio įrašo nėra arba jis jums nematomas."),
    (DocumentNotReady, "Dokumentas dar neparengtas."),
    (SigningOutOfOrder, "Pasirašoma nustatyta eilės tvarka; dabar pasirašyti negalima."),
]

_ACKNOWLEDGEMENT = {
    "not_acknowledged_type": "Šiame dokumente nuteistasis nepasirašo.",
    "already_recorded": "Nuteistojo patvirtinimas jau užregistruotas.",
    "already_signed": "Pareigūnas jau pasirašė: parašo planšetė nebegalima, įkelkite skenuotę.",
}


def error_message(error: TiltasError) -> str:
    if isinstance(error, AcknowledgementRefused):
        return _ACKNOWLEDGEMENT.get(error.reason, error.message)
    for kind, message in _MESSAGES:
        if isinstance(error, kind):
            return message
    return f"Veiksmas nepavyko: {error.message}"


def status_of(error: TiltasError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return 500


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return page(request, "error.html", None, status_code=status_code, message=message)


class WebRoute(APIRoute):
    """A page: domain errors become pages in Lithuanian (not problem+json), a missing session
    sends the browser to sign in, and every response gets the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired as required:
                response = RedirectResponse(
                    f"/web/prisijungti?next={quote(required.next_url, safe='')}", 303
                )
            except FormRefused:
                response = error_page(
                    request,
                    403,
                    "Forma nebegalioja (pasibaigė sesija arba ji atsiųsta iš kitos svetainės). "
                    "Atverkite puslapį iš naujo ir bandykite dar kartą.",
                )
            except RequestValidationError:
                response = error_page(request, 400, "Netinkamas adresas ar užklausa.")
            except TiltasError as error:
                response = error_page(request, status_of(error), error_message(error))
            return secure_headers(response)

        return handle
