"""A real ``tiltas serve`` for the fault tests, with what they all check afterwards.

Every fault test makes and signs a protocol K before the fault, causes the fault, checks what
a client sees meanwhile, lets the fault pass and checks that work resumes. Then
:func:`check_nothing_lost`: every file the database names is in the store and matches its
checksum, every file in the store matches its name (content-addressed), no half-written
file is left, the documents made before the fault are unchanged, and the audit chain holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from tests.support.factories import personal_code
from tests.support.servers import wait_for
from tests.support.service import RunningService, start_service
from tiltas.access import OrganisationKind, Role
from tiltas.apikeys import create_api_key
from tiltas.audit import verify_chain
from tiltas.db import make_engine, make_sessionmaker, transaction
from tiltas.models import AuditHead, Document
from tiltas.organisations import OrganisationCreate, create_organisation
from tiltas.storage import FileStore

PROBLEM_JSON = "application/problem+json"
INSTITUTION = "188000011"
COMMISSION = "188000099"


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A clear error: one of ``statuses``, problem+json with a type and a detail."""
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["type"].startswith("urn:tiltas:")
    assert body["detail"], body
    return body


@dataclass
class Stack:
    """``tiltas serve`` and two API clients: an institution's director and the commission."""

    service: RunningService
    database_url: str
    director: httpx.Client
    commission: httpx.Client
    made: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Documents finished before the fault: id -> their view then."""

    @property
    def data_dir(self) -> Path:
        return self.service.data_dir

    def open_case(self) -> str:
        case = {
            "kind": "social_care",
            "subject": {
                "first_name": "Petras",
                "last_name": "Šimkus",
                "personal_code": personal_code(3, "520709", "045"),
                "institution_code": INSTITUTION,
            },
            "participants": [COMMISSION],
        }
        created = self.director.post("/v1/cases", json=case)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    @cached_property
    def protocol_example(self) -> dict[str, Any]:
        """The API's example request for a protocol K, read once (before any fault)."""
        example: dict[str, Any] = self.commission.get("/v1/document-types/K").json()["example"]
        return example

    def protocol_request(self, case_id: str) -> dict[str, Any]:
        return {**self.protocol_example, "case_id": case_id}

    def request_protocol(self, case_id: str) -> httpx.Response:
        return self.commission.post("/v1/documents", json=self.protocol_request(case_id))

    def sign(self, document_id: str, signer: int) -> httpx.Response:
        return self.commission.post(
            f"/v1/documents/{document_id}/signatures", json={"signer": signer}
        )

    def document(self, document_id: str) -> dict[str, Any]:
        response = self.commission.get(f"/v1/documents/{document_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_document(
        self, document_id: str, done: Callable[[dict[str, Any]], bool], timeout: float
    ) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        def check() -> bool:
            seen.update(self.document(document_id))
            return done(seen)

        try:
            wait_for(check, timeout, f"document {document_id}")
        except RuntimeError as error:
            raise AssertionError(
                f"{error}; last seen {seen}\n{self.service.log()[-4000:]}"
            ) from None
        return seen

    def make_signed_protocol(self) -> str:
        """A protocol K generated and signed by chair and secretary, remembered as made."""
        created = self.request_protocol(self.open_case())
        assert created.status_code in (201, 202), created.text
        document_id = str(created.json()["id"])
        self.wait_document(document_id, lambda d: d["status"] == "generated", 120)
        for signer in (1, 2):
            signed = self.sign(document_id, signer)
            assert signed.status_code in (200, 202), signed.text
            self.wait_document(document_id, signed_by(signer), 120)
        body = self.document(document_id)
        assert body["status"] == "signed", body
        self.made[document_id] = body
        return document_id

    def pdf(self, document_id: str) -> bytes:
        response = self.commission.get(f"/v1/documents/{document_id}/pdf")
        assert response.status_code == 200, response.text
        return response.content


def signed_by(signer: int) -> Callable[[dict[str, Any]], bool]:
    def done(document: dict[str, Any]) -> bool:
        return any(s["index"] == signer for s in document["signatures"])

    return done


def open_organisations(database_url: str) -> tuple[str, str]:
    """An institution and the commission; a director's and the commission's API key."""
    engine = make_engine(database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            for code, kind in (
                (INSTITUTION, OrganisationKind.correctional_institution),
                (COMMISSION, OrganisationKind.commission),
            ):
                create_organisation(
                    session,
                    OrganisationCreate(
                        code=code,
                        name=f"Įstaiga {code}",
                        kind=kind,
                        address="Gedimino pr. 1, Vilnius",
                        email=f"info{code}@example.lt",
                    ),
                )
            director = create_api_key(session, INSTITUTION, Role.director).secret_key
            commission = create_api_key(session, COMMISSION, Role.commission).secret_key
    finally:
        engine.dispose()
    return director, commission


@contextmanager
def running_stack(data_dir: Path, database_url: str, **env: str) -> Iterator[Stack]:
    """``tiltas serve`` on ``database_url`` (migrated by serve), stopped cleanly at the end."""
    service = start_service(data_dir, serves_http=True, TILTAS_DATABASE_URL=database_url, **env)
    stopped = False
    try:
        director_key, commission_key = open_organisations(database_url)

        def client(key: str) -> httpx.Client:
            return httpx.Client(
                base_url=service.base_url,
                headers={"Authorization": f"Bearer {key}"},
                timeout=httpx.Timeout(180.0),
            )

        with client(director_key) as director, client(commission_key) as commission:
            yield Stack(service, database_url, director, commission)
        code = service.stop()
        stopped = True
        assert code == 0, service.log()[-4000:]
    finally:
        if not stopped:
            service.stop()


@dataclass(frozen=True)
class StoreReport:
    files: int
    referenced: int
    audit_entries: int


def check_nothing_lost(stack: Stack, *, audit_entries_before: int = 0) -> StoreReport:
    """Nothing stored is lost or corrupted (see the module docstring)."""
    store = FileStore((stack.data_dir / "documents").resolve())
    stored = [p for p in store.root.rglob("*") if p.is_file()] if store.root.exists() else []
    partial = [p.name for p in stored if p.parent == store.partial_dir]
    assert not partial, f"half-written files left in the store: {partial}"
    files = [p for p in stored if p.parent != store.partial_dir]
    for path in files:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, f"{path} is corrupt"
    engine = make_engine(stack.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            referenced: set[str] = set()
            for document in session.scalars(select(Document)):
                acknowledgement = document.acknowledgement or {}
                named = [
                    document.pdf_sha256,
                    acknowledgement.get("scan_sha256"),
                    *document.pdf_history,
                    *(s["pdf_sha256"] for s in document.signatures),
                ]
                referenced.update(sha for sha in named if sha)
            for sha256 in sorted(referenced):
                store.get(sha256)  # raises when missing or not matching its checksum
            chain = verify_chain(session)
            head = session.get(AuditHead, 1)
            assert chain.ok, chain
            assert head is not None and head.seq >= audit_entries_before
            entries = chain.entries
    finally:
        engine.dispose()
    for document_id, before in stack.made.items():
        now = stack.document(document_id)
        for key in ("status", "pdf_sha256", "signatures", "signed_at"):
            assert now[key] == before[key], (document_id, key, before[key], now[key])
        assert hashlib.sha256(stack.pdf(document_id)).hexdigest() == before["pdf_sha256"]
    return StoreReport(len(files), len(referenced), entries)


def audit_entries(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            head = session.get(AuditHead, 1)
            return head.seq if head is not None else 0
    finally:
        engine.dispose()
