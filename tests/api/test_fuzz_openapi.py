"""Every operation of the OpenAPI document, fuzzed in-process with schemathesis on SQLite: valid
and invalid requests, with a valid API key of a role that may use the operation, and path ids
that are either generated or those of records that exist. No answer may be a 5xx, and every 4xx
must be RFC 9457 problem+json. Reproducible: Hypothesis is derandomised and the examples per
operation bounded."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import hypothesis
import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.python import asgi

from api.app import create_app
from api.routes.documents import DOCX_MEDIA_TYPE
from tests.support.factories import World
from tests.support.records import RecordingProducer, Records, make_records
from tests.support.servers import RedisServer
from tiltas.access import Role
from tiltas.settings import Settings

pytestmark = pytest.mark.redis

EXAMPLES_PER_MODE = 12
"""Examples per operation and generation mode (valid, invalid): 57 operations × 2 × 12."""

# Uploads (templates, PDFs, signature-pad images): generated bodies go as raw bytes.
schemathesis.serializer.alias(
    [DOCX_MEDIA_TYPE, "application/pdf", "image/png"], "application/octet-stream"
)

PROBLEM_FIELDS = {"type": str, "title": str, "status": int, "detail": str}


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "tiltas.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, redis_server: RedisServer) -> Settings:
    # No waiting for workers: the producer records tasks and nobody runs them. The broker's
    # Redis is real for /metrics, which reads its figures there.
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        broker_url=redis_server.url,
        document_wait_s=0,
        webhook_allow_loopback=True,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    app.state.producer = RecordingProducer()
    with TestClient(app) as test_client:
        yield test_client


def _role_for(method: str, path: str) -> Role:
    """A role that may use the operation, so the fuzzing gets past the role check."""
    if path.startswith(("/v1/audit", "/metrics")):
        return Role.auditor
    admin_paths = ("/v1/api-keys", "/v1/webhooks", "/v1/calendar/overrides")
    if path.startswith(admin_paths) or (
        method != "GET" and path.startswith(("/v1/organisations", "/v1/document-types"))
    ):
        return Role.admin
    return Role.director


def _real_ids(records: Records, world: World) -> dict[str, str]:
    return {
        "case_id": records.case_a,
        "document_id": records.document_a,
        "batch_id": records.batch,
        "subscription_id": records.subscription,
        "delivery_id": records.delivery,
        "session_id": records.remote_session,
        "token_id": records.feed_token_id,
        "token": records.feed_token,
        "key_id": records.api_key_id,
        "code": world.institution.code,
        "type_id": "A",
    }


def problems_of(status: int, headers: dict[str, str], body: bytes) -> list[str]:
    """What is wrong with an answer: a server error, or an error that is not problem+json."""
    if status >= 500:
        return [f"server error {status}: {body[:300]!r}"]
    if status < 400:
        return []
    content_type = headers.get("content-type", "")
    if content_type.split(";")[0].strip() != "application/problem+json":
        return [f"{status} with content-type {content_type!r}: {body[:200]!r}"]
    try:
        problem = json.loads(body)
    except ValueError:
        return [f"{status} problem+json that is not JSON: {body[:200]!r}"]
    if not isinstance(problem, dict):
        return [f"{status} problem+json that is not an object"]
    found = [
        f"{status} problem lacks {name!r} ({kind.__name__})"
        for name, kind in PROBLEM_FIELDS.items()
        if not isinstance(problem.get(name), kind)
    ]
    if problem.get("status") != status:
        found.append(f"{status} problem says status {problem.get('status')!r}")
    return found


def _sendable(headers: dict[str, Any]) -> bool:
    """Whether a real HTTP client can send these headers at all (latin-1, no line breaks)."""
    for name, value in headers.items():
        try:
            requests.utils.check_header_validity((name, value))
            str(value).encode("latin-1")
        except (UnicodeEncodeError, requests.exceptions.InvalidHeader):
            return False
    return True


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    real_ids: dict[str, str],
    session: Any,
    failures: list[str],
    sent: set[str],
) -> None:
    """Send the operation's examples in one generation mode; note every bad answer."""

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode), use_real_ids=st.booleans())
    def run(case: Any, use_real_ids: bool) -> None:
        if use_real_ids and case.path_parameters:
            case.path_parameters = {
                name: real_ids.get(name, value) for name, value in case.path_parameters.items()
            }
        case.headers = {**(case.headers or {}), **headers}
        request = repr((case.formatted_path, case.query, case.headers, case.body))
        if request in sent or not _sendable(case.headers):
            return
        sent.add(request)
        label = f"{case.method} {case.formatted_path} ({mode.value})"
        reproduce = f"  reproduce: {case.as_curl_command()[:600]}"
        try:
            response = case.call(session=session)
        except Exception as error:  # the app raised past its own handlers
            failures.append(f"{label}: unhandled {type(error).__name__}: {error}\n{reproduce}")
            return
        content_type = response.headers.get("content-type", [""])[0]
        found = problems_of(response.status_code, {"content-type": content_type}, response.content)
        if found:
            failures.append(f"{label}: {found[0]}\n{reproduce}")

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # An operation without parameters or body has no invalid request to make.
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_every_operation_answers_without_server_errors_and_with_problem_json(
    client: TestClient,
) -> None:
    world = World.build(client)
    records = make_records(world, "", "Fuzaitis")
    real_ids = _real_ids(records, world)
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    # Not entered: requests go straight to the app, whose lifespan the TestClient runs.
    session = asgi.get_client(cast(Any, client.app))
    failures: list[str] = []
    sent: set[str] = set()
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operation = result.ok()
        operations += 1
        role = _role_for(operation.method.upper(), operation.path)
        home = world.institution if role is not Role.auditor else world.orgs["ngo"]
        headers = {"Authorization": f"Bearer {home.keys[role]}"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, headers, real_ids, session, failures, sent)
    print(f"fuzzed {operations} operations with {len(sent)} distinct requests")
    assert operations == len(
        [p for path in client.app.openapi()["paths"].values() for p in path]  # type: ignore[attr-defined]
    )
    assert failures == [], "\n".join(failures[:30])


@pytest.mark.parametrize(
    ("status", "headers", "body", "wrong"),
    [
        (500, {"content-type": "application/problem+json"}, b"{}", "server error"),
        (422, {"content-type": "application/json"}, b'{"detail": []}', "content-type"),
        (404, {"content-type": "application/problem+json"}, b'{"title": "x"}', "lacks 'type'"),
        (
            409,
            {"content-type": "application/problem+json"},
            b'{"type": "t", "title": "x", "status": 400, "detail": "d"}',
            "says status 400",
        ),
    ],
)
def test_the_check_refuses_what_it_must(
    status: int, headers: dict[str, str], body: bytes, wrong: str
) -> None:
    assert any(wrong in p for p in problems_of(status, headers, body))
    good = b'{"type": "urn:x", "title": "x", "status": 404, "detail": "d"}'
    assert problems_of(404, {"content-type": "application/problem+json"}, good) == []
