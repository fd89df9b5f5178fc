"""``tiltas user create`` (password from standard input), ``user password`` and ``user disable``;
the person then signs in to the pages, or no longer can."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.service import REPO
from tests.web.conftest import csrf_of
from tiltas.settings import Settings


def _tiltas(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, "TILTAS_DATA_DIR": str(data_dir)},
        input=stdin, capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip


def _signs_in(data_dir: Path, email: str, password: str) -> bool:
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        form = client.get("/web/prisijungti")
        response = client.post(
            "/web/prisijungti",
            data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        return response.status_code == 303


def test_user_create_password_and_disable(tmp_path: Path) -> None:
    created = _tiltas(
        tmp_path, "org", "create", "--code", "188000011", "--name", "Alytaus pataisos namai",
        "--kind", "correctional_institution", "--address", "Pramonės g. 3, Alytus",
        "--email", "info@apn.lt",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    password = "Ilgas-slaptažodis-2026"
    result = _tiltas(
        tmp_path, "user", "create", "--organisation", "188000011", "--role", "director",
        "--email", "Rasa@APN.lt", "--name", "Rasa Žilinskienė", stdin=password + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "user rasa@apn.lt of 188000011 as director created" in result.stdout
    assert password.encode() not in (tmp_path / "tiltas.sqlite3").read_bytes()
    assert _signs_in(tmp_path, "rasa@apn.lt", password)

    changed = _tiltas(
        tmp_path, "user", "password", "--email", "rasa@apn.lt", stdin="Kitas-slaptazodis-77\n"
    )
    assert changed.returncode == 0, changed.stderr
    assert not _signs_in(tmp_path, "rasa@apn.lt", password)
    assert _signs_in(tmp_path, "rasa@apn.lt", "Kitas-slaptazodis-77")

    disabled = _tiltas(tmp_path, "user", "disable", "--email", "rasa@apn.lt")
    assert disabled.returncode == 0, disabled.stderr
    assert not _signs_in(tmp_path, "rasa@apn.lt", "Kitas-slaptazodis-77")


def test_user_create_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    _tiltas(
        tmp_path, "org", "create", "--code", "188000012", "--name", "Savivaldybė",
        "--kind", "municipality", "--address", "Vilnius", "--email", "info@vilnius.lt",
    )  # fmt: skip
    for args, stdin, message in (
        (["--organisation", "188000012", "--role", "director", "--email", "a@b.lt"],
         "Ilgas-slaptažodis-2026\n", "does not belong"),
        (["--organisation", "188000012", "--role", "social_worker", "--email", "a@b.lt"],
         "trumpas\n", "at least 12 characters"),
        (["--organisation", "999999999", "--role", "social_worker", "--email", "a@b.lt"],
         "Ilgas-slaptažodis-2026\n", "no organisation"),
        (["--organisation", "188000012", "--role", "social_worker", "--email", "ne-pastas"],
         "Ilgas-slaptažodis-2026\n", "not an e-mail"),
    ):  # fmt: skip
        result = _tiltas(tmp_path, "user", "create", *args, stdin=stdin)
        assert result.returncode == 2, (args, result.stdout)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
