"""ASGI entry point: ``uvicorn api.main:app`` (``tiltas serve`` runs it)."""

from __future__ import annotations

from api.app import create_app
from tiltas.settings import Settings

app = create_app(Settings())
