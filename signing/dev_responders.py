"""Serve the development PKI's TSA and OCSP responders on loopback, in a background thread.

The protocol code is certomancer's (its aiohttp "Animator" app); this module only runs it on
its own event loop in a daemon thread, so tests and ``tiltas serve`` can start and stop it.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType
from typing import Any

from signing.dev_pki import DevPki
from signing.errors import DevPkiError

__all__ = ["DevResponders"]

_START_TIMEOUT_SECONDS = 10.0


class DevResponders:
    """The TSA and OCSP responders of a :class:`DevPki`, served on ``host:port``.

    Use as a context manager, or call :meth:`start` / :meth:`stop`. ``port`` defaults to the
    PKI's ``responder_port`` (the one its certificates name); ``port=0`` picks a free port,
    which is fine for the TSA but breaks OCSP fetching by the certificates' URLs.
    """

    def __init__(self, pki: DevPki, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        self._pki = pki
        self._host = host
        self._requested_port = pki.responder_port if port is None else port
        self._bound_port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    @property
    def port(self) -> int:
        if self._bound_port is None:
            raise DevPkiError("responders are not running", path=str(self._pki.directory))
        return self._bound_port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def tsa_url(self) -> str:
        from signing.dev_pki import DEV_ARCH_LABEL

        return f"{self.base_url}/{DEV_ARCH_LABEL}/tsa/tsa"

    def start(self) -> DevResponders:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="tiltas-dev-responders", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_SECONDS):
            raise DevPkiError("responders did not start in time", path=str(self._pki.directory))
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise DevPkiError(
                f"responders could not start on {self._host}:{self._requested_port}: "
                f"{self._startup_error}",
                path=str(self._pki.directory),
            ) from self._startup_error
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        future.result(timeout=_START_TIMEOUT_SECONDS)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_START_TIMEOUT_SECONDS)
        self._thread = None
        self._loop = None
        self._bound_port = None
        self._ready.clear()

    def __enter__(self) -> DevResponders:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # reported to the starting thread
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _startup(self) -> None:
        from aiohttp import web
        from certomancer.integrations.aiohttp_animator import build_animator_app

        arch = self._pki.load_architecture()
        app = build_animator_app(
            {arch.arch_label: arch}, with_web_ui=False, allow_time_override=False
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        await site.start()
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self._bound_port = int(sockets[0].getsockname()[1]) if sockets else self._requested_port

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
