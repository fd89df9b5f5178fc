"""``Idempotency-Key`` on POST: a retried request gets the first response, never a second record.

The record is written in the same transaction as what the request created; two identical
requests racing each other collide on the (organisation, key) unique constraint, and the
loser rolls back and replays the winner's response.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiltas.errors import FieldProblem, IdempotencyKeyReused, InvalidInput
from tiltas.models import IdempotencyRecord

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    headers: dict[str, str]


def fingerprint(method: str, path: str, payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def validate_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            [
                FieldProblem(
                    "Idempotency-Key", f"use 1–{MAX_KEY_LENGTH} printable characters", "header"
                )
            ]
        )
    return key


def find(
    session: Session, organisation_id: int, key: str, request_sha256: str
) -> StoredResponse | None:
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.organisation_id == organisation_id, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_sha256 != request_sha256:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used for a different request; use a new key"
        )
    return StoredResponse(
        record.status_code, json.loads(record.response_body), record.response_headers
    )


def remember(
    session: Session, organisation_id: int, key: str, request_sha256: str, response: StoredResponse
) -> None:
    session.add(
        IdempotencyRecord(
            organisation_id=organisation_id,
            key=key,
            request_sha256=request_sha256,
            status_code=response.status_code,
            response_body=json.dumps(response.body, default=str, ensure_ascii=False),
            response_headers=response.headers,
        )
    )
    session.flush()
