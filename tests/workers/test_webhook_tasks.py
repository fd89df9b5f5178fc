"""The deadline and webhook tasks in a real Celery worker on a real Redis: a delivery retried
after the receiver fails, the dispatcher finding a delivery nobody enqueued, and the sweep."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from tests.support.deliveries import new_case, sent_notice
from tests.support.documents import running_worker
from tests.support.factories import World, release_case
from tests.support.receiver import Receiver, running_receiver
from tests.support.servers import RedisServer, wait_for
from tiltas.access import Role
from tiltas.messaging import DISPATCH_WEBHOOKS, SWEEP_DEADLINES
from tiltas.settings import Settings
from workers.app import make_celery

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(database_url: str, tmp_path: Path, redis_server: RedisServer) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        broker_url=redis_server.url,
        webhook_allow_loopback=True,
        webhook_retry_base_s=0.2,
        webhook_retry_cap_s=1.0,
        webhook_max_attempts=5,
    )


@pytest.fixture
def worker(settings: Settings) -> Iterator[Celery]:
    with running_worker(settings):
        yield make_celery(settings)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


def _subscribe(world: World, receiver: Receiver, events: list[str]) -> str:
    response = world.client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": events},
        headers=world.institution.auth(Role.admin),
    )
    assert response.status_code == 201, response.text
    receiver.secrets = (response.json()["secret"],)
    return str(response.json()["id"])


def _deliveries(world: World, subscription: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = world.client.get(
        f"/v1/webhooks/{subscription}/deliveries", headers=world.institution.auth(Role.admin)
    ).json()
    return found


def test_a_delivery_is_retried_by_the_worker_until_the_receiver_takes_it(
    world: World, worker: Celery, receiver: Receiver
) -> None:
    subscription = _subscribe(world, receiver, ["document.sent"])
    receiver.statuses = [503, 502]
    sent_notice(world)

    def delivered() -> bool:
        found = _deliveries(world, subscription)
        return bool(found) and found[0]["status"] == "delivered"

    wait_for(delivered, 60, "the delivery")
    assert [r.rejected for r in receiver.received] == [None, None, None]
    [delivery] = _deliveries(world, subscription)
    log = world.client.get(
        f"/v1/webhooks/{subscription}/deliveries/{delivery['id']}",
        headers=world.institution.auth(Role.admin),
    ).json()["attempt_log"]
    assert [(a["outcome"], a["status_code"]) for a in log] == [
        ("retry", 503), ("retry", 502), ("delivered", 200),
    ]  # fmt: skip


class NoBroker:
    def send_task(self, name: str, args: list[Any], **_options: Any) -> None:
        raise ConnectionError("the broker is away")


def test_the_dispatcher_sends_what_nobody_enqueued(
    world: World, worker: Celery, receiver: Receiver
) -> None:
    subscription = _subscribe(world, receiver, ["document.sent"])
    world.client.app.state.producer = NoBroker()  # type: ignore[attr-defined]
    sent_notice(world)
    assert [d["status"] for d in _deliveries(world, subscription)] == ["pending"]
    assert worker.send_task(DISPATCH_WEBHOOKS).get(timeout=60) == 1
    wait_for(lambda: len(receiver.authentic()) == 1, 60, "the dispatched delivery")
    assert receiver.authentic()[0].payload["type"] == "document.sent"


def test_the_sweep_runs_in_the_worker_and_its_events_are_delivered(
    world: World, worker: Celery, receiver: Receiver
) -> None:
    """Today (whatever it is) a case whose possible release date is past has overdue terms."""
    _subscribe(world, receiver, ["deadline.overdue"])
    payload = release_case(world)
    payload["subject"]["possible_release_date"] = "2020-06-15"
    new_case(world, payload)
    report = worker.send_task(SWEEP_DEADLINES).get(timeout=60)
    # Every term of process A but F (no electronic monitoring) is overdue.
    assert (report["cases"], report["status_changes"]) == (1, 7)
    wait_for(lambda: len(receiver.authentic()) == 7, 60, "the overdue events")
    kinds = {r.payload["data"]["kind"] for r in receiver.authentic()}
    assert "process_a.release_notice" in kinds and len(kinds) == 7
