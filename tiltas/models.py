"""Tables. Personal data lives in ``cases``; the audit log never holds it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tiltas.db import Base, JSONType, NullableJSONType, UtcDateTime


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    """Legal-entity code (juridinio asmens kodas)."""
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(500))
    email: Mapped[str] = mapped_column(String(320))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    """The public part of the key, shown in lists and the audit log."""
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    role: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))

    # Columns copied out of ``subject`` for filtering.
    institution_code: Mapped[str] = mapped_column(String(20), index=True)
    municipality: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    release_date: Mapped[dt.date | None] = mapped_column(Date, index=True, nullable=True)
    """The possible conditional release date (galimo lygtinio paleidimo data)."""

    subject: Mapped[dict[str, Any]] = mapped_column(JSONType)
    people: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    needs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType, nullable=True)
    risk: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    health: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)

    participants: Mapped[list[CaseParticipant]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="CaseParticipant.id"
    )


class CaseParticipant(Base):
    __tablename__ = "case_participants"
    __table_args__ = (UniqueConstraint("case_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class IdempotencyRecord(Base):
    """The first response to a POST with an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("organisation_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    response_headers: Mapped[dict[str, str]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class AuditEntry(Base):
    """One access to personal data. Append-only (database triggers refuse UPDATE and DELETE)
    and hash-chained: ``hash = sha256(prev_hash || canonical entry)``."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor_key_id: Mapped[str] = mapped_column(String(40))
    actor_organisation_code: Mapped[str] = mapped_column(String(20), index=True)
    actor_role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(36), index=True, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """What was touched (section names, never values)."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last link; the single row serialises appenders."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class Document(Base):
    """One generated document (A–N) and where it is in its life: requested → generated →
    signed → sent → delivered → acknowledged (or failed / returned)."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    type_id: Mapped[str] = mapped_column(String(4), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, nullable=True)
    author_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    envelope: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """The resolved envelope the document was built from (author, subject, recipients…)."""
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """The type's own data."""
    input_sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the canonical JSON of envelope and data."""
    template_version: Mapped[str] = mapped_column(String(64))
    generated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pdf_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    failure: Mapped[dict[str, Any] | None] = mapped_column(NullableJSONType, nullable=True)
    """Why the last step failed (machine-readable code and message), when it did; SQL NULL
    once a later step succeeds (not JSON null, which ``IS NOT NULL`` would count)."""
    signatures: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """Signatures made so far, in order: signer index, field, name, role, time, PDF hash."""
    signed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    acknowledgement: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    """How the convict acknowledged (E, F, L): a signature-pad image placed in the PDF before
    the officer signed, or a sealed scan of the paper signed by hand."""
    pdf_history: Mapped[list[str]] = mapped_column(JSONType, default=list)
    """Earlier PDF versions (SHA-256), oldest first; each signature adds a version."""
    renewals: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    """Archive renewals (a new document timestamp each), oldest first."""
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("batches.id"), index=True, nullable=True
    )
    requeued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    """When the re-enqueue sweep last put this stalled document back on the queue."""


class ArchiveTimestampExpiry(Base):
    """What the daily archive renewal needs from one stored signed PDF, read from it once: when
    the TSA certificate of its last document timestamp expires. Keyed by the PDF's SHA-256: a
    stored version never changes, so neither does this; a renewal or a new signature is a new
    version with a row of its own."""

    __tablename__ = "archive_timestamp_expiries"

    pdf_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    tsa_expires: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, index=True, nullable=True)
    """notAfter of that TSA certificate; ``None``: the PDF has no document timestamp."""
    read_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class Batch(Base):
    """Many documents asked for in one call (every protocol K of a meeting, list C for
    everyone due next month…); its progress is its documents' states."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    """running or cancelled; finished is derived from the documents."""
    sign: Mapped[bool] = mapped_column(default=True)
    """Sign each document for every official signer, in order, once generated."""
    total: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(40))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class RemoteSigningSession(Base):
    """A signature prepared for an official whose key is on a card or in a signing app: what
    the device must sign, and the state to finish the PDF in any process (prepare → complete).
    """

    __tablename__ = "remote_signing_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    signer_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    """preparing → prepared → completing → completed; or failed (preparation refused)."""
    requested_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    """DER of the signer's certificate, then the chain the caller supplied (``chain``)."""
    chain: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source_pdf_sha256: Mapped[str] = mapped_column(String(64))
    """The PDF version the signature was prepared on; a newer version makes it stale."""
    state: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    """The prepared signature (see ``signing.remote.PendingRemoteSignature``)."""
    challenge: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    signature_value: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    failure: Mapped[dict[str, Any] | None] = mapped_column(NullableJSONType, nullable=True)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class TemplateVersion(Base):
    """An uploaded template; versions are named by the SHA-256 of the DOCX."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("type_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_id: Mapped[str] = mapped_column(String(4), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=False)


class CalendarRevision(Base):
    """One version of the administrator's holiday overrides (extra holidays, extra working
    days); the newest is in force. Deadlines record the calendar version they used."""

    __tablename__ = "calendar_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(40))


class DeliveryEvent(Base):
    """A step of a document on its way to its recipient after signing (sent, delivered,
    acknowledged, failed, returned), recorded by a DMS or a clerk: who recorded it and when it
    happened. Generation and signing are the document's own record (``Document``)."""

    __tablename__ = "delivery_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    """When it happened (given by the caller, default when it was recorded)."""
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    recorded_by_key_id: Mapped[str] = mapped_column(String(40))
    recorded_by_organisation_code: Mapped[str] = mapped_column(String(20))
    recorded_by_role: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Free text from the clerk; may hold personal data: never logged or audited."""


class StoredDeadline(Base):
    """A case's deadline as last computed, kept so that a change of its due date can be
    reported and its status moves (at risk, due, overdue, met) announced once."""

    __tablename__ = "deadlines"
    __table_args__ = (UniqueConstraint("case_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    document_type: Mapped[str | None] = mapped_column(String(4), nullable=True)
    anchor_date: Mapped[dt.date] = mapped_column(Date)
    anchor_is_projected: Mapped[bool] = mapped_column(default=False)
    due_date: Mapped[dt.date] = mapped_column(Date, index=True)
    at_risk_from: Mapped[dt.date] = mapped_column(Date)
    calendar_version: Mapped[str] = mapped_column(String(80))
    status: Mapped[str | None] = mapped_column(String(20), index=True, nullable=True)
    """The status last announced; None until the first status pass after the deadline appeared."""
    status_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    """The day ``status`` was computed for."""
    met_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    computed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    timer_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    """When the timed re-check last scheduled for this deadline fires."""


class Event(Base):
    """Something that happened (a deadline's status moved, due dates changed, a document was
    delivered …): the record webhook deliveries are made from. No personal data in ``data``."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(60), index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class WebhookSubscription(Base):
    """An organisation's webhook endpoint: the URL, the event types it wants and its secret."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    """May carry the receiver's token: never logged."""
    events: Mapped[list[str]] = mapped_column(JSONType)
    description: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[str] = mapped_column(String(100))
    """Kept as is: signing needs it (HMAC). Shown to the caller once."""
    previous_secret: Mapped[str | None] = mapped_column(String(100), nullable=True)
    previous_secret_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    """Deliveries are also signed with the previous secret until then (rotation)."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(40))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookDelivery(Base):
    """One event to one subscription, with where its delivery stands."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("event_id", "subscription_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    """The ``Tiltas-Delivery`` header: the same for every attempt and redelivery."""
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    """pending → sending → delivered, or back to pending for a retry, or failed."""
    round: Mapped[int] = mapped_column(Integer, default=1)
    """1, plus one per redelivery asked through the API."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Attempts made in this round."""
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(
        UtcDateTime, index=True, nullable=True
    )
    lease_token: Mapped[str | None] = mapped_column(String(36), nullable=True)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    """A worker making an attempt holds the delivery until then; a crashed one lets go."""
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(40), nullable=True)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookAttempt(Base):
    """Every attempt to deliver, as ``tiltas.webhooks.deliver`` reported it (no URL, secret,
    payload or response body)."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(20))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    retry_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class FeedToken(Base):
    """A revocable token that lets a calendar application fetch an organisation's deadlines
    feed without an API key. Stored as a SHA-256 of its secret, like API keys."""

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class User(Base):
    """A person who signs in to the web pages: one organisation, one role (like an API key),
    a password stored as an Argon2id hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    """Named in the audit log as ``user:<public_id>``."""
    email: Mapped[str] = mapped_column(String(320), unique=True)
    """Stored lower-cased; the sign-in name."""
    full_name: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class WebSession(Base):
    """A signed-in browser: the cookie holds a random secret, the table only its SHA-256."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)

    user: Mapped[User] = relationship(lazy="joined")
