"""The data folder full: the document store on a small tmpfs filled to the last byte, under a
real ``tiltas serve`` (PostgreSQL and Redis elsewhere, as in production). Documents asked for
meanwhile wait with the reason recorded; once space is freed they are made and signed, and
nothing stored before is lost or corrupted."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.stack import audit_entries, check_nothing_lost, running_stack, signed_by
from tests.support.servers import RedisServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

TMPFS_SIZE = "48m"


@contextmanager
def small_tmpfs(mount_point: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (the README's test command runs as root)")
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(mount_point)],
        check=True,
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def fill(folder: Path) -> Path:
    """Write a file until the file system refuses another byte."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for chunk in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    handle.write(b"\0" * chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    return filler


def test_data_folder_full(tmp_path: Path, database_url: str, redis_server: RedisServer) -> None:
    with small_tmpfs(tmp_path / "data") as data_dir:
        env = {
            "TILTAS_BROKER_URL": redis_server.url,
            # Kept on local disk as the README advises: only the store is on the full disk.
            "TILTAS_CONVERTER_PROFILE_DIR": str(tmp_path / "converters"),
            "TILTAS_DEV_PKI_DIR": str(tmp_path / "pki"),
            "TILTAS_DOCUMENT_WAIT_S": "3",
            "TILTAS_DOCUMENT_REQUEUE_AFTER_S": "10",
        }
        with running_stack(data_dir, database_url, **env) as stack:
            stack.make_signed_protocol()
            unsigned = stack.request_protocol(stack.open_case()).json()["id"]
            stack.wait_document(unsigned, lambda d: d["status"] == "generated", 120)
            entries = audit_entries(database_url)

            filler = fill(data_dir)
            asked = stack.request_protocol(stack.open_case())
            assert asked.status_code == 202, asked.text  # stored in the database, waiting
            waiting = asked.json()["id"]
            signing = stack.sign(unsigned, 1)
            assert signing.status_code == 202, signing.text
            for document_id in (waiting, unsigned):
                seen = stack.wait_document(document_id, lambda d: d["failure"] is not None, 120)
                assert seen["failure"]["code"] == "storage_full", seen
                assert "space" in seen["failure"]["message"], seen
            assert stack.document(waiting)["status"] == "requested"
            assert stack.document(unsigned)["signatures"] == []

            filler.unlink()
            # The sweep puts the waiting document back on the queue; the signature is asked again.
            made = stack.wait_document(waiting, lambda d: d["status"] == "generated", 180)
            assert made["failure"] is None
            assert stack.sign(unsigned, 1).status_code in (200, 202)
            stack.wait_document(unsigned, signed_by(1), 120)
            check_nothing_lost(stack, audit_entries_before=entries)
