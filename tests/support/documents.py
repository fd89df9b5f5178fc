"""Running documents end to end in tests: settings with a real Redis broker and a real
Celery worker (threads, in this process) that converts with real LibreOffice."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery.contrib.testing.worker import start_worker

from tiltas.settings import Settings
from workers.app import make_celery


@contextmanager
def running_worker(settings: Settings) -> Iterator[None]:
    app = make_celery(settings)
    with start_worker(
        app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=60
    ):
        yield


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def document_request(
    case_id: str | None, type_id: str, data: dict[str, Any], **envelope: Any
) -> dict[str, Any]:
    return {
        "type": type_id,
        "case_id": case_id,
        "envelope": {
            "signers": [
                {"full_name": "Petras Kazlauskas", "position": "direktorius", "role": "director"}
            ],
            "place": "Marijampolė",
            **envelope,
        },
        "data": data,
    }
