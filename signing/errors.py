"""Errors raised by the signing package; every one carries machine-readable fields.

Hierarchy (catch broadly, recover narrowly)::

    SigningError                 base; ``code`` and ``details()`` for API problem documents
    ├── KeyUnavailable           a configured key (PKCS#12 / PKCS#11) cannot be loaded or used
    ├── TimestampUnavailable     no configured TSA produced a valid timestamp: nothing was signed
    ├── RevocationUnavailable    OCSP/CRL for the signer or TSA chain could not be obtained
    ├── SignatureFieldError      the PDF lacks / already filled / cannot take the signature field
    ├── InvalidDocument          the input is not a PDF pyHanko can sign incrementally
    ├── RemoteSigningRefused     a remote signature value does not verify
    ├── DevPkiError              the development PKI or its responders cannot be set up
    ├── VerificationRefused      a PDF was not verified: too large, malformed, encrypted, a
    │                            decompression bomb, over the time or memory limit (``reason``)
    ├── RenewalRefused           an archive timestamp was not added: broken chain, not due, ...
    └── TrustedListError         an ETSI TS 119 612 trusted list cannot be read, or its XML
                                 signature is missing or does not verify (``reason``)

No message ever contains document contents or personal codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "DevPkiError",
    "InvalidDocument",
    "KeyUnavailable",
    "RemoteSigningRefused",
    "RenewalRefused",
    "RevocationUnavailable",
    "SignatureFieldError",
    "SigningError",
    "TimestampAttempt",
    "TimestampUnavailable",
    "TrustedListError",
    "VerificationRefused",
]


class SigningError(Exception):
    """Base of all signing errors. ``code`` is stable; ``details()`` is JSON-serialisable."""

    code = "signing_error"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def details(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.fields}


class KeyUnavailable(SigningError):
    code = "key_unavailable"

    def __init__(self, message: str, *, key_id: str, reason: str) -> None:
        super().__init__(message, key_id=key_id, reason=reason)
        self.key_id = key_id
        self.reason = reason


@dataclass(frozen=True)
class TimestampAttempt:
    """One failed request to one TSA."""

    url: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"url": self.url, "reason": self.reason}


class TimestampUnavailable(SigningError):
    """No TSA answered: the document was NOT signed (never a local clock time). Retry later."""

    code = "timestamp_unavailable"

    def __init__(self, attempts: list[TimestampAttempt]) -> None:
        # The last attempt's reason says what to fix (a TSA down, answering garbage, or a
        # clock far from ours); the document's failure keeps only this message.
        last = f"; last: {attempts[-1].reason[:200]}" if attempts else ""
        super().__init__(
            f"no timestamp authority answered usably ({len(attempts)} tried{last}); "
            "the document was not signed",
            attempts=[attempt.as_dict() for attempt in attempts],
            retryable=True,
        )
        self.attempts = tuple(attempts)
        self.retryable = True


class RevocationUnavailable(SigningError):
    code = "revocation_unavailable"

    def __init__(self, message: str, *, subject: str, reason: str) -> None:
        super().__init__(message, subject=subject, reason=reason, retryable=True)
        self.subject = subject
        self.reason = reason


class SignatureFieldError(SigningError):
    code = "signature_field_error"

    def __init__(self, message: str, *, field_name: str) -> None:
        super().__init__(message, field_name=field_name)
        self.field_name = field_name


class InvalidDocument(SigningError):
    code = "invalid_document"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class RemoteSigningRefused(SigningError):
    code = "remote_signing_refused"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class DevPkiError(SigningError):
    code = "dev_pki_error"

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message, path=path)
        self.path = path


class VerificationRefused(SigningError):
    """The PDF was not verified at all (no report). ``reason`` is one of a fixed set:

    ``too_large``, ``not_pdf``, ``malformed``, ``encrypted``, ``too_many_objects``,
    ``decompression_limit``, ``time_limit``, ``memory_limit``, ``worker_failed``.
    A report with TOTAL-FAILED is something else: the PDF was read and its signatures are bad.
    """

    code = "verification_refused"

    def __init__(self, message: str, *, reason: str, limit: int | float | None = None) -> None:
        super().__init__(message, reason=reason, limit=limit)
        self.reason = reason
        self.limit = limit


class RenewalRefused(SigningError):
    """No archive timestamp was added; ``reason``: ``not_due``, ``chain_invalid``,
    ``no_archive_timestamp``, ``timestamp_failed``, ``invalid_document``."""

    code = "renewal_refused"

    def __init__(self, message: str, *, reason: str, indication: str | None = None) -> None:
        super().__init__(message, reason=reason, indication=indication)
        self.reason = reason
        self.indication = indication


class TrustedListError(SigningError):
    code = "trusted_list_error"

    def __init__(self, message: str, *, source: str, reason: str) -> None:
        super().__init__(message, source=source, reason=reason)
        self.source = source
        self.reason = reason
