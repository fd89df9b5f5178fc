"""Thin, idempotent tasks that call the domain packages."""

from __future__ import annotations

import atexit
import datetime as dt
import gc
import threading
from functools import cache
from typing import Any

import httpx
from celery import current_app, shared_task
from celery.signals import worker_init, worker_process_init, worker_process_shutdown
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from signing.errors import TimestampUnavailable
from templates.conversion import ConverterPool, ConverterPoolSettings
from tiltas import audit, deadline_tracking, requeue, webhook_dispatch
from tiltas.db import make_engine, make_sessionmaker, transaction
from tiltas.messaging import (
    ARCHIVE_RENEW,
    CHECK_DEADLINE,
    COMPLETE_REMOTE_SIGNATURE,
    DELIVER_WEBHOOK,
    DISPATCH_WEBHOOKS,
    GENERATE_DOCUMENT,
    PREPARE_REMOTE_SIGNATURE,
    RECORD_ACKNOWLEDGEMENT,
    REQUEUE_DOCUMENTS,
    SIGN_DOCUMENT,
    SWEEP_DEADLINES,
    VERIFY_AUDIT_CHAIN,
)
from tiltas.models import utcnow
from tiltas.queues import WorkQueue
from tiltas.settings import Settings
from tiltas.storage import FileStore
from tiltas.webhooks import AttemptOutcome, delivery_client
from workers.archive_renewal import archive_renewal_for
from workers.pipeline import (
    SIGNING_UNAVAILABLE,
    TRANSIENT_CONVERSION_ERRORS,
    AcknowledgementRecorder,
    DocumentPipeline,
    DocumentSigner,
    StepOutcome,
)
from workers.remote_signing import RemoteSignatures
from workers.signing_runtime import signing_runtime_for


@cache
def _sessions(database_url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(database_url))


def converter_for(settings: Settings) -> ConverterPool:
    pool_settings = ConverterPoolSettings(
        pool_size=settings.converter_pool_size,
        conversion_timeout=settings.conversion_timeout_s,
        soffice_path=settings.soffice_bin,
        profile_root=settings.resolved_converter_profile_dir,
    )
    # Under a thread pool two first tasks arrive together: one starts the converters, the
    # other waits for them (two pools on the same profiles would kill each other's soffice).
    with _converters_lock:
        return _converter(pool_settings)


_converters_lock = threading.Lock()


@cache
def _converter(pool_settings: ConverterPoolSettings) -> ConverterPool:
    """One pool per worker process, started on first use and closed when the process ends."""
    pool = ConverterPool(pool_settings)
    pool.start()
    _started_converters.append(pool)
    return pool


_started_converters: list[ConverterPool] = []


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_converters(**_: Any) -> None:
    """A process that ends closes the converters it started. Forked pool processes leave
    without running atexit, hence the signal: their converters then died by their own orphan
    check, leaving their folders, and LibreOffice's sockets in /tmp, to the next start."""
    for pool in _started_converters:
        pool.close()


atexit.register(_close_converters)  # a worker running its tasks in threads, in its own process


def pipeline_for(settings: Settings) -> DocumentPipeline:
    return DocumentPipeline(
        _sessions(settings.resolved_database_url),
        FileStore(settings.documents_dir),
        converter_for(settings),
    )


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _start_converters(**_: Any) -> None:
    """Each process of a worker serving the convert queue starts its converters with it, not
    on the first document (other workers never convert)."""
    if WorkQueue.convert.value in current_app.amqp.queues.consume_from:
        converter_for(current_app.conf.tiltas_settings)


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _remove_abandoned_writes(**_: Any) -> None:
    """A pool process killed while it stored a file left the temporary file behind; each new
    pool process (a restarted worker's, or one replacing a killed one) removes those."""
    FileStore(current_app.conf.tiltas_settings.documents_dir).remove_abandoned_writes()


@worker_init.connect  # type: ignore[untyped-decorator]
@worker_process_init.connect  # type: ignore[untyped-decorator]
def _freeze_startup_objects(**_: Any) -> None:
    """What a worker holds once started (modules, the app, a converter pool) lives as long as
    it: out of the cyclic collector's sight, a full collection no longer walks its some
    200,000 objects, and the pool's forked children keep sharing those pages. Measured on a
    200-document batch: full collections took 257 ms of CPU before, 17 ms after. Frozen in
    the worker before it forks, then in each pool process (connected after
    ``_start_converters``, so after its converters have started)."""
    gc.freeze()


DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
"""A database restarting or out of reach: the task tries again later (DOMAIN.md §9)."""

DOCUMENT_TASK = {
    "bind": True,
    "autoretry_for": DATABASE_UNAVAILABLE,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": False,
}
"""Options of every task that works on a document: a database error is retried with
back-off (2, 4, 8 … 60 s); the task is idempotent, so a step done before the error is not
done again. Should the retries run out, the re-enqueue sweep picks the document up again."""


def _settings(task: Any) -> Settings:
    settings: Settings = task.app.conf.tiltas_settings
    return settings


@shared_task(bind=True, name=VERIFY_AUDIT_CHAIN)  # type: ignore[untyped-decorator]
def verify_audit_chain(self: Any) -> dict[str, Any]:
    """Check the audit log's hash chain (read-only, so safe to run twice)."""
    with transaction(_sessions(_settings(self).resolved_database_url)) as session:
        report = audit.verify_chain(session)
    return {
        "entries": report.entries,
        "ok": report.ok,
        "first_bad_seq": report.first_bad_seq,
        "reason": report.reason,
    }


# The two pipeline steps store no task result: the document's row says how each went and
# nothing waits on the task, so a result would only be one more write to Redis per step.
@shared_task(name=GENERATE_DOCUMENT, max_retries=8, ignore_result=True, **DOCUMENT_TASK)  # type: ignore[untyped-decorator]
def generate_document(self: Any, public_id: str) -> str:
    """Render, convert, check and store one requested document (idempotent by id)."""
    pipeline = pipeline_for(_settings(self))
    try:
        outcome = pipeline.generate(public_id)
    except TRANSIENT_CONVERSION_ERRORS as error:
        if self.request.retries >= self.max_retries:
            return pipeline.fail(public_id, error.code, str(error))
        raise self.retry(countdown=min(60, 2**self.request.retries), exc=error) from error
    return _continue_batch(self, public_id, outcome)


def _continue_batch(task: Any, public_id: str, outcome: StepOutcome) -> str:
    """In a batch that signs, hand the document to its next signer (a repeated hand-over is
    harmless: signing is idempotent by document and signer)."""
    if outcome.next_signer is not None:
        task.app.send_task(SIGN_DOCUMENT, args=[public_id, outcome.next_signer], ignore_result=True)
    return outcome.status


@shared_task(name=SIGN_DOCUMENT, max_retries=12, ignore_result=True, **DOCUMENT_TASK)  # type: ignore[untyped-decorator]
def sign_document(self: Any, public_id: str, index: int) -> str:
    """Sign one signer's field (idempotent by document and signer). Fail closed: when no TSA
    answers nothing is signed; the failure is recorded and the task tries again later."""
    settings = _settings(self)
    signer = DocumentSigner(
        _sessions(settings.resolved_database_url),
        FileStore(settings.documents_dir),
        signing_runtime_for(settings),
    )
    try:
        outcome = signer.sign(public_id, index)
    except SIGNING_UNAVAILABLE as error:
        signer.record_failure(public_id, error.code, str(error))
        if self.request.retries >= self.max_retries:
            return error.code
        raise self.retry(countdown=min(600, 5 * 2**self.request.retries), exc=error) from error
    return _continue_batch(self, public_id, outcome)


def _remote_signatures(settings: Settings) -> RemoteSignatures:
    return RemoteSignatures(
        _sessions(settings.resolved_database_url),
        FileStore(settings.documents_dir),
        signing_runtime_for(settings),
    )


@shared_task(name=PREPARE_REMOTE_SIGNATURE, max_retries=12, **DOCUMENT_TASK)  # type: ignore[untyped-decorator]
def prepare_remote_signature(self: Any, session_id: str) -> str:
    """Lay out a remote signature and compute its challenge (idempotent by session)."""
    try:
        return _remote_signatures(_settings(self)).prepare(session_id)
    except TimestampUnavailable as error:
        if self.request.retries >= self.max_retries:
            return error.code
        raise self.retry(countdown=min(600, 5 * 2**self.request.retries), exc=error) from error


@shared_task(name=COMPLETE_REMOTE_SIGNATURE, max_retries=12, **DOCUMENT_TASK)  # type: ignore[untyped-decorator]
def complete_remote_signature(self: Any, session_id: str) -> str:
    """Finish a remote signature to B-LTA with the accepted value (idempotent by session).
    Fail closed: with no TSA nothing is signed; the failure is noted and retried."""
    try:
        return _remote_signatures(_settings(self)).complete(session_id)
    except TimestampUnavailable as error:
        if self.request.retries >= self.max_retries:
            return error.code
        raise self.retry(countdown=min(600, 5 * 2**self.request.retries), exc=error) from error


@shared_task(name=RECORD_ACKNOWLEDGEMENT, max_retries=12, **DOCUMENT_TASK)  # type: ignore[untyped-decorator]
def record_acknowledgement(self: Any, public_id: str, kind: str, upload_sha256: str) -> str:
    """Place a pad image in the PDF, or seal a hand-signed paper's scan (idempotent)."""
    settings = _settings(self)
    recorder = AcknowledgementRecorder(
        _sessions(settings.resolved_database_url),
        FileStore(settings.documents_dir),
        signing_runtime_for(settings),
    )
    try:
        return recorder.record(public_id, kind, upload_sha256)
    except TimestampUnavailable as error:
        if self.request.retries >= self.max_retries:
            return error.code
        raise self.retry(countdown=min(600, 5 * 2**self.request.retries), exc=error) from error


@shared_task(bind=True, name=REQUEUE_DOCUMENTS)  # type: ignore[untyped-decorator]
def requeue_documents(self: Any) -> dict[str, int]:
    """Beat: put back on the queue the documents whose step was never queued or was given up
    (``tiltas.requeue``); the steps are idempotent, so a slow one is not done twice."""
    settings = _settings(self)
    with transaction(_sessions(settings.resolved_database_url)) as session:
        found = requeue.stalled(
            session,
            utcnow(),
            dt.timedelta(seconds=settings.document_requeue_after_s),
            limit=REQUEUE_LIMIT,
        )
    for public_id in found.generate:
        self.app.send_task(GENERATE_DOCUMENT, args=[public_id], ignore_result=True)
    for public_id, index in found.sign:
        self.app.send_task(SIGN_DOCUMENT, args=[public_id, index], ignore_result=True)
    return {"generate": len(found.generate), "sign": len(found.sign)}


REQUEUE_LIMIT = 1000


# ---------------------------------------------------------------- deadlines and webhooks


@shared_task(bind=True, name=SWEEP_DEADLINES)  # type: ignore[untyped-decorator]
def sweep_deadlines(self: Any) -> dict[str, int]:
    """Beat: bring deadline statuses up to date, announce their moves, set timed re-checks
    due soon (safe to run twice: it compares with what is stored)."""
    settings = _settings(self)
    report = deadline_tracking.sweep(
        _sessions(settings.resolved_database_url), horizon_s=settings.timer_horizon_s
    )
    for timer in report.timers:
        check_deadline.apply_async(
            args=[timer.deadline_id, timer.expected_due_date.isoformat()], eta=timer.fire_at
        )
    for delivery_id in report.deliveries:
        deliver_webhook.apply_async(args=[delivery_id])
    return {
        "cases": report.cases,
        "changes": len(report.changes),
        "status_changes": len(report.status_changes),
        "timers": len(report.timers),
    }


@shared_task(bind=True, name=CHECK_DEADLINE)  # type: ignore[untyped-decorator]
def check_deadline(self: Any, deadline_id: int, expected_due_date: str) -> str:
    """A deadline's timed re-check: nothing if the deadline moved since it was set."""
    settings = _settings(self)
    with transaction(_sessions(settings.resolved_database_url)) as session:
        result = deadline_tracking.fire_timer(
            session,
            deadline_id,
            dt.date.fromisoformat(expected_due_date),
            deadline_tracking.lithuanian_today(),
        )
    for delivery_id in result.deliveries:
        deliver_webhook.apply_async(args=[delivery_id])
    return result.outcome.value


@cache
def _webhook_client() -> httpx.Client:
    client = delivery_client()
    atexit.register(client.close)
    return client


@shared_task(bind=True, name=DISPATCH_WEBHOOKS)  # type: ignore[untyped-decorator]
def dispatch_webhooks(self: Any) -> int:
    """Beat: hand every due webhook delivery (first attempts the API did not enqueue, retries,
    attempts whose worker died) to a worker."""
    settings = _settings(self)
    with transaction(_sessions(settings.resolved_database_url)) as session:
        due = webhook_dispatch.due_deliveries(
            session, utcnow(), queue_for_s=max(60.0, 6 * settings.webhook_dispatch_interval_s)
        )
    for delivery_id in due:
        deliver_webhook.apply_async(args=[delivery_id])
    return len(due)


@shared_task(name=DELIVER_WEBHOOK, max_retries=8, **DOCUMENT_TASK)  # type: ignore[untyped-decorator]
def deliver_webhook(self: Any, delivery_id: str) -> str:
    """One attempt of one delivery (nothing if it is not due or another worker holds it). A
    retry due soon is queued here; a later one waits for the dispatcher."""
    settings = _settings(self)
    result = webhook_dispatch.attempt_delivery(
        _sessions(settings.resolved_database_url),
        delivery_id,
        client=_webhook_client(),
        policy=webhook_dispatch.delivery_policy(settings),
    )
    if result is None:
        return "not_due"
    if result.outcome is AttemptOutcome.RETRY and result.retry_at is not None:
        wait = (result.retry_at - utcnow()).total_seconds()
        if wait <= settings.timer_horizon_s:
            deliver_webhook.apply_async(args=[delivery_id], countdown=max(0.0, wait))
    return result.outcome.value


# ---------------------------------------------------------------- archive renewal


@shared_task(bind=True, name=ARCHIVE_RENEW)  # type: ignore[untyped-decorator]
def renew_archive_timestamps(self: Any) -> dict[str, Any]:
    """Beat, daily: renew the archive timestamps that are due; refuse and alert on a broken
    chain (idempotent, see ``workers.archive_renewal``). Returns the run's counts."""
    settings = _settings(self)
    renewal = archive_renewal_for(settings, _sessions(settings.resolved_database_url))
    return renewal.run().as_dict()
