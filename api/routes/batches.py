"""/v1/batches: many documents in one call (every protocol K of a meeting, list C for
everyone due next month, E and F for everyone released next week), followed as one job."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import DatabaseDep, IdempotencyKey, PrincipalDep
from api.idempotent import run_post
from api.queue import enqueue_stored
from api.routes.documents import DocumentCreate, document_view, request_checked_document
from tiltas import batches, documents
from tiltas.errors import FieldProblem, Forbidden, InvalidInput, NotFound
from tiltas.idempotency import StoredResponse
from tiltas.messaging import GENERATE_DOCUMENT
from tiltas.models import Document

router = APIRouter(tags=["batches"])

MAX_BATCH = 500


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentCreate] = Field(min_length=1, max_length=MAX_BATCH)
    sign: bool = Field(
        default=True,
        description="Sign each document for every official signer, in order, with the keys "
        "the service holds, once it is made",
    )


class BatchFailure(BaseModel):
    document_id: str
    status: str
    code: str
    message: str


class BatchPublic(BaseModel):
    id: str
    state: str
    """running, completed or cancelled."""
    sign: bool
    total: int
    counts: dict[str, int]
    """Documents per status: requested, generated, signed, failed, cancelled."""
    failures: list[BatchFailure]
    """Documents that failed, or whose last step failed and is being retried, with why."""
    created_at: dt.datetime
    cancelled_at: dt.datetime | None


def _location(batch_id: str) -> str:
    return f"/v1/batches/{batch_id}"


def _view(progress: batches.BatchProgress) -> dict[str, Any]:
    batch = progress.batch
    body = {
        "id": batch.public_id,
        "state": progress.state.value,
        "sign": batch.sign,
        "total": batch.total,
        "counts": progress.counts,
        "failures": progress.failures,
        "created_at": batch.created_at,
        "cancelled_at": batch.cancelled_at,
    }
    return BatchPublic.model_validate(body).model_dump(mode="json")


@router.post("/v1/batches", status_code=202, response_model=BatchPublic)
def create_batch(
    request: Request,
    body: BatchCreate,
    principal: PrincipalDep,
    database: DatabaseDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Ask for many documents at once. Every item is checked first: one bad item is a 422
    naming it (``documents.N…``) and nothing is stored. The answer is 202 with the job; follow
    ``Location`` for progress, failures and, at the end, the documents."""

    def perform(session: Any) -> StoredResponse:
        made: list[Document] = []
        problems: list[FieldProblem] = []
        lookups = documents.RequestLookups(session, principal)
        for number, item in enumerate(body.documents):
            # An item is refused by its checks before it writes anything, so the items need no
            # savepoint each: with one, the case's deadlines were recomputed and the audit
            # chain's head moved at every item's release, not once for the batch.
            try:
                made.append(request_checked_document(session, principal, item, lookups))
            except InvalidInput as invalid:
                problems.extend(
                    FieldProblem(f"documents.{number}.{p.field}", p.message, p.code)
                    for p in invalid.problems
                )
            except (NotFound, Forbidden) as refused:
                problems.append(FieldProblem(f"documents.{number}", refused.message, refused.code))
        if problems:
            raise InvalidInput(problems)
        batch = batches.create(session, principal, made, body.sign)
        return StoredResponse(
            202, _view(batches.progress(session, batch)), {"Location": _location(batch.public_id)}
        )

    response = run_post(
        database,
        principal,
        idempotency_key,
        ("POST", "/v1/batches", body.model_dump(mode="json")),
        perform,
    )
    if response.status_code != 202 or "Idempotent-Replayed" in response.headers:
        return response
    batch_id = response.headers["Location"].rsplit("/", 1)[1]
    with database.transaction() as session:
        batch = batches.load(session, principal, batch_id)
        waiting = [d.public_id for d in batches.documents_of(session, batch)]
    for public_id in waiting:
        enqueue_stored(request.app.state.producer, GENERATE_DOCUMENT, [public_id])
    return response


@router.get("/v1/batches/{batch_id}", response_model=BatchPublic)
def read_batch(batch_id: str, principal: PrincipalDep, database: DatabaseDep) -> dict[str, Any]:
    with database.transaction() as session:
        return _view(batches.progress(session, batches.load(session, principal, batch_id)))


@router.post("/v1/batches/{batch_id}/cancel", response_model=BatchPublic)
def cancel_batch(batch_id: str, principal: PrincipalDep, database: DatabaseDep) -> dict[str, Any]:
    """Stop the batch: documents not yet made are cancelled; those made are signed no
    further. Cancelling twice is the same as once."""
    with database.transaction() as session:
        batch = batches.cancel(session, principal, batch_id)
        return _view(batches.progress(session, batch))


@router.get("/v1/batches/{batch_id}/documents")
def list_batch_documents(
    batch_id: str, principal: PrincipalDep, database: DatabaseDep
) -> list[dict[str, Any]]:
    """The batch's documents (metadata; each PDF at its own ``/pdf``), in the order asked."""
    with database.transaction() as session:
        batch = batches.load(session, principal, batch_id)
        found = []
        for document in batches.documents_of(session, batch):
            readable = documents.read_document(
                session, principal, document.public_id, purpose="metadata"
            )
            found.append(document_view(readable, documents.case_public_id(session, readable)))
        return found
