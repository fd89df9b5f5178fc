"""Which processes a test left running."""

from __future__ import annotations

import subprocess
from pathlib import Path


def processes_under(root: Path) -> list[str]:
    """Live processes whose command line names ``root`` (LibreOffice gets its profile there)."""
    found = subprocess.run(
        ["pgrep", "-a", "-f", str(root)], capture_output=True, text=True, check=False
    )
    return found.stdout.splitlines()


def office_sockets() -> set[Path]:
    """LibreOffice's Unix sockets (its UNO pipes and single-instance pipes): always in /tmp."""
    return set(Path("/tmp").glob("OSL_PIPE_*"))
