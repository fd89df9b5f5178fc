"""Serve the development PKI's TSA and OCSP responders on loopback, in a background thread.

The protocol code is certomancer's (its aiohttp "Animator" app), run on its own event loop in a
daemon thread, so tests and ``tiltas serve`` can start and stop it; timestamp tokens are made
by :class:`DevTimeStamper`, with the same content as certomancer's, at a fifteenth of its cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from asn1crypto import cms, core, tsp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing.dev_pki import DevPki
from signing.errors import DevPkiError

__all__ = ["DevResponders", "DevTimeStamper"]


def _der(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


_SEQUENCE, _SET, _OCTET_STRING, _CONTEXT_0 = 0x30, 0x31, 0x04, 0xA0


class DevTimeStamper:
    """The development TSA's RFC 3161 responses: the token certomancer's ``TimeStamper`` makes
    (same TSTInfo fields and policy, signed attributes, embedded certificates), assembled from
    DER taken once from a token certomancer made. certomancer rebuilt the embedded
    certificates with asn1crypto and encoded them again for every token: 2.9 ms of CPU per
    token against 0.19 ms here, two tokens per signature (measured on a CI machine)."""

    def __init__(self, architecture: Any, label: str = "tsa") -> None:
        from certomancer.registry import ServiceLabel

        registry = architecture.service_registry
        info = registry.get_tsa_info(ServiceLabel(label))
        probe = tsp.TimeStampReq(
            {
                "version": 1,
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": bytes(32),
                },
            }
        )
        token = registry.summon_timestamper(ServiceLabel(label)).request_tsa_response(probe)
        signed_data = token["time_stamp_token"]["content"]
        signer = signed_data["signer_infos"][0]
        if signer["signature_algorithm"]["algorithm"].native != "sha256_ecdsa":
            raise DevPkiError(
                "the development TSA signs with ECDSA and SHA-256 only",
                path=str(info.signing_key),
            )
        key = serialization.load_der_private_key(
            architecture.key_set.get_private_key(info.signing_key).dump(), password=None
        )
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise DevPkiError("the development TSA key is not an EC key", path=str(label))
        self._key = key
        tst_info = signed_data["encap_content_info"]["content"].parsed
        attributes = {a["type"].native: a.dump() for a in signer["signed_attrs"]}
        self._status = token["status"].dump()
        self._signed_data_type = token["time_stamp_token"]["content_type"].dump()
        self._signed_data_head = (
            signed_data["version"].dump() + signed_data["digest_algorithms"].dump()
        )
        self._tst_info_type = signed_data["encap_content_info"]["content_type"].dump()
        self._certificates = signed_data["certificates"].dump()
        self._tst_info_head = tst_info["version"].dump() + tst_info["policy"].dump()
        self._tsa_name = tst_info["tsa"].dump()
        self._constant_attributes = (attributes["content_type"], attributes["signing_certificate"])
        self._signing_time_type = cms.CMSAttributeType("signing_time").dump()
        self._message_digest_type = cms.CMSAttributeType("message_digest").dump()
        self._signer_head = (
            signer["version"].dump() + signer["sid"].dump() + signer["digest_algorithm"].dump()
        )
        self._signature_algorithm = signer["signature_algorithm"].dump()

    def response(self, request: bytes) -> bytes:
        """The DER ``TimeStampResp`` for a DER ``TimeStampReq``; ``ValueError`` if unreadable."""
        try:
            parsed = tsp.TimeStampReq.load(request)
            imprint = parsed["message_imprint"].dump()
            nonce = parsed["nonce"].dump() if isinstance(parsed["nonce"], core.Integer) else b""
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"not a timestamp request: {type(error).__name__}") from error
        now = datetime.now(UTC)
        # As certomancer: a random 8-byte serial number with a fixed width.
        serial = core.Integer(int.from_bytes(b"\x01" + os.urandom(7), "big")).dump()
        tst_info = _der(
            _SEQUENCE,
            self._tst_info_head
            + imprint
            + serial
            + core.GeneralizedTime(now).dump()
            + nonce
            + self._tsa_name,
        )
        signing_time = cms.Time({"utc_time": core.UTCTime(now)}).dump()
        digest = _der(_OCTET_STRING, hashlib.sha256(tst_info).digest())
        attributes = b"".join(
            sorted(  # DER orders a SET OF by encoding
                (
                    *self._constant_attributes,
                    _der(_SEQUENCE, self._signing_time_type + _der(_SET, signing_time)),
                    _der(_SEQUENCE, self._message_digest_type + _der(_SET, digest)),
                )
            )
        )
        signature = self._key.sign(_der(_SET, attributes), ec.ECDSA(hashes.SHA256()))
        signer_info = _der(
            _SEQUENCE,
            self._signer_head
            + _der(_CONTEXT_0, attributes)
            + self._signature_algorithm
            + _der(_OCTET_STRING, signature),
        )
        content = _der(
            _SEQUENCE, self._tst_info_type + _der(_CONTEXT_0, _der(_OCTET_STRING, tst_info))
        )
        signed_data = _der(
            _SEQUENCE,
            self._signed_data_head + content + self._certificates + _der(_SET, signer_info),
        )
        token = _der(_SEQUENCE, self._signed_data_type + _der(_CONTEXT_0, signed_data))
        return _der(_SEQUENCE, self._status + token)


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
        app.middlewares.append(_timestamps_by(arch))
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


def _timestamps_by(architecture: Any) -> Any:
    """aiohttp middleware: requests to the architecture's TSAs (``/{arch}/tsa/{label}``, as
    certomancer routes them) answered by a :class:`DevTimeStamper` each, the rest by
    certomancer (an unknown label too)."""
    from aiohttp import web

    known = {
        str(info.label) for info in architecture.service_registry.list_time_stamping_services()
    }
    stampers: dict[str, DevTimeStamper] = {}

    @web.middleware
    async def answer(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        arch, kind, label = [*request.path.strip("/").split("/"), "", "", ""][:3]
        if (
            request.method != "POST"
            or kind != "tsa"
            or arch != str(architecture.arch_label)
            or label not in known
        ):
            return await handler(request)
        if label not in stampers:
            stampers[label] = DevTimeStamper(architecture, label)
        try:
            body = stampers[label].response(await request.read())
        except ValueError as error:
            return web.Response(status=400, text=str(error))
        return web.Response(body=body, content_type="application/timestamp-reply")

    return answer
