"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from api import errors, openapi, web
from api.deps import Database
from api.middleware import BodySizeLimit, UnhandledErrors
from api.queue import make_producer
from api.routes import (
    apikeys,
    audit,
    batches,
    cases,
    deadlines,
    deliveries,
    documents,
    feeds,
    metrics,
    organisations,
    reference,
    remote_signing,
    verification,
    webhooks,
)
from templates.rendering import template_bytes
from templates.types import DOCUMENT_TYPES
from tiltas.db import make_engine, make_sessionmaker
from tiltas.deadline_tracking import track_deadline_inputs
from tiltas.settings import Settings
from tiltas.storage import FileStore


def create_app(settings: Settings) -> FastAPI:
    # A connection for every endpoint thread and a few for the event loop's own work: with the
    # pool's default five, connections beyond it were opened and closed for every request
    # (a PostgreSQL backend started each time).
    engine = make_engine(
        settings.resolved_database_url, pool_size=settings.api_threads + 4, max_overflow=10
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The synchronous endpoints' threads (``TILTAS_API_THREADS``): more only contend for
        # the process's GIL, and each holds a database connection.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        # A document names its template by SHA-256. With every shipped template kept in the
        # store, one requested before an upgrade that ships new template bytes is still made.
        store = FileStore(settings.documents_dir)
        for type_id in DOCUMENT_TYPES:
            store.put(template_bytes(type_id))
        store.remove_abandoned_writes()  # an API process killed while storing an upload
        yield
        verification.close_verifier(_app)
        engine.dispose()

    app = FastAPI(
        title="Tiltas",
        version="0.1.0",
        description=(
            "Documents of a convict's conditional release and of the prison social-care sector: "
            "cases, organisations, API keys and the audit log. Errors are RFC 9457 problem+json."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = Database(engine, make_sessionmaker(engine))
    # A changed release date or request G recomputes the case's stored deadlines on commit.
    track_deadline_inputs(app.state.database.sessions)
    app.state.producer = make_producer(settings)
    errors.install(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        # Archivists verify whole PDFs, scanned annexes included.
        larger_for={
            "/v1/verify": verification.VERIFICATION_MAX_BYTES,
            web.VERIFY_PATH: verification.VERIFICATION_MAX_BYTES,
        },
    )
    for module in (
        reference,
        organisations,
        cases,
        deadlines,
        deliveries,
        feeds,
        documents,
        batches,
        metrics,
        remote_signing,
        verification,
        webhooks,
        apikeys,
        audit,
    ):
        app.include_router(module.router)
    web.install(app)
    openapi.install(app, documents.EnvelopeInput)
    # Outermost of ours: an exception no handler took stops here, not in the server's log.
    app.add_middleware(UnhandledErrors, handler=app.exception_handlers[Exception])
    return app
