"""DOCX -> PDF/A-2b through the supervised LibreOffice pool, with real LibreOffice processes.

Crash and hang tests kill (-9) or stop (SIGSTOP) a converter's soffice.bin and check that the
request still succeeds, that the converter was replaced and that nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pikepdf
import pytest

from templates import conversion
from templates.conversion import (
    ConverterBusy,
    ConverterConfigurationError,
    ConverterPool,
    ConverterPoolClosed,
    ConverterPoolSettings,
    ConverterStartFailed,
    ConverterState,
    DocumentRejected,
)
from tests.support.processes import office_sockets, processes_under
from tiltas.processes import group_members, listening_unix_sockets


def _load_fixture_module() -> ModuleType:
    path = Path(__file__).parent / "fixtures" / "lithuanian_docx.py"
    spec = importlib.util.spec_from_file_location("lithuanian_docx_fixture", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fixtures = _load_fixture_module()
LITHUANIAN_LETTERS: str = fixtures.LITHUANIAN_LETTERS
lithuanian_docx: Callable[..., bytes] = fixtures.lithuanian_docx

# About a second of conversion: long enough to kill LibreOffice in the middle of it.
SLOW_DOCX_PARAGRAPHS = 1000


# ------------------------------------------------------------------------------------ helpers


def soffice_bin_pid(pool: ConverterPool, slot: int) -> int:
    status = pool.status().converters[slot]
    assert status.process_group is not None
    found = subprocess.run(
        ["pgrep", "-g", str(status.process_group), "-x", "soffice.bin"],
        capture_output=True,
        text=True,
        check=False,
    )
    pids = [int(pid) for pid in found.stdout.split()]
    assert len(pids) == 1, f"expected one soffice.bin in group {status.process_group}: {pids}"
    return pids[0]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting until {what}")


def all_idle(pool: ConverterPool) -> bool:
    return all(c.state is ConverterState.IDLE for c in pool.status().converters)


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        # First page only: pdftotext needs tens of seconds for the 200-page slow document.
        ["pdftotext", "-raw", "-l", "1", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()


def assert_pdfa_2b_with_marker(pdf: bytes, marker: str) -> None:
    assert pdf.startswith(b"%PDF-1.")
    text = pdf_text(pdf)
    assert marker in text
    assert LITHUANIAN_LETTERS in text


def pool_settings(root: Path, **overrides: object) -> ConverterPoolSettings:
    values: dict[str, object] = {
        "pool_size": 2,
        "conversion_timeout": 30.0,
        "startup_timeout": 30.0,
        "queue_wait_timeout": 30.0,
        "profile_root": root,
        "health_check_interval": 0.2,
    }
    values.update(overrides)
    return ConverterPoolSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def make_pool(tmp_path: Path) -> Iterator[Callable[..., ConverterPool]]:
    """Start pools with their own profile root; after the test, close them and check that no
    process of theirs survives."""
    pools: list[tuple[ConverterPool, Path]] = []

    def make(**overrides: object) -> ConverterPool:
        root = tmp_path / f"pool-{len(pools)}"
        pool = ConverterPool(pool_settings(root, **overrides))
        pools.append((pool, root))
        pool.start()
        return pool

    yield make
    for pool, root in pools:
        groups = [c.process_group for c in pool.status().converters if c.process_group]
        pool.close()
        assert processes_under(root) == []
        for group in groups:
            assert group_members(group) == []
        assert not list(root.glob("converter-*")), "profiles left behind"


@pytest.fixture(scope="module")
def shared_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConverterPool]:
    """One warm pool for the tests that do not hurt it."""
    root = tmp_path_factory.mktemp("shared-pool")
    with ConverterPool(pool_settings(root)) as pool:
        yield pool
    assert processes_under(root) == []


# -------------------------------------------------------------------------------- conversion


def test_converts_lithuanian_docx_to_pdfa_2b(shared_pool: ConverterPool) -> None:
    pdf = shared_pool.convert(lithuanian_docx("ŽYMĖ-VIENAS"))

    assert_pdfa_2b_with_marker(pdf, "ŽYMĖ-VIENAS")
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert str(document.Root.Lang) == "lt-LT"
        metadata = document.open_metadata()
        assert metadata["pdfaid:part"] == "2"
        assert metadata["pdfaid:conformance"] == "B"
        fonts = [font for page in document.pages for font in page.Resources.Font.values()]
        assert fonts
        for font in fonts:
            assert "/FontFile2" in font.FontDescriptor or "/FontFile3" in font.FontDescriptor


def test_async_conversion(shared_pool: ConverterPool) -> None:
    async def convert_two() -> tuple[bytes, bytes]:
        return await asyncio.gather(
            shared_pool.convert_async(lithuanian_docx("ASINCHRONINIS-1")),
            shared_pool.convert_async(lithuanian_docx("ASINCHRONINIS-2")),
        )

    first, second = asyncio.run(convert_two())
    assert_pdfa_2b_with_marker(first, "ASINCHRONINIS-1")
    assert_pdfa_2b_with_marker(second, "ASINCHRONINIS-2")


def test_many_threads_convert_at_once_and_each_gets_its_own_document(
    shared_pool: ConverterPool,
) -> None:
    documents = {f"DOKUMENTAS-{n:02d}": lithuanian_docx(f"DOKUMENTAS-{n:02d}") for n in range(16)}
    results: dict[str, bytes] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(documents))

    def convert(marker: str, docx: bytes) -> None:
        start.wait()
        try:
            results[marker] = shared_pool.convert(docx)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=convert, args=item) for item in documents.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert set(results) == set(documents)
    for marker, pdf in results.items():
        assert_pdfa_2b_with_marker(pdf, marker)
    assert all_idle(shared_pool)


def test_damaged_docx_is_rejected_and_the_converter_keeps_working(
    shared_pool: ConverterPool,
) -> None:
    before = shared_pool.status()
    with pytest.raises(DocumentRejected) as not_zip:
        shared_pool.convert(b"just some text, not a DOCX")
    assert not_zip.value.detail == "not_a_docx"
    assert not_zip.value.code == "document_rejected"

    with pytest.raises(DocumentRejected):
        shared_pool.convert(b"PK\x03\x04" + b"\x00" * 200)

    after = shared_pool.status()
    assert after.restarts == before.restarts
    assert [c.generation for c in after.converters] == [c.generation for c in before.converters]
    assert_pdfa_2b_with_marker(shared_pool.convert(lithuanian_docx("PO-KLAIDOS")), "PO-KLAIDOS")


# ------------------------------------------------------------------------------- supervision


def test_kill_9_between_conversions_restarts_the_converter(
    make_pool: Callable[..., ConverterPool],
) -> None:
    pool = make_pool()
    victim = soffice_bin_pid(pool, 0)
    old_group = pool.status().converters[0].process_group
    assert old_group is not None

    os.kill(victim, signal.SIGKILL)
    # Whichever converter the requests meet, they succeed.
    for n in range(3):
        marker = f"PO-NUŽUDYMO-{n}"
        assert_pdfa_2b_with_marker(pool.convert(lithuanian_docx(marker)), marker)

    wait_until(lambda: pool.status().converters[0].generation == 2, 30, "slot 0 is restarted")
    wait_until(lambda: all_idle(pool), 30, "the pool is idle again")
    assert group_members(old_group) == []
    assert pool.status().crashes == 1
    assert soffice_bin_pid(pool, 0) != victim
    assert_pdfa_2b_with_marker(pool.convert(lithuanian_docx("ATSIGAVO")), "ATSIGAVO")


def test_kill_9_mid_conversion_retries_on_another_converter(
    make_pool: Callable[..., ConverterPool],
) -> None:
    pool = make_pool()
    outcome: dict[str, bytes | BaseException] = {}

    def convert() -> None:
        try:
            outcome["pdf"] = pool.convert(
                lithuanian_docx("ILGAS", filler_paragraphs=SLOW_DOCX_PARAGRAPHS)
            )
        except BaseException as error:
            outcome["error"] = error

    request = threading.Thread(target=convert)
    request.start()
    wait_until(
        lambda: any(c.state is ConverterState.BUSY for c in pool.status().converters),
        10,
        "a converter is busy",
    )
    busy = next(c for c in pool.status().converters if c.state is ConverterState.BUSY)
    time.sleep(0.3)  # LibreOffice is now loading or exporting
    os.kill(soffice_bin_pid(pool, busy.slot), signal.SIGKILL)
    request.join(timeout=60)

    assert "error" not in outcome, outcome.get("error")
    pdf = outcome["pdf"]
    assert isinstance(pdf, bytes)
    assert_pdfa_2b_with_marker(pdf, "ILGAS")
    status = pool.status()
    assert status.crashes == 1
    assert status.retries == 1
    wait_until(lambda: all_idle(pool), 30, "the killed converter is replaced")
    assert pool.status().converters[busy.slot].generation == 2


def test_hung_converter_times_out_is_killed_and_the_request_completes_elsewhere(
    make_pool: Callable[..., ConverterPool],
) -> None:
    pool = make_pool()
    stopped = soffice_bin_pid(pool, 0)
    stopped_group = pool.status().converters[0].process_group
    assert stopped_group is not None
    os.kill(stopped, signal.SIGSTOP)
    try:
        # The least recently used converter goes first, so one of two requests meets slot 0.
        for n in range(2):
            marker = f"PO-UŽSTRIGIMO-{n}"
            pdf = pool.convert(lithuanian_docx(marker), timeout=3.0)
            assert_pdfa_2b_with_marker(pdf, marker)
    finally:
        if group_members(stopped_group):
            os.kill(stopped, signal.SIGCONT)

    status = pool.status()
    assert status.timeouts == 1
    assert status.retries == 1
    assert group_members(stopped_group) == []  # killed, not just abandoned
    wait_until(lambda: pool.status().converters[0].generation == 2, 30, "slot 0 is restarted")
    wait_until(lambda: all_idle(pool), 30, "the pool is idle again")
    assert_pdfa_2b_with_marker(pool.convert(lithuanian_docx("ATSIGAVO")), "ATSIGAVO")


def test_full_queue_refuses_at_once_with_converter_busy(
    make_pool: Callable[..., ConverterPool],
) -> None:
    pool = make_pool(pool_size=1, queue_bound=1)
    busy = soffice_bin_pid(pool, 0)
    slow = lithuanian_docx("LĖTAS", filler_paragraphs=SLOW_DOCX_PARAGRAPHS)
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(pool.convert(slow))) for _ in "ab"]
    for thread in threads:
        thread.start()
    wait_until(lambda: pool.status().admitted_requests == 2, 10, "two requests are admitted")

    os.kill(busy, signal.SIGSTOP)  # both stay admitted, however fast the machine
    try:
        with pytest.raises(ConverterBusy) as refused:
            pool.convert(lithuanian_docx("PERTEKLINIS"))
    finally:
        os.kill(busy, signal.SIGCONT)
    assert refused.value.reason == "queue_full"
    assert refused.value.queue_bound == 1
    assert refused.value.code == "converter_busy"

    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2
    assert pool.status().busy_refusals == 1
    assert_pdfa_2b_with_marker(pool.convert(lithuanian_docx("VĖL-LAISVA")), "VĖL-LAISVA")


def test_no_free_converter_in_time_is_converter_busy(
    make_pool: Callable[..., ConverterPool],
) -> None:
    pool = make_pool(pool_size=1, queue_bound=4, queue_wait_timeout=0.5)
    busy = soffice_bin_pid(pool, 0)
    slow = lithuanian_docx("LĖTAS", filler_paragraphs=SLOW_DOCX_PARAGRAPHS)
    results: list[bytes] = []
    request = threading.Thread(target=lambda: results.append(pool.convert(slow)))
    request.start()
    wait_until(lambda: pool.status().converters[0].state is ConverterState.BUSY, 10, "busy")
    # Stopped, the converter cannot finish while the second request waits, however fast the
    # machine (a fast one converted the slow document within the half second).
    os.kill(busy, signal.SIGSTOP)
    try:
        with pytest.raises(ConverterBusy) as refused:
            pool.convert(lithuanian_docx("LAUKIA"))
    finally:
        os.kill(busy, signal.SIGCONT)
    assert refused.value.reason == "wait_timeout"
    request.join(timeout=60)
    assert len(results) == 1  # the first request still gets its document


def test_converter_is_recycled_after_its_quota_of_conversions(
    make_pool: Callable[..., ConverterPool],
) -> None:
    pool = make_pool(pool_size=1, recycle_after=2)
    first_group = pool.status().converters[0].process_group
    assert first_group is not None
    for n in range(3):  # the third waits for the fresh converter
        marker = f"PERDIRBIMAS-{n}"
        assert_pdfa_2b_with_marker(pool.convert(lithuanian_docx(marker)), marker)

    status = pool.status()
    assert status.converters[0].generation == 2
    assert status.restarts == 1
    assert status.crashes == 0
    assert group_members(first_group) == []


def test_killed_and_recycled_converters_leave_no_temporary_files(
    make_pool: Callable[..., ConverterPool], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LibreOffice writes an NSS database to TMPDIR at each start and a killed soffice never
    removes it: over a long run every restart left one behind (soak, issue 9)."""
    system_tmp = tmp_path / "tmp"
    system_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    pool = make_pool(pool_size=1, recycle_after=2)
    os.kill(soffice_bin_pid(pool, 0), signal.SIGKILL)
    for n in range(3):
        marker = f"LAIKINI-{n}"
        assert_pdfa_2b_with_marker(pool.convert(lithuanian_docx(marker)), marker)
    wait_until(lambda: pool.status().converters[0].generation >= 3, 30, "killed, then recycled")
    assert sorted(p.name for p in system_tmp.rglob("*")) == []


def test_killed_recycled_and_closed_converters_leave_no_sockets_in_tmp(
    make_pool: Callable[..., ConverterPool],
) -> None:
    """A killed soffice never removes its two pipes from /tmp: every converter start (a crash,
    a hang, a recycle, a closing pool) once left two sockets there for good."""
    before = office_sockets()
    pool = make_pool(pool_size=1, recycle_after=2)
    assert len(office_sockets() - before) == 2, "its UNO pipe and its single-instance pipe"
    os.kill(soffice_bin_pid(pool, 0), signal.SIGKILL)
    for n in range(3):
        marker = f"LIZDAI-{n}"
        assert_pdfa_2b_with_marker(pool.convert(lithuanian_docx(marker)), marker)
    wait_until(lambda: pool.status().converters[0].generation >= 3, 30, "killed, then recycled")
    wait_until(lambda: all_idle(pool), 30, "the recycled converter ready")
    pool.close()
    assert office_sockets() - before == set()


def test_a_new_pool_removes_what_a_killed_pool_process_left(tmp_path: Path) -> None:
    """The pool's own process killed: its converters follow it, and the next pool on the same
    profile root removes their folders and their sockets."""
    root = tmp_path / "pool"
    before = office_sockets()
    script = (
        "import sys; from pathlib import Path; "
        "from templates.conversion import ConverterPool, ConverterPoolSettings; "
        "ConverterPool(ConverterPoolSettings(pool_size=1, profile_root=Path(sys.argv[1]))).start(); "
        "print('ready', flush=True); sys.stdin.read()"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(conversion.__file__).parents[1],
    )
    with owner:
        assert owner.stdout is not None and owner.stdout.readline() == b"ready\n"
        left = office_sockets() - before
        owner.kill()
    assert len(left) == 2
    wait_until(lambda: processes_under(root) == [], 30, "its converters gone with it")
    assert list(root.glob("converter-*")) and left <= office_sockets(), "what it left behind"

    pool = ConverterPool(pool_settings(root, pool_size=1))
    pool.start()
    try:
        assert [p.name for p in root.glob("converter-*")] == [f"converter-{os.getpid()}-0-1"]
        assert left & office_sockets() == set()
    finally:
        pool.close()
    assert office_sockets() - before == set()


# ------------------------------------------------------------------------- lifecycle, config


def test_closed_pool_refuses_and_leaves_no_process(tmp_path: Path) -> None:
    root = tmp_path / "pool"
    pool = ConverterPool(pool_settings(root, pool_size=1))
    with pytest.raises(ConverterPoolClosed):
        pool.convert(lithuanian_docx())
    pool.start()
    assert processes_under(root)
    pool.close()

    assert processes_under(root) == []
    with pytest.raises(ConverterPoolClosed):
        pool.convert(lithuanian_docx())
    pool.close()  # idempotent


def test_a_converter_whose_pool_process_dies_mid_answer_leaves_no_libreoffice(
    tmp_path: Path,
) -> None:
    """The pool process killed while its converter answers: the answer's write fails with a
    broken pipe, and the converter must still take its LibreOffice with it (it once left
    soffice running for good, seen after a crash test)."""
    source = tmp_path / "letter.docx"
    source.write_bytes(lithuanian_docx())
    worker = subprocess.Popen(
        [
            ConverterPoolSettings().python_executable,
            str(Path(conversion.__file__).with_name("converter_worker.py")),
            "--soffice", "soffice",
            "--profile-dir", str(tmp_path / "profile"),
            "--pipe-name", f"tiltas-test-{os.getpid()}",
            "--parent-pid", str(os.getpid()),  # we live on: only the pipe breaks
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # where a killed soffice leaves its files
    )  # fmt: skip
    assert worker.stdin is not None and worker.stdout is not None
    sockets: list[Path] = []
    try:
        assert b'"ready"' in worker.stdout.readline()
        assert len(group_members(worker.pid)) >= 2, "the converter runs LibreOffice"
        sockets = listening_unix_sockets(group_members(worker.pid))  # no pool to remove them
        request = {"id": 1, "input": str(source), "output": str(tmp_path / "letter.pdf")}
        worker.stdin.write(json.dumps(request).encode() + b"\n")
        worker.stdin.flush()
        worker.stdout.close()  # as a killed pool process's end of the pipe
        worker.wait(timeout=60)
        deadline = time.monotonic() + 10
        while group_members(worker.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert group_members(worker.pid) == [], "LibreOffice outlived its converter"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.stdin.close()
        worker.wait()
        for socket_path in sockets:
            socket_path.unlink(missing_ok=True)


def test_start_fails_cleanly_when_libreoffice_is_missing(tmp_path: Path) -> None:
    root = tmp_path / "pool"
    pool = ConverterPool(pool_settings(root, soffice_path=str(tmp_path / "no-such-soffice")))
    with pytest.raises(ConverterStartFailed) as failed:
        pool.start()
    assert failed.value.code == "converter_start_failed"
    assert "FileNotFoundError" in failed.value.detail
    assert processes_under(root) == []
    with pytest.raises(ConverterPoolClosed):
        pool.convert(lithuanian_docx())


@pytest.mark.parametrize(
    "overrides",
    [
        {"pool_size": 0},
        {"queue_bound": -1},
        {"conversion_timeout": 0},
        {"startup_timeout": -5.0},
    ],
)
def test_invalid_settings_are_refused(overrides: dict[str, object], tmp_path: Path) -> None:
    with pytest.raises(ConverterConfigurationError):
        pool_settings(tmp_path, **overrides)


def test_non_positive_timeout_is_refused(shared_pool: ConverterPool) -> None:
    with pytest.raises(ConverterConfigurationError):
        shared_pool.convert(lithuanian_docx(), timeout=0)


def test_default_pool_has_one_converter_per_core() -> None:
    assert ConverterPoolSettings().pool_size == (os.cpu_count() or 1)
