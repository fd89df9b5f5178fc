"""Optimistic concurrency: every update names the version it read (ETag / If-Match)."""

from __future__ import annotations

from tiltas.errors import PreconditionRequired, VersionConflict

ANY_VERSION = -1
"""What ``If-Match: *`` means."""


def check_version(current: int, if_match: int | None) -> None:
    if if_match is None:
        raise PreconditionRequired("send If-Match with the ETag of the version you are changing")
    if if_match != ANY_VERSION and if_match != current:
        raise VersionConflict(
            f"the record changed since you read it (now version {current}); read it again",
            current,
        )
