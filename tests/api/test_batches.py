"""Batches: many documents in one call, followed as one job with progress, cancel, results."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from signing.dev_pki import ensure_dev_pki
from signing.keys import load_certificates
from signing.validation import async_validate_signed_pdf
from tests.support.documents import running_worker
from tests.support.factories import World, care_case, protocols
from tiltas import deadline_tracking
from tiltas.access import Role
from tiltas.messaging import GENERATE_DOCUMENT
from tiltas.metrics import redis_for
from tiltas.models import Document
from tiltas.queues import WorkQueue
from tiltas.settings import Settings
from workers.app import make_celery

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(document_settings: Settings) -> Settings:
    return document_settings


def _until_finished(world: World, headers: dict[str, str], batch_id: str) -> dict[str, Any]:
    """Follow the job as a DMS would, until it is no longer running (bounded)."""
    for _ in range(1200):
        batch = world.client.get(f"/v1/batches/{batch_id}", headers=headers).json()
        if batch["state"] != "running":
            return batch
        time.sleep(0.25)
    raise AssertionError(f"batch still running: {batch}")


def test_protocols_of_a_meeting_are_made_and_signed_by_both_officials(
    world: World, settings: Settings, dev_pki_root: Path
) -> None:
    commission, items = protocols(world, 3)
    broker = redis_for(settings.resolved_broker_url)
    results_before = len(broker.keys("celery-task-meta-*"))
    with running_worker(settings):
        created = world.client.post("/v1/batches", json={"documents": items}, headers=commission)
        assert created.status_code == 202, created.text
        job = created.json()
        assert job["total"] == 3 and job["state"] == "running"
        assert created.headers["Location"] == f"/v1/batches/{job['id']}"
        finished = _until_finished(world, commission, job["id"])
    assert finished["state"] == "completed"
    assert finished["counts"]["signed"] == 3 and finished["failures"] == [], finished
    # the pipeline's steps leave no task result in Redis: the documents say how they went
    assert len(broker.keys("celery-task-meta-*")) == results_before

    made = world.client.get(f"/v1/batches/{job['id']}/documents", headers=commission).json()
    assert [d["case_id"] for d in made] == [item["case_id"] for item in items]
    assert all([s["index"] for s in d["signatures"]] == [1, 2] for d in made)
    pdf = world.client.get(f"/v1/documents/{made[0]['id']}/pdf", headers=commission).content
    roots = load_certificates([ensure_dev_pki(dev_pki_root).root_cert_path])
    validation = asyncio.run(async_validate_signed_pdf(pdf, roots))
    assert len(validation.signatures) == 2 and validation.reaches_lta

    foreign = world.orgs["commission_2"].auth(Role.commission)
    assert world.client.get(f"/v1/batches/{job['id']}", headers=foreign).status_code == 404


def test_one_bad_item_refuses_the_batch_and_stores_nothing(world: World) -> None:
    commission, items = protocols(world, 2)
    items[1] = {**items[1], "data": {**items[1]["data"], "meeting_date": "not a date"}}
    items.append({**items[0], "case_id": "no-such-case"})
    refused = world.client.post("/v1/batches", json={"documents": items}, headers=commission)
    assert refused.status_code == 422, refused.text
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"documents.1.data.meeting_date", "documents.2.case_id"}
    for item in items[:2]:
        listed = world.client.get(f"/v1/cases/{item['case_id']}/documents", headers=commission)
        assert listed.json() == []


def _requests_g(world: World, count: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """``count`` requests G (the anchor of a care case's terms) on one new care case."""
    director = world.institution.auth(Role.director)
    case = world.client.post("/v1/cases", json=care_case(world), headers=director).json()["id"]
    example = world.client.get("/v1/document-types/G", headers=director).json()["example"]
    return director, [{**example, "case_id": case} for _ in range(count)]


def test_a_batch_reads_what_its_items_share_and_refreshes_their_case_once(
    world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The author, the case and the template in use are read once per batch, and the case's
    deadlines recomputed once, whatever the number of items (they were, per item)."""
    refreshed: list[int] = []
    refresh_case = deadline_tracking.refresh_case

    def counted(session: Any, case: Any, **options: Any) -> Any:
        refreshed.append(case.id)
        return refresh_case(session, case, **options)

    monkeypatch.setattr(deadline_tracking, "refresh_case", counted)
    reads: dict[int, list[str]] = {}
    for count in (1, 5):
        director, items = _requests_g(world, count)
        refreshed.clear()
        statements: list[str] = []

        def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement)  # noqa: B023 (listened to only in this iteration)

        event.listen(Engine, "before_cursor_execute", note)
        try:
            created = world.client.post("/v1/batches", json={"documents": items}, headers=director)
        finally:
            event.remove(Engine, "before_cursor_execute", note)
        assert created.status_code == 202, created.text
        assert created.json()["total"] == count
        assert len(refreshed) == 1, refreshed
        reads[count] = [
            lookup
            for statement in statements
            for lookup in ("WHERE cases.public_id", "FROM organisations", "FROM template_versions")
            if lookup in statement
        ]
        assert not [s for s in statements if "SAVEPOINT" in s.upper()]
    assert reads[1] and sorted(reads[5]) == sorted(reads[1]), reads
    # No worker runs here: the generation tasks queued go, as the other tests expect.
    redis_for(settings.resolved_broker_url).delete(WorkQueue.convert.value)


def test_cancel_stops_what_has_not_started(world: World, settings: Settings) -> None:
    commission, items = protocols(world, 3)
    # No worker yet: nothing has started when the batch is cancelled.
    job = world.client.post(
        "/v1/batches",
        json={"documents": items},
        headers={**commission, "Idempotency-Key": "meeting-7"},
    ).json()
    again = world.client.post(
        "/v1/batches",
        json={"documents": items},
        headers={**commission, "Idempotency-Key": "meeting-7"},
    )
    assert again.json()["id"] == job["id"] and again.headers["Idempotent-Replayed"] == "true"
    cancelled = world.client.post(f"/v1/batches/{job['id']}/cancel", headers=commission).json()
    assert cancelled["state"] == "cancelled" and cancelled["counts"]["cancelled"] == 3
    assert (
        world.client.post(f"/v1/batches/{job['id']}/cancel", headers=commission).json() == cancelled
    )
    made = world.client.get(f"/v1/batches/{job['id']}/documents", headers=commission).json()
    app = make_celery(settings)
    app.loader.import_default_modules()  # the tasks, run here (not only when a worker ran first)
    for document in made:  # run here: each finds nothing to do
        assert app.tasks[GENERATE_DOCUMENT].apply(args=[document["id"]]).get() == "cancelled"
    broker = redis_for(settings.resolved_broker_url)
    assert broker.llen(WorkQueue.convert.value) == 3  # queued with the batch
    with running_worker(settings):
        # The generation tasks queued with the batch run (taken and acknowledged).
        deadline = time.monotonic() + 300
        while broker.llen(WorkQueue.convert.value) or broker.hlen("unacked"):
            assert time.monotonic() < deadline, "the queued generation tasks never ran"
            time.sleep(0.2)
    after = world.client.get(f"/v1/batches/{job['id']}", headers=commission).json()
    assert after["counts"]["cancelled"] == 3 and after["counts"]["generated"] == 0


def test_a_failure_cleared_by_a_later_step_is_not_reported(world: World) -> None:
    commission, items = protocols(world, 2)
    job = world.client.post("/v1/batches", json={"documents": items}, headers=commission).json()
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with database.transaction() as session:
        first, second = session.scalars(
            select(Document).where(Document.public_id.in_(_ids(world, job)))
        ).all()
        first.failure = {"code": "timestamp_unavailable", "message": "no TSA answered"}
        second.failure = {"code": "timestamp_unavailable", "message": "no TSA answered"}
    with database.transaction() as session:
        cleared = session.scalar(select(Document).where(Document.public_id == first.public_id))
        assert cleared is not None
        cleared.failure = None  # the retry signed it
    batch = world.client.get(f"/v1/batches/{job['id']}", headers=commission)
    assert batch.status_code == 200, batch.text
    assert [f["document_id"] for f in batch.json()["failures"]] == [second.public_id]


def _ids(world: World, job: dict[str, Any]) -> list[str]:
    commission = world.orgs["commission"].auth(Role.commission)
    listed = world.client.get(f"/v1/batches/{job['id']}/documents", headers=commission).json()
    return [d["id"] for d in listed]
