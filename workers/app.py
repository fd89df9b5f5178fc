"""The Celery application, built from Settings."""

from __future__ import annotations

from celery import Celery

from tiltas.settings import Settings


def make_celery(settings: Settings) -> Celery:
    broker = settings.resolved_broker_url
    app = Celery("tiltas", broker=broker, backend=broker)
    transport_options = {
        "visibility_timeout": settings.visibility_timeout_s,
        "unacked_restore_interval": settings.unacked_restore_interval_s,
        # Scan on every sweep: the sweep interval alone sets how soon abandoned tasks return.
        "unacked_restore_throttle": 1,
    }
    app.conf.update(
        # Delivered at least once: a task is acknowledged only after it finished, and a task
        # whose worker died goes back to the queue (DOMAIN.md §9). Tasks must be idempotent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport_options,
        result_backend_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        result_expires=24 * 3600,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue="default",
        worker_hijack_root_logger=False,
        include=["workers.tasks", *settings.worker_imports],
    )
    app.conf.tiltas_settings = settings
    return app
