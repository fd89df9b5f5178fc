"""A webhook receiver on loopback that checks every delivery's signature as a subscriber would
(``tiltas.webhooks.verify_signature``, its clock the real one) and answers as told."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tiltas.webhooks import SignatureFailure, SignatureRejected, verify_signature


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    rejected: SignatureFailure | None

    @property
    def payload(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secrets: tuple[str, ...] = ()
        """The secrets this receiver accepts (set from the subscription's answer)."""
        self.statuses: list[int] = []
        """Answers for the next authentic deliveries; 200 once used up."""
        self.received: list[Received] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/tiltas?token=rcv"

    def authentic(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.rejected is None]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = dict(self.headers.items())
        try:
            verify_signature(self.server.secrets, headers, body, now=dt.datetime.now(dt.UTC))
        except SignatureRejected as rejected:
            with self.server.lock:
                self.server.received.append(Received(headers, body, rejected.reason))
            self._answer(401)
            return
        with self.server.lock:
            self.server.received.append(Received(headers, body, None))
            status = self.server.statuses.pop(0) if self.server.statuses else 200
        self._answer(status)

    def _answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
