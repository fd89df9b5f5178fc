"""A task for the crash tests, imported by the worker through TILTAS_WORKER_IMPORTS."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from celery import shared_task


@shared_task(name="tests.mark_done")
def mark_done(marker_dir: str, token: str, seconds: float) -> str:
    """Note the start, work for a while, then record completion atomically (idempotent)."""
    folder = Path(marker_dir)
    (folder / f"{token}.started.{os.getpid()}.{uuid.uuid4().hex[:6]}").touch()
    time.sleep(seconds)
    partial = folder / f".{token}.{uuid.uuid4().hex}"
    partial.write_text(token)
    os.replace(partial, folder / f"{token}.done")
    return token
