"""The domain's error hierarchy. The API maps each class to one HTTP status in one place.

TiltasError
├── InvalidInput          (fields: every invalid field at once)
├── NotFound
├── Forbidden
├── Unauthenticated
├── PreconditionRequired  (an update without If-Match)
├── VersionConflict       (If-Match does not name the current version)
└── IdempotencyKeyReused  (same key, different request)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str
    """Dotted path of the field, e.g. ``subject.personal_code``."""
    message: str
    code: str = "invalid"


class TiltasError(Exception):
    code: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(TiltasError):
    code = "invalid_input"

    def __init__(
        self, problems: list[FieldProblem], message: str = "the request has invalid fields"
    ) -> None:
        super().__init__(message)
        self.problems = problems


class NotFound(TiltasError):
    code = "not_found"


class Forbidden(TiltasError):
    code = "forbidden"


class Unauthenticated(TiltasError):
    code = "unauthenticated"


class PreconditionRequired(TiltasError):
    code = "precondition_required"


class VersionConflict(TiltasError):
    code = "version_conflict"

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class IdempotencyKeyReused(TiltasError):
    code = "idempotency_key_reused"
