"""Worker entry point: ``celery -A workers.main worker`` (``tiltas serve`` runs it)."""

from __future__ import annotations

from workers.app import make_celery
from tiltas.settings import Settings

app = make_celery(Settings())
