"""ASGI middleware: a request body size limit, enforced from Content-Length and while the
body streams in, the refusal problem+json like every other error; and the end of the road for
an exception no handler took."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem


class BodyTooLarge(HTTPException):
    # An HTTPException, so that FastAPI re-raises it from body parsing instead of turning it
    # into "400 error parsing the body"; the problem+json handler then answers 413.
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes")


class BodySizeLimit:
    def __init__(
        self, app: ASGIApp, max_bytes: int, larger_for: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger_for = larger_for or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger_for.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            detail = BodyTooLarge(limit).detail
            await problem(413, "body_too_large", detail)(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)


class UnhandledErrors:
    """Answers an exception that no handler took with ``handler``'s response, and ends it here.

    Starlette answers such an exception with the app's handler too, but then raises it on to
    the server, and uvicorn logs it whole: its message as well, which may quote personal data
    (a database error quotes its statement's parameters). ``handler`` logs its type only.
    """

    def __init__(
        self, app: ASGIApp, handler: Callable[[Request, Any], Response | Awaitable[Response]]
    ) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            response = self.handler(Request(scope, receive), error)
            if inspect.isawaitable(response):
                response = await response
            if not started:
                await response(scope, receive, send)
