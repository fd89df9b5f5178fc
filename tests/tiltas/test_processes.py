import os
import subprocess
import sys
from pathlib import Path

from tiltas.processes import group_members, listening_unix_sockets, running


def test_a_process_runs_until_it_has_exited() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert running(child.pid)
    finally:
        child.kill()
        child.wait()  # reaped: its id names no process any more
    assert not running(child.pid)


def test_this_process_runs() -> None:
    assert running(os.getpid())


def test_a_process_group_and_the_sockets_it_listens_on(tmp_path: Path) -> None:
    address = tmp_path / "listening"
    server = (
        "import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); "
        "c = socket.socket(socket.AF_UNIX); c.bind(sys.argv[1] + '-bound-only'); "
        "print('ready', flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", server, str(address)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,  # its own process group, led by it
    )
    with child:
        try:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
            assert group_members(child.pid) == [child.pid]
            assert listening_unix_sockets([child.pid]) == [address]
            assert listening_unix_sockets([os.getpid()]) == []
        finally:
            child.kill()
    assert group_members(child.pid) == []
    assert listening_unix_sockets([child.pid]) == []
