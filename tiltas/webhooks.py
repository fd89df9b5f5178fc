"""Outgoing webhooks: signing, verification, the SSRF guard, back-off, and one delivery attempt.

No database, no Celery, no HTTP server here. The caller stores ``WebhookTarget``s and
``WebhookEvent``s, calls ``deliver`` once per attempt with a client from ``delivery_client()``,
stores the returned ``DeliveryAttempt`` and, when it says ``RETRY``, schedules the next attempt
at ``retry_at``.

Wire format (what a receiver implements; ``verify_signature`` is the reference)::

    POST <target url>
    Content-Type: application/json
    Tiltas-Event: deadline.at_risk
    Tiltas-Delivery: <uuid, the same for every attempt of one event to one target>
    Tiltas-Timestamp: <integer Unix seconds of this attempt>
    Tiltas-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.".encode() + body)>[, v1=<hex>…]

    {"data":{…},"id":"…","occurred_at":"…","type":"deadline.at_risk"}

One ``v1=`` value per secret of the target: while a secret is being rotated the target holds the
new and the old one, and a receiver that knows either accepts. The timestamp limits replays to
the receiver's tolerance window; a receiver that must reject every replay also remembers the
``Tiltas-Delivery`` ids it has seen for that window.

Errors (catch ``TiltasError`` broadly, these narrowly)::

    TiltasError
    ├── InvalidInput                    (the API answers 422)
    │   ├── InvalidWebhookConfig        field, reason: a bad target, event, policy or argument
    │   └── TargetRefused               reason (TargetRefusal), category: the SSRF guard said no
    └── Unauthenticated                 (the API answers 401)
        └── SignatureRejected           reason (SignatureFailure), header

``deliver`` itself never raises for a network or receiver failure: that is an outcome recorded in
the ``DeliveryAttempt``. Neither secrets, nor the payload, nor the target URL (it may carry a
receiver's token) go into logs, error messages or the attempt record.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import re
import secrets as _secrets
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Protocol

import httpx

from tiltas.errors import FieldProblem, InvalidInput, Unauthenticated

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "HEADER_DELIVERY",
    "HEADER_EVENT",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "AttemptError",
    "AttemptOutcome",
    "CheckedTarget",
    "DeliveryAttempt",
    "DeliveryPolicy",
    "InvalidWebhookConfig",
    "JitterSource",
    "Resolver",
    "RetryPolicy",
    "SignatureFailure",
    "SignatureRejected",
    "TargetRefusal",
    "TargetRefused",
    "WebhookEvent",
    "WebhookTarget",
    "check_target",
    "deliver",
    "delivery_client",
    "delivery_id_for",
    "is_retryable_status",
    "new_webhook_secret",
    "next_attempt_delay",
    "parse_retry_after",
    "resolve_host",
    "sign",
    "signature_header",
    "verify_signature",
]

logger = logging.getLogger("tiltas.webhooks")

HEADER_TIMESTAMP = "Tiltas-Timestamp"
HEADER_SIGNATURE = "Tiltas-Signature"
HEADER_EVENT = "Tiltas-Event"
HEADER_DELIVERY = "Tiltas-Delivery"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300
USER_AGENT = "Tiltas-Webhooks/1"

_MIN_SECRET_BYTES = 16
_MAX_SIGNATURES = 8
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_EVENT_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DELIVERY_NAMESPACE = uuid.UUID("6f1f7a3e-2d0b-5c55-9a57-7469c174a501")


# --- errors -----------------------------------------------------------------------------------


class InvalidWebhookConfig(InvalidInput):
    """A target, event, policy or argument that cannot be used; ``field`` names it."""

    code = "invalid_webhook_config"

    def __init__(self, field: str, reason: str) -> None:
        message = f"{field}: {reason}"
        super().__init__([FieldProblem(field, message, self.code)], message)
        self.field = field
        self.reason = reason


class SignatureFailure(StrEnum):
    """Why a receiver refused a delivery (``SignatureRejected.reason``)."""

    MISSING_HEADER = "missing_header"
    MALFORMED_HEADER = "malformed_header"
    UNSUPPORTED_SCHEME = "unsupported_scheme"
    """The signature header has no ``v1=`` value (only schemes this receiver does not know)."""
    SIGNATURE_MISMATCH = "signature_mismatch"
    STALE_TIMESTAMP = "stale_timestamp"
    """Authentic, but older than the tolerance: a replay or a badly delayed delivery."""
    FUTURE_TIMESTAMP = "future_timestamp"


class SignatureRejected(Unauthenticated):
    code = "webhook_signature_rejected"

    def __init__(
        self, reason: SignatureFailure, message: str, *, header: str | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.header = header
        """The header at fault, for the missing/malformed reasons."""


class TargetRefusal(StrEnum):
    """Why the SSRF guard refused a target URL (``TargetRefused.reason``)."""

    MALFORMED_URL = "malformed_url"
    SCHEME_NOT_ALLOWED = "scheme_not_allowed"
    USERINFO_NOT_ALLOWED = "userinfo_not_allowed"
    MISSING_HOST = "missing_host"
    UNRESOLVABLE = "unresolvable"
    """DNS gave no usable address: may be transient, so ``deliver`` retries it."""
    FORBIDDEN_ADDRESS = "forbidden_address"
    """The host is, or resolves to (any of its addresses), a non-public address."""


class TargetRefused(InvalidInput):
    code = "webhook_target_refused"

    def __init__(
        self,
        reason: TargetRefusal,
        message: str,
        *,
        category: str | None = None,
        address: str | None = None,
    ) -> None:
        super().__init__([FieldProblem("url", message, self.code)], message)
        self.reason = reason
        self.category = category
        """For ``FORBIDDEN_ADDRESS``: loopback, private, link_local, multicast, reserved,
        unspecified or non_global."""
        self.address = address
        """For ``FORBIDDEN_ADDRESS``: the refused address. Kept out of ``message`` (which may reach
        the API client) so the error does not reveal internal DNS answers."""


# --- value objects ----------------------------------------------------------------------------


def _check_id(value: object, field_name: str) -> None:
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise InvalidWebhookConfig(
            field_name, "must be 1–128 characters of A–Z, a–z, 0–9, '.', '_', ':', '-'"
        )


def _check_aware(value: object, field_name: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidWebhookConfig(field_name, "must be a timezone-aware datetime")
    return value


def _secret_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _secret_tuple(value: object, field_name: str) -> tuple[bytes, ...]:
    items: Sequence[object]
    if isinstance(value, str | bytes):
        items = (value,)
    elif isinstance(value, Sequence):
        items = value
    else:
        raise InvalidWebhookConfig(field_name, "must be a secret or a sequence of secrets")
    if not items:
        raise InvalidWebhookConfig(field_name, "at least one secret is needed")
    result = []
    for item in items:
        if not isinstance(item, str | bytes) or len(_secret_bytes(item)) < _MIN_SECRET_BYTES:
            raise InvalidWebhookConfig(
                field_name,
                f"each secret must be a str or bytes of at least {_MIN_SECRET_BYTES} bytes",
            )
        result.append(_secret_bytes(item))
    return tuple(result)


def new_webhook_secret() -> str:
    """A fresh random secret for a target (256 bits)."""
    return "whsec_" + _secrets.token_urlsafe(32)


@dataclass(frozen=True)
class WebhookTarget:
    """A subscriber's endpoint, as stored by the caller."""

    id: str
    """Stable id of the subscription; part of the delivery id."""
    url: str = field(repr=False)
    """http(s) URL; checked by ``check_target`` at every attempt. Kept out of ``repr`` and logs
    because receivers often put a token in it."""
    secrets: tuple[str, ...] = field(repr=False)
    """Signing secrets, newest first. Two while rotating: every delivery is signed with each."""

    def __post_init__(self) -> None:
        _check_id(self.id, "target.id")
        if not isinstance(self.url, str) or not self.url:
            raise InvalidWebhookConfig("target.url", "must be a non-empty string")
        if not isinstance(self.secrets, tuple):
            raise InvalidWebhookConfig("target.secrets", "must be a tuple of secrets")
        _secret_tuple(self.secrets, "target.secrets")


@dataclass(frozen=True)
class WebhookEvent:
    """Something that happened, to be sent to every subscribed target.

    The body is serialised deterministically (sorted keys, compact, UTF-8), so an event rebuilt
    from storage yields the same bytes at every attempt.
    """

    id: str
    """Stable event id (e.g. a UUID); receivers use it, or the delivery id, to de-duplicate."""
    type: str
    """Dotted lower-case name, e.g. ``deadline.at_risk``; sent as ``Tiltas-Event``."""
    occurred_at: datetime
    data: Mapping[str, object] = field(repr=False)
    """JSON-serialisable content. Kept out of ``repr``: it may hold case data."""
    body: bytes = field(init=False, repr=False, compare=False)
    """The exact bytes sent and signed."""

    def __post_init__(self) -> None:
        _check_id(self.id, "event.id")
        if not isinstance(self.type, str) or not _EVENT_TYPE_PATTERN.fullmatch(self.type):
            raise InvalidWebhookConfig(
                "event.type", "must be dotted lower-case words, e.g. 'deadline.at_risk'"
            )
        occurred = _check_aware(self.occurred_at, "event.occurred_at")
        if not isinstance(self.data, Mapping):
            raise InvalidWebhookConfig("event.data", "must be a mapping")
        envelope = {
            "id": self.id,
            "type": self.type,
            "occurred_at": occurred.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }
        try:
            body = json.dumps(
                envelope, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
            ).encode("utf-8")
        except (TypeError, ValueError) as error:
            # The message names the type only: the value itself may be personal data.
            raise InvalidWebhookConfig(
                "event.data", f"is not JSON-serialisable ({type(error).__name__})"
            ) from None
        object.__setattr__(self, "body", body)


# --- signing and verification -----------------------------------------------------------------


def sign(secret: str | bytes, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``f"{timestamp}."`` followed by the body bytes."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(_secret_bytes(secret), message, hashlib.sha256).hexdigest()


def signature_header(
    secrets: str | bytes | Sequence[str | bytes], timestamp: int, body: bytes
) -> str:
    """The ``Tiltas-Signature`` value: one ``v1=`` per secret, comma-separated."""
    keys = _secret_tuple(secrets, "secrets")
    return ", ".join(f"{SIGNATURE_SCHEME}={sign(key, timestamp, body)}" for key in keys)


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    raise SignatureRejected(
        SignatureFailure.MISSING_HEADER, f"the {name} header is missing", header=name
    )


def verify_signature(
    secrets: str | bytes | Sequence[str | bytes],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> int:
    """Check a received delivery; return its timestamp, or raise ``SignatureRejected``.

    ``secrets``: every secret the receiver currently accepts (one, or two while rotating).
    ``headers``: looked up case-insensitively. ``body``: the raw bytes received, before any JSON
    parsing. The signature is checked first (constant-time), then the timestamp, so
    ``STALE_TIMESTAMP`` / ``FUTURE_TIMESTAMP`` only ever describe an authentic delivery.
    """
    keys = _secret_tuple(secrets, "secrets")
    current = _check_aware(now, "now")
    if not isinstance(tolerance_s, int) or isinstance(tolerance_s, bool) or tolerance_s < 0:
        raise InvalidWebhookConfig("tolerance_s", "must be a non-negative integer")
    if not isinstance(body, bytes):
        raise InvalidWebhookConfig("body", "must be the raw bytes received")

    raw_timestamp = _header(headers, HEADER_TIMESTAMP).strip()
    raw_signature = _header(headers, HEADER_SIGNATURE)
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit() and len(raw_timestamp) <= 12):
        raise SignatureRejected(
            SignatureFailure.MALFORMED_HEADER,
            f"{HEADER_TIMESTAMP} must be integer Unix seconds",
            header=HEADER_TIMESTAMP,
        )
    timestamp = int(raw_timestamp)

    candidates: list[str] = []
    parts = [part.strip() for part in raw_signature.split(",")]
    if len(parts) > _MAX_SIGNATURES:
        raise SignatureRejected(
            SignatureFailure.MALFORMED_HEADER,
            f"{HEADER_SIGNATURE} has more than {_MAX_SIGNATURES} values",
            header=HEADER_SIGNATURE,
        )
    for part in parts:
        scheme, separator, value = part.partition("=")
        if not separator or not scheme:
            raise SignatureRejected(
                SignatureFailure.MALFORMED_HEADER,
                f"{HEADER_SIGNATURE} must be 'v1=<hex>' values separated by commas",
                header=HEADER_SIGNATURE,
            )
        if scheme != SIGNATURE_SCHEME:
            continue
        if not _HEX64.fullmatch(value):
            raise SignatureRejected(
                SignatureFailure.MALFORMED_HEADER,
                f"a {SIGNATURE_SCHEME} signature must be 64 lower-case hex digits",
                header=HEADER_SIGNATURE,
            )
        candidates.append(value)
    if not candidates:
        raise SignatureRejected(
            SignatureFailure.UNSUPPORTED_SCHEME,
            f"{HEADER_SIGNATURE} has no {SIGNATURE_SCHEME} signature",
            header=HEADER_SIGNATURE,
        )

    matched = False
    for key in keys:
        expected = sign(key, timestamp, body)
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureRejected(
            SignatureFailure.SIGNATURE_MISMATCH, "no signature matches any accepted secret"
        )

    age = current.timestamp() - timestamp
    if age > tolerance_s:
        raise SignatureRejected(
            SignatureFailure.STALE_TIMESTAMP,
            f"the delivery is {int(age)} s old; at most {tolerance_s} s is accepted",
        )
    if -age > tolerance_s:
        raise SignatureRejected(
            SignatureFailure.FUTURE_TIMESTAMP,
            f"the delivery is dated {int(-age)} s ahead; at most {tolerance_s} s is accepted",
        )
    return timestamp


# --- SSRF guard -------------------------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]
"""``(host, port) -> IP address strings``. Raise ``OSError`` when the name does not resolve."""

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT


def resolve_host(host: str, port: int) -> list[str]:
    """The system resolver (``getaddrinfo``), TCP addresses in its preference order.

    ``getaddrinfo`` has no timeout of its own: the resolver configuration's (resolv.conf) applies.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def _category(ip: IPAddress, *, allow_loopback: bool, allow_private: bool) -> str | None:
    """The reason ``ip`` must not be contacted, or ``None`` when it may be."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            inner = _category(embedded, allow_loopback=allow_loopback, allow_private=allow_private)
            if inner is not None:
                return inner
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_link_local:
        return "link_local"  # includes 169.254.169.254, the cloud metadata service
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return None  # the embedded IPv4 address passed above
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED_ADDRESS_SPACE):
        return None if allow_private else "private"
    if not ip.is_global:
        return "non_global"
    return None


@dataclass(frozen=True)
class CheckedTarget:
    """A target URL that passed ``check_target``, with the addresses that were checked.

    Connect to one of ``addresses`` and nothing else: resolving the name again would reopen the
    DNS-rebinding gap (a first answer public, a second one internal).
    """

    url: httpx.URL = field(repr=False)
    scheme: str
    host: str
    """ASCII (IDNA) host name or IP literal, as sent in ``Host`` and, for https, as SNI and the
    name the certificate must match."""
    port: int
    addresses: tuple[IPAddress, ...]
    host_is_ip: bool

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.url.port is None else f"{host}:{self.url.port}"

    def pinned_url(self, address: IPAddress) -> httpx.URL:
        """The URL with the host replaced by ``address`` (path, query and port kept)."""
        return self.url if self.host_is_ip else self.url.copy_with(host=str(address))


def check_target(
    url: str,
    *,
    allow_loopback: bool = False,
    allow_private: bool = False,
    resolver: Resolver = resolve_host,
) -> CheckedTarget:
    """Refuse a webhook URL that could reach the service's own network; return what to connect to.

    Only http and https; no ``user:password@``; the host (an IP literal, or every address the
    name resolves to) must be public. Loopback and private (RFC 1918, unique-local, CGNAT)
    addresses pass only when allowed; unspecified, link-local (cloud metadata), multicast and
    reserved addresses never do. IPv4 embedded in IPv6 (``::ffff:a.b.c.d``, 6to4) is judged by
    the IPv4 address.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise TargetRefused(TargetRefusal.MALFORMED_URL, "the URL cannot be parsed") from None
    if parsed.scheme not in ("http", "https"):
        raise TargetRefused(
            TargetRefusal.SCHEME_NOT_ALLOWED, "only http and https URLs are allowed"
        )
    if parsed.userinfo:
        raise TargetRefused(
            TargetRefusal.USERINFO_NOT_ALLOWED, "credentials in the URL (user@host) are not allowed"
        )
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise TargetRefused(TargetRefusal.MISSING_HOST, "the URL has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise TargetRefused(TargetRefusal.MALFORMED_URL, "the URL's port is out of range")

    addresses: list[IPAddress] = []
    try:
        addresses.append(ipaddress.ip_address(host))
        host_is_ip = True
    except ValueError:
        host_is_ip = False
        try:
            for answer in resolver(host, port):
                address = ipaddress.ip_address(answer.split("%", 1)[0])
                if address not in addresses:
                    addresses.append(address)
        except (OSError, UnicodeError, ValueError):
            raise TargetRefused(
                TargetRefusal.UNRESOLVABLE, "the host name does not resolve"
            ) from None
    if not addresses:
        raise TargetRefused(TargetRefusal.UNRESOLVABLE, "the host name does not resolve")
    for address in addresses:
        category = _category(address, allow_loopback=allow_loopback, allow_private=allow_private)
        if category is not None:
            raise TargetRefused(
                TargetRefusal.FORBIDDEN_ADDRESS,
                f"the host is or resolves to a {category.replace('_', '-')} address, "
                "which webhooks may not reach",
                category=category,
                address=str(address),
            )
    return CheckedTarget(
        url=parsed,
        scheme=parsed.scheme,
        host=host,
        port=port,
        addresses=tuple(addresses),
        host_is_ip=host_is_ip,
    )


# --- retries ----------------------------------------------------------------------------------


class JitterSource(Protocol):
    def random(self) -> float: ...


_SYSTEM_RANDOM = random.SystemRandom()


def next_attempt_delay(
    attempt: int,
    *,
    base_s: float = 30.0,
    cap_s: float = 6 * 3600.0,
    jitter: float = 0.5,
    rng: JitterSource | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next one.

    Exponential: ``min(cap_s, base_s * 2 ** (attempt - 1))``, less a random share of at most
    ``jitter`` of it, so deliveries that failed together do not retry together. With the default
    ``jitter=0.5`` the delays never shrink from one attempt to the next until the cap is reached.
    """
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise InvalidWebhookConfig("attempt", "must be an integer ≥ 1")
    if not 0 < base_s <= cap_s:
        raise InvalidWebhookConfig("base_s", "must be > 0 and ≤ cap_s")
    if not 0 <= jitter < 1:
        raise InvalidWebhookConfig("jitter", "must be in [0, 1)")
    source = rng if rng is not None else _SYSTEM_RANDOM
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt - 1, 256))
    return ceiling * (1.0 - jitter * source.random())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a delivery is retried."""

    max_attempts: int = 8
    """Attempts in all, the first included. With the defaults the seven waits are at most
    30 s, 1, 2, 4, 8, 16 and 32 min (jitter takes up to half of each): about an hour in all."""
    base_s: float = 30.0
    """Delay after the first failed attempt (before jitter)."""
    cap_s: float = 6 * 3600.0
    """No delay is longer, ``Retry-After`` included."""
    jitter: float = 0.5
    """Up to this share of each delay is removed at random."""

    def __post_init__(self) -> None:
        if (
            not isinstance(self.max_attempts, int)
            or isinstance(self.max_attempts, bool)
            or not 1 <= self.max_attempts <= 100
        ):
            raise InvalidWebhookConfig("max_attempts", "must be an integer 1…100")
        if not 0 < self.base_s <= self.cap_s:
            raise InvalidWebhookConfig("base_s", "must be > 0 and ≤ cap_s")
        if not 0 <= self.jitter < 1:
            raise InvalidWebhookConfig("jitter", "must be in [0, 1)")

    def delay(self, attempt: int, rng: JitterSource | None = None) -> float:
        return next_attempt_delay(
            attempt, base_s=self.base_s, cap_s=self.cap_s, jitter=self.jitter, rng=rng
        )


@dataclass(frozen=True)
class DeliveryPolicy:
    """Everything ``deliver`` needs besides the target and the event; built from ``Settings``."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout_s: float = 5.0
    timeout_s: float = 10.0
    """Read, write and pool timeout, and the budget for reading the response body."""
    max_response_bytes: int = 4096
    """At most this much of the response body is read (then the connection is closed)."""
    allow_loopback: bool = False
    """Development and tests only: lets targets on 127.0.0.0/8 and ::1 through."""
    allow_private: bool = False
    """On-premises installations whose DMS sits on a private network."""

    def __post_init__(self) -> None:
        if not isinstance(self.retry, RetryPolicy):
            raise InvalidWebhookConfig("retry", "must be a RetryPolicy")
        for name in ("connect_timeout_s", "timeout_s"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 < value <= 120:
                raise InvalidWebhookConfig(name, "must be a number of seconds in (0, 120]")
        if (
            not isinstance(self.max_response_bytes, int)
            or not 0 <= self.max_response_bytes <= 1 << 20
        ):
            raise InvalidWebhookConfig("max_response_bytes", "must be an integer 0…1 MiB")


_RETRIED_STATUSES = frozenset({408, 429})


def is_retryable_status(status: int) -> bool:
    """5xx, 408 and 429 are worth another attempt; every other non-2xx answer is final."""
    return status in _RETRIED_STATUSES or 500 <= status <= 599


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), or ``None``."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(min(int(text), 10**9))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# --- delivery ---------------------------------------------------------------------------------


class AttemptOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    """Failed, another attempt is due at ``retry_at``."""
    FAILED = "failed"
    """Failed for good: a final answer, a refused target or the last allowed attempt."""


class AttemptError(StrEnum):
    HTTP_STATUS = "http_status"
    """The receiver answered with a non-2xx status (``status_code``); redirects are not followed."""
    TIMEOUT = "timeout"
    CONNECT = "connect"
    NETWORK = "network"
    """The connection broke while sending or receiving, or the answer was not HTTP."""
    DNS = "dns"
    TARGET_REFUSED = "target_refused"


@dataclass(frozen=True)
class DeliveryAttempt:
    """What one attempt did; the caller stores it and schedules ``retry_at``."""

    delivery_id: str
    event_id: str
    target_id: str
    attempt: int
    """1-based."""
    started_at: datetime
    finished_at: datetime
    outcome: AttemptOutcome
    status_code: int | None
    error: AttemptError | None
    detail: str | None
    """Short, safe text (``HTTP 503``, ``ReadTimeout``, ``loopback``): never the URL, a secret,
    the payload or the response body."""
    retry_at: datetime | None
    retries_exhausted: bool = False
    """The attempt failed in a retryable way but was the last one the policy allows."""
    address: str | None = None
    """The IP address the request went to (after the SSRF check)."""

    @property
    def final(self) -> bool:
        return self.outcome is not AttemptOutcome.RETRY


def delivery_id_for(target_id: str, event_id: str) -> str:
    """The same id for every attempt of one event to one target, so receivers can de-duplicate."""
    return str(uuid.uuid5(_DELIVERY_NAMESPACE, f"{target_id}\x1f{event_id}"))


def delivery_client(
    *, verify: ssl.SSLContext | str | bool = True, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The client ``deliver`` expects: no redirects, no environment proxies, no kept-alive
    connections.

    Connections are never reused, because ``deliver`` puts the checked IP address in the URL and
    the host name in ``Host``/SNI: a pooled connection is keyed by IP only, and reusing one that
    was verified for another host name would skip that name's certificate check. Proxies from the
    environment are ignored, as a proxy would resolve the name itself. ``verify`` is httpx's
    (an ``ssl.SSLContext``, a CA bundle path or ``True``).
    """
    return httpx.Client(
        follow_redirects=False,
        trust_env=False,
        verify=verify,
        limits=httpx.Limits(max_keepalive_connections=0),
        transport=transport,
    )


def _signed_headers(
    target: WebhookTarget, event: WebhookEvent, delivery_id: str, timestamp: int
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Connection": "close",
        HEADER_EVENT: event.type,
        HEADER_DELIVERY: delivery_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature_header(target.secrets, timestamp, event.body),
    }


def _drain(response: httpx.Response, limit: int, budget_s: float) -> int:
    """Read at most ``limit`` raw bytes (no decompression: no gzip bomb) within ``budget_s``."""
    read = 0
    started = time.monotonic()
    try:
        for chunk in response.iter_raw(chunk_size=1024):
            read += len(chunk)
            if read >= limit or time.monotonic() - started > budget_s:
                break
    except (httpx.HTTPError, httpx.StreamError):
        pass  # the status line is what counts; a broken body does not change it
    return min(read, limit)


def deliver(
    subscription: WebhookTarget,
    event: WebhookEvent,
    *,
    client: httpx.Client,
    policy: DeliveryPolicy,
    now: datetime,
    attempt: int = 1,
    resolver: Resolver = resolve_host,
    rng: JitterSource | None = None,
) -> DeliveryAttempt:
    """Make attempt number ``attempt`` to deliver ``event`` to ``subscription``; never retry here.

    The target URL is checked (``check_target``) at every attempt and the request goes to a
    checked address: for http the URL carries the IP and ``Host`` the name; for https also the
    TLS server name (SNI) and the certificate check use the name. If an address refuses the
    connection, the next checked address is tried. ``now`` is the attempt's start (it is the
    signed timestamp); ``finished_at`` adds the time measured since.
    """
    if not isinstance(subscription, WebhookTarget):
        raise InvalidWebhookConfig("subscription", "must be a WebhookTarget")
    if not isinstance(event, WebhookEvent):
        raise InvalidWebhookConfig("event", "must be a WebhookEvent")
    started_at = _check_aware(now, "now")
    max_attempts = policy.retry.max_attempts
    if (
        not isinstance(attempt, int)
        or isinstance(attempt, bool)
        or not 1 <= attempt <= max_attempts
    ):
        raise InvalidWebhookConfig("attempt", f"must be an integer 1…{max_attempts}")
    delivery_id = delivery_id_for(subscription.id, event.id)
    clock_start = time.monotonic()

    def record(
        *,
        status_code: int | None = None,
        error: AttemptError | None = None,
        detail: str | None = None,
        retryable: bool = False,
        retry_after_s: float | None = None,
        address: str | None = None,
    ) -> DeliveryAttempt:
        finished_at = started_at + timedelta(seconds=time.monotonic() - clock_start)
        exhausted = retryable and attempt >= max_attempts
        retry_at: datetime | None = None
        if error is None:
            outcome = AttemptOutcome.DELIVERED
        elif retryable and not exhausted:
            outcome = AttemptOutcome.RETRY
            delay = policy.retry.delay(attempt, rng)
            if retry_after_s is not None:
                delay = max(delay, retry_after_s)
            retry_at = finished_at + timedelta(seconds=min(delay, policy.retry.cap_s))
        else:
            outcome = AttemptOutcome.FAILED
        result = DeliveryAttempt(
            delivery_id=delivery_id,
            event_id=event.id,
            target_id=subscription.id,
            attempt=attempt,
            started_at=started_at,
            finished_at=finished_at,
            outcome=outcome,
            status_code=status_code,
            error=error,
            detail=detail,
            retry_at=retry_at,
            retries_exhausted=exhausted,
            address=address,
        )
        logger.info(
            "webhook delivery %s (event %s, target %s) attempt %d/%d: %s%s",
            delivery_id,
            event.id,
            subscription.id,
            attempt,
            max_attempts,
            outcome.value,
            f" ({error.value}: {detail})" if error is not None else "",
        )
        return result

    try:
        checked = check_target(
            subscription.url,
            allow_loopback=policy.allow_loopback,
            allow_private=policy.allow_private,
            resolver=resolver,
        )
    except TargetRefused as refused:
        if refused.reason is TargetRefusal.UNRESOLVABLE:
            return record(error=AttemptError.DNS, detail=refused.reason.value, retryable=True)
        return record(
            error=AttemptError.TARGET_REFUSED, detail=refused.category or refused.reason.value
        )

    timestamp = int(started_at.timestamp())
    headers = _signed_headers(subscription, event, delivery_id, timestamp)
    headers["Host"] = checked.host_header
    extensions = {} if checked.host_is_ip else {"sni_hostname": checked.host}
    timeout = httpx.Timeout(policy.timeout_s, connect=policy.connect_timeout_s)

    for index, address in enumerate(checked.addresses):
        last = index == len(checked.addresses) - 1
        request = client.build_request(
            "POST",
            checked.pinned_url(address),
            headers=headers,
            content=event.body,
            timeout=timeout,
            extensions=extensions,
        )
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectError as failure:
            if not last:
                continue
            return record(
                error=AttemptError.CONNECT,
                detail=type(failure).__name__,
                retryable=True,
                address=str(address),
            )
        except httpx.TimeoutException as failure:
            return record(
                error=AttemptError.TIMEOUT,
                detail=type(failure).__name__,
                retryable=True,
                address=str(address),
            )
        except httpx.TransportError as failure:
            return record(
                error=AttemptError.NETWORK,
                detail=type(failure).__name__,
                retryable=True,
                address=str(address),
            )
        try:
            _drain(response, policy.max_response_bytes, policy.timeout_s)
        finally:
            response.close()
        status = response.status_code
        if 200 <= status <= 299:
            return record(status_code=status, address=str(address))
        return record(
            status_code=status,
            error=AttemptError.HTTP_STATUS,
            detail=f"HTTP {status}",
            retryable=is_retryable_status(status),
            retry_after_s=parse_retry_after(response.headers.get("Retry-After"), started_at),
            address=str(address),
        )
    raise AssertionError("check_target returned no address")  # pragma: no cover
