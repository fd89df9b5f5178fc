"""Worker entry point: ``celery -A workers.main worker`` (``tiltas serve`` runs it)."""

from __future__ import annotations

from tiltas.settings import Settings
from workers.app import make_celery

app = make_celery(Settings())
