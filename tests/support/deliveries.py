"""Documents as the pipeline leaves them (generated, signed, acknowledged), written straight to
the database: delivery and deadline tests need their states, not LibreOffice or a PKI."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from api.deps import get_today
from tests.support.factories import World, release_case
from tiltas.access import Role
from tiltas.db import transaction
from tiltas.models import Case, Document, Organisation


def moment(text: str) -> dt.datetime:
    """``2026-04-29T10:00`` Lithuanian time (EEST/EET), in UTC as the service stores times
    (SQLite keeps no offset)."""
    from zoneinfo import ZoneInfo

    local = dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/Vilnius"))
    return local.astimezone(dt.UTC)


def stored_document(
    world: World,
    type_id: str,
    *,
    author: str,
    case_id: str | None,
    generated_at: dt.datetime,
    signed_at: dt.datetime | None = None,
    acknowledged_at: dt.datetime | None = None,
    registration_date: str | None = None,
    failed: bool = False,
) -> str:
    """A document of ``type_id`` by organisation ``author`` (a key of ``world.orgs``)."""
    database = world.client.app.state.database  # type: ignore[attr-defined]
    envelope: dict[str, Any] = {"document_type": type_id, "signers": []}
    if registration_date is not None:
        envelope["registration"] = {"number": "R-1", "date": registration_date}
    with transaction(database.sessions) as session:
        organisation_id = session.scalar(
            select(Organisation.id).where(Organisation.code == world.orgs[author].code)
        )
        assert organisation_id is not None
        case = session.scalar(select(Case).where(Case.public_id == case_id)) if case_id else None
        status = "failed" if failed else ("signed" if signed_at else "generated")
        document = Document(
            public_id=str(uuid.uuid4()),
            type_id=type_id,
            case_id=case.id if case else None,
            author_organisation_id=organisation_id,
            status=status,
            version=2,
            created_at=generated_at,
            updated_at=signed_at or generated_at,
            envelope=envelope,
            data={},
            input_sha256="0" * 64,
            template_version="test",
            generated_at=None if failed else generated_at,
            pdf_sha256=None if failed else "1" * 64,
            pdf_size=None if failed else 1000,
            signatures=[],
            signed_at=signed_at,
            acknowledgement=(
                {"kind": "paper_scan", "recorded_at": acknowledged_at.isoformat()}
                if acknowledged_at
                else None
            ),
            pdf_history=[],
            renewals=[],
        )
        session.add(document)
        session.flush()
        return document.public_id


@contextmanager
def on_day(world: World, today: str) -> Iterator[None]:
    """Set the API's day (its ``get_today`` dependency) for the requests inside."""
    overrides = world.client.app.dependency_overrides  # type: ignore[attr-defined]
    overrides[get_today] = lambda: dt.date.fromisoformat(today)
    try:
        yield
    finally:
        del overrides[get_today]


def new_case(world: World, payload: dict[str, Any], role: Role = Role.director) -> str:
    response = world.client.post("/v1/cases", json=payload, headers=world.institution.auth(role))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def deadlines_on(
    world: World, case_id: str, today: str, role: Role = Role.director
) -> dict[str, dict[str, Any]]:
    with on_day(world, today):
        response = world.client.get(
            f"/v1/cases/{case_id}/deadlines", headers=world.institution.auth(role)
        )
    assert response.status_code == 200, response.text
    return {d["kind"]: d for d in response.json()}


def sent_notice(world: World) -> tuple[str, str]:
    """A case with a signed notice A; the notice is then recorded as sent (an event)."""
    payload = release_case(world)
    payload["subject"]["possible_release_date"] = "2026-11-02"
    case_id = new_case(world, payload)
    notice = stored_document(
        world, "A", author="correctional_institution", case_id=case_id,
        generated_at=moment("2026-04-20T09:00"), signed_at=moment("2026-04-20T09:00"),
    )  # fmt: skip
    response = world.client.post(
        f"/v1/documents/{notice}/delivery-events",
        json={"state": "sent", "at": moment("2026-04-21T10:00").isoformat()},
        headers=world.institution.auth(Role.institution_staff),
    )
    assert response.status_code == 201, response.text
    return case_id, notice
