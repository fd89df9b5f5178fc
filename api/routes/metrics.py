"""/metrics: Prometheus text format. Queue depth, task durations and outcomes (conversion is
the generate task, signing the sign tasks), documents per status and failures per code.
Aggregates only; read with an administrator's or auditor's API key (a bearer token in the
scrape configuration)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import redis
from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from api.deps import DatabaseDep, PrincipalDep, SettingsDep, require_role
from tiltas.access import Role
from tiltas.metrics import queue_depths, redis_for, task_figures
from tiltas.models import Document
from tiltas.queues import WorkQueue

router = APIRouter(tags=["operations"])

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class _Figures(Collector):
    def __init__(self, broker: redis.Redis, database: Any) -> None:
        self._broker = broker
        self._database = database

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "tiltas_queue_depth", "Tasks waiting in the broker", labels=["queue"]
        )
        durations = HistogramMetricFamily(
            "tiltas_task_duration_seconds", "Task run time", labels=["task"]
        )
        outcomes = CounterMetricFamily(
            "tiltas_task_outcomes", "Task runs by outcome", labels=["task", "outcome"]
        )
        up = GaugeMetricFamily("tiltas_broker_up", "1 when the broker answered")
        try:
            for queue, waiting in queue_depths(self._broker, tuple(WorkQueue)).items():
                depth.add_metric([queue], waiting)
            for task in task_figures(self._broker):
                durations.add_metric([task.name], task.buckets, task.total_seconds)
                for outcome, count in sorted(task.outcomes.items()):
                    outcomes.add_metric([task.name, outcome], count)
            up.add_metric([], 1)
        except redis.RedisError:
            up.add_metric([], 0)
        yield from (up, depth, durations, outcomes)

        documents = GaugeMetricFamily("tiltas_documents", "Documents by status", labels=["status"])
        failures = GaugeMetricFamily(
            "tiltas_document_failures",
            "Documents whose last step failed, by reason",
            labels=["code"],
        )
        with self._database.transaction() as session:
            for status, count in session.execute(
                select(Document.status, func.count()).group_by(Document.status)
            ).tuples():
                documents.add_metric([status], count)
            codes = Counter(
                str((failure or {}).get("code", "unknown"))
                for failure in session.scalars(
                    select(Document.failure).where(Document.failure.is_not(None))
                )
            )
        for code, count in sorted(codes.items()):
            failures.add_metric([code], count)
        yield from (documents, failures)


@router.get("/metrics", response_class=Response)
def metrics(principal: PrincipalDep, database: DatabaseDep, settings: SettingsDep) -> Response:
    require_role(principal, Role.admin, Role.auditor)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(redis_for(settings.resolved_broker_url), database))
    return Response(generate_latest(registry), media_type=PROMETHEUS_TEXT)
