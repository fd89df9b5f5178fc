"""A task that reports on the process it runs in, imported by the worker through
TILTAS_WORKER_IMPORTS."""

from __future__ import annotations

import gc
import os
from typing import Any

from celery import shared_task


@shared_task(name="tests.process_state")  # type: ignore[untyped-decorator]
def process_state() -> dict[str, Any]:
    return {"pid": os.getpid(), "frozen_objects": gc.get_freeze_count()}
