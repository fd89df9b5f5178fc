import os
import subprocess
import sys

from tiltas.processes import running


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
