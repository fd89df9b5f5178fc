"""The document store: a write killed half-way leaves no visible file, and its temporary file
is removed by the next process to start on the host."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from celery.signals import worker_process_init
from fastapi.testclient import TestClient

from api.app import create_app
from tiltas.settings import Settings
from tiltas.storage import FileStore
from workers import tasks
from workers.app import make_celery

KILLED_WHILE_WRITING = """
import os, signal, sys
from pathlib import Path
from celery.signals import worker_process_init
from fastapi.testclient import TestClient

from api.app import create_app
from tiltas.settings import Settings
from tiltas.storage import FileStore
from workers import tasks
from workers.app import make_celery
os.replace = lambda *_: os.kill(os.getpid(), signal.SIGKILL)  # killed before the rename
FileStore(Path(sys.argv[1])).put(b"half of a document")
"""


def test_a_writer_killed_half_way_leaves_a_temporary_file_that_the_next_start_removes(
    tmp_path: Path,
) -> None:
    store = FileStore(tmp_path / "documents")
    kept = store.put(b"a stored document")
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WHILE_WRITING, str(store.root)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert writer.wait(60) == -9
    assert not store.path_for(hashlib.sha256(b"half of a document").hexdigest()).exists()
    (abandoned,) = store.partial_dir.iterdir()
    assert abandoned.name.startswith(f"{socket.gethostname()}-{writer.pid}-")
    running_here = store.partial_dir / f"{socket.gethostname()}-{os.getpid()}-writing"
    other_host = store.partial_dir / f"elsewhere-{writer.pid}-writing"
    for path in (running_here, other_host):
        path.write_bytes(b"in progress")

    assert store.remove_abandoned_writes() == 1

    assert sorted(store.partial_dir.iterdir()) == sorted([running_here, other_host])
    assert store.get(kept) == b"a stored document"


def test_nothing_to_remove_in_a_new_store(tmp_path: Path) -> None:
    assert FileStore(tmp_path / "documents").remove_abandoned_writes() == 0


def _abandoned_write(store: FileStore) -> Path:
    """A temporary file of a writer on this host that no longer runs."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    store.partial_dir.mkdir(parents=True, exist_ok=True)
    path = store.partial_dir / f"{socket.gethostname()}-{gone.pid}-writing"
    path.write_bytes(b"half")
    return path


def test_the_api_removes_abandoned_writes_when_it_starts(settings: Settings) -> None:
    abandoned = _abandoned_write(FileStore(settings.documents_dir))
    with TestClient(create_app(settings)):
        assert not abandoned.exists()


def test_a_new_worker_process_removes_abandoned_writes(settings: Settings) -> None:
    abandoned = _abandoned_write(FileStore(settings.documents_dir))
    make_celery(settings).set_current()
    connected = [receiver() for _, receiver in worker_process_init.receivers]
    assert tasks._remove_abandoned_writes in connected, "runs in every new pool process"
    tasks._remove_abandoned_writes()
    assert not abandoned.exists()
