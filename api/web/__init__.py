"""Web pages for clerks and archivists, in Lithuanian: server-rendered, a little plain
JavaScript (the signature pad, waiting for a worker, dropping a file), no build step.

People sign in with a password (``tiltas user create``); each page turns the signed-in person
into the same principal an API key gives and calls the same domain functions, so what a page
shows and does obeys the API's rules, and is audited the same way.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.web import auth_pages, case_pages, document_pages, verify_pages
from api.web.rendering import STATIC_DIR
from api.web.verify_pages import VERIFY_PATH

__all__ = ["VERIFY_PATH", "install"]


def install(app: FastAPI) -> None:
    for module in (auth_pages, case_pages, document_pages, verify_pages):
        app.include_router(module.router)
    app.mount("/web/static", StaticFiles(directory=STATIC_DIR), name="web-static")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/web/", 303)
