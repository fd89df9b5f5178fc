"""TILTAS_WORKER_QUEUES: which workers ``tiltas serve`` runs, and every task has its queue."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cli.supervisor import plan_children
from tiltas.messaging import TASK_QUEUES
from tiltas.queues import WorkerGroup, WorkQueue, parse_worker_queues
from tiltas.settings import Settings
from workers.app import make_celery


def test_the_default_is_a_worker_per_queue() -> None:
    groups = Settings().worker_groups
    assert [g.queues for g in groups] == [(q,) for q in WorkQueue]
    by_queue = {g.queues[0]: g for g in groups}
    assert by_queue[WorkQueue.convert].pool == "prefork"
    assert by_queue[WorkQueue.webhooks].pool == "threads"
    assert by_queue[WorkQueue.archival].pool == "solo"


def test_groups_join_queues_and_set_concurrency() -> None:
    assert parse_worker_queues(" convert=4 , sign+archival=1") == (
        WorkerGroup((WorkQueue.convert,), 4),
        WorkerGroup((WorkQueue.sign, WorkQueue.archival), 1),
    )
    assert parse_worker_queues("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("convert", "expected queue=concurrency"),
        ("convert=0", "concurrency must be 1 to 64"),
        ("convert=x", "expected queue=concurrency"),
        ("default=2", "unknown queue 'default'"),
        ("convert=2,sign+convert=1", "queue 'convert' is named twice"),
    ],
)
def test_bad_worker_queues_are_refused_at_start(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(worker_queues=text)


def test_serve_runs_a_worker_per_group_with_its_own_pool() -> None:
    # Nothing embedded: planning starts no broker and makes no development PKI.
    settings = Settings(worker_queues="convert=3,webhooks=8", broker_url="redis://broker:6379/0",
                        signing_keys_file="keys.json", run_beat=False, run_api=False)  # fmt: skip
    workers = {c.name: c.argv for c in plan_children(settings) if c.name.startswith("worker-")}
    assert set(workers) == {"worker-convert", "worker-webhooks"}
    convert = workers["worker-convert"]
    assert convert[convert.index("--queues") + 1] == "convert"
    assert convert[convert.index("--concurrency") + 1] == "3"
    assert workers["worker-webhooks"][workers["worker-webhooks"].index("--pool") + 1] == "threads"


def test_every_task_goes_to_its_queue() -> None:
    app = make_celery(Settings())
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if name.startswith("tiltas.")}
    assert ours == set(TASK_QUEUES), "a task without a queue would wait where no worker looks"
    for name, queue in TASK_QUEUES.items():
        assert app.amqp.router.route({}, name)["queue"].name == queue.value
