"""RFC 3161 clients for the configured TSAs, sharing one HTTP session.

pyHanko's ``HTTPTimeStamper`` does the protocol; ``ConfiguredTimeStamper`` adds the request
policy, checks that the token answers our digest under that policy, and turns every failure
into ``TimestampRequestError`` with a short reason, so the service can fall back to the next
TSA and report each attempt. A timestamper is reused across documents: it also caches the TSA
certificate (pyHanko's "dummy response"), which pyHanko needs for the DSS.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import aiohttp
from asn1crypto import cms, core, tsp
from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession
from pyhanko_certvalidator.path import ValidationPath

from signing.config import TimestampAuthority

__all__ = ["ConfiguredTimeStamper", "TimestampRequestError", "failure_reason"]


class ConfiguredTimeStamper(HTTPTimeStamper):
    """Timestamp client for one :class:`TimestampAuthority`."""

    def __init__(self, authority: TimestampAuthority, session: LazySession) -> None:
        auth = (
            aiohttp.BasicAuth(authority.username, authority.password or "")
            if authority.username is not None
            else None
        )
        super().__init__(
            authority.url, timeout=authority.timeout_seconds, auth=auth, session=session
        )
        self.authority = authority
        self._paths: weakref.WeakKeyDictionary[ValidationContext, list[ValidationPath]] = (
            weakref.WeakKeyDictionary()
        )

    async def validation_paths(
        self, validation_context: ValidationContext
    ) -> AsyncGenerator[ValidationPath, None]:
        """The TSA's validated certificate paths, computed once per validation context (the
        revocation cache hands out one context per revocation snapshot)."""
        paths = self._paths.get(validation_context)
        if paths is None:
            found = super().validation_paths(validation_context)  # type: ignore[no-untyped-call]
            paths = [path async for path in found]
            self._paths[validation_context] = paths
        for path in paths:
            yield path

    def request_cms(self, message_digest: bytes, md_algorithm: str) -> tuple[Any, tsp.TimeStampReq]:
        nonce, request = super().request_cms(message_digest, md_algorithm)  # type: ignore[no-untyped-call]
        if self.authority.policy_oid is not None:
            request["req_policy"] = core.ObjectIdentifier(self.authority.policy_oid)
        return nonce, request

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            token: cms.ContentInfo = await super().async_timestamp(message_digest, md_algorithm)
        except TimestampRequestError:
            raise
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            raise TimestampRequestError(failure_reason(exc)) from exc
        tst_info = token["content"]["encap_content_info"]["content"].parsed
        imprint = tst_info["message_imprint"]
        if bytes(imprint["hashed_message"].native) != bytes(message_digest):
            raise TimestampRequestError("token does not cover the requested digest")
        skew = (tst_info["gen_time"].native - datetime.now(UTC)).total_seconds()
        if abs(skew) > self.authority.max_clock_skew_seconds:
            raise TimestampRequestError(
                f"the TSA's clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} "
                "this server's clock (check NTP on both)"
            )
        policy = self.authority.policy_oid
        if policy is not None and tst_info["policy"].dotted != policy:
            raise TimestampRequestError(
                f"token policy {tst_info['policy'].dotted} is not the requested {policy}"
            )
        return token


def failure_reason(exc: BaseException) -> str:
    """A short, log-safe reason for a failed TSA request (no document data involved)."""
    chain: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 3:
        text = str(current).strip()
        chain.append(f"{type(current).__name__}: {text}" if text else type(current).__name__)
        current = current.__cause__ or current.__context__
    return " <- ".join(chain)[:300]
