"""/metrics: Prometheus text with queue depth, task durations and outcomes, documents."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.documents import running_worker
from tests.support.factories import World, protocols
from tiltas.access import Role
from tiltas.settings import Settings

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(document_settings: Settings) -> Settings:
    return document_settings


def _samples(world: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = world.client.get("/metrics", headers=world.orgs["archive"].auth(Role.admin))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_what_the_workers_did(world: World, settings: Settings) -> None:
    generate = ("task", "tiltas.documents.generate")
    before = _samples(world)
    commission, [body] = protocols(world)
    with running_worker(settings):
        made = world.client.post("/v1/documents", json=body, headers=commission)
        assert made.status_code == 201, made.text
    after = _samples(world)

    count_key = ("tiltas_task_duration_seconds_count", (generate,))
    assert after[count_key] >= before.get(count_key, 0) + 1
    assert after[("tiltas_task_duration_seconds_sum", (generate,))] > 0
    assert after[("tiltas_task_outcomes_total", (("outcome", "success"), generate))] >= 1
    assert after[("tiltas_broker_up", ())] == 1
    for queue in ("convert", "sign", "webhooks", "schedules", "archival"):
        assert ("tiltas_queue_depth", (("queue", queue),)) in after
    assert after[("tiltas_documents", (("status", "generated"),))] >= 1
    assert "Žemaitis" not in str(after) and body["case_id"] not in str(after)


def test_metrics_need_an_administrator_or_auditor(world: World) -> None:
    clerk = world.client.get("/metrics", headers=world.institution.auth(Role.director))
    assert clerk.status_code == 403
    assert world.client.get("/metrics").status_code == 401
