"""The re-enqueue sweep: documents whose step was never queued, or was given up, go back on the
queue once per quiet period; documents moving, finished for good or cancelled do not."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from tests.support.factories import World, protocols
from tiltas import requeue
from tiltas.models import Document, utcnow

QUIET = dt.timedelta(minutes=30)


def _batch(world: World, count: int) -> tuple[dict[str, str], dict[str, Any]]:
    commission, items = protocols(world, count)
    # No worker runs: every document stays requested, as if its task had been lost.
    job = world.client.post("/v1/batches", json={"documents": items}, headers=commission)
    assert job.status_code == 202, job.text
    return commission, job.json()


def test_stalled_documents_go_back_once_per_quiet_period(world: World) -> None:
    commission, job = _batch(world, 5)
    made = world.client.get(f"/v1/batches/{job['id']}/documents", headers=commission).json()
    lost, waiting_for_tsa, refused, signed_once, fresh = (d["id"] for d in made)
    now = utcnow()
    long_ago = now - dt.timedelta(hours=2)
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with database.transaction() as session:

        def set_(public_id: str, **values: Any) -> None:
            session.execute(
                update(Document).where(Document.public_id == public_id).values(**values)
            )

        set_(lost, updated_at=long_ago)
        generated = {"status": "generated", "pdf_sha256": "0" * 64, "updated_at": long_ago}
        set_(
            waiting_for_tsa,
            **generated,
            failure={"code": "timestamp_unavailable", "message": "no TSA"},
        )
        set_(refused, **generated, failure={"code": "signature_field_error", "message": "x"})
        set_(signed_once, **generated, signatures=[{"index": 1}])

    with database.transaction() as session:
        found = requeue.stalled(session, now, QUIET, limit=100)
    assert found.generate == [lost]
    assert found.sign == [(waiting_for_tsa, 1), (signed_once, 2)]
    assert fresh not in found.generate and refused not in {d for d, _ in found.sign}

    with database.transaction() as session:
        again = requeue.stalled(session, now + dt.timedelta(minutes=5), QUIET, limit=100)
    assert again.generate == [] and again.sign == [], "put back once per quiet period"

    later = now + QUIET + dt.timedelta(minutes=1)
    with database.transaction() as session:
        limited = requeue.stalled(session, later, QUIET, limit=1)
    assert limited.generate == [lost] and limited.sign == [(waiting_for_tsa, 1)]

    cancelled = world.client.post(f"/v1/batches/{job['id']}/cancel", headers=commission)
    assert cancelled.status_code == 200
    with database.transaction() as session:
        after_cancel = requeue.stalled(session, later + QUIET * 2, QUIET, limit=100)
    assert after_cancel.generate == [] and after_cancel.sign == []
