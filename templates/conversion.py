"""DOCX -> PDF/A-2b conversion through a supervised pool of long-lived LibreOffice processes.

A cold ``soffice --convert-to`` per document costs seconds; a warm LibreOffice converts a two-page
letter in about 295 ms of CPU, but it can hang or crash (DOMAIN.md §9). `ConverterPool` therefore
keeps ``pool_size`` converter processes (``templates/converter_worker.py``), each with its own
LibreOffice and its own user profile, and supervises them:

- every exchange with a converter has a client-side deadline; a late converter is killed (its
  whole process group: worker, oosplash, soffice.bin) and restarted in the background with a
  fresh profile;
- a request whose converter hung or died is retried once on another converter process;
- idle converters are checked every ``health_check_interval`` seconds and restarted if dead, and
  each is recycled after ``recycle_after`` conversions to bound LibreOffice's memory growth;
- at most ``pool_size + queue_bound`` requests are admitted; the next gets `ConverterBusy` at once.

Exceptions (catch broadly, recover narrowly)::

    ConversionError
    ├── ConverterBusy                 queue full, or no converter free in time: try again later
    ├── ConverterTimeout              the converter did not answer in time, also on the retry
    ├── ConverterCrashed              the converter died, also on the retry
    ├── ConverterStartFailed          LibreOffice did not come up when the pool started
    ├── ConverterPoolClosed           the pool is not started or already closed
    ├── DocumentRejected              LibreOffice cannot read or export this document: do not retry
    └── ConverterConfigurationError   invalid settings or arguments (also a ValueError)

Document contents never reach a log; logs name slots, process ids and timings only.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal

from tiltas.processes import group_members, listening_unix_sockets, running

__all__ = [
    "ConversionError",
    "ConverterBusy",
    "ConverterConfigurationError",
    "ConverterCrashed",
    "ConverterPool",
    "ConverterPoolClosed",
    "ConverterPoolSettings",
    "ConverterStartFailed",
    "ConverterState",
    "ConverterStatus",
    "ConverterTimeout",
    "DocumentRejected",
    "PoolStatus",
]

logger = logging.getLogger(__name__)

_WORKER_SCRIPT = Path(__file__).with_name("converter_worker.py")
_DIRECTORY_PREFIX = "converter-"
_RESTART_BACKOFF_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_GROUP_EXIT_WAIT_SECONDS = 5.0


# --------------------------------------------------------------------------------------- errors


class ConversionError(Exception):
    """Base of every error raised by the conversion pool."""

    code: ClassVar[str] = "conversion_error"
    """Machine-readable error code, stable across releases (e.g. for problem+json ``type``)."""


class ConverterConfigurationError(ConversionError, ValueError):
    """Settings or call arguments are invalid."""

    code = "converter_configuration_error"


class ConverterBusy(ConversionError):
    """The pool cannot take the request now; the caller may retry later (HTTP 503)."""

    code = "converter_busy"

    def __init__(
        self,
        *,
        reason: Literal["queue_full", "wait_timeout"],
        queue_bound: int,
        waited_seconds: float,
    ) -> None:
        self.reason = reason
        """``queue_full``: refused at once; ``wait_timeout``: no converter became free in time."""
        self.queue_bound = queue_bound
        self.waited_seconds = waited_seconds
        super().__init__(
            f"conversion pool busy ({reason}; queue bound {queue_bound}, "
            f"waited {waited_seconds:.1f} s)"
        )


class ConverterTimeout(ConversionError):
    """The converter did not finish in time (it was killed and is being restarted)."""

    code = "converter_timeout"

    def __init__(self, *, slot: int, timeout_seconds: float, attempts: int) -> None:
        self.slot = slot
        self.timeout_seconds = timeout_seconds
        self.attempts = attempts
        super().__init__(
            f"converter {slot} gave no answer within {timeout_seconds:.1f} s (attempt {attempts})"
        )


class ConverterCrashed(ConversionError):
    """The converter process or its LibreOffice died during the conversion."""

    code = "converter_crashed"

    def __init__(self, *, slot: int, exit_status: int | None, attempts: int) -> None:
        self.slot = slot
        self.exit_status = exit_status
        """Exit status of the converter process; negative = killed by that signal."""
        self.attempts = attempts
        super().__init__(f"converter {slot} died (exit status {exit_status}, attempt {attempts})")


class ConverterStartFailed(ConversionError):
    """A converter's LibreOffice did not start when the pool started."""

    code = "converter_start_failed"

    def __init__(self, *, slot: int, detail: str) -> None:
        self.slot = slot
        self.detail = detail
        super().__init__(f"converter {slot} did not start: {detail}")


class ConverterPoolClosed(ConversionError):
    """The pool is not started or has been closed."""

    code = "converter_pool_closed"

    def __init__(self) -> None:
        super().__init__("the conversion pool is not running")


class DocumentRejected(ConversionError):
    """LibreOffice cannot read or export this document; retrying will not help."""

    code = "document_rejected"

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        """The kind of failure (a UNO exception name or ``not_a_docx``), never document text."""
        super().__init__(f"LibreOffice rejected the document ({detail})")


# --------------------------------------------------------------------------------------- config


def _one_per_core() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class ConverterPoolSettings:
    """How the conversion pool runs; built once from the service settings and passed in."""

    pool_size: int = field(default_factory=_one_per_core)
    """Number of LibreOffice processes; one instance serialises its documents, so one per core."""

    conversion_timeout: float = 60.0
    """Seconds one converter may take for one document before it is killed and restarted."""

    startup_timeout: float = 60.0
    """Seconds a new LibreOffice may take to accept connections (a fresh profile takes ~2 s)."""

    queue_bound: int = 64
    """Requests that may wait for a free converter; one more gets `ConverterBusy` at once."""

    queue_wait_timeout: float = 120.0
    """Seconds a request may wait for a free converter before `ConverterBusy`."""

    soffice_path: str = "soffice"
    """The LibreOffice launcher (``soffice`` script, not ``soffice.bin``)."""

    profile_root: Path | None = None
    """Folder for the converters' profiles and work files; None: a temporary folder per pool."""

    python_executable: str = sys.executable
    """Interpreter for the converter processes; must import Debian's ``uno`` (DOMAIN.md §9)."""

    recycle_after: int = 1000
    """Restart a converter after this many conversions (0: never)."""

    health_check_interval: float = 1.0
    """Seconds between liveness checks of idle converters."""

    def __post_init__(self) -> None:
        problems = []
        if self.pool_size < 1:
            problems.append("pool_size must be at least 1")
        if self.queue_bound < 0:
            problems.append("queue_bound must not be negative")
        if self.recycle_after < 0:
            problems.append("recycle_after must not be negative")
        for name in (
            "conversion_timeout",
            "startup_timeout",
            "queue_wait_timeout",
            "health_check_interval",
        ):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be positive")
        if problems:
            raise ConverterConfigurationError("; ".join(problems))


# --------------------------------------------------------------------------------------- status


class ConverterState(enum.StrEnum):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    RESTARTING = "restarting"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ConverterStatus:
    slot: int
    state: ConverterState
    generation: int
    """How many processes this slot has had; grows by one on every restart."""
    worker_pid: int | None
    process_group: int | None
    """Process group of the worker and its LibreOffice (what a kill targets)."""
    soffice_pid: int | None
    conversions: int
    """Conversions done by the current process."""


@dataclass(frozen=True)
class PoolStatus:
    converters: tuple[ConverterStatus, ...]
    admitted_requests: int
    """Requests being converted or waiting for a converter."""
    conversions: int
    retries: int
    restarts: int
    timeouts: int
    crashes: int
    rejected_documents: int
    busy_refusals: int


@dataclass
class _Counters:
    conversions: int = 0
    retries: int = 0
    restarts: int = 0
    timeouts: int = 0
    crashes: int = 0
    rejected_documents: int = 0
    busy_refusals: int = 0


# ------------------------------------------------------------------------------ one converter


class _ConverterLost(Exception):
    """The converter can no longer be used: it timed out or died."""

    def __init__(
        self, kind: Literal["timeout", "crash"], exit_status: int | None = None, detail: str = ""
    ) -> None:
        self.kind = kind
        self.exit_status = exit_status
        self.detail = detail
        super().__init__(kind)


class _ConverterProcess:
    """One worker process and its LibreOffice, addressed over pipes with deadlines."""

    def __init__(self, slot: int, generation: int, settings: ConverterPoolSettings, root: Path):
        self.slot = slot
        self.generation = generation
        self._settings = settings
        self.directory = root / f"{_DIRECTORY_PREFIX}{os.getpid()}-{slot}-{generation}"
        self.process: subprocess.Popen[bytes] | None = None
        self.soffice_pid: int | None = None
        self.conversions = 0
        self._next_request_id = 0
        self._received = bytearray()
        self._kill_lock = threading.Lock()
        self._killed = False

    # -- lifecycle

    def start(self) -> None:
        """Start the worker and wait until its LibreOffice accepts requests."""
        shutil.rmtree(self.directory, ignore_errors=True)
        # The work folder holds documents for a moment: readable by this service user only.
        self.directory.mkdir(mode=0o700, parents=True)
        (self.directory / "profile").mkdir(mode=0o700)
        (self.directory / "work").mkdir(mode=0o700)
        # LibreOffice leaves files in TMPDIR (an NSS database per start) that a killed soffice
        # never removes: inside the converter's folder they go with it.
        (self.directory / "tmp").mkdir(mode=0o700)
        pipe_name = f"tiltas-{os.getpid()}-{self.slot}-{self.generation}-{secrets.token_hex(4)}"
        with self._kill_lock:
            if self._killed:
                raise _ConverterLost("crash")
            self.process = subprocess.Popen(
                [
                    self._settings.python_executable,
                    str(_WORKER_SCRIPT),
                    "--soffice",
                    self._settings.soffice_path,
                    "--profile-dir",
                    str(self.directory / "profile"),
                    "--pipe-name",
                    pipe_name,
                    "--parent-pid",
                    str(os.getpid()),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,  # own process group: one killpg ends worker + LibreOffice
                close_fds=True,
                env={**os.environ, "TMPDIR": str(self.directory / "tmp")},
            )
        message = self._receive(time.monotonic() + self._settings.startup_timeout)
        if message.get("event") != "ready":
            detail = str(message.get("detail", ""))
            raise _ConverterLost("crash", self._exit_status(), detail=detail)
        self.soffice_pid = int(message["soffice_pid"])
        _record_office_sockets(self.directory, self.process.pid)

    def kill(self) -> None:
        """Kill the whole process group, reap the worker and delete the profile. Idempotent."""
        with self._kill_lock:
            if self._killed:
                return
            self._killed = True
            process = self.process
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            _wait_for_group_exit(process.pid, _GROUP_EXIT_WAIT_SECONDS)
        _remove_office_sockets(self.directory)
        shutil.rmtree(self.directory, ignore_errors=True)
        logger.debug("converter %d generation %d killed", self.slot, self.generation)

    def is_alive(self) -> bool:
        return self.process is not None and not self._killed and self.process.poll() is None

    # -- requests

    def convert(self, docx: bytes, timeout: float) -> bytes:
        self._next_request_id += 1
        request_id = self._next_request_id
        input_path = self.directory / "work" / f"{request_id}.docx"
        output_path = self.directory / "work" / f"{request_id}.pdf"
        try:
            input_path.write_bytes(docx)
            self._send({"id": request_id, "input": str(input_path), "output": str(output_path)})
            answer = self._receive(time.monotonic() + timeout)
            if answer.get("id") != request_id:
                raise _ConverterLost("crash", self._exit_status())
            if answer.get("ok") is True:
                self.conversions += 1
                return output_path.read_bytes()
            if answer.get("error") == "document_rejected":
                self.conversions += 1
                raise DocumentRejected(detail=str(answer.get("detail", "unknown")))
            raise _ConverterLost("crash", self._exit_status())
        except OSError as error:  # the work folder or the pipe went away with the process
            raise _ConverterLost("crash", self._exit_status()) from error
        finally:
            input_path.unlink(missing_ok=True)
            output_path.unlink(missing_ok=True)

    def _send(self, message: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        self.process.stdin.flush()

    def _receive(self, deadline: float) -> dict[str, Any]:
        """Read one JSON line from the worker; never wait past ``deadline``."""
        assert self.process is not None and self.process.stdout is not None
        descriptor = self.process.stdout.fileno()
        poller = select.poll()
        poller.register(descriptor, select.POLLIN | select.POLLHUP | select.POLLERR)
        while b"\n" not in self._received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _ConverterLost("timeout")
            if not poller.poll(max(1, int(remaining * 1000))):
                continue
            chunk = os.read(descriptor, 65536)
            if not chunk:
                raise _ConverterLost("crash", self._exit_status())
            self._received += chunk
        line, _, rest = self._received.partition(b"\n")
        self._received = bytearray(rest)
        try:
            message = json.loads(line)
        except ValueError as error:
            raise _ConverterLost("crash", self._exit_status()) from error
        if not isinstance(message, dict):
            raise _ConverterLost("crash", self._exit_status())
        return message

    def _exit_status(self) -> int | None:
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return None


def _wait_for_group_exit(process_group: int, timeout: float) -> None:
    """Wait until no process of the group is left (orphans are reaped by init)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not group_members(process_group):
            return
        time.sleep(0.02)
    logger.warning("processes of converter group %d still present after kill", process_group)


def _remove_stale_directories(root: Path) -> None:
    """Delete profile folders left by pool processes that no longer run."""
    for directory in root.glob(f"{_DIRECTORY_PREFIX}*"):
        owner = directory.name.removeprefix(_DIRECTORY_PREFIX).split("-")[0]
        if owner.isdigit() and not running(int(owner)):
            _remove_office_sockets(directory)
            shutil.rmtree(directory, ignore_errors=True)


# LibreOffice always puts its UNO pipe and its single-instance pipe in /tmp (TMPDIR does not
# move them) and only removes them when it shuts down cleanly: every killed converter (a hang, a
# crash, a recycle, a closing pool) left both there for good, two for every start. The paths a
# converter listens on are recorded when it is ready and removed once it is gone.
_SOCKETS_RECORD = "sockets"
_OFFICE_SOCKET_PREFIX = "OSL_PIPE_"


def _record_office_sockets(directory: Path, process_group: int) -> None:
    sockets = [
        path
        for path in listening_unix_sockets(group_members(process_group))
        if path.name.startswith(_OFFICE_SOCKET_PREFIX)
    ]
    (directory / _SOCKETS_RECORD).write_text("".join(f"{path}\n" for path in sockets))


def _remove_office_sockets(directory: Path) -> None:
    try:
        recorded = (directory / _SOCKETS_RECORD).read_text().splitlines()
    except OSError:
        return
    for line in recorded:
        path = Path(line)
        with contextlib.suppress(OSError):
            if path.name.startswith(_OFFICE_SOCKET_PREFIX) and stat.S_ISSOCK(path.lstat().st_mode):
                path.unlink()


# ------------------------------------------------------------------------------------- the pool


class ConverterPool:
    """A supervised pool of LibreOffice converters; `convert` is safe to call from many threads.

    Start it with the service (`start`, or ``with ConverterPool(settings) as pool:``) and `close` it
    on shutdown: `close` kills every LibreOffice the pool started.
    """

    def __init__(self, settings: ConverterPoolSettings) -> None:
        self._settings = settings
        self._condition = threading.Condition()
        self._idle: deque[_ConverterProcess] = deque()
        self._processes: dict[int, _ConverterProcess] = {}
        self._states: dict[int, ConverterState] = {}
        self._generations: dict[int, int] = {}
        self._counters = _Counters()
        self._admitted = 0
        self._started = False
        self._closed = False
        self._root: Path | None = None
        self._owns_root = False
        self._background: set[threading.Thread] = set()
        self._stop_monitor = threading.Event()

    @property
    def settings(self) -> ConverterPoolSettings:
        return self._settings

    # -- lifecycle

    def start(self) -> None:
        """Start every converter; raise `ConverterStartFailed` (and leave nothing running) if one
        does not come up within ``startup_timeout``."""
        with self._condition:
            if self._started:
                raise ConverterConfigurationError("the pool has already been started")
            self._started = True
        if self._settings.profile_root is None:
            self._root = Path(tempfile.mkdtemp(prefix="tiltas-converters-"))
            self._owns_root = True
        else:
            self._root = self._settings.profile_root
            self._root.mkdir(parents=True, exist_ok=True)
            _remove_stale_directories(self._root)
        root = self._root
        converters = []
        for slot in range(self._settings.pool_size):
            self._generations[slot] = 1
            converter = _ConverterProcess(slot, 1, self._settings, root)
            self._processes[slot] = converter
            self._states[slot] = ConverterState.STARTING
            converters.append(converter)

        def start_one(converter: _ConverterProcess) -> ConverterStartFailed | None:
            try:
                converter.start()
            except (_ConverterLost, OSError) as error:
                return ConverterStartFailed(slot=converter.slot, detail=_describe(error))
            return None

        with ThreadPoolExecutor(max_workers=len(converters)) as executor:
            failures = [f for f in executor.map(start_one, converters) if f is not None]
        if failures:
            for converter in converters:
                converter.kill()
            with self._condition:
                self._closed = True
            self._remove_root()
            raise failures[0]
        with self._condition:
            for converter in converters:
                self._states[converter.slot] = ConverterState.IDLE
                self._idle.append(converter)
            self._condition.notify_all()
        monitor = threading.Thread(
            target=self._monitor_idle_converters, name="converter-monitor", daemon=True
        )
        self._background.add(monitor)
        monitor.start()
        logger.info("conversion pool started with %d converters", len(converters))

    def close(self, grace_seconds: float = 10.0) -> None:
        """Stop taking requests, let running ones finish for up to ``grace_seconds``, then kill
        every converter and delete the profiles. Idempotent."""
        with self._condition:
            if self._closed and not self._processes:
                return
            self._closed = True
            self._condition.notify_all()
            deadline = time.monotonic() + grace_seconds
            while self._admitted > 0 and (remaining := deadline - time.monotonic()) > 0:
                self._condition.wait(remaining)
            converters = list(self._processes.values())
            self._processes.clear()
            self._idle.clear()
            for slot in self._states:
                self._states[slot] = ConverterState.STOPPED
        self._stop_monitor.set()
        for converter in converters:
            converter.kill()
        for thread in list(self._background):
            thread.join(timeout=self._settings.startup_timeout)
        self._remove_root()
        logger.info("conversion pool closed")

    def __enter__(self) -> ConverterPool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- conversion

    def convert(self, docx: bytes, *, timeout: float | None = None) -> bytes:
        """Convert one DOCX to PDF/A-2b and return the PDF bytes.

        ``timeout`` (default ``settings.conversion_timeout``) bounds each attempt on a converter.
        A converter that hangs or dies is killed and restarted, and the request is tried once more
        on another converter process.
        """
        attempt_timeout = self._settings.conversion_timeout if timeout is None else timeout
        if not attempt_timeout > 0:
            raise ConverterConfigurationError("timeout must be positive")
        if not docx.startswith(b"PK"):
            with self._condition:
                self._counters.rejected_documents += 1
            raise DocumentRejected(detail="not_a_docx")
        with self._admission():
            failure: ConversionError | None = None
            for attempt in (1, 2):
                converter = self._checkout()
                try:
                    pdf = converter.convert(docx, attempt_timeout)
                except _ConverterLost as lost:
                    failure = self._record_loss(converter, lost, attempt, attempt_timeout)
                    continue
                except DocumentRejected:
                    self._checkin(converter)
                    with self._condition:
                        self._counters.rejected_documents += 1
                    raise
                except BaseException:
                    self._replace(converter)  # interrupted mid-exchange: its state is unknown
                    raise
                self._checkin(converter)
                with self._condition:
                    self._counters.conversions += 1
                return pdf
            assert failure is not None
            raise failure

    async def convert_async(self, docx: bytes, *, timeout: float | None = None) -> bytes:
        """`convert` for async code: runs in a worker thread and does not block the event loop.

        It uses the loop's default executor, whose thread count also bounds how many async callers
        reach the pool at once; callers beyond it wait in the executor, not in the pool's queue.
        """
        return await asyncio.to_thread(self.convert, docx, timeout=timeout)

    def status(self) -> PoolStatus:
        """A snapshot for health checks and tests."""
        with self._condition:
            converters = []
            for slot in sorted(self._states):
                process = self._processes.get(slot)
                worker = process.process if process is not None else None
                converters.append(
                    ConverterStatus(
                        slot=slot,
                        state=self._states[slot],
                        generation=self._generations[slot],
                        worker_pid=worker.pid if worker is not None else None,
                        process_group=worker.pid if worker is not None else None,
                        soffice_pid=process.soffice_pid if process is not None else None,
                        conversions=process.conversions if process is not None else 0,
                    )
                )
            counters = self._counters
            return PoolStatus(
                converters=tuple(converters),
                admitted_requests=self._admitted,
                conversions=counters.conversions,
                retries=counters.retries,
                restarts=counters.restarts,
                timeouts=counters.timeouts,
                crashes=counters.crashes,
                rejected_documents=counters.rejected_documents,
                busy_refusals=counters.busy_refusals,
            )

    # -- internals

    @contextlib.contextmanager
    def _admission(self) -> Iterator[None]:
        with self._condition:
            if not self._started or self._closed:
                raise ConverterPoolClosed()
            if self._admitted >= self._settings.pool_size + self._settings.queue_bound:
                self._counters.busy_refusals += 1
                raise ConverterBusy(
                    reason="queue_full", queue_bound=self._settings.queue_bound, waited_seconds=0.0
                )
            self._admitted += 1
        try:
            yield
        finally:
            with self._condition:
                self._admitted -= 1
                self._condition.notify_all()

    def _checkout(self) -> _ConverterProcess:
        waited_from = time.monotonic()
        deadline = waited_from + self._settings.queue_wait_timeout
        with self._condition:
            while True:
                if self._closed:
                    raise ConverterPoolClosed()
                while self._idle:
                    converter = self._idle.popleft()
                    if converter.is_alive():
                        self._states[converter.slot] = ConverterState.BUSY
                        return converter
                    logger.warning("idle converter %d died; restarting", converter.slot)
                    self._counters.crashes += 1
                    self._replace_locked(converter)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._counters.busy_refusals += 1
                    raise ConverterBusy(
                        reason="wait_timeout",
                        queue_bound=self._settings.queue_bound,
                        waited_seconds=time.monotonic() - waited_from,
                    )
                self._condition.wait(remaining)

    def _checkin(self, converter: _ConverterProcess) -> None:
        recycle = self._settings.recycle_after
        with self._condition:
            if self._closed or self._processes.get(converter.slot) is not converter:
                return  # close() owns it now
            if recycle and converter.conversions >= recycle:
                logger.info("recycling converter %d after %d conversions", converter.slot, recycle)
                self._replace_locked(converter)
                return
            self._states[converter.slot] = ConverterState.IDLE
            self._idle.append(converter)
            self._condition.notify()

    def _record_loss(
        self, converter: _ConverterProcess, lost: _ConverterLost, attempt: int, timeout: float
    ) -> ConversionError:
        error: ConversionError
        if lost.kind == "timeout":
            error = ConverterTimeout(slot=converter.slot, timeout_seconds=timeout, attempts=attempt)
        else:
            error = ConverterCrashed(
                slot=converter.slot, exit_status=lost.exit_status, attempts=attempt
            )
        logger.warning(
            "converter %d (pid %s) lost: %s; %s",
            converter.slot,
            converter.process.pid if converter.process else None,
            lost.kind,
            "retrying on another converter" if attempt == 1 else "giving up",
        )
        with self._condition:
            if lost.kind == "timeout":
                self._counters.timeouts += 1
            else:
                self._counters.crashes += 1
            if attempt == 1:
                self._counters.retries += 1
        self._replace(converter)
        return error

    def _replace(self, converter: _ConverterProcess) -> None:
        with self._condition:
            self._replace_locked(converter)

    def _replace_locked(self, converter: _ConverterProcess) -> None:
        """Kill ``converter`` and start its successor in the background (lock held)."""
        if self._closed or self._processes.get(converter.slot) is not converter:
            return
        self._states[converter.slot] = ConverterState.RESTARTING
        self._counters.restarts += 1
        thread = threading.Thread(
            target=self._restart_slot,
            args=(converter,),
            name=f"converter-{converter.slot}-restart",
            daemon=True,
        )
        self._background.add(thread)
        thread.start()

    def _restart_slot(self, old: _ConverterProcess) -> None:
        slot = old.slot
        try:
            old.kill()
            for attempt in range(sys.maxsize):
                with self._condition:
                    if self._closed or self._root is None:
                        return
                    self._generations[slot] += 1
                    new = _ConverterProcess(
                        slot, self._generations[slot], self._settings, self._root
                    )
                    self._processes[slot] = new
                    self._states[slot] = ConverterState.STARTING
                try:
                    new.start()
                except (_ConverterLost, OSError) as error:
                    new.kill()
                    delay = _RESTART_BACKOFF_SECONDS[
                        min(attempt, len(_RESTART_BACKOFF_SECONDS) - 1)
                    ]
                    logger.error(
                        "converter %d failed to restart (%s); next try in %.1f s",
                        slot,
                        _describe(error),
                        delay,
                    )
                    if self._stop_monitor.wait(delay):
                        return
                    continue
                with self._condition:
                    if not self._closed and self._processes.get(slot) is new:
                        self._states[slot] = ConverterState.IDLE
                        self._idle.append(new)
                        self._condition.notify()
                        logger.info("converter %d restarted (pid %s)", slot, new.soffice_pid)
                        return
                new.kill()
                return
        finally:
            with self._condition:
                self._background.discard(threading.current_thread())

    def _monitor_idle_converters(self) -> None:
        while not self._stop_monitor.wait(self._settings.health_check_interval):
            with self._condition:
                for converter in [c for c in self._idle if not c.is_alive()]:
                    logger.warning("idle converter %d died; restarting", converter.slot)
                    self._idle.remove(converter)
                    self._counters.crashes += 1
                    self._replace_locked(converter)

    def _remove_root(self) -> None:
        if self._owns_root and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)


def _describe(error: BaseException) -> str:
    if isinstance(error, _ConverterLost):
        if error.kind == "timeout":
            return "no answer within startup_timeout"
        detail = f" ({error.detail})" if error.detail else ""
        return f"process exited with status {error.exit_status}{detail}"
    return f"{type(error).__name__}: {error}"
