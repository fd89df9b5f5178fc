"""The broker away when the API hands over work: a stored document is made once the broker is
back (the re-enqueue sweep finds it); a request that stored nothing gets 503 and may retry."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.queue import make_producer
from tests.support.documents import running_worker
from tests.support.factories import World, protocols
from tiltas.messaging import REQUEUE_DOCUMENTS
from tiltas.models import Document, utcnow
from tiltas.settings import Settings
from workers.app import make_celery

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(document_settings: Settings) -> Settings:
    return document_settings


def test_work_handed_over_while_the_broker_is_away(
    world: World, client: TestClient, settings: Settings
) -> None:
    commission, [body] = protocols(world)

    working = client.app.state.producer  # type: ignore[attr-defined]
    # Nothing listens on port 1: every hand-over fails at once.
    client.app.state.producer = make_producer(Settings(broker_url="redis://127.0.0.1:1/0"))  # type: ignore[attr-defined]
    asked = world.client.post("/v1/documents", json=body, headers=commission)
    assert asked.status_code == 202, asked.text
    document_id = asked.json()["id"]
    assert asked.json()["status"] == "requested"

    # The API "died" (or the broker was away) long ago: the sweep finds the document.
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with database.transaction() as session:
        session.execute(
            update(Document)
            .where(Document.public_id == document_id)
            .values(updated_at=utcnow() - dt.timedelta(hours=1))
        )
    with running_worker(settings):
        swept = make_celery(settings).send_task(REQUEUE_DOCUMENTS).get(timeout=60)
        assert swept == {"generate": 1, "sign": 0}
        for _ in range(600):
            made = world.client.get(f"/v1/documents/{document_id}", headers=commission).json()
            if made["status"] != "requested":
                break
            time.sleep(0.2)
        assert made["status"] == "generated", made
        # Made and no longer stalled: the next sweep finds nothing.
        swept = make_celery(settings).send_task(REQUEUE_DOCUMENTS).get(timeout=60)
        assert swept == {"generate": 0, "sign": 0}

    # Signing stores nothing before the hand-over: with the broker away it is 503, nothing changed.
    signed = world.client.post(
        f"/v1/documents/{document_id}/signatures", json={}, headers=commission
    )
    assert signed.status_code == 503, signed.text
    assert signed.headers["content-type"] == "application/problem+json"
    assert signed.headers["Retry-After"] == "10"
    assert signed.json()["type"] == "urn:tiltas:problem:queue_unavailable"
    after = world.client.get(f"/v1/documents/{document_id}", headers=commission).json()
    assert after["signatures"] == [] and after["version"] == made["version"]
    client.app.state.producer = working  # type: ignore[attr-defined]
