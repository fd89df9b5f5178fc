"""The Celery queues and how workers consume them (no Celery import here).

Each kind of work has its own queue, so a batch of conversions never holds back signing or a
webhook, and each queue has its own worker with its own concurrency: ``tiltas serve`` runs one
worker per group in ``TILTAS_WORKER_QUEUES`` (``convert=2,sign=2,...``; ``a+b=N`` lets one
worker serve two queues, and a host that leaves a queue out does not serve it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class WorkQueue(StrEnum):
    convert = "convert"
    """Render, convert to PDF/A and store (a LibreOffice converter per worker process)."""
    sign = "sign"
    """Signatures, remote signatures and acknowledgements (CPU and the TSA)."""
    webhooks = "webhooks"
    """Webhook deliveries and their dispatcher (waiting on the network: threads)."""
    schedules = "schedules"
    """Beat's periodic work: deadline sweep and timers, re-enqueueing, the audit check."""
    archival = "archival"
    """Archive timestamp renewal."""


DEFAULT_WORKER_QUEUES = "convert=2,sign=2,webhooks=4,schedules=1,archival=1"


class WorkerQueuesError(ValueError):
    pass


@dataclass(frozen=True)
class WorkerGroup:
    """One worker process tree: the queues it consumes and how many tasks it runs at once."""

    queues: tuple[WorkQueue, ...]
    concurrency: int

    @property
    def name(self) -> str:
        return "+".join(self.queues)

    @property
    def pool(self) -> str:
        """Webhook deliveries wait on the network: threads. One task at a time needs no child
        process. Otherwise a process per task (conversion and signing use the CPU)."""
        if set(self.queues) == {WorkQueue.webhooks}:
            return "threads"
        return "solo" if self.concurrency == 1 else "prefork"


def parse_worker_queues(text: str) -> tuple[WorkerGroup, ...]:
    """``convert=2,sign=2`` -> groups; every queue at most once, concurrency 1..64."""
    groups: list[WorkerGroup] = []
    seen: set[WorkQueue] = set()
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        names, equals, count = entry.partition("=")
        if not equals or not count.strip().isdigit():
            raise WorkerQueuesError(f"{entry!r}: expected queue=concurrency, e.g. convert=2")
        concurrency = int(count)
        if not 1 <= concurrency <= 64:
            raise WorkerQueuesError(f"{entry!r}: concurrency must be 1 to 64")
        queues: list[WorkQueue] = []
        for name in (n.strip() for n in names.split("+")):
            try:
                queue = WorkQueue(name)
            except ValueError:
                known = ", ".join(WorkQueue)
                raise WorkerQueuesError(f"unknown queue {name!r} (known: {known})") from None
            if queue in seen:
                raise WorkerQueuesError(f"queue {name!r} is named twice")
            seen.add(queue)
            queues.append(queue)
        groups.append(WorkerGroup(tuple(queues), concurrency))
    return tuple(groups)
