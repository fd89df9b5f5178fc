"""Document files: content-addressed (SHA-256), written atomically, verified on read.

A file appears under its final name only when complete (write to a temporary file in the
store's ``.partial`` folder, fsync, rename), so a crash never leaves a half-written document
visible, and writing the same content twice is harmless — which is what at-least-once tasks
need. A process killed while writing leaves its temporary file behind; the next process of the
service to start on that host removes it (``remove_abandoned_writes``).
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tiltas.errors import TiltasError
from tiltas.processes import running


class StorageError(TiltasError):
    code = "storage"


class StoredFileCorrupt(StorageError):
    code = "stored_file_corrupt"

    def __init__(self, sha256: str) -> None:
        super().__init__(f"the stored file {sha256[:12]}… does not match its checksum")
        self.sha256 = sha256


class StorageFull(StorageError):
    """No space left where documents are stored: nothing was written; worth another try once
    space is freed."""

    code = "storage_full"

    def __init__(self) -> None:
        super().__init__("no space left in the document store; nothing was written")


class StoredFileMissing(StorageError):
    code = "stored_file_missing"

    def __init__(self, sha256: str) -> None:
        super().__init__(f"the stored file {sha256[:12]}… is missing")
        self.sha256 = sha256


@dataclass(frozen=True)
class FileStore:
    root: Path

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise StorageError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, content: bytes) -> str:
        """Store ``content``; return its SHA-256. Idempotent. ``StorageFull`` when the disk is."""
        sha256 = hashlib.sha256(content).hexdigest()
        final = self.path_for(sha256)
        if final.exists() and final.stat().st_size == len(content):
            return sha256
        try:
            self._write(final, content)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull() from error
            raise
        return sha256

    @property
    def partial_dir(self) -> Path:
        """Where files are written before they get their final name (same file system)."""
        return self.root / ".partial"

    def remove_abandoned_writes(self) -> int:
        """Delete the temporary files of writers on this host that no longer run; return how
        many. Another host's writers are left alone: their process ids mean nothing here."""
        prefix = _writer_prefix()
        removed = 0
        for entry in self.partial_dir.glob(f"{prefix}*"):
            writer = entry.name.removeprefix(prefix).split("-")[0]
            if writer.isdigit() and not running(int(writer)):
                entry.unlink(missing_ok=True)
                removed += 1
        return removed

    def _write(self, final: Path, content: bytes) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        self.partial_dir.mkdir(exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(
            dir=self.partial_dir, prefix=f"{_writer_prefix()}{os.getpid()}-"
        )
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def get(self, sha256: str) -> bytes:
        try:
            content = self.path_for(sha256).read_bytes()
        except FileNotFoundError:
            raise StoredFileMissing(sha256) from None
        if hashlib.sha256(content).hexdigest() != sha256:
            raise StoredFileCorrupt(sha256)
        return content


def _writer_prefix() -> str:
    """How this host's temporary files begin; the writer's process id follows."""
    return f"{socket.gethostname()}-"
