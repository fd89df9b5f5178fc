"""One DOCX -> PDF/A-2b converter process, driven by `templates.conversion.ConverterPool`.

Run as a script by the pool (never imported by the service): it starts its own LibreOffice with its
own user profile, connects to it over a private UNO pipe and then serves requests, one JSON line per
request on stdin, one JSON line per answer on stdout.

    -> {"event": "ready", "soffice_pid": 123}
    <- {"id": 1, "input": "/…/1.docx", "output": "/…/1.pdf"}
    -> {"id": 1, "ok": true}
    -> {"id": 1, "ok": false, "error": "document_rejected", "detail": "IOException"}

All timeouts are enforced by the pool, which kills this process's whole process group (this process,
oosplash, soffice.bin) when an answer is late. This process exits as soon as LibreOffice dies, when
stdin closes, or when its parent goes away, taking LibreOffice with it.

Runs under the interpreter that imports Debian's `uno` module (DOMAIN.md §9); it uses only the
standard library besides `uno`. Document contents never reach a log.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.lang import DisposedException

# Exit statuses the pool reads from a dead converter.
EXIT_SOFFICE_DIED = 3
EXIT_START_FAILED = 4

# Import filter of LibreOffice for .docx; naming it stops LibreOffice from guessing another format
# (a damaged DOCX would otherwise be opened as plain text and "converted").
DOCX_IMPORT_FILTER = "MS Word 2007 XML"
# DOMAIN.md §9: SelectPdfVersion 2 = PDF/A-2b (1 would give PDF/A-1a).
PDFA_2B_VERSION = 2
MACRO_EXECUTION_NEVER = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
UPDATE_DOC_NEVER = 0  # com.sun.star.document.UpdateDocMode.NO_UPDATE


def _property(name: str, value: Any) -> Any:
    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _kill_own_process_group() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _exit_when_soffice_dies(soffice: subprocess.Popen[bytes]) -> None:
    soffice.wait()
    os._exit(EXIT_SOFFICE_DIED)


def _exit_when_orphaned(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            _kill_own_process_group()
        time.sleep(1.0)


def _start_soffice(soffice_path: str, profile_dir: Path, pipe_name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            soffice_path,
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            "--nofirststartwizard",
            f"--accept=pipe,name={pipe_name};urp;StarOffice.ComponentContext",
            # Each converter owns its profile: two instances on one profile silently merge.
            f"-env:UserInstallation={profile_dir.resolve().as_uri()}",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _connect(pipe_name: str, soffice: subprocess.Popen[bytes]) -> Any:
    local_context = uno.getComponentContext()
    resolver = local_context.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local_context
    )
    while True:
        try:
            context = resolver.resolve(f"uno:pipe,name={pipe_name};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if soffice.poll() is not None:
                raise
            time.sleep(0.05)
            continue
        return context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", context
        )


def _convert(desktop: Any, input_path: Path, output_path: Path) -> None:
    document = desktop.loadComponentFromURL(
        input_path.as_uri(),
        "_blank",
        0,
        (
            _property("Hidden", True),
            _property("ReadOnly", True),
            _property("FilterName", DOCX_IMPORT_FILTER),
            _property("MacroExecutionMode", MACRO_EXECUTION_NEVER),
            _property("UpdateDocMode", UPDATE_DOC_NEVER),
        ),
    )
    if document is None:
        raise _DocumentRejected("NoDocument")
    try:
        filter_data = uno.Any(
            "[]com.sun.star.beans.PropertyValue",
            (_property("SelectPdfVersion", PDFA_2B_VERSION),),
        )
        document.storeToURL(
            output_path.as_uri(),
            (_property("FilterName", "writer_pdf_Export"), _property("FilterData", filter_data)),
        )
    finally:
        document.close(True)


class _DocumentRejected(Exception):
    pass


def _bridge_alive(desktop: Any) -> bool:
    try:
        desktop.getFrames()
    except Exception:  # DisposedException, RuntimeException: the office is gone
        return False
    return True


def _serve(desktop: Any, soffice: subprocess.Popen[bytes]) -> None:
    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["id"]
        try:
            _convert(desktop, Path(request["input"]), Path(request["output"]))
        except DisposedException:
            _send({"id": request_id, "ok": False, "error": "converter_crashed"})
            return
        except Exception as error:  # a UNO exception raised for this document
            # LibreOffice killed mid-conversion shows up first as an exception from the call,
            # before the launcher process has exited (measured): ask the bridge whether it lives.
            if soffice.poll() is not None or not _bridge_alive(desktop):
                _send({"id": request_id, "ok": False, "error": "converter_crashed"})
                return
            detail = type(error).__name__
            _send({"id": request_id, "ok": False, "error": "document_rejected", "detail": detail})
            continue
        _send({"id": request_id, "ok": True})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--soffice", required=True)
    parser.add_argument("--profile-dir", required=True, type=Path)
    parser.add_argument("--pipe-name", required=True)
    parser.add_argument("--parent-pid", required=True, type=int)
    arguments = parser.parse_args()
    if os.getpgrp() != os.getpid():
        # Killing "our" group would hit whoever started us; the pool starts us as a group leader.
        parser.error("must run as the leader of its own process group (start_new_session=True)")

    threading.Thread(target=_exit_when_orphaned, args=(arguments.parent_pid,), daemon=True).start()
    try:
        soffice = _start_soffice(arguments.soffice, arguments.profile_dir, arguments.pipe_name)
    except OSError as error:
        _send({"event": "start_failed", "detail": f"{type(error).__name__}: {error.strerror}"})
        os._exit(EXIT_START_FAILED)
    threading.Thread(target=_exit_when_soffice_dies, args=(soffice,), daemon=True).start()
    try:
        desktop = _connect(arguments.pipe_name, soffice)
    except Exception as error:
        _send({"event": "start_failed", "detail": type(error).__name__})
        _kill_own_process_group()
    try:
        _send({"event": "ready", "soffice_pid": soffice.pid})
        _serve(desktop, soffice)
    finally:
        # stdin closed (the pool is done with us), LibreOffice died, or the pool process was
        # killed while we answered (a broken pipe; once it left LibreOffice running for good):
        # leave nothing behind.
        _kill_own_process_group()


if __name__ == "__main__":
    main()
