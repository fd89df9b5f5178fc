"""The Celery application, built from Settings."""

from __future__ import annotations

from celery import Celery

from tiltas.messaging import celery_config
from tiltas.settings import Settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("tiltas")
    app.conf.update(
        celery_config(settings),
        include=["workers.tasks", "workers.metrics", *settings.worker_imports],
    )
    app.conf.tiltas_settings = settings
    return app
