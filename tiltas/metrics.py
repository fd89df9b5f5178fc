"""Operational metrics kept in the broker's Redis, so every worker on every machine adds to
the same figures and any API process can show them at ``/metrics``.

Per task name: a duration histogram (non-cumulative bucket counts, sum, count) and outcomes
(success, retry, failure). Queue depths are read from the broker when asked. Only names,
counts and seconds: no document, case or person is ever named here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import redis

PREFIX = "tiltas:metrics:task:"
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, math.inf)
"""Upper bounds in seconds of the task-duration histogram."""


@cache
def redis_for(broker_url: str) -> redis.Redis:
    """A client of the broker's Redis (``redis+socket://PATH`` is the embedded broker)."""
    if broker_url.startswith("redis+socket://"):
        return redis.Redis(unix_socket_path=broker_url.removeprefix("redis+socket://"))
    return redis.Redis.from_url(broker_url)


def _bucket_label(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(bound)


def record_task(client: redis.Redis, task_name: str, seconds: float, outcome: str) -> None:
    bound = next(b for b in BUCKETS if seconds <= b)
    key = PREFIX + task_name
    with client.pipeline(transaction=False) as pipe:
        pipe.hincrby(key, f"le:{_bucket_label(bound)}", 1)
        pipe.hincrbyfloat(key, "sum", seconds)
        pipe.hincrby(key, "count", 1)
        pipe.hincrby(key, f"outcome:{outcome}", 1)
        pipe.execute()


@dataclass(frozen=True)
class TaskFigures:
    name: str
    buckets: list[tuple[str, int]]
    """Cumulative counts per upper bound, as Prometheus wants them."""
    total_seconds: float
    count: int
    outcomes: dict[str, int]


def task_figures(client: redis.Redis) -> list[TaskFigures]:
    figures: list[TaskFigures] = []
    for raw_key in sorted(client.scan_iter(match=PREFIX + "*")):
        key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
        fields = {
            (k.decode() if isinstance(k, bytes) else str(k)): v
            for k, v in client.hgetall(key).items()
        }
        cumulative, buckets = 0, []
        for bound in BUCKETS:
            label = _bucket_label(bound)
            cumulative += int(fields.get(f"le:{label}", 0))
            buckets.append((label, cumulative))
        outcomes = {
            name.removeprefix("outcome:"): int(value)
            for name, value in fields.items()
            if name.startswith("outcome:")
        }
        figures.append(
            TaskFigures(
                name=key.removeprefix(PREFIX),
                buckets=buckets,
                total_seconds=float(fields.get("sum", 0)),
                count=int(fields.get("count", 0)),
                outcomes=outcomes,
            )
        )
    return figures


def queue_depths(client: redis.Redis, queues: tuple[str, ...]) -> dict[str, int]:
    """Messages waiting in each Celery queue (Celery's Redis transport keeps a list each)."""
    return {queue: int(client.llen(queue)) for queue in queues}
