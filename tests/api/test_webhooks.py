"""Webhook subscriptions through the API, and deliveries made to a real loopback receiver that
verifies every signature: retries with back-off after it fails, every attempt logged,
redelivery, secret rotation, the SSRF guard at every attempt, and a crashed attempt retaken."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kombu.exceptions import OperationalError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.support.deliveries import moment, sent_notice, stored_document
from tests.support.factories import World
from tests.support.receiver import Receiver, running_receiver
from tiltas import webhook_dispatch
from tiltas.access import Role
from tiltas.db import transaction
from tiltas.models import WebhookDelivery
from tiltas.settings import Settings
from tiltas.webhooks import AttemptError, AttemptOutcome, delivery_client


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        max_body_bytes=65_536,
        webhook_allow_loopback=True,
        webhook_retry_base_s=10.0,
        webhook_max_attempts=3,
    )


class RecordingProducer:
    """Stands in for the broker: these tests make the attempts themselves."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any]]] = []

    def send_task(self, name: str, args: list[Any], **_options: Any) -> None:
        self.sent.append((name, args))


@pytest.fixture
def producer(world: World) -> RecordingProducer:
    recording = RecordingProducer()
    world.client.app.state.producer = recording  # type: ignore[attr-defined]
    return recording


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with delivery_client() as client:
        yield client


def _sessions(world: World) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = world.client.app.state.database.sessions  # type: ignore[attr-defined]
    return sessions


def _subscribe(
    world: World, receiver: Receiver, events: list[str], org: str = "correctional_institution"
) -> dict[str, Any]:
    response = world.client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": events, "description": "DMS"},
        headers=world.orgs[org].auth(Role.admin),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    receiver.secrets = (body["secret"],)
    return body


def _deliveries(world: World, subscription_id: str) -> list[dict[str, Any]]:
    response = world.client.get(
        f"/v1/webhooks/{subscription_id}/deliveries",
        headers=world.institution.auth(Role.admin),
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def _detail(world: World, subscription_id: str, delivery_id: str) -> dict[str, Any]:
    response = world.client.get(
        f"/v1/webhooks/{subscription_id}/deliveries/{delivery_id}",
        headers=world.institution.auth(Role.admin),
    )
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


# --- subscriptions ------------------------------------------------------------------------------


def test_administrators_keep_their_organisations_subscriptions(
    world: World, receiver: Receiver
) -> None:
    created = _subscribe(world, receiver, ["document.sent", "deadline.overdue"])
    assert created["secret"].startswith("whsec_") and created["events"] == [
        "deadline.overdue",
        "document.sent",
    ]
    admin = world.institution.auth(Role.admin)
    listed = world.client.get("/v1/webhooks", headers=admin).json()
    assert [s["id"] for s in listed] == [created["id"]] and "secret" not in listed[0]

    for role in (Role.director, Role.institution_staff):
        headers = world.institution.auth(role)
        assert world.client.get("/v1/webhooks", headers=headers).status_code == 403
        assert (
            world.client.post(
                "/v1/webhooks", json={"url": receiver.url, "events": ["document.sent"]},
                headers=headers,
            ).status_code
            == 403
        )  # fmt: skip
    other_admin = world.orgs["correctional_institution_2"].auth(Role.admin)
    assert world.client.get(f"/v1/webhooks/{created['id']}", headers=other_admin).status_code == 404
    assert world.client.get("/v1/webhooks", headers=other_admin).json() == []

    path = f"/v1/webhooks/{created['id']}"
    change = {"events": ["deadlines.changed"]}
    assert world.client.patch(path, json=change, headers=admin).status_code == 428
    stale = world.client.patch(path, json=change, headers={**admin, "If-Match": '"7"'})
    assert stale.status_code == 412
    updated = world.client.patch(path, json=change, headers={**admin, "If-Match": '"1"'})
    assert updated.status_code == 200 and updated.json()["events"] == ["deadlines.changed"]
    assert updated.headers["ETag"] == '"2"'


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://169.254.169.254/latest/meta-data/", "webhook_target_refused"),  # cloud metadata
        ("http://10.0.0.7/hook", "webhook_target_refused"),  # private, not allowed here
        ("ftp://example.lt/hook", "webhook_target_refused"),
        ("http://user:pw@127.0.0.1/hook", "webhook_target_refused"),
    ],
)
def test_urls_the_ssrf_guard_refuses_are_422(world: World, url: str, code: str) -> None:
    response = world.client.post(
        "/v1/webhooks",
        json={"url": url, "events": ["document.sent"]},
        headers=world.institution.auth(Role.admin),
    )
    assert response.status_code == 422, response.text
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("url", code)]


def test_unknown_event_types_are_422(world: World, receiver: Receiver) -> None:
    response = world.client.post(
        "/v1/webhooks",
        json={"url": receiver.url, "events": ["document.signed"]},
        headers=world.institution.auth(Role.admin),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "events.0"


# --- deliveries -----------------------------------------------------------------------------------


def test_a_step_is_delivered_signed_and_without_personal_data(
    world: World,
    receiver: Receiver,
    http: httpx.Client,
    producer: RecordingProducer,
    settings: Settings,
) -> None:
    subscription = _subscribe(world, receiver, ["document.sent"])
    case_id, notice = sent_notice(world)
    [delivery] = _deliveries(world, subscription["id"])
    assert (delivery["event_type"], delivery["status"], delivery["case_id"]) == (
        "document.sent",
        "pending",
        case_id,
    )
    # The API handed it to the workers at once.
    assert producer.sent == [("tiltas.webhooks.deliver", [delivery["id"]])]

    policy = webhook_dispatch.delivery_policy(settings)
    result = webhook_dispatch.attempt_delivery(
        _sessions(world), delivery["id"], client=http, policy=policy
    )
    assert result is not None and result.outcome is AttemptOutcome.DELIVERED
    [received] = receiver.received
    assert received.rejected is None  # the receiver verified the signature
    assert received.headers["Tiltas-Delivery"] == delivery["id"]
    assert received.headers["Tiltas-Event"] == "document.sent"
    body = received.payload
    assert body["type"] == "document.sent"
    assert body["data"] == {
        "document_id": notice, "type": "A", "case_id": case_id, "state": "sent",
        "at": "2026-04-21T07:00:00+00:00", "channel": None,
    }  # fmt: skip
    text = received.body.decode()
    assert "Žemaitis" not in text and "Jonas" not in text and "850214" not in text

    detail = _detail(world, subscription["id"], delivery["id"])
    assert detail["status"] == "delivered"
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in detail["attempt_log"]] == [
        (1, "delivered", 200)
    ]
    # Delivered: a second attempt is not due.
    assert (
        webhook_dispatch.attempt_delivery(
            _sessions(world), delivery["id"], client=http, policy=policy
        )
        is None
    )
    assert len(receiver.received) == 1


def test_retried_with_growing_back_off_after_the_receiver_fails(
    world: World,
    receiver: Receiver,
    http: httpx.Client,
    producer: RecordingProducer,
    settings: Settings,
) -> None:
    subscription = _subscribe(world, receiver, ["document.sent"])
    sent_notice(world)
    [delivery] = _deliveries(world, subscription["id"])
    receiver.statuses = [503, 500]
    policy = webhook_dispatch.delivery_policy(settings)
    start = dt.datetime.now(dt.UTC)
    clock = {"now": start}

    def attempt() -> Any:
        return webhook_dispatch.attempt_delivery(
            _sessions(world), delivery["id"], client=http, policy=policy, clock=lambda: clock["now"]
        )

    first = attempt()
    assert first.outcome is AttemptOutcome.RETRY and first.status_code == 503
    assert attempt() is None  # the retry is not due yet: nothing is sent
    clock["now"] = first.retry_at
    second = attempt()
    assert second.outcome is AttemptOutcome.RETRY and second.status_code == 500
    clock["now"] = second.retry_at
    third = attempt()
    assert third.outcome is AttemptOutcome.DELIVERED

    # Exponential: the first wait is at most the base (10 s), the second at least it.
    first_wait = (first.retry_at - first.finished_at).total_seconds()
    second_wait = (second.retry_at - second.finished_at).total_seconds()
    assert 5.0 <= first_wait <= 10.0 <= second_wait <= 20.0
    assert all(r.rejected is None for r in receiver.received) and len(receiver.received) == 3
    assert len({r.headers["Tiltas-Delivery"] for r in receiver.received}) == 1
    log = _detail(world, subscription["id"], delivery["id"])["attempt_log"]
    assert [(a["attempt"], a["outcome"], a["status_code"], a["error"]) for a in log] == [
        (1, "retry", 503, "http_status"),
        (2, "retry", 500, "http_status"),
        (3, "delivered", 200, None),
    ]
    assert log[0]["retry_at"] is not None and log[2]["retry_at"] is None


def test_gives_up_at_the_cap_then_redelivers_on_request(
    world: World,
    receiver: Receiver,
    http: httpx.Client,
    producer: RecordingProducer,
    settings: Settings,
) -> None:
    subscription = _subscribe(world, receiver, ["document.sent"])
    sent_notice(world)
    [delivery] = _deliveries(world, subscription["id"])
    receiver.statuses = [503, 503, 503]
    policy = webhook_dispatch.delivery_policy(settings)
    clock = {"now": dt.datetime.now(dt.UTC)}
    outcomes = []
    for _ in range(3):
        result = webhook_dispatch.attempt_delivery(
            _sessions(world), delivery["id"], client=http, policy=policy, clock=lambda: clock["now"]
        )
        assert result is not None
        outcomes.append(result.outcome)
        clock["now"] = result.retry_at or clock["now"]
    assert outcomes == [AttemptOutcome.RETRY, AttemptOutcome.RETRY, AttemptOutcome.FAILED]
    assert _detail(world, subscription["id"], delivery["id"])["status"] == "failed"

    admin = world.institution.auth(Role.admin)
    path = f"/v1/webhooks/{subscription['id']}/deliveries/{delivery['id']}/redeliver"
    producer.sent.clear()
    again = world.client.post(path, headers=admin)
    assert again.status_code == 202, again.text
    assert (again.json()["status"], again.json()["round"], again.json()["attempts"]) == (
        "pending",
        2,
        0,
    )
    assert producer.sent == [("tiltas.webhooks.deliver", [delivery["id"]])]
    result = webhook_dispatch.attempt_delivery(
        _sessions(world), delivery["id"], client=http, policy=policy
    )
    assert result is not None and result.outcome is AttemptOutcome.DELIVERED
    log = _detail(world, subscription["id"], delivery["id"])["attempt_log"]
    assert [(a["round"], a["attempt"], a["outcome"]) for a in log] == [
        (1, 1, "retry"), (1, 2, "retry"), (1, 3, "failed"), (2, 1, "delivered"),
    ]  # fmt: skip
    foreign = world.orgs["correctional_institution_2"].auth(Role.admin)
    assert world.client.post(path, headers=foreign).status_code == 404


def test_a_rotated_secret_signs_beside_the_old_one(
    world: World,
    receiver: Receiver,
    http: httpx.Client,
    producer: RecordingProducer,
    settings: Settings,
) -> None:
    subscription = _subscribe(world, receiver, ["document.sent"])
    old_secret = subscription["secret"]
    rotated = world.client.post(
        f"/v1/webhooks/{subscription['id']}/secret", headers=world.institution.auth(Role.admin)
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != old_secret and rotated.json()["previous_secret_until"] is not None
    sent_notice(world)
    [delivery] = _deliveries(world, subscription["id"])
    receiver.secrets = (old_secret,)  # a receiver not yet switched over still accepts it
    policy = webhook_dispatch.delivery_policy(settings)
    webhook_dispatch.attempt_delivery(_sessions(world), delivery["id"], client=http, policy=policy)
    [received] = receiver.received
    assert received.rejected is None
    assert received.headers["Tiltas-Signature"].count("v1=") == 2


def test_the_ssrf_guard_is_asked_again_at_every_attempt(
    world: World,
    receiver: Receiver,
    http: httpx.Client,
    producer: RecordingProducer,
    settings: Settings,
) -> None:
    subscription = _subscribe(world, receiver, ["document.sent"])
    sent_notice(world)
    [delivery] = _deliveries(world, subscription["id"])
    strict = webhook_dispatch.delivery_policy(
        settings.model_copy(update={"webhook_allow_loopback": False})
    )
    result = webhook_dispatch.attempt_delivery(
        _sessions(world), delivery["id"], client=http, policy=strict
    )
    assert result is not None
    assert (result.outcome, result.error) == (AttemptOutcome.FAILED, AttemptError.TARGET_REFUSED)
    assert receiver.received == []


def test_an_attempt_whose_worker_died_is_taken_again_after_its_lease(
    world: World,
    receiver: Receiver,
    http: httpx.Client,
    producer: RecordingProducer,
    settings: Settings,
) -> None:
    subscription = _subscribe(world, receiver, ["document.sent"])
    sent_notice(world)
    [delivery] = _deliveries(world, subscription["id"])
    policy = webhook_dispatch.delivery_policy(settings)
    now = dt.datetime.now(dt.UTC)
    with transaction(_sessions(world)) as session:
        held = webhook_dispatch.claim(session, delivery["id"], now, policy)
    assert held is not None  # ... and the worker dies before it sends anything

    with transaction(_sessions(world)) as session:
        assert webhook_dispatch.due_deliveries(session, now, queue_for_s=60) == []
    later = now + dt.timedelta(seconds=webhook_dispatch.lease_seconds(policy) + 1)
    with transaction(_sessions(world)) as session:
        assert webhook_dispatch.due_deliveries(session, later, queue_for_s=60) == [delivery["id"]]
    result = webhook_dispatch.attempt_delivery(
        _sessions(world), delivery["id"], client=http, policy=policy, clock=lambda: later
    )
    assert result is not None and result.outcome is AttemptOutcome.DELIVERED
    assert result.attempt == 2
    # The dead worker's late answer cannot overwrite the outcome.
    with transaction(_sessions(world)) as session:
        assert not webhook_dispatch.record_attempt(session, held, result)
        row = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.public_id == delivery["id"])
        ).one()
        assert row.status == "delivered"


def test_who_hears_of_a_step(world: World, receiver: Receiver, producer: RecordingProducer) -> None:
    """A step of notice A reaches the municipality taking part in the case; a step of list C
    (risk data) does not; nothing reaches an organisation outside the case."""
    municipal = _subscribe(world, receiver, ["document.sent"], org="municipality")
    foreign = _subscribe(world, receiver, ["document.sent"], org="correctional_institution_2")
    case_id, _notice = sent_notice(world)
    listing = stored_document(
        world, "C", author="correctional_institution", case_id=case_id,
        generated_at=moment("2026-09-28T09:00"), signed_at=moment("2026-09-28T09:00"),
    )  # fmt: skip
    recorded = world.client.post(
        f"/v1/documents/{listing}/delivery-events",
        json={"state": "sent", "at": moment("2026-09-29T10:00").isoformat()},
        headers=world.institution.auth(Role.institution_staff),
    )
    assert recorded.status_code == 201

    def deliveries(org: str, subscription: dict[str, Any]) -> list[str]:
        response = world.client.get(
            f"/v1/webhooks/{subscription['id']}/deliveries",
            headers=world.orgs[org].auth(Role.admin),
        )
        return [d["event_type"] for d in response.json()]

    assert deliveries("municipality", municipal) == ["document.sent"]
    assert deliveries("correctional_institution_2", foreign) == []


def test_a_disabled_subscription_gets_nothing_more(
    world: World, receiver: Receiver, producer: RecordingProducer
) -> None:
    subscription = _subscribe(world, receiver, ["document.sent", "deadlines.changed"])
    sent_notice(world)
    pending = _deliveries(world, subscription["id"])
    assert pending and all(d["status"] == "pending" for d in pending)
    admin = world.institution.auth(Role.admin)
    assert (
        world.client.delete(f"/v1/webhooks/{subscription['id']}", headers=admin).status_code == 204
    )
    given_up = _deliveries(world, subscription["id"])
    assert {d["status"] for d in given_up} == {"failed"}
    assert {d["last_error"] for d in given_up} == {"subscription_disabled"}
    sent_notice(world)
    assert len(_deliveries(world, subscription["id"])) == len(given_up)
    refused = world.client.post(
        f"/v1/webhooks/{subscription['id']}/deliveries/{given_up[0]['id']}/redeliver", headers=admin
    )
    assert refused.status_code == 409 and refused.json()["reason"] == "subscription_disabled"


class UnreachableBroker:
    def send_task(self, name: str, args: list[Any], **_options: Any) -> None:
        raise OperationalError("Error 111 connecting to the broker")


def test_an_unreachable_broker_does_not_fail_the_request(world: World, receiver: Receiver) -> None:
    """The step is recorded and its delivery waits in the database for the dispatcher."""
    world.client.app.state.producer = UnreachableBroker()  # type: ignore[attr-defined]
    subscription = _subscribe(world, receiver, ["document.sent"])
    sent_notice(world)
    assert [d["status"] for d in _deliveries(world, subscription["id"])] == ["pending"]
