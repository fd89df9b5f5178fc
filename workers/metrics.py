"""Every task's duration and outcome, recorded in the broker's Redis (see tiltas.metrics)."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery.signals import task_postrun, task_prerun

from tiltas.metrics import record_task, redis_for

log = logging.getLogger(__name__)

_started: dict[str, float] = {}


@task_prerun.connect  # type: ignore[untyped-decorator]
def _task_started(task_id: str, **_: Any) -> None:
    _started[task_id] = time.monotonic()


@task_postrun.connect  # type: ignore[untyped-decorator]
def _task_finished(task_id: str, task: Any, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id, None)
    if started is None:
        return
    outcome = {"SUCCESS": "success", "RETRY": "retry"}.get(state or "", "failure")
    try:
        record_task(
            redis_for(task.app.conf.broker_url), task.name, time.monotonic() - started, outcome
        )
    except redis.RedisError as error:  # metrics must never fail a task
        log.warning("task metrics not recorded: %s", type(error).__name__)
