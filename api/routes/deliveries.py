"""/v1/documents/{id}/delivery-events: how a document travels after signing — sent, delivered,
acknowledged, or failed / returned — recorded by the author's DMS or a clerk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import DatabaseDep, IdempotencyKey, PrincipalDep, TodayDep
from api.idempotent import run_post
from api.routes.webhooks import enqueue_deliveries
from tiltas import deadline_tracking, delivery, events
from tiltas.idempotency import StoredResponse
from tiltas.models import DeliveryEvent

router = APIRouter(tags=["deliveries"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"application/problem+json": {}}}
    for status, description in (
        (403, "Only the author organisation's roles that may author the document record steps"),
        (404, "No such document among those you may see"),
        (
            409,
            "The step does not follow from where the document is (type "
            "urn:tiltas:problem:invalid_delivery_transition, with current_state, "
            "requested_state and allowed_states), or the document has no PDF yet",
        ),
        (422, "Invalid fields, e.g. an `at` in the future or before the last step"),
    )
}


class RecordedBy(BaseModel):
    key_id: str
    organisation_code: str
    role: str


class DeliveryEventPublic(BaseModel):
    id: str
    document_id: str
    state: delivery.RecordedState
    at: dt.datetime
    """When it happened."""
    recorded_at: dt.datetime
    recorded_by: RecordedBy
    channel: delivery.Channel | None
    note: str | None


class StepPublic(BaseModel):
    state: delivery.DeliveryState
    at: dt.datetime
    event: DeliveryEventPublic | None
    """The recorded step; None for the service's own steps (generated, signed, and the
    convict's acknowledgement of E, F, L)."""


class DocumentDeliveryPublic(BaseModel):
    document_id: str
    type: str
    case_id: str | None
    state: delivery.DeliveryState | None
    """The latest step; None while the document has no PDF."""
    allowed_next: list[str]
    """Steps that may be recorded next."""
    steps: list[StepPublic]


class DeliveryEventRecorded(DeliveryEventPublic):
    document: DocumentDeliveryPublic


def _event_public(event: DeliveryEvent, document_id: str) -> dict[str, Any]:
    return {
        "id": event.public_id,
        "document_id": document_id,
        "state": event.state,
        "at": event.at,
        "recorded_at": event.recorded_at,
        "recorded_by": {
            "key_id": event.recorded_by_key_id,
            "organisation_code": event.recorded_by_organisation_code,
            "role": event.recorded_by_role,
        },
        "channel": event.channel,
        "note": event.note,
    }


def _delivery_public(view: delivery.DocumentDelivery) -> dict[str, Any]:
    return {
        "document_id": view.document.public_id,
        "type": view.document.type_id,
        "case_id": view.case.public_id if view.case else None,
        "state": view.state,
        "allowed_next": view.allowed_next,
        "steps": [
            {
                "state": step.state,
                "at": step.at,
                "event": (
                    _event_public(step.event, view.document.public_id) if step.event else None
                ),
            }
            for step in view.steps
        ],
    }


@router.post(
    "/v1/documents/{document_id}/delivery-events",
    status_code=201,
    response_model=DeliveryEventRecorded,
    responses=PROBLEMS,
)
def record_delivery_event(
    request: Request,
    document_id: str,
    body: delivery.DeliveryEventInput,
    principal: PrincipalDep,
    database: DatabaseDep,
    today: TodayDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a step: `sent`, `delivered`, `acknowledged`, `failed` or `returned`, with when it
    happened (`at`, default now), the channel and a note. The document's deadlines are
    recomputed at once (a step may meet one) and the step is announced to webhooks."""
    made: list[str] = []

    def perform(session: Session) -> StoredResponse:
        event, view = delivery.record_event(session, principal, document_id, body)
        if view.case is not None:
            deadline_tracking.refresh_case(
                session, view.case, cause=deadline_tracking.ChangeCause.delivery, today=today
            )
        made.extend(events.take_new_deliveries(session))
        return StoredResponse(
            201,
            {**_event_public(event, document_id), "document": _delivery_public(view)},
            {"Location": f"/v1/documents/{document_id}/delivery-events"},
        )

    response = run_post(
        database,
        principal,
        idempotency_key,
        ("POST", f"/v1/documents/{document_id}/delivery-events", body.model_dump(mode="json")),
        perform,
    )
    enqueue_deliveries(request, made)
    return response


@router.get(
    "/v1/documents/{document_id}/delivery-events",
    response_model=DocumentDeliveryPublic,
    responses={404: PROBLEMS[404]},
)
def read_delivery(
    document_id: str, principal: PrincipalDep, database: DatabaseDep
) -> dict[str, Any]:
    """Every step of the document so far, oldest first, with what may be recorded next."""
    with database.transaction() as session:
        view = delivery.document_delivery(session, principal, document_id)
        return DocumentDeliveryPublic.model_validate(_delivery_public(view)).model_dump(mode="json")
