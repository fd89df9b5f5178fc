"""Every route of the app (API and web pages) × every role (and nobody) × a record of the
caller's own organisation and one of a foreign organisation, against a table written out by
hand below. Every cell makes the real request on a record that exists, so a foreign record
answered like an own one, or health data shown to a role DOMAIN.md §5 keeps it from, fails.

A route added to the app without a row here fails ``test_every_route_is_in_the_matrix``.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from api.app import create_app
from tests.support.factories import World, care_case, personal_code, release_case
from tests.support.records import (
    DIRECTOR,
    RecordingProducer,
    Records,
    blank_pdf,
    insert_document,
    make_records,
    self_signed_certificate,
)
from tiltas.access import OrganisationKind, Role
from tiltas.apikeys import create_api_key
from tiltas.db import transaction
from tiltas.settings import Settings
from tiltas.users import create_user, csrf_token

# ----------------------------------------------------------------------------------------------
# Who calls. Each role's key (and web user) belongs to its home organisation; "own" records are
# of the home side of the World, "foreign" ones of its "_2" twins, where the caller takes part
# in nothing. ``None`` is nobody: no API key, no session.

HOME: dict[Role, str] = {
    Role.institution_staff: "correctional_institution",
    Role.health_unit: "correctional_institution",
    Role.director: "correctional_institution",
    Role.probation_officer: "probation",
    Role.social_worker: "municipality",
    Role.commission: "commission",
    Role.archivist: "archive",
    Role.auditor: "correctional_institution",
    Role.admin: "correctional_institution",
}
CALLERS: list[Role | None] = [*HOME, None]
HEADINGS = ["inst", "hlth", "dir", "prob", "soc", "comm", "arch", "aud", "adm", "none"]

# ----------------------------------------------------------------------------------------------
# The expected answers. Each line: a route ("METHOD path" as the app declares it), the variant
# (which record), then ten answers for a record of the caller's own organisation, "|", and ten
# for a foreign one, in the order of HEADINGS:
#   inst = institution_staff, hlth = health_unit, dir = director (correctional institution),
#   prob = probation_officer, soc = social_worker (municipality), comm = commission,
#   arch = archivist, aud = auditor and adm = admin (correctional institution), none = no key.
# An answer is the HTTP status; where the row names what to look for in a 2xx body (the record's
# id in a list, the case's health note), "+" means it is there and "-" that it is not.
# Records: A = case A (conditional release) or its release notice A; B = care case B with
# health data, G = its request G (a health document, DOMAIN.md §5); E = acknowledgement E by
# probation with the convict's scan; "new" = a record made for this one call.

EXPECTED_TABLE = """
# public: documentation, health check, redirects, static files
GET /openapi.json                                   -      | 200  200  200  200  200  200  200  200  200  200  | 200  200  200  200  200  200  200  200  200  200
GET /docs                                           -      | 200  200  200  200  200  200  200  200  200  200  | 200  200  200  200  200  200  200  200  200  200
GET /docs/oauth2-redirect                           -      | 200  200  200  200  200  200  200  200  200  200  | 200  200  200  200  200  200  200  200  200  200
GET /redoc                                          -      | 200  200  200  200  200  200  200  200  200  200  | 200  200  200  200  200  200  200  200  200  200
GET /healthz                                        -      | 200  200  200  200  200  200  200  200  200  200  | 200  200  200  200  200  200  200  200  200  200
GET /                                               -      | 303  303  303  303  303  303  303  303  303  303  | 303  303  303  303  303  303  303  303  303  303
GET /web/static                                     css    | 200  200  200  200  200  200  200  200  200  200  | 200  200  200  200  200  200  200  200  200  200
# reference data and the organisations' directory: any key reads them
GET /v1/municipalities                              -      | 200  200  200  200  200  200  200  200  200  401  | 200  200  200  200  200  200  200  200  200  401
GET /v1/document-types                              -      | 200  200  200  200  200  200  200  200  200  401  | 200  200  200  200  200  200  200  200  200  401
GET /v1/document-types/{type_id}                    G      | 200  200  200  200  200  200  200  200  200  401  | 200  200  200  200  200  200  200  200  200  401
GET /v1/document-types/{type_id}/templates          G      | 200  200  200  200  200  200  200  200  200  401  | 200  200  200  200  200  200  200  200  200  401
POST /v1/document-types/{type_id}/templates         junk   | 403  403  403  403  403  403  403  403  422  401  | 403  403  403  403  403  403  403  403  422  401
GET /v1/calendar                                    -      | 200  200  200  200  200  200  200  200  200  401  | 200  200  200  200  200  200  200  200  200  401
PUT /v1/calendar/overrides                          -      | 403  403  403  403  403  403  403  403  200  401  | 403  403  403  403  403  403  403  403  200  401
GET /v1/organisations                               -      | 200  200  200  200  200  200  200  200  200  401  | 200  200  200  200  200  200  200  200  200  401
GET /v1/organisations/{code}                        home   | 200  200  200  200  200  200  200  200  200  401  | 200  200  200  200  200  200  200  200  200  401
POST /v1/organisations                              new    | 403  403  403  403  403  403  403  403  201  401  | 403  403  403  403  403  403  403  403  201  401
PATCH /v1/organisations/{code}                      home   | 403  403  403  403  403  403  403  403  200  401  | 403  403  403  403  403  403  403  403  403  401
# API keys and the audit log
POST /v1/api-keys                                   inst   | 403  403  403  403  403  403  403  403  201  401  | 403  403  403  403  403  403  403  403  403  401
GET /v1/api-keys                                    key    | 403  403  403  403  403  403  403  403  200+ 401  | 403  403  403  403  403  403  403  403  200- 401
POST /v1/api-keys/{key_id}/revoke                   new    | 403  403  403  403  403  403  403  403  200  401  | 403  403  403  403  403  403  403  403  404  401
GET /v1/audit                                       A      | 403  403  403  403  403  403  403  200+ 403  401  | 403  403  403  403  403  403  403  200- 403  401
GET /v1/audit                                       B      | 403  403  403  403  403  403  403  200- 403  401  | 403  403  403  403  403  403  403  200- 403  401
GET /v1/audit/verify                                -      | 403  403  403  403  403  403  403  200  403  401  | 403  403  403  403  403  403  403  200  403  401
GET /metrics                                        -      | 403  403  403  403  403  403  403  200  200  401  | 403  403  403  403  403  403  403  200  200  401
# cases: the foreign "create" names the foreign institution as the case's
POST /v1/cases                                      A      | 201  403  201  403  403  403  403  403  403  401  | 201  403  201  403  403  403  403  403  403  401
POST /v1/cases                                      B      | 403  201  201  403  403  403  403  403  403  401  | 403  201  201  403  403  403  403  403  403  401
GET /v1/cases                                       A      | 200+ 200+ 200+ 200+ 200+ 200+ 403  403  403  401  | 200- 200- 200- 200- 200- 200- 403  403  403  401
GET /v1/cases                                       B      | 200- 200+ 200+ 200- 200- 200+ 403  403  403  401  | 200- 200- 200- 200- 200- 200- 403  403  403  401
GET /v1/cases/{case_id}                             A      | 200  200  200  200  200  200  403  403  403  401  | 404  404  404  404  404  404  403  403  403  401
GET /v1/cases/{case_id}                             B      | 200- 200+ 200+ 200- 200- 200+ 403  403  403  401  | 404  404  404  404  404  404  403  403  403  401
PATCH /v1/cases/{case_id}                           A      | 200  200  200  200  200  200  403  403  403  401  | 404  404  404  404  404  404  403  403  403  401
PATCH /v1/cases/{case_id}                           B      | 403  200+ 200+ 403  403  200+ 403  403  403  401  | 404  404  404  404  404  404  403  403  403  401
# deadlines and calendar feeds
GET /v1/deadlines                                   A      | 200+ 200+ 200+ 200+ 200+ 200+ 403  403  403  401  | 200- 200- 200- 200- 200- 200- 403  403  403  401
GET /v1/deadlines.ics                               A      | 200+ 200+ 200+ 200+ 200+ 200+ 403  403  403  401  | 200- 200- 200- 200- 200- 200- 403  403  403  401
GET /v1/cases/{case_id}/deadlines                   A      | 200  200  200  200  200  200  403  403  403  401  | 404  404  404  404  404  404  403  403  403  401
GET /v1/cases/{case_id}/deadline-changes            A      | 200  200  200  200  200  200  403  403  403  401  | 404  404  404  404  404  404  403  403  403  401
POST /v1/feed-tokens                                -      | 201  201  201  201  201  201  403  403  403  401  | 201  201  201  201  201  201  403  403  403  401
GET /v1/feed-tokens                                 token  | 200+ 200+ 200+ 200- 200- 200- 403  403  403  401  | 200- 200- 200- 200- 200- 200- 403  403  403  401
POST /v1/feed-tokens/{token_id}/revoke              new    | 200  200  200  404  404  404  403  403  403  401  | 404  404  404  404  404  404  403  403  403  401
GET /v1/feeds/{token}/deadlines.ics                 token  | 200  200  200  200  200  200  200  200  200  200  | 200  200  200  200  200  200  200  200  200  200
# documents
POST /v1/documents                                  A      | 202  403  202  403  403  403  403  403  403  401  | 422  403  422  403  403  403  403  403  403  401
POST /v1/documents                                  G      | 403  202  202  403  403  403  403  403  403  401  | 403  422  422  403  403  403  403  403  403  401
GET /v1/documents/{document_id}                     A      | 200  200  200  200  200  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/documents/{document_id}                     G      | 404  200  200  404  404  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/documents/{document_id}/pdf                 A      | 200  200  200  200  200  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/documents/{document_id}/pdf                 G      | 404  200  200  404  404  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/cases/{case_id}/documents                   A      | 200+ 200+ 200+ 200+ 200+ 200+ 200- 200- 200- 401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/cases/{case_id}/documents                   G      | 200- 200+ 200+ 200- 200- 200+ 200- 200- 200- 401  | 404  404  404  404  404  404  404  404  404  401
POST /v1/documents/{document_id}/signatures         A      | 202  403  202  403  403  403  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
POST /v1/documents/{document_id}/acknowledgement    E      | 403  403  403  409  403  403  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/documents/{document_id}/acknowledgement/scan E     | 200  200  200  200  200  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
POST /v1/documents/{document_id}/delivery-events    new    | 201  403  201  403  403  403  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/documents/{document_id}/delivery-events     A      | 200  200  200  200  200  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/documents/{document_id}/delivery-events     G      | 404  200  200  404  404  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/documents/{document_id}/verification        A      | 200  200  200  200  200  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/documents/{document_id}/verification        G      | 404  200  200  404  404  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
POST /v1/verify                                     pdf    | 200  200  200  200  200  200  200  403  403  401  | 200  200  200  200  200  200  200  403  403  401
POST /v1/documents/{document_id}/remote-signatures  A      | 202  403  202  403  403  403  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/documents/{document_id}/remote-signatures/{session_id} A | 200  200  200  200  200  200  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
POST /v1/documents/{document_id}/remote-signatures/{session_id}/completion A | 422  403  422  403  403  403  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
# batches: of the organisation that asked for them
POST /v1/batches                                    A      | 202  422  202  422  422  422  422  422  422  401  | 422  422  422  422  422  422  422  422  422  401
GET /v1/batches/{batch_id}                          A      | 200  200  200  404  404  404  404  200  200  401  | 404  404  404  404  404  404  404  404  404  401
POST /v1/batches/{batch_id}/cancel                  A      | 200  200  200  404  404  404  404  403  403  401  | 404  404  404  404  404  404  404  404  404  401
GET /v1/batches/{batch_id}/documents                A      | 200  200  200  404  404  404  404  404  404  401  | 404  404  404  404  404  404  404  404  404  401
# webhooks: the organisation's administrators
POST /v1/webhooks                                   -      | 403  403  403  403  403  403  403  403  201  401  | 403  403  403  403  403  403  403  403  201  401
GET /v1/webhooks                                    hook   | 403  403  403  403  403  403  403  403  200+ 401  | 403  403  403  403  403  403  403  403  200- 401
GET /v1/webhooks/{subscription_id}                  hook   | 403  403  403  403  403  403  403  403  200  401  | 403  403  403  403  403  403  403  403  404  401
PATCH /v1/webhooks/{subscription_id}                hook   | 403  403  403  403  403  403  403  403  200  401  | 403  403  403  403  403  403  403  403  404  401
DELETE /v1/webhooks/{subscription_id}               new    | 403  403  403  403  403  403  403  403  204  401  | 403  403  403  403  403  403  403  403  404  401
POST /v1/webhooks/{subscription_id}/secret          hook   | 403  403  403  403  403  403  403  403  200  401  | 403  403  403  403  403  403  403  403  404  401
GET /v1/webhooks/{subscription_id}/deliveries       hook   | 403  403  403  403  403  403  403  403  200+ 401  | 403  403  403  403  403  403  403  403  404  401
GET /v1/webhooks/{subscription_id}/deliveries/{delivery_id} hook | 403  403  403  403  403  403  403  403  200  401  | 403  403  403  403  403  403  403  403  404  401
POST /v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver hook | 403  403  403  403  403  403  403  403  202  401  | 403  403  403  403  403  403  403  403  404  401
# web pages: a person signed in with the role (303 without a session: to the sign-in form)
GET /web/prisijungti                                -      | 200  200  200  200  200  200  200  200  200  200  | 200  200  200  200  200  200  200  200  200  200
POST /web/prisijungti                               user   | 303  303  303  303  303  303  303  303  303  403  | 401  401  401  401  401  401  401  401  401  403
POST /web/atsijungti                                token  | 303  303  303  303  303  303  303  303  303  303  | 403  403  403  403  403  403  403  403  403  303
GET /web/                                           -      | 303  303  303  303  303  303  303  200  200  303  | 303  303  303  303  303  303  303  200  200  303
GET /web/bylos                                      A      | 200+ 200+ 200+ 200+ 200+ 200+ 403  403  403  303  | 200- 200- 200- 200- 200- 200- 403  403  403  303
GET /web/bylos                                      B      | 200- 200- 200- 200- 200- 200- 403  403  403  303  | 200- 200- 200- 200- 200- 200- 403  403  403  303
GET /web/bylos/nauja                                -      | 200  200  200  403  403  403  403  403  403  303  | 200  200  200  403  403  403  403  403  403  303
POST /web/bylos/nauja                               A      | 303  403  303  403  403  403  403  403  403  303  | 303  403  303  403  403  403  403  403  403  303
GET /web/bylos/{case_id}                            A      | 200  200  200  200  200  200  403  403  403  303  | 404  404  404  404  404  404  403  403  403  303
GET /web/bylos/{case_id}                            B      | 200- 200+ 200+ 200- 200- 200+ 403  403  403  303  | 404  404  404  404  404  404  403  403  403  303
GET /web/dokumentai/naujas                          A      | 200  403  200  403  403  403  403  403  403  303  | 422  403  422  403  403  403  403  403  403  303
POST /web/dokumentai/naujas                         A      | 200  403  200  403  403  403  403  403  403  303  | 422  403  422  403  403  403  403  403  403  303
GET /web/dokumentai/{document_id}                   A      | 200  200  200  200  200  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}                   G      | 404  200  200  404  404  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}/busena            A      | 200  200  200  200  200  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}/busena            G      | 404  200  200  404  404  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}/pdf               A      | 200  200  200  200  200  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}/pdf               G      | 404  200  200  404  404  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
POST /web/dokumentai/{document_id}/pasirasyti       A      | 303  403  303  403  403  403  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
POST /web/dokumentai/{document_id}/parasas          E      | 403  403  403  409  403  403  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
POST /web/dokumentai/{document_id}/skenuote         E      | 403  403  403  409  403  403  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}/skenuote          E      | 200  200  200  200  200  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
POST /web/dokumentai/{document_id}/pristatymas      new    | 303  403  303  403  403  403  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}/patikra           A      | 200  200  200  200  200  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}/patikra           G      | 404  200  200  404  404  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}/patikra.{form}    A      | 200  200  200  200  200  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/dokumentai/{document_id}/patikra.{form}    G      | 404  200  200  404  404  200  404  404  404  303  | 404  404  404  404  404  404  404  404  404  303
GET /web/tikrinti                                   -      | 200  200  200  200  200  200  200  403  403  303  | 200  200  200  200  200  200  200  403  403  303
POST /web/tikrinti                                  pdf    | 200  200  200  200  200  200  200  403  403  303  | 200  200  200  200  200  200  200  403  403  303
"""


@dataclass(frozen=True)
class Row:
    route: str
    variant: str
    own: tuple[str, ...]
    foreign: tuple[str, ...]


def parse_table(table: str) -> list[Row]:
    rows = []
    for line in table.strip().splitlines():
        if line.startswith("#"):
            continue
        head, own, foreign = line.split("|")
        *route_words, variant = head.split()
        rows.append(Row(" ".join(route_words), variant, tuple(own.split()), tuple(foreign.split())))
        assert len(rows[-1].own) == len(rows[-1].foreign) == len(CALLERS), line
    return rows


ROWS = parse_table(EXPECTED_TABLE)

# ----------------------------------------------------------------------------------------------
# The calls behind each row.


@dataclass
class Cell:
    """One call: who calls (API headers, a signed-in browser) and on which side's records."""

    world: World
    role: Role | None
    api: dict[str, str]
    browser: TestClient
    csrf: str
    records: Records
    """The target side's records (own or foreign)."""
    side: str
    other_csrf: str
    """The form token of a session of another organisation (foreign side only)."""
    password: str
    email: str

    @property
    def client(self) -> TestClient:
        return self.world.client

    def org(self, kind: str) -> Any:
        return self.world.orgs[kind + self.side]

    def side_headers(self, kind: str, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.org(kind).keys[role]}"}

    def form(self, **fields: str) -> dict[str, str]:
        return {"csrf_token": self.csrf, **fields}


_codes = itertools.count(500000001)


def _fresh_signed_notice(cell: Cell) -> str:
    return insert_document(
        cell.world, "A", author="correctional_institution" + cell.side,
        case_id=cell.records.case_a, signers=[DIRECTOR], signed=True,
    )  # fmt: skip


def _fresh_feed_token(cell: Cell) -> str:
    made = cell.client.post(
        "/v1/feed-tokens",
        json={},
        headers=cell.side_headers("correctional_institution", Role.director),
    )
    return str(made.json()["id"])


def _fresh_subscription(cell: Cell) -> str:
    made = cell.client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["document.sent"]},
        headers=cell.side_headers("correctional_institution", Role.admin),
    )
    return str(made.json()["id"])


def _fresh_key(cell: Cell) -> str:
    database = cell.client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        return create_api_key(
            session, cell.org("correctional_institution").code, Role.auditor
        ).key_id


def _case_payload(cell: Cell, variant: str) -> dict[str, Any]:
    payload = release_case(cell.world) if variant == "A" else care_case(cell.world)
    payload["subject"]["institution_code"] = cell.org("correctional_institution").code
    payload["participants"] = []
    return payload


def _document_request(cell: Cell, variant: str) -> dict[str, Any]:
    headers = cell.side_headers("correctional_institution", Role.director)
    example = cell.client.get(f"/v1/document-types/{variant}", headers=headers).json()["example"]
    return {**example, "case_id": cell.records.case_a if variant == "A" else cell.records.case_b}


def _doc(cell: Cell, variant: str) -> str:
    return {
        "A": cell.records.document_a,
        "G": cell.records.document_g,
        "E": cell.records.document_e,
    }[variant]


def _case(cell: Cell, variant: str) -> str:
    return cell.records.case_a if variant == "A" else cell.records.case_b


@cache
def _certificate() -> str:
    """Base64 DER of a certificate naming the notice's signer."""
    return base64.b64encode(self_signed_certificate(DIRECTOR["full_name"])).decode()


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PDF = blank_pdf("tikrinti")

Call = Callable[[Cell, str], httpx2.Response]

CALLS: dict[str, Call] = {
    "GET /openapi.json": lambda c, v: c.browser.get("/openapi.json", headers=c.api),
    "GET /docs": lambda c, v: c.browser.get("/docs", headers=c.api),
    "GET /docs/oauth2-redirect": lambda c, v: c.browser.get("/docs/oauth2-redirect", headers=c.api),
    "GET /redoc": lambda c, v: c.browser.get("/redoc", headers=c.api),
    "GET /healthz": lambda c, v: c.browser.get("/healthz", headers=c.api),
    "GET /": lambda c, v: c.browser.get("/"),
    "GET /web/static": lambda c, v: c.browser.get("/web/static/tiltas.css"),
    "GET /v1/municipalities": lambda c, v: c.client.get("/v1/municipalities", headers=c.api),
    "GET /v1/document-types": lambda c, v: c.client.get("/v1/document-types", headers=c.api),
    "GET /v1/document-types/{type_id}": lambda c, v: c.client.get(f"/v1/document-types/{v}", headers=c.api),
    "GET /v1/document-types/{type_id}/templates": lambda c, v: c.client.get(
        f"/v1/document-types/{v}/templates", headers=c.api
    ),
    "POST /v1/document-types/{type_id}/templates": lambda c, v: c.client.post(
        "/v1/document-types/G/templates", content=b"not a DOCX",
        headers={**c.api, "Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    ),
    "GET /v1/calendar": lambda c, v: c.client.get("/v1/calendar", headers=c.api),
    "PUT /v1/calendar/overrides": lambda c, v: c.client.put("/v1/calendar/overrides", json={}, headers=c.api),
    "GET /v1/organisations": lambda c, v: c.client.get("/v1/organisations", headers=c.api),
    "GET /v1/organisations/{code}": lambda c, v: c.client.get(
        f"/v1/organisations/{c.org(HOME[c.role or Role.admin]).code}", headers=c.api
    ),
    "POST /v1/organisations": lambda c, v: c.client.post(
        "/v1/organisations",
        json={"code": str(next(_codes)), "name": "VšĮ Naujas", "kind": "ngo",
              "address": "Vilnius", "email": "n@example.lt"},
        headers=c.api,
    ),
    "PATCH /v1/organisations/{code}": lambda c, v: c.client.patch(
        f"/v1/organisations/{c.org(HOME[c.role or Role.admin]).code}",
        json={"address": "Kauno g. 2, Vilnius"}, headers={**c.api, "If-Match": "*"},
    ),
    "POST /v1/api-keys": lambda c, v: c.client.post(
        "/v1/api-keys",
        json={"organisation_code": c.org("correctional_institution").code, "role": "auditor"},
        headers=c.api,
    ),
    "GET /v1/api-keys": lambda c, v: c.client.get("/v1/api-keys", headers=c.api),
    "POST /v1/api-keys/{key_id}/revoke": lambda c, v: c.client.post(
        f"/v1/api-keys/{_fresh_key(c)}/revoke", headers=c.api
    ),
    "GET /v1/audit": lambda c, v: c.client.get("/v1/audit", params={"limit": 500}, headers=c.api),
    "GET /v1/audit/verify": lambda c, v: c.client.get("/v1/audit/verify", headers=c.api),
    "GET /metrics": lambda c, v: c.client.get("/metrics", headers=c.api),
    "POST /v1/cases": lambda c, v: c.client.post("/v1/cases", json=_case_payload(c, v), headers=c.api),
    "GET /v1/cases": lambda c, v: c.client.get("/v1/cases", params={"limit": 200}, headers=c.api),
    "GET /v1/cases/{case_id}": lambda c, v: c.client.get(f"/v1/cases/{_case(c, v)}", headers=c.api),
    "PATCH /v1/cases/{case_id}": lambda c, v: c.client.patch(
        f"/v1/cases/{_case(c, v)}",
        json={"people": []} if v == "A" else {"health": {"notes": c.records.health_note}},
        headers={**c.api, "If-Match": "*"},
    ),
    "GET /v1/deadlines": lambda c, v: c.client.get("/v1/deadlines", headers=c.api),
    "GET /v1/deadlines.ics": lambda c, v: c.client.get("/v1/deadlines.ics", headers=c.api),
    "GET /v1/cases/{case_id}/deadlines": lambda c, v: c.client.get(
        f"/v1/cases/{_case(c, v)}/deadlines", headers=c.api
    ),
    "GET /v1/cases/{case_id}/deadline-changes": lambda c, v: c.client.get(
        f"/v1/cases/{_case(c, v)}/deadline-changes", headers=c.api
    ),
    "POST /v1/feed-tokens": lambda c, v: c.client.post("/v1/feed-tokens", json={}, headers=c.api),
    "GET /v1/feed-tokens": lambda c, v: c.client.get("/v1/feed-tokens", headers=c.api),
    "POST /v1/feed-tokens/{token_id}/revoke": lambda c, v: c.client.post(
        f"/v1/feed-tokens/{_fresh_feed_token(c)}/revoke", headers=c.api
    ),
    "GET /v1/feeds/{token}/deadlines.ics": lambda c, v: c.client.get(
        f"/v1/feeds/{c.records.feed_token}/deadlines.ics", headers=c.api
    ),
    "POST /v1/documents": lambda c, v: c.client.post(
        "/v1/documents", json=_document_request(c, v), headers=c.api
    ),
    "GET /v1/documents/{document_id}": lambda c, v: c.client.get(f"/v1/documents/{_doc(c, v)}", headers=c.api),
    "GET /v1/documents/{document_id}/pdf": lambda c, v: c.client.get(
        f"/v1/documents/{_doc(c, v)}/pdf", headers=c.api
    ),
    "GET /v1/cases/{case_id}/documents": lambda c, v: c.client.get(
        f"/v1/cases/{c.records.case_a if v == 'A' else c.records.case_b}/documents", headers=c.api
    ),
    "POST /v1/documents/{document_id}/signatures": lambda c, v: c.client.post(
        f"/v1/documents/{_doc(c, v)}/signatures", json={}, headers=c.api
    ),
    "POST /v1/documents/{document_id}/acknowledgement": lambda c, v: c.client.post(
        f"/v1/documents/{_doc(c, v)}/acknowledgement", content=PNG,
        headers={**c.api, "Content-Type": "image/png"},
    ),
    "GET /v1/documents/{document_id}/acknowledgement/scan": lambda c, v: c.client.get(
        f"/v1/documents/{_doc(c, v)}/acknowledgement/scan", headers=c.api
    ),
    "POST /v1/documents/{document_id}/delivery-events": lambda c, v: c.client.post(
        f"/v1/documents/{_fresh_signed_notice(c)}/delivery-events", json={"state": "sent"}, headers=c.api
    ),
    "GET /v1/documents/{document_id}/delivery-events": lambda c, v: c.client.get(
        f"/v1/documents/{c.records.document_signed if v == 'A' else _doc(c, v)}/delivery-events",
        headers=c.api,
    ),
    "GET /v1/documents/{document_id}/verification": lambda c, v: c.client.get(
        f"/v1/documents/{_doc(c, v)}/verification", headers=c.api
    ),
    "POST /v1/verify": lambda c, v: c.client.post(
        "/v1/verify", content=PDF, headers={**c.api, "Content-Type": "application/pdf"}
    ),
    "POST /v1/documents/{document_id}/remote-signatures": lambda c, v: c.client.post(
        f"/v1/documents/{_doc(c, v)}/remote-signatures",
        json={"certificate": _certificate()}, headers=c.api,
    ),
    "GET /v1/documents/{document_id}/remote-signatures/{session_id}": lambda c, v: c.client.get(
        f"/v1/documents/{_doc(c, v)}/remote-signatures/{c.records.remote_session}", headers=c.api
    ),
    "POST /v1/documents/{document_id}/remote-signatures/{session_id}/completion": lambda c, v: c.client.post(
        f"/v1/documents/{_doc(c, v)}/remote-signatures/{c.records.remote_session}/completion",
        json={"signature_value": "AAAA"}, headers=c.api,
    ),
    "POST /v1/batches": lambda c, v: c.client.post(
        "/v1/batches", json={"documents": [_document_request(c, v)], "sign": False}, headers=c.api
    ),
    "GET /v1/batches/{batch_id}": lambda c, v: c.client.get(f"/v1/batches/{c.records.batch}", headers=c.api),
    "POST /v1/batches/{batch_id}/cancel": lambda c, v: c.client.post(
        f"/v1/batches/{c.records.batch}/cancel", headers=c.api
    ),
    "GET /v1/batches/{batch_id}/documents": lambda c, v: c.client.get(
        f"/v1/batches/{c.records.batch}/documents", headers=c.api
    ),
    "POST /v1/webhooks": lambda c, v: c.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "events": ["document.sent"]}, headers=c.api
    ),
    "GET /v1/webhooks": lambda c, v: c.client.get("/v1/webhooks", headers=c.api),
    "GET /v1/webhooks/{subscription_id}": lambda c, v: c.client.get(
        f"/v1/webhooks/{c.records.subscription}", headers=c.api
    ),
    "PATCH /v1/webhooks/{subscription_id}": lambda c, v: c.client.patch(
        f"/v1/webhooks/{c.records.subscription}", json={"description": "DVS"},
        headers={**c.api, "If-Match": "*"},
    ),
    "DELETE /v1/webhooks/{subscription_id}": lambda c, v: c.client.delete(
        f"/v1/webhooks/{_fresh_subscription(c)}", headers=c.api
    ),
    "POST /v1/webhooks/{subscription_id}/secret": lambda c, v: c.client.post(
        f"/v1/webhooks/{c.records.subscription}/secret", headers=c.api
    ),
    "GET /v1/webhooks/{subscription_id}/deliveries": lambda c, v: c.client.get(
        f"/v1/webhooks/{c.records.subscription}/deliveries", headers=c.api
    ),
    "GET /v1/webhooks/{subscription_id}/deliveries/{delivery_id}": lambda c, v: c.client.get(
        f"/v1/webhooks/{c.records.subscription}/deliveries/{c.records.delivery}", headers=c.api
    ),
    "POST /v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver": lambda c, v: c.client.post(
        f"/v1/webhooks/{c.records.subscription}/deliveries/{c.records.delivery}/redeliver", headers=c.api
    ),
    # -- web pages
    "GET /web/prisijungti": lambda c, v: c.browser.get("/web/prisijungti"),
    "POST /web/prisijungti": lambda c, v: _sign_in_attempt(c),
    "POST /web/atsijungti": lambda c, v: _sign_out(c),
    "GET /web/": lambda c, v: c.browser.get("/web/"),
    "GET /web/bylos": lambda c, v: c.browser.get("/web/bylos"),
    "GET /web/bylos/nauja": lambda c, v: c.browser.get("/web/bylos/nauja"),
    "POST /web/bylos/nauja": lambda c, v: c.browser.post("/web/bylos/nauja", data=_case_form(c)),
    "GET /web/bylos/{case_id}": lambda c, v: c.browser.get(f"/web/bylos/{_case(c, v)}"),
    "GET /web/dokumentai/naujas": lambda c, v: c.browser.get(
        "/web/dokumentai/naujas", params={"tipas": "A", "byla": c.records.case_a}
    ),
    "POST /web/dokumentai/naujas": lambda c, v: c.browser.post(
        "/web/dokumentai/naujas", params={"tipas": "A", "byla": c.records.case_a},
        data=c.form(_action="add:envelope.recipients"),
    ),
    "GET /web/dokumentai/{document_id}": lambda c, v: c.browser.get(f"/web/dokumentai/{_doc(c, v)}"),
    "GET /web/dokumentai/{document_id}/busena": lambda c, v: c.browser.get(
        f"/web/dokumentai/{_doc(c, v)}/busena"
    ),
    "GET /web/dokumentai/{document_id}/pdf": lambda c, v: c.browser.get(f"/web/dokumentai/{_doc(c, v)}/pdf"),
    "POST /web/dokumentai/{document_id}/pasirasyti": lambda c, v: c.browser.post(
        f"/web/dokumentai/{_doc(c, v)}/pasirasyti", data=c.form()
    ),
    "POST /web/dokumentai/{document_id}/parasas": lambda c, v: c.browser.post(
        f"/web/dokumentai/{_doc(c, v)}/parasas", data=c.form(), files={"image": ("pad.png", PNG, "image/png")}
    ),
    "POST /web/dokumentai/{document_id}/skenuote": lambda c, v: c.browser.post(
        f"/web/dokumentai/{_doc(c, v)}/skenuote", data=c.form(),
        files={"scan": ("scan.pdf", PDF, "application/pdf")},
    ),
    "GET /web/dokumentai/{document_id}/skenuote": lambda c, v: c.browser.get(
        f"/web/dokumentai/{_doc(c, v)}/skenuote"
    ),
    "POST /web/dokumentai/{document_id}/pristatymas": lambda c, v: c.browser.post(
        f"/web/dokumentai/{_fresh_signed_notice(c)}/pristatymas", data=c.form(state="sent")
    ),
    "GET /web/dokumentai/{document_id}/patikra": lambda c, v: c.browser.get(
        f"/web/dokumentai/{_doc(c, v)}/patikra"
    ),
    "GET /web/dokumentai/{document_id}/patikra.{form}": lambda c, v: c.browser.get(
        f"/web/dokumentai/{_doc(c, v)}/patikra.json"
    ),
    "GET /web/tikrinti": lambda c, v: c.browser.get("/web/tikrinti"),
    "POST /web/tikrinti": lambda c, v: c.browser.post(
        "/web/tikrinti", data=c.form(), files={"pdf": ("a.pdf", PDF, "application/pdf")}
    ),
}  # fmt: skip


def _case_form(cell: Cell) -> dict[str, str]:
    return cell.form(
        idempotency_key=str(uuid.uuid4()),
        kind="conditional_release",
        **{
            "subject.first_name": "Jonas",
            "subject.last_name": "Naujokas",
            "subject.personal_code": personal_code(3, "850214", "123"),
            "subject.institution_code": cell.org("correctional_institution").code,
            "subject.possible_release_date": "2027-03-15",
            "subject.intended_residence.address": "Žalgirio g. 5-12, Vilnius",
            "subject.intended_residence.municipality": "vilniaus-m",
        },
    )


def _sign_in_attempt(cell: Cell) -> httpx2.Response:
    """Own: the person's e-mail and password. Foreign: the e-mail of a person of the foreign
    organisation with the caller's password. Nobody: a form without its sign-in token."""
    browser = TestClient(cell.client.app, follow_redirects=False)
    browser.get("/web/prisijungti")
    token = browser.cookies.get("tiltas_sign_in") or ""
    return browser.post(
        "/web/prisijungti",
        data={
            "email": cell.email if cell.side == "" else FOREIGN_EMAIL,
            "password": cell.password,
            "csrf_token": token if cell.role is not None else "",
        },
    )


def _sign_out(cell: Cell) -> httpx2.Response:
    """Own: a fresh session of the person signs out with its form token. Foreign: with the form
    token of another organisation's session."""
    if cell.role is None:
        return cell.browser.post("/web/atsijungti", data={"csrf_token": "x"})
    browser = _signed_in(cell.client, cell.email, cell.password)
    token = csrf_token(browser.cookies.get("tiltas_session") or "")
    return browser.post(
        "/web/atsijungti", data={"csrf_token": token if cell.side == "" else cell.other_csrf}
    )


FOREIGN_EMAIL = "svetimas@ex.lt"


def _password(role: Role | str | None) -> str:
    return f"Slaptažodis-{role}-1"


def _signed_in(client: TestClient, email: str, password: str) -> TestClient:
    browser = TestClient(client.app, follow_redirects=False)
    browser.get("/web/prisijungti")
    response = browser.post(
        "/web/prisijungti",
        data={"email": email, "password": password,
              "csrf_token": browser.cookies.get("tiltas_sign_in") or ""},
    )  # fmt: skip
    assert response.status_code == 303, response.text
    return browser


# ----------------------------------------------------------------------------------------------
# What each row looks for in a 2xx body.

MARKERS: dict[tuple[str, str], Callable[[Records], str]] = {
    ("GET /v1/api-keys", "key"): lambda r: r.api_key_id,
    ("GET /v1/audit", "A"): lambda r: r.case_a,
    ("GET /v1/cases", "A"): lambda r: r.case_a,
    ("GET /v1/cases", "B"): lambda r: r.health_note,
    ("GET /v1/audit", "B"): lambda r: r.health_note,
    ("GET /web/bylos", "B"): lambda r: r.health_note,
    ("GET /v1/cases/{case_id}", "B"): lambda r: r.health_note,
    ("PATCH /v1/cases/{case_id}", "B"): lambda r: r.health_note,
    ("GET /v1/deadlines", "A"): lambda r: r.case_a,
    ("GET /v1/deadlines.ics", "A"): lambda r: r.case_a,
    ("GET /v1/feed-tokens", "token"): lambda r: r.feed_token_id,
    ("GET /v1/cases/{case_id}/documents", "A"): lambda r: r.document_a,
    ("GET /v1/cases/{case_id}/documents", "G"): lambda r: r.document_g,
    ("GET /v1/webhooks", "hook"): lambda r: r.subscription,
    ("GET /v1/webhooks/{subscription_id}/deliveries", "hook"): lambda r: r.delivery,
    ("GET /web/bylos", "A"): lambda r: r.subject_last_name,
    ("GET /web/bylos/{case_id}", "B"): lambda r: r.health_note,
}


def outcome(response: httpx2.Response, marker: str | None) -> str:
    status = str(response.status_code)
    if marker is None or not 200 <= response.status_code < 300:
        return status
    return status + ("+" if marker in response.text else "-")


# ----------------------------------------------------------------------------------------------


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        document_wait_s=0,
        webhook_allow_loopback=True,
    )


@dataclass
class Matrix:
    world: World
    own: Records
    foreign: Records
    browsers: dict[Role | None, TestClient]
    other_csrf: str


@pytest.fixture
def matrix(world: World) -> Iterator[Matrix]:
    world.client.app.state.producer = RecordingProducer()  # type: ignore[attr-defined]
    own = make_records(world, "", "Savaitis")
    foreign = make_records(world, "_2", "Svetimaitis")
    database = world.client.app.state.database  # type: ignore[attr-defined]
    with transaction(database.sessions) as session:
        for role, home in HOME.items():
            create_user(session, world.orgs[home].code, role, f"{role}@ex.lt", _password(role))
        create_user(
            session, world.orgs["correctional_institution_2"].code, Role.director,
            FOREIGN_EMAIL, _password("svetimas"),
        )  # fmt: skip
    browsers: dict[Role | None, TestClient] = {
        role: _signed_in(world.client, f"{role}@ex.lt", _password(role)) for role in HOME
    }
    browsers[None] = TestClient(world.client.app, follow_redirects=False)
    foreign_browser = _signed_in(world.client, FOREIGN_EMAIL, _password("svetimas"))
    other_csrf = csrf_token(foreign_browser.cookies.get("tiltas_session") or "")
    yield Matrix(world, own, foreign, browsers, other_csrf)


def _cell(matrix: Matrix, role: Role | None, side: str) -> Cell:
    world = matrix.world
    api = world.orgs[HOME[role]].auth(role) if role is not None else {}
    browser = matrix.browsers[role]
    session = browser.cookies.get("tiltas_session") or ""
    return Cell(
        world=world,
        role=role,
        api=api,
        browser=browser,
        csrf=csrf_token(session) if session else "",
        records=matrix.own if side == "" else matrix.foreign,
        side=side,
        other_csrf=matrix.other_csrf,
        password=_password(role),
        email=f"{role}@ex.lt",
    )


def app_routes(app: Any) -> set[str]:
    """Every route the app answers, as "METHOD path" (a mount as GET of its prefix)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            found.add(f"GET {route.path}")
            continue
        for method in route.methods or ():
            if method != "HEAD":
                found.add(f"{method} {route.path}")
    return found


def test_every_route_is_in_the_matrix(tmp_path: Path) -> None:
    routes = app_routes(create_app(Settings(data_dir=tmp_path)))
    in_table = {row.route for row in ROWS}
    assert routes - in_table == set(), "routes with no row in the matrix"
    assert in_table - routes == set(), "rows for routes the app does not have"
    assert set(CALLS) == in_table


def test_role_route_organisation_matrix(matrix: Matrix) -> None:
    mismatches = []
    cells = 0
    for row in ROWS:
        marker_of = MARKERS.get((row.route, row.variant))
        for side, expected_answers in (("", row.own), ("_2", row.foreign)):
            for role, expected in zip(CALLERS, expected_answers, strict=True):
                cell = _cell(matrix, role, side)
                response = CALLS[row.route](cell, row.variant)
                marker = marker_of(cell.records) if marker_of else None
                got = outcome(response, marker)
                cells += 1
                if got != expected:
                    mismatches.append(
                        f"{row.route} [{row.variant}] {'foreign' if side else 'own'} "
                        f"{role or 'nobody'}: expected {expected}, got {got} {response.text[:160]!r}"
                    )
                path = row.route.split(" ", 1)[1]
                if response.status_code >= 400 and (path.startswith("/v1/") or path == "/metrics"):
                    assert response.headers["content-type"] == "application/problem+json", row
    print(f"{len(ROWS)} rows, {cells} cells")
    assert mismatches == [], "\n".join(mismatches)


# ----------------------------------------------------------------------------------------------
# Beside the matrix: which sections of a case each role sees, keys, and roles per kind.

VISIBLE_SECTIONS: dict[Role, set[str]] = {
    Role.institution_staff: {"needs", "risk"},
    Role.health_unit: {"health"},
    Role.director: {"needs", "risk", "health"},
    Role.probation_officer: {"needs", "risk"},
    Role.social_worker: {"needs"},
    Role.commission: {"health"},
}


def test_sections_by_role(world: World) -> None:
    director = world.institution.auth(Role.director)
    everyone = [o.code for name, o in world.orgs.items() if not name.endswith("_2")]
    case_ids = [
        world.client.post("/v1/cases", json=payload, headers=director).json()["id"]
        for payload in (
            release_case(world, participants=everyone),
            care_case(world, participants=everyone),
        )
    ]
    for role, sections in VISIBLE_SECTIONS.items():
        headers = world.orgs[HOME[role]].auth(role)
        for case_id in case_ids:
            body = world.client.get(f"/v1/cases/{case_id}", headers=headers).json()
            shown = {s for s in ("needs", "risk", "health") if s in body}
            present = {s for s in shown if body[s] is not None}
            assert shown == sections, (role, body["kind"], shown)
            # The case really holds the data a role may not see: hiding is not emptiness.
            assert present <= sections
        listed = world.client.get("/v1/cases", headers=headers).json()["items"]
        for item in listed:
            assert {s for s in ("needs", "risk", "health") if s in item} == sections


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpwdw=="},
     {"Authorization": "Bearer tlt_0000000000000000_wrongsecret"}],
)  # fmt: skip
def test_every_endpoint_needs_a_valid_key(world: World, headers: dict[str, str]) -> None:
    for method, path in [("GET", "/v1/cases"), ("POST", "/v1/cases"), ("GET", "/v1/organisations"),
                         ("GET", "/v1/municipalities"), ("GET", "/v1/audit"), ("GET", "/v1/api-keys")]:  # fmt: skip
        response = world.client.request(
            method, path, headers=headers, json={} if method == "POST" else None
        )
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_revoked_key_stops_working(world: World) -> None:
    admin = world.institution.auth(Role.admin)
    issued = world.client.post(
        "/v1/api-keys",
        json={"organisation_code": world.institution.code, "role": "director"},
        headers=admin,
    ).json()
    key_headers = {"Authorization": f"Bearer {issued['api_key']}"}
    assert world.client.get("/v1/cases", headers=key_headers).status_code == 200
    assert (
        world.client.post(f"/v1/api-keys/{issued['key_id']}/revoke", headers=admin).status_code
        == 200
    )
    assert world.client.get("/v1/cases", headers=key_headers).status_code == 401
    listed = world.client.get("/v1/api-keys", headers=admin).json()
    assert all("api_key" not in k for k in listed)


def test_role_must_fit_organisation_kind(world: World) -> None:
    municipality = world.orgs["municipality"]
    response = world.client.post(
        "/v1/api-keys",
        json={"organisation_code": municipality.code, "role": "health_unit"},
        headers=municipality.auth(Role.admin),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "role"


def test_every_organisation_kind_has_a_role() -> None:
    from tiltas.access import ROLES_BY_ORGANISATION_KIND

    assert set(ROLES_BY_ORGANISATION_KIND) == set(OrganisationKind)
