"""Keys, passwords, personal codes, names, health data and document contents never reach the
logs or an error body: a whole run of `tiltas serve` (API, workers, beat, LibreOffice, the
development PKI) with every process logging at DEBUG — a case with a personal code, a document
made, signed and verified, a webhook delivered, and bad requests — then every log is read."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from api.app import create_app
from tests.support.factories import personal_code
from tests.support.receiver import Receiver, running_receiver
from tests.support.servers import free_port, wait_for
from tests.support.service import REPO, RunningService, start_service
from tiltas.db import make_engine
from tiltas.settings import Settings

pytestmark = pytest.mark.slow

# The service has no log-level setting: this module, first on PYTHONPATH, raises every Python
# process of the run to DEBUG (the supervisor and Celery set INFO, uvicorn its own level).
DEBUG_LOGGING = """
import logging

_basic_config = logging.basicConfig


def _debug_basic_config(**kwargs):
    kwargs["level"] = logging.DEBUG
    _basic_config(**kwargs)


logging.basicConfig = _debug_basic_config
_basic_config(level=logging.DEBUG, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
logging.getLogger("tiltas.test").debug("debug logging on")

try:
    from celery import signals
except ImportError:
    pass
else:
    def _to_debug(logger=None, **_kwargs):
        logging.getLogger().setLevel(logging.DEBUG)
        if logger is not None:
            logger.setLevel(logging.DEBUG)

    signals.after_setup_logger.connect(_to_debug, weak=False)
    signals.after_setup_task_logger.connect(_to_debug, weak=False)
"""

PASSWORD = "Teisingas-slaptažodis-Ž7q"
WRONG_PASSWORD = "Klaidingas-slaptažodis-Ą4w"


@dataclass
class Secrets:
    """Everything that must not be logged, by what it is."""

    found: dict[str, set[str]] = field(default_factory=dict)

    def add(self, kind: str, *values: str) -> None:
        self.found.setdefault(kind, set()).update(v for v in values if v)

    def in_text(self, text: str) -> list[str]:
        """The kinds of secret found in ``text``, each with where."""
        flat = _without_separators(text)
        hits = []
        for kind, values in self.found.items():
            for value in values:
                for form in _forms(value):
                    where = text.find(form)
                    if where < 0 and kind == "personal code":
                        where = flat.find(_without_separators(form))
                    if where >= 0:
                        hits.append(
                            f"{kind} {value!r} as {form!r} near {text[max(0, where - 80) : where + 40]!r}"
                        )
                        break
        return hits


def _without_separators(text: str) -> str:
    return re.sub(r"[\s\-./_:]", "", text)


def _forms(value: str) -> set[str]:
    """The spellings a value could be logged in: as given, in capitals, JSON-escaped, and
    (for a personal code) with separators."""
    forms = {value, value.upper(), value.encode("ascii", "backslashreplace").decode()}
    forms.add(value.encode("unicode_escape").decode())
    if value.isdigit() and len(value) == 11:
        forms |= {f"{value[0]} {value[1:7]} {value[7:]}", f"{value[:1]}-{value[1:7]}-{value[7:]}"}
    return forms


def _tiltas(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=120, cwd=REPO, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    site = tmp_path / "debug-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(DEBUG_LOGGING))
    running = start_service(
        tmp_path / "data",
        PYTHONPATH=f"{site}{os.pathsep}{REPO}",
        UVICORN_LOG_LEVEL="debug",
        TILTAS_DOCUMENT_WAIT_S="120",
        TILTAS_WEBHOOK_ALLOW_LOOPBACK="true",
        TILTAS_WEBHOOK_DISPATCH_INTERVAL_S="1",
    )
    try:
        yield running
    finally:
        running.stop()


def _bad_requests(base: str, secrets: Secrets, headers: dict[str, str], case: dict[str, Any],
                  key_id: str) -> list[httpx.Response]:  # fmt: skip
    """Requests that fail: each answer must echo neither the personal code nor a secret."""
    bad_code = personal_code(3, "850214", "777")[:-1] + "0"
    if bad_code == personal_code(3, "850214", "777"):
        bad_code = bad_code[:-1] + "1"
    secrets.add("personal code", bad_code)
    wrong_secret = "WrongSecret" + "x" * 30
    secrets.add("API key", f"tlt_{key_id}_{wrong_secret}", wrong_secret)
    with_bad_code = {**case, "subject": {**case["subject"], "personal_code": bad_code}}
    # Valid code, but an unknown field and a wrong date: the errors list every field.
    invalid_body = {
        **case,
        "subject": {**case["subject"], "possible_release_date": "2027-02-30"},
        "favourite_colour": case["subject"]["personal_code"],
    }
    answers = [
        httpx.post(f"{base}/v1/cases", json=with_bad_code, headers=headers),
        httpx.get(f"{base}/v1/cases", headers={"Authorization": f"Bearer tlt_{key_id}_{wrong_secret}"}),
        httpx.post(f"{base}/v1/cases", json=invalid_body, headers=headers),
        httpx.post(f"{base}/v1/cases", content=b'{"subject": {"personal_code": "' + case["subject"]["personal_code"].encode() + b'"', headers={**headers, "Content-Type": "application/json"}),
    ]  # fmt: skip
    for answer, status in zip(answers, (422, 401, 422, 422), strict=True):
        assert answer.status_code == status, answer.text
    # A wrong password at the web sign-in.
    with httpx.Client(base_url=base) as browser:
        browser.get("/web/prisijungti")
        token = browser.cookies.get("tiltas_sign_in") or ""
        form = {"email": "ona@apn.lt", "password": WRONG_PASSWORD, "csrf_token": token}
        answers.append(browser.post("/web/prisijungti", data=form))
    assert answers[-1].status_code == 401, answers[-1].text
    secrets.add("password", WRONG_PASSWORD)
    return answers


def test_no_secret_or_personal_data_in_logs_or_error_bodies(
    service: RunningService, receiver: Receiver, tmp_path: Path
) -> None:
    base = service.base_url
    env = {**service.env}
    secrets = Secrets()
    institution, probation = "188000011", "188000029"
    for code, kind in ((institution, "correctional_institution"), (probation, "probation")):
        _tiltas(
            env, "org", "create", "--code", code, "--name", f"Įstaiga {code}", "--kind", kind,
            "--address", "Gedimino pr. 1, Vilnius", "--email", f"info{code}@example.lt",
        )  # fmt: skip
    keys = {
        role: _tiltas(env, "apikey", "create", "--org", institution, "--role", role)
        for role in ("director", "admin", "institution_staff")
    }
    for key in keys.values():
        secrets.add("API key", key, key.split("_", 2)[2])
    director = {"Authorization": f"Bearer {keys['director']}"}
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    _tiltas(
        env, "user", "create", "--organisation", institution, "--role", "director",
        "--email", "ona@apn.lt", "--name", "Ona Petraitienė", stdin=PASSWORD + "\n",
    )  # fmt: skip
    secrets.add("password", PASSWORD)

    code = personal_code(3, "850214", "777")
    secrets.add("personal code", code)
    secrets.add("name", "Aurimantas", "Žvirgždaitis")
    case = {
        "kind": "conditional_release",
        "subject": {
            "first_name": "Aurimantas", "last_name": "Žvirgždaitis", "personal_code": code,
            "institution_code": institution, "possible_release_date": "2027-03-15",
            "intended_residence": {"address": "Žalgirio g. 5-12, Vilnius", "municipality": "vilniaus-m"},
        },
        "participants": [probation],
        "needs": [{"area": "housing", "description": "Poreikis-slaptas-Kregždutė"}],
        "risk": {"level": "high", "criminogenic_factors": ["Rizika-slapta-Gegutė"]},
        "health": {"notes": "Sveikata-slapta-Pelėda", "special_needs_level": "Lygis-slaptas-Varnėnas"},
    }  # fmt: skip
    secrets.add("case contents", "Poreikis-slaptas-Kregždutė", "Rizika-slapta-Gegutė")
    secrets.add("health", "Sveikata-slapta-Pelėda", "Lygis-slaptas-Varnėnas")
    created = httpx.post(f"{base}/v1/cases", json=case, headers=director, timeout=30)
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]

    subscription = httpx.post(
        f"{base}/v1/webhooks",
        json={"url": receiver.url, "events": ["document.sent"]},
        headers=admin,
    ).json()
    rotated = httpx.post(f"{base}/v1/webhooks/{subscription['id']}/secret", headers=admin).json()
    secrets.add("webhook secret", subscription["secret"], rotated["secret"])
    receiver.secrets = (subscription["secret"], rotated["secret"])
    feed = httpx.post(f"{base}/v1/feed-tokens", json={}, headers=director).json()
    secrets.add("feed token", feed["token"])
    assert httpx.get(f"{base}{feed['feed_path']}").status_code == 200

    request = httpx.get(f"{base}/v1/document-types/A", headers=director).json()["example"]
    request["case_id"] = case_id
    request["data"]["needs"][0]["description"] = "Dokumento-turinys-Lakštingala"
    secrets.add("document contents", "Dokumento-turinys-Lakštingala")
    made = httpx.post(f"{base}/v1/documents", json=request, headers=director, timeout=150)
    assert made.status_code == 201 and made.json()["status"] == "generated", made.text
    document_id = made.json()["id"]
    signed = httpx.post(
        f"{base}/v1/documents/{document_id}/signatures", json={}, headers=director, timeout=150
    )
    assert signed.status_code == 200 and signed.json()["status"] == "signed", signed.text
    verified = httpx.get(
        f"{base}/v1/documents/{document_id}/verification", headers=director, timeout=120
    )
    assert verified.status_code == 200, verified.text
    sent = httpx.post(
        f"{base}/v1/documents/{document_id}/delivery-events",
        json={"state": "sent"},
        headers=director,
    )
    assert sent.status_code == 201, sent.text
    wait_for(lambda: len(receiver.authentic()) >= 1, 60, "the webhook delivery")

    answers = _bad_requests(base, secrets, director, case, keys["director"].split("_")[1])
    for answer in answers:
        assert secrets.in_text(answer.text) == [], (answer.request.url, answer.text)

    # The development PKI's secrets: the PKCS#12 password and the private keys.
    for password_file in service.data_dir.rglob("password.txt"):
        secrets.add("PKI password", password_file.read_text().strip())
    for key_file in service.data_dir.rglob("*.key.pem"):
        body = key_file.read_text().splitlines()[1:-1]
        secrets.add("private key", *(line for line in body if len(line) >= 40))
    assert secrets.found["PKI password"] and secrets.found["private key"]

    # The API's processes: uvicorn's manager and the workers it started (TILTAS_API_PROCESSES).
    api_pid = service.pid_of("api")
    api_pids = {
        api_pid,
        *map(int, Path(f"/proc/{api_pid}/task/{api_pid}/children").read_text().split()),
    }
    assert service.stop() == 0
    logs = [service.log_path, *sorted(service.data_dir.rglob("*.log"))]
    leaks = []
    for log in logs:
        text = log.read_text(errors="replace")
        leaks += [f"{log.name}: {hit}" for hit in secrets.in_text(text)]
    output = service.log_path.read_text(errors="replace")
    assert any(f" {pid} tiltas.test DEBUG debug logging on" in output for pid in api_pids), (
        "the API did not log at DEBUG"
    )
    debug_lines = output.count(" DEBUG ")
    print(
        f"read {len(logs)} logs, {debug_lines} DEBUG lines, {sum(map(len, secrets.found.values()))} secrets"
    )
    assert leaks == [], "\n".join(leaks[:40])


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("subject 38502147771 read", True),
        ("code 3 850214 7771 and more", True),
        ("code 3-850214-7771.", True),
        ('{"last_name": "\\u017dvirgždaitis"}', False),
        ('{"last_name": "\\u017dvirg\\u017edaitis"}', True),
        ("ŽVIRGŽDAITIS AURIMANTAS", True),
        ("case 1f928f77 read by key 5a6b", False),
    ],
)
def test_the_search_finds_every_spelling(text: str, found: bool) -> None:
    secrets = Secrets()
    secrets.add("personal code", "38502147771")
    secrets.add("name", "Žvirgždaitis")
    assert bool(secrets.in_text(text)) is found


def test_an_unhandled_error_is_logged_without_its_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The API's last-resort answer, with the app served by uvicorn as ``tiltas serve`` does:
    an exception's message may quote personal data, so neither the body nor any log has it."""
    code = personal_code(3, "850214", "777")
    app = create_app(Settings(data_dir=tmp_path))

    def fails() -> None:
        raise ValueError(f"no case for {code}")

    app.add_api_route("/failing", fails)
    caplog.set_level(logging.DEBUG)
    server = uvicorn.Server(uvicorn.Config(app, port=free_port(), log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30, "uvicorn")
        answer = httpx.get(f"http://127.0.0.1:{server.config.port}/failing")
    finally:
        server.should_exit = True
        thread.join(30)
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert "unhandled ValueError" in caplog.text
    assert code not in answer.text and code not in caplog.text


def test_database_errors_do_not_quote_their_parameters(tmp_path: Path) -> None:
    """A failed statement's message reaches the logs of whatever ran it (a Celery task's
    traceback): its parameters are personal codes and names."""
    code = personal_code(3, "850214", "777")
    engine = make_engine(f"sqlite:///{tmp_path / 'tiltas.sqlite3'}")
    with pytest.raises(OperationalError) as failed, engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table WHERE code = :code"), {"code": code})
    assert "no_such_table" in str(failed.value)
    assert code not in str(failed.value)
