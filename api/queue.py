"""Enqueueing work for the workers (the API never runs it itself)."""

from __future__ import annotations

import logging

from celery import Celery

from tiltas.errors import TiltasError
from tiltas.messaging import celery_config
from tiltas.settings import Settings

log = logging.getLogger("tiltas.api")


class QueueUnavailable(TiltasError):
    """The broker did not take the task; nothing was done, the client may try again."""

    code = "queue_unavailable"


# Tasks are sent with ignore_result: the API never waits on one, and otherwise Celery's Redis
# result backend opens a subscription for each task's result as it sends it.


def make_producer(settings: Settings) -> Celery:
    producer = Celery("tiltas-api")
    producer.conf.update(celery_config(settings))
    return producer


def enqueue(producer: Celery, task: str, args: list[object]) -> None:
    """Hand a task to the workers, or raise ``QueueUnavailable`` (503) if the broker is away."""
    try:
        producer.send_task(task, args=args, retry=False, ignore_result=True)
    except Exception as error:  # any broker failure: the request changed nothing to lose
        raise QueueUnavailable("the work queue is unreachable; try again shortly") from error


def enqueue_stored(producer: Celery, task: str, args: list[object]) -> bool:
    """Hand over the next step of work already stored (a requested document). If the broker is
    away the request still succeeds: the re-enqueue sweep (``tiltas.requeue``) finds the
    document later. Returns whether the task was queued now."""
    try:
        producer.send_task(task, args=args, retry=False, ignore_result=True)
    except Exception as error:  # any broker failure: the database still holds the work
        log.warning("%s left to the re-enqueue sweep (%s)", task, type(error).__name__)
        return False
    return True
