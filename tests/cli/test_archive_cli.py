"""``tiltas archive renew``: the daily renewal job, once, from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.service import REPO


def _tiltas(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, "TILTAS_DATA_DIR": str(data_dir)},
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip


def test_archive_renew_prints_a_one_line_summary(tmp_path: Path) -> None:
    for args, expected in (
        (("--dry-run",), "archive renewal (dry run): 0 signed documents checked, 0 due"),
        ((), "archive renewal: 0 signed documents checked, 0 due, renewed 0, refused 0"),
    ):
        result = _tiltas(tmp_path, "archive", "renew", *args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == [result.stdout.strip()]
        assert result.stdout.startswith(expected), result.stdout


def test_archive_is_listed_in_help(tmp_path: Path) -> None:
    result = _tiltas(tmp_path, "archive", "renew", "--help")
    assert result.returncode == 0
    assert "--dry-run" in result.stdout
