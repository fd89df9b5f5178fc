"""The contract between the API (which enqueues) and the workers (which run): task names and
the broker configuration both sides build their Celery app from. No Celery import here."""

from __future__ import annotations

from typing import Any

from tiltas.queues import WorkQueue
from tiltas.settings import Settings

GENERATE_DOCUMENT = "tiltas.documents.generate"
SIGN_DOCUMENT = "tiltas.documents.sign"
RECORD_ACKNOWLEDGEMENT = "tiltas.documents.acknowledge"
PREPARE_REMOTE_SIGNATURE = "tiltas.documents.remote_signature.prepare"
COMPLETE_REMOTE_SIGNATURE = "tiltas.documents.remote_signature.complete"
VERIFY_AUDIT_CHAIN = "tiltas.audit.verify_chain"
ARCHIVE_RENEW = "tiltas.archive.renew"
SWEEP_DEADLINES = "tiltas.deadlines.sweep"
CHECK_DEADLINE = "tiltas.deadlines.check"
"""A timed re-check of one deadline: args (deadline id, the ISO due date it expects)."""
DISPATCH_WEBHOOKS = "tiltas.webhooks.dispatch"
DELIVER_WEBHOOK = "tiltas.webhooks.deliver"
"""One attempt of one webhook delivery: args (delivery id)."""
REQUEUE_DOCUMENTS = "tiltas.documents.requeue"
"""Beat: documents still ``requested`` long after they were asked for go back on the queue."""

TASK_QUEUES: dict[str, WorkQueue] = {
    GENERATE_DOCUMENT: WorkQueue.convert,
    SIGN_DOCUMENT: WorkQueue.sign,
    RECORD_ACKNOWLEDGEMENT: WorkQueue.sign,
    PREPARE_REMOTE_SIGNATURE: WorkQueue.sign,
    COMPLETE_REMOTE_SIGNATURE: WorkQueue.sign,
    DISPATCH_WEBHOOKS: WorkQueue.webhooks,
    DELIVER_WEBHOOK: WorkQueue.webhooks,
    SWEEP_DEADLINES: WorkQueue.schedules,
    CHECK_DEADLINE: WorkQueue.schedules,
    VERIFY_AUDIT_CHAIN: WorkQueue.schedules,
    REQUEUE_DOCUMENTS: WorkQueue.schedules,
    ARCHIVE_RENEW: WorkQueue.archival,
}


def celery_config(settings: Settings) -> dict[str, Any]:
    transport_options = {
        "visibility_timeout": settings.visibility_timeout_s,
        "unacked_restore_interval": settings.unacked_restore_interval_s,
        # Scan on every sweep: the sweep interval alone sets how soon abandoned tasks return.
        "unacked_restore_throttle": 1,
        # The scan's lock in Redis: a worker killed while holding it (kombu's default: 300 s)
        # kept every other worker from bringing back abandoned tasks for five minutes.
        "unacked_mutex_expire": 30,
    }
    broker = settings.resolved_broker_url
    return {
        "broker_url": broker,
        "result_backend": broker,
        # Delivered at least once: a task is acknowledged only after it finished, and a task
        # whose worker died goes back to the queue (DOMAIN.md §9). Tasks must be idempotent.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": transport_options,
        "result_backend_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "result_expires": 24 * 3600,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        # Every task has its queue (a test checks); a worker started without ``-Q`` (the
        # tests' in-process workers) consumes them all.
        "task_queues": {queue.value: {} for queue in WorkQueue},
        "task_routes": {name: {"queue": queue.value} for name, queue in TASK_QUEUES.items()},
        "task_default_queue": WorkQueue.schedules.value,
        "worker_hijack_root_logger": False,
        # A worker process starts LibreOffice before it takes work (a few seconds).
        "worker_proc_alive_timeout": 120,
        # Celery beat: one per installation (``tiltas serve`` runs it, TILTAS_RUN_BEAT).
        "beat_schedule_filename": str(settings.beat_schedule_path),
        "beat_schedule": {
            "deadlines-sweep": {
                "task": SWEEP_DEADLINES,
                "schedule": settings.deadline_sweep_interval_s,
                # A sweep still queued when the next is due is not worth running.
                "options": {"expires": settings.deadline_sweep_interval_s},
            },
            "webhooks-dispatch": {
                "task": DISPATCH_WEBHOOKS,
                "schedule": settings.webhook_dispatch_interval_s,
                "options": {"expires": settings.webhook_dispatch_interval_s},
            },
            "documents-requeue": {
                "task": REQUEUE_DOCUMENTS,
                "schedule": settings.document_requeue_after_s / 5,
                "options": {"expires": settings.document_requeue_after_s / 5},
            },
            # DOMAIN.md §8: archive timestamps renewed before their TSA certificates expire.
            "archive-renewal": {"task": ARCHIVE_RENEW, "schedule": 24 * 3600.0},
        },
    }
