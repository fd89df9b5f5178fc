"""A timestamp authority the fault tests control: honest, answering garbage, or with its clock
far from ours. Tokens come from the development PKI's own TSA (certomancer), so the service
trusts them; only the answer's bytes or the token's time are wrong on request."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from asn1crypto import tsp

from signing.dev_pki import DevPki

JUNK_KINDS = ("random bytes", "html page", "empty body", "truncated DER", "HTTP 500", "rejection")
"""The garbage served in turn, one kind per request."""


class FakeTsa:
    def __init__(self, pki: DevPki) -> None:
        self.architecture = pki.load_architecture()
        self.mode = "honest"
        """``honest``, ``garbage`` (the ``JUNK_KINDS`` in turn) or ``skewed``."""
        self.skew = dt.timedelta(0)
        self.served: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/tsa"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, body: bytes) -> tuple[int, str, bytes]:
        with self._lock:
            mode = self.mode
            if mode == "garbage":
                kind = JUNK_KINDS[sum(self.served[k] for k in JUNK_KINDS) % len(JUNK_KINDS)]
            else:
                kind = mode
            self.served[kind] += 1
        reply = "application/timestamp-reply"
        if kind == "random bytes":
            return 200, reply, os.urandom(400)
        if kind == "html page":
            return 200, "text/html", b"<html><body>Service temporarily unavailable</body></html>"
        if kind == "empty body":
            return 200, reply, b""
        if kind == "truncated DER":
            return 200, reply, self._token(body, dt.timedelta(0))[:200]
        if kind == "HTTP 500":
            return 500, "text/plain", b"internal error"
        if kind == "rejection":
            status = tsp.PKIStatusInfo({"status": "rejection", "fail_info": {"bad_request"}})
            return 200, reply, tsp.TimeStampResp({"status": status}).dump()
        return 200, reply, self._token(body, self.skew if kind == "skewed" else dt.timedelta(0))

    def _token(self, body: bytes, skew: dt.timedelta) -> bytes:
        from certomancer.registry import ServiceLabel

        timestamper = self.architecture.service_registry.summon_timestamper(
            ServiceLabel("tsa"), dt.datetime.now(dt.UTC) + skew
        )
        response: Any = timestamper.request_tsa_response(tsp.TimeStampReq.load(body))
        return bytes(response.dump())

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, media_type, content = fake.answer(body)
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler


@contextmanager
def fake_tsa(pki: DevPki) -> Iterator[FakeTsa]:
    tsa = FakeTsa(pki)
    tsa.start()
    try:
        yield tsa
    finally:
        tsa.stop()
