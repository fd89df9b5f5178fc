"""Configuration, read once from the environment and passed down explicitly.

Nothing configured is the embedded default: SQLite and files under ``./data``, and a
private Redis on a unix socket in that folder, started and supervised by ``tiltas serve``.
Production sets ``TILTAS_DATABASE_URL`` (PostgreSQL), ``TILTAS_BROKER_URL`` (Redis) and a
shared ``TILTAS_DATA_DIR``.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tiltas.queues import DEFAULT_WORKER_QUEUES, WorkerGroup, parse_worker_queues


class Environment(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TILTAS_", frozen=True, extra="ignore")

    environment: Environment = Environment.development
    """``production`` refuses the embedded SQLite database and the embedded broker."""

    data_dir: Path = Path("data")
    """Documents, the embedded database and the embedded broker's socket live here."""

    database_url: str | None = None
    """SQLAlchemy URL; unset means SQLite at ``<data_dir>/tiltas.sqlite3``."""

    broker_url: str | None = None
    """Celery broker (Redis) URL; unset means the embedded Redis on
    ``<data_dir>/run/redis.sock``."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "TILTAS_PORT"))

    max_body_bytes: int = 1_048_576
    """Largest request body the API reads; larger bodies get 413."""

    page_size_max: int = 200

    api_processes: int = Field(default=2, ge=1, le=64)
    """uvicorn processes ``tiltas serve`` runs for the API (one core each under load; a single
    process is bound to one core by the GIL). [design] two, for the two-core machines we run
    on."""

    api_threads: int = Field(default=8, ge=1, le=256)
    """Threads per API process for the synchronous endpoints (database work). [design] eight:
    measured with bench/load_api.py (100 clients), the default 40 had every thread contend for
    the process's one GIL, and reads' p99 was five times higher; four was worse than eight.
    Waits for a worker (a document, a signature) hold no thread."""

    worker_queues: str = DEFAULT_WORKER_QUEUES
    """The workers ``tiltas serve`` runs: ``queue=concurrency`` per worker, comma-separated
    (``a+b=N``: one worker for two queues). Queues left out are not served on this host."""

    visibility_timeout_s: int = 3600
    """Redis redelivers a task not acknowledged within this time. Must exceed the longest
    task and the longest countdown/ETA (DOMAIN.md §9)."""

    unacked_restore_interval_s: int = 5
    """How often a worker looks for abandoned (unacknowledged) tasks to redeliver."""

    worker_imports: Annotated[tuple[str, ...], NoDecode] = ()
    """Extra task modules the worker imports (comma-separated in the environment)."""

    redis_server_bin: str = "redis-server"

    run_api: bool = True
    """``tiltas serve`` runs the HTTP API (off on a host that only works)."""
    run_worker: bool = True
    """``tiltas serve`` runs a Celery worker (off on a host that only answers HTTP)."""
    run_beat: bool = True
    """``tiltas serve`` runs the Celery beat scheduler (deadline sweep, webhook dispatcher).
    Exactly one beat may run: turn it off on every further instance sharing the broker."""
    deadline_sweep_interval_s: float = Field(default=900.0, ge=10.0, le=86_400.0)
    """How often the sweep brings deadline statuses up to date and announces their moves."""
    deadline_timer_horizon_s: float = Field(default=1800.0, gt=0.0)
    """Timed re-checks are put on the broker only this long ahead, and never more than half
    the visibility timeout (DOMAIN.md §9); later ones wait in the database for a later sweep."""
    document_requeue_after_s: float = Field(default=1800.0, ge=10.0)
    """A document that has not moved for this long (never queued because the API died or the
    broker was away, or its task gave up) is put back on the queue by a sweep that runs a
    fifth as often. Long enough that a document merely waiting its turn is rarely queued twice
    (twice is harmless: the steps are idempotent)."""
    webhook_dispatch_interval_s: float = Field(default=10.0, ge=0.5, le=3600.0)
    """How often the dispatcher hands due webhook deliveries (retries included) to workers."""
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    webhook_retry_base_s: float = Field(default=30.0, gt=0.0)
    """Wait after the first failed attempt; doubled after each one (less random jitter)."""
    webhook_retry_cap_s: float = Field(default=6 * 3600.0, gt=0.0)
    """No wait between attempts is longer."""
    webhook_timeout_s: float = Field(default=10.0, gt=0.0, le=120.0)
    webhook_allow_loopback: bool = False
    """Development and tests only: webhooks to 127.0.0.0/8 and ::1 (refused in production)."""
    webhook_allow_private: bool = False
    """On-premises: webhooks to a DMS on a private network (RFC 1918, unique-local)."""

    converter_pool_size: int = 1
    """LibreOffice converters per worker process (each worker process has its own pool)."""
    conversion_timeout_s: float = 60.0
    soffice_bin: str = "soffice"
    converter_profile_dir: Path | None = None
    """LibreOffice profiles, one per converter, on local disk (default: data/run/converters)."""

    tsa_urls: Annotated[tuple[str, ...], NoDecode] = ()
    """RFC 3161 timestamp authorities, tried in order (comma-separated). Unset in development:
    the development PKI's own TSA, which ``tiltas serve`` runs on loopback."""
    signing_keys_file: Path | None = None
    """JSON file with the trust roots and the keys per organisation and signing role
    (PKCS#12 or PKCS#11). Unset in development: the development PKI's keys, not qualified."""
    dev_pki_dir: Path | None = None
    """Where the development PKI lives; default the data folder."""

    document_wait_s: float = 30.0
    """How long ``POST /v1/documents`` waits for the document before answering 202."""
    remote_signing_ttl_s: int = Field(default=900, ge=30, le=86_400)
    """How long a prepared remote signature waits for the card's or app's value."""
    renewal_margin_days: int = Field(default=365, ge=2, le=3650)
    """Archive timestamps are renewed this many days before the TSA certificate of a
    document's last document timestamp expires (DOMAIN.md §8: after that, too late)."""
    trusted_list_file: Path | None = None
    """An EU trusted list (the Lithuanian TL or the LOTL, ETSI TS 119 612 XML, downloaded by
    an administrator): verification reports then say whether each signer is qualified."""
    trusted_list_signing_certificates: Annotated[tuple[Path, ...], NoDecode] = ()
    """PEM/DER files (comma-separated) of the certificates that may sign that list; its XML
    signature must verify with one of them or the list is refused."""
    trusted_list_allow_unsigned: bool = False
    """Development only: a trusted list with no signature at all may be loaded (hand-made
    test lists); a signature that is there is still verified. Production refuses it."""

    @property
    def resolved_converter_profile_dir(self) -> Path:
        return (self.converter_profile_dir or self.data_dir / "run" / "converters").resolve()

    @property
    def uses_dev_pki(self) -> bool:
        return self.signing_keys_file is None

    @property
    def resolved_dev_pki_dir(self) -> Path:
        return (self.dev_pki_dir or self.data_dir).resolve()

    @property
    def documents_dir(self) -> Path:
        return (self.data_dir / "documents").resolve()

    @field_validator("worker_queues")
    @classmethod
    def _parse_worker_queues(cls, value: str) -> str:
        parse_worker_queues(value)
        return value

    @property
    def worker_groups(self) -> tuple[WorkerGroup, ...]:
        return parse_worker_queues(self.worker_queues)

    @field_validator("worker_imports", "tsa_urls", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_list_signing_certificates", mode="before")
    @classmethod
    def _split_certificate_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(Path(part.strip()) for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _unsigned_trusted_lists_only_in_development(self) -> Settings:
        # [design] eIDAS trusts a list through its signature; an unsigned one is only for
        # hand-made development lists, so production refuses the opt-in outright.
        if self.trusted_list_allow_unsigned and self.environment is Environment.production:
            raise ValueError("production refuses TILTAS_TRUSTED_LIST_ALLOW_UNSIGNED")
        return self

    @model_validator(mode="after")
    def _production_needs_servers(self) -> Settings:
        if self.environment is Environment.production:
            missing = [
                name
                for name, value in (
                    ("TILTAS_DATABASE_URL", self.database_url),
                    ("TILTAS_BROKER_URL", self.broker_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production needs {', '.join(missing)}")
            if not self.tsa_urls or self.signing_keys_file is None:
                raise ValueError("production needs TILTAS_TSA_URLS and TILTAS_SIGNING_KEYS_FILE")
            if self.database_url and self.database_url.startswith("sqlite"):
                raise ValueError("production needs PostgreSQL, not SQLite")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tiltas.sqlite3').resolve()}"

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url

    @property
    def redis_socket_path(self) -> Path:
        return (self.data_dir / "run" / "redis.sock").resolve()

    @property
    def resolved_broker_url(self) -> str:
        if self.broker_url:
            return self.broker_url
        return f"redis+socket://{self.redis_socket_path}"

    @property
    def beat_schedule_path(self) -> Path:
        """Where beat keeps when each periodic task last ran."""
        return (self.data_dir / "run" / "celerybeat-schedule").resolve()

    @property
    def timer_horizon_s(self) -> float:
        # A task waiting on Redis longer than the visibility timeout is delivered twice.
        return min(self.deadline_timer_horizon_s, self.visibility_timeout_s / 2)

    @model_validator(mode="after")
    def _webhook_limits(self) -> Settings:
        if self.webhook_retry_base_s > self.webhook_retry_cap_s:
            raise ValueError(
                "TILTAS_WEBHOOK_RETRY_BASE_S must not exceed TILTAS_WEBHOOK_RETRY_CAP_S"
            )
        if self.environment is Environment.production and self.webhook_allow_loopback:
            raise ValueError("production refuses TILTAS_WEBHOOK_ALLOW_LOOPBACK")
        return self
