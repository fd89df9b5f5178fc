"""Webhooks: signatures checked by a real loopback receiver, the SSRF guard, back-off, attempts."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import random
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from tiltas.errors import InvalidInput, TiltasError, Unauthenticated
from tiltas.webhooks import (
    HEADER_DELIVERY,
    HEADER_EVENT,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    AttemptError,
    AttemptOutcome,
    DeliveryPolicy,
    InvalidWebhookConfig,
    RetryPolicy,
    SignatureFailure,
    SignatureRejected,
    TargetRefusal,
    TargetRefused,
    WebhookEvent,
    WebhookTarget,
    check_target,
    deliver,
    delivery_client,
    delivery_id_for,
    new_webhook_secret,
    next_attempt_delay,
    parse_retry_after,
    resolve_host,
    sign,
    signature_header,
    verify_signature,
)

T0 = dt.datetime(2026, 4, 30, 9, 0, tzinfo=dt.UTC)
SECRET_OLD = "whsec_old-secret-0123456789abcdef"
SECRET_NEW = "whsec_new-secret-fedcba9876543210"
PUBLIC_IP = "93.184.216.34"

LOCAL = DeliveryPolicy(allow_loopback=True, retry=RetryPolicy(max_attempts=3, base_s=10, cap_s=600))
"""The tests' policy: loopback allowed, as configured for development."""


def event(data: dict[str, object] | None = None, event_id: str = "evt-1") -> WebhookEvent:
    return WebhookEvent(
        id=event_id,
        type="deadline.at_risk",
        occurred_at=T0,
        data=data
        if data is not None
        else {"case_id": "case-17", "kind": "process_a.release_notice"},
    )


# --- a real receiver on loopback --------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    rejected: SignatureFailure | None


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.secrets: tuple[str, ...] = (SECRET_OLD,)
        self.now = T0
        """The receiver's clock, set by each test (no sleeping)."""
        self.statuses: list[int] = []
        """Answers to give to the next authentic deliveries; 200 once exhausted."""
        self.received: list[Received] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/tiltas"


class ReceiverHandler(BaseHTTPRequestHandler):
    server: ReceiverServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = dict(self.headers.items())
        try:
            verify_signature(self.server.secrets, headers, body, now=self.server.now)
        except SignatureRejected as rejected:
            self.server.received.append(Received(headers, body, rejected.reason))
            self._answer(401, json.dumps({"reason": rejected.reason.value}).encode())
            return
        self.server.received.append(Received(headers, body, None))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self._answer(status, b'{"ok": true}')

    def _answer(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ReceiverServer]:
    server = ReceiverServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with delivery_client() as c:
        yield c


def test_receiver_verifies_a_signed_delivery(
    receiver: ReceiverServer, client: httpx.Client
) -> None:
    target = WebhookTarget("sub-1", receiver.url, (SECRET_OLD,))
    ev = event()
    result = deliver(target, ev, client=client, policy=LOCAL, now=T0)

    assert result.outcome is AttemptOutcome.DELIVERED and result.final
    assert result.status_code == 200 and result.error is None and result.retry_at is None
    assert result.address == "127.0.0.1" and result.attempt == 1
    assert result.started_at == T0 <= result.finished_at
    [got] = receiver.received
    assert got.rejected is None
    assert got.body == ev.body
    assert json.loads(got.body)["data"] == {
        "case_id": "case-17",
        "kind": "process_a.release_notice",
    }
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers[HEADER_EVENT] == "deadline.at_risk"
    assert got.headers[HEADER_DELIVERY] == result.delivery_id == delivery_id_for("sub-1", "evt-1")
    assert got.headers[HEADER_TIMESTAMP] == str(int(T0.timestamp()))
    assert got.headers["Host"] == f"127.0.0.1:{receiver.server_address[1]}"


def test_replayed_delivery_is_rejected_by_the_receiver(
    receiver: ReceiverServer, client: httpx.Client
) -> None:
    target = WebhookTarget("sub-1", receiver.url, (SECRET_OLD,))
    assert deliver(target, event(), client=client, policy=LOCAL, now=T0).outcome is (
        AttemptOutcome.DELIVERED
    )
    captured = receiver.received[0]

    receiver.now = T0 + dt.timedelta(seconds=301)
    replay = httpx.post(receiver.url, headers=captured.headers, content=captured.body)

    assert replay.status_code == 401
    assert replay.json() == {"reason": "stale_timestamp"}
    assert receiver.received[-1].rejected is SignatureFailure.STALE_TIMESTAMP


def test_tampered_body_is_rejected_by_the_receiver(
    receiver: ReceiverServer, client: httpx.Client
) -> None:
    target = WebhookTarget("sub-1", receiver.url, (SECRET_OLD,))
    deliver(target, event(), client=client, policy=LOCAL, now=T0)
    captured = receiver.received[0]
    tampered = captured.body.replace(b"case-17", b"case-18")
    assert tampered != captured.body

    answer = httpx.post(receiver.url, headers=captured.headers, content=tampered)

    assert answer.status_code == 401
    assert answer.json() == {"reason": "signature_mismatch"}


@pytest.mark.parametrize(
    ("sender", "accepted_by_receiver"),
    [
        ((SECRET_NEW, SECRET_OLD), (SECRET_OLD,)),  # sender rotated first
        ((SECRET_NEW,), (SECRET_NEW, SECRET_OLD)),  # receiver rotated first
    ],
)
def test_secret_rotation_is_accepted(
    receiver: ReceiverServer,
    client: httpx.Client,
    sender: tuple[str, ...],
    accepted_by_receiver: tuple[str, ...],
) -> None:
    receiver.secrets = accepted_by_receiver
    target = WebhookTarget("sub-1", receiver.url, sender)

    result = deliver(target, event(), client=client, policy=LOCAL, now=T0)

    assert result.outcome is AttemptOutcome.DELIVERED
    assert receiver.received[0].headers[HEADER_SIGNATURE].count("v1=") == len(sender)


def test_an_unknown_secret_is_rejected_and_final(
    receiver: ReceiverServer, client: httpx.Client
) -> None:
    receiver.secrets = (SECRET_NEW, SECRET_OLD)
    target = WebhookTarget("sub-1", receiver.url, (new_webhook_secret(),))

    result = deliver(target, event(), client=client, policy=LOCAL, now=T0)

    assert receiver.received[0].rejected is SignatureFailure.SIGNATURE_MISMATCH
    assert result.outcome is AttemptOutcome.FAILED and result.status_code == 401
    assert result.retry_at is None and not result.retries_exhausted


def test_retried_after_a_500_then_delivered(receiver: ReceiverServer, client: httpx.Client) -> None:
    receiver.statuses = [500]
    target = WebhookTarget("sub-1", receiver.url, (SECRET_OLD,))
    ev = event()

    first = deliver(target, ev, client=client, policy=LOCAL, now=T0, rng=random.Random(1))
    assert first.outcome is AttemptOutcome.RETRY and not first.final
    assert first.status_code == 500 and first.error is AttemptError.HTTP_STATUS
    assert first.detail == "HTTP 500"
    assert first.retry_at is not None
    wait = (first.retry_at - first.finished_at).total_seconds()
    assert 5 <= wait <= 10  # base 10 s, up to half taken by jitter

    receiver.now = first.retry_at
    second = deliver(target, ev, client=client, policy=LOCAL, now=first.retry_at, attempt=2)

    assert second.outcome is AttemptOutcome.DELIVERED and second.attempt == 2
    assert second.delivery_id == first.delivery_id
    assert [r.rejected for r in receiver.received] == [None, None]
    assert receiver.received[0].body == receiver.received[1].body
    stamps = [r.headers[HEADER_TIMESTAMP] for r in receiver.received]
    assert stamps[0] != stamps[1]  # each attempt is signed afresh


@pytest.mark.parametrize("status", [400, 404, 410, 422])
def test_other_client_errors_are_final(
    receiver: ReceiverServer, client: httpx.Client, status: int
) -> None:
    receiver.statuses = [status]
    target = WebhookTarget("sub-1", receiver.url, (SECRET_OLD,))

    result = deliver(target, event(), client=client, policy=LOCAL, now=T0)

    assert result.outcome is AttemptOutcome.FAILED and result.final
    assert result.status_code == status and result.retry_at is None
    assert not result.retries_exhausted


def test_the_last_allowed_attempt_is_final(receiver: ReceiverServer, client: httpx.Client) -> None:
    receiver.statuses = [503]
    target = WebhookTarget("sub-1", receiver.url, (SECRET_OLD,))

    result = deliver(target, event(), client=client, policy=LOCAL, now=T0, attempt=3)

    assert result.outcome is AttemptOutcome.FAILED and result.retries_exhausted
    assert result.retry_at is None
    with pytest.raises(InvalidWebhookConfig) as raised:
        deliver(target, event(), client=client, policy=LOCAL, now=T0, attempt=4)
    assert raised.value.field == "attempt"


def test_loopback_receiver_is_refused_without_allow_loopback(
    receiver: ReceiverServer, client: httpx.Client
) -> None:
    target = WebhookTarget("sub-1", receiver.url, (SECRET_OLD,))

    result = deliver(target, event(), client=client, policy=DeliveryPolicy(), now=T0)

    assert result.outcome is AttemptOutcome.FAILED
    assert result.error is AttemptError.TARGET_REFUSED and result.detail == "loopback"
    assert receiver.received == []


def test_connection_refused_is_retried(client: httpx.Client) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    target = WebhookTarget("sub-1", f"http://127.0.0.1:{port}/", (SECRET_OLD,))

    result = deliver(target, event(), client=client, policy=LOCAL, now=T0)

    assert result.outcome is AttemptOutcome.RETRY
    assert result.error is AttemptError.CONNECT and result.status_code is None


# --- https: the checked address is pinned, the name still verified -----------------------------


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_receiver(receiver: ReceiverServer, tmp_path: Path) -> tuple[ReceiverServer, Path]:
    cert_path, key_path = _self_signed(tmp_path, "hooks.tiltas.test")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    receiver.socket = context.wrap_socket(receiver.socket, server_side=True)
    return receiver, cert_path


def _only_loopback(host: str, port: int) -> list[str]:
    assert host.endswith(".tiltas.test")
    return ["127.0.0.1"]


def test_https_delivery_connects_to_the_checked_address_and_verifies_the_name(
    tls_receiver: tuple[ReceiverServer, Path],
) -> None:
    receiver, cert_path = tls_receiver
    port = receiver.server_address[1]
    target = WebhookTarget("sub-1", f"https://hooks.tiltas.test:{port}/in", (SECRET_OLD,))
    trust = ssl.create_default_context(cafile=str(cert_path))

    with delivery_client(verify=trust) as tls_client:
        result = deliver(
            target, event(), client=tls_client, policy=LOCAL, now=T0, resolver=_only_loopback
        )

    assert result.outcome is AttemptOutcome.DELIVERED, result
    assert receiver.received[0].headers["Host"] == f"hooks.tiltas.test:{port}"


def test_https_certificate_for_another_name_fails(
    tls_receiver: tuple[ReceiverServer, Path],
) -> None:
    receiver, cert_path = tls_receiver
    port = receiver.server_address[1]
    target = WebhookTarget("sub-1", f"https://evil.tiltas.test:{port}/in", (SECRET_OLD,))
    trust = ssl.create_default_context(cafile=str(cert_path))

    with delivery_client(verify=trust) as tls_client:
        result = deliver(
            target, event(), client=tls_client, policy=LOCAL, now=T0, resolver=_only_loopback
        )

    assert result.outcome is AttemptOutcome.RETRY and result.error is AttemptError.CONNECT
    assert receiver.received == []


# --- delivery with httpx.MockTransport ----------------------------------------------------------


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return delivery_client(transport=httpx.MockTransport(handler))


def public_resolver(*answers: list[str]) -> Callable[[str, int], list[str]]:
    """Answers in turn, one list per call (a rebinding DNS server)."""
    calls = iter(answers)

    def resolve(host: str, port: int) -> list[str]:
        return next(calls)

    return resolve


def test_the_request_is_pinned_to_the_checked_address() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    target = WebhookTarget("sub-1", "https://hooks.example.org/in?token=abc", (SECRET_OLD,))
    # A rebinding DNS server: public when checked, internal on any later lookup.
    resolver = public_resolver([PUBLIC_IP], ["10.0.0.5"], ["127.0.0.1"])
    with mock_client(handler) as client:
        result = deliver(
            target, event(), client=client, policy=DeliveryPolicy(), now=T0, resolver=resolver
        )

    assert result.outcome is AttemptOutcome.DELIVERED and result.address == PUBLIC_IP
    [request] = seen
    assert request.url.host == PUBLIC_IP
    assert request.url.path == "/in" and request.url.query == b"token=abc"
    assert request.headers["Host"] == "hooks.example.org"
    assert request.extensions["sni_hostname"] == "hooks.example.org"
    assert request.headers["Connection"] == "close"


def test_the_next_checked_address_is_tried_when_one_refuses() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "2001:db8::1":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200)

    target = WebhookTarget("sub-1", "http://hooks.example.org:8080/", (SECRET_OLD,))
    resolver = public_resolver(["2606:4700::1111", PUBLIC_IP])
    attempts: list[str] = []

    def recording(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.host)
        if request.url.host == "2606:4700::1111":
            raise httpx.ConnectError("refused", request=request)
        return handler(request)

    with mock_client(recording) as client:
        result = deliver(
            target, event(), client=client, policy=DeliveryPolicy(), now=T0, resolver=resolver
        )

    assert attempts == ["2606:4700::1111", PUBLIC_IP]
    assert result.outcome is AttemptOutcome.DELIVERED and result.address == PUBLIC_IP


def _static(*addresses: str) -> Callable[[str, int], list[str]]:
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (httpx.ReadTimeout, AttemptError.TIMEOUT),
        (httpx.ConnectTimeout, AttemptError.TIMEOUT),
        (httpx.ConnectError, AttemptError.CONNECT),
        (httpx.RemoteProtocolError, AttemptError.NETWORK),
        (httpx.ReadError, AttemptError.NETWORK),
    ],
)
def test_network_failures_are_retried(
    failure: type[httpx.TransportError], kind: AttemptError
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure("boom with https://hooks.example.org/in?token=abc", request=request)

    target = WebhookTarget("sub-1", "https://hooks.example.org/in?token=abc", (SECRET_OLD,))
    with mock_client(handler) as client:
        result = deliver(
            target,
            event(),
            client=client,
            policy=DeliveryPolicy(),
            now=T0,
            resolver=_static(PUBLIC_IP),
        )

    assert result.outcome is AttemptOutcome.RETRY and result.error is kind
    assert result.detail == failure.__name__  # the exception text (with the URL) is not kept
    assert result.retry_at is not None and result.retry_at > result.finished_at


@pytest.mark.parametrize(
    ("status", "retried"),
    [(408, True), (429, True), (502, True), (301, False), (302, False), (403, False)],
)
def test_which_statuses_are_retried(status: int, retried: bool) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, headers={"Location": "http://127.0.0.1/"})

    target = WebhookTarget("sub-1", "https://hooks.example.org/in", (SECRET_OLD,))
    with mock_client(handler) as client:
        result = deliver(
            target,
            event(),
            client=client,
            policy=DeliveryPolicy(),
            now=T0,
            resolver=_static(PUBLIC_IP),
        )

    assert len(calls) == 1  # redirects are never followed
    assert result.status_code == status
    assert result.outcome is (AttemptOutcome.RETRY if retried else AttemptOutcome.FAILED)


@pytest.mark.parametrize(
    ("retry_after", "expected_s"),
    [("120", 120.0), ("999999", 600.0), ("Thu, 30 Apr 2026 09:05:00 GMT", 300.0)],
)
def test_retry_after_is_honoured_up_to_the_cap(retry_after: str, expected_s: float) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": retry_after})

    policy = DeliveryPolicy(retry=RetryPolicy(base_s=1, cap_s=600))
    target = WebhookTarget("sub-1", "https://hooks.example.org/in", (SECRET_OLD,))
    with mock_client(handler) as client:
        result = deliver(
            target, event(), client=client, policy=policy, now=T0, resolver=_static(PUBLIC_IP)
        )

    assert result.outcome is AttemptOutcome.RETRY and result.retry_at is not None
    waited = (result.retry_at - result.finished_at).total_seconds()
    assert waited == pytest.approx(expected_s, abs=1.0)


def test_a_short_retry_after_does_not_shorten_the_back_off() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "1"})

    policy = DeliveryPolicy(retry=RetryPolicy(base_s=100, cap_s=600))
    target = WebhookTarget("sub-1", "https://hooks.example.org/in", (SECRET_OLD,))
    with mock_client(handler) as client:
        result = deliver(
            target, event(), client=client, policy=policy, now=T0, resolver=_static(PUBLIC_IP)
        )

    assert result.retry_at is not None
    assert (result.retry_at - result.finished_at).total_seconds() >= 50


def test_parse_retry_after() -> None:
    assert parse_retry_after(None, T0) is None
    assert parse_retry_after("soon", T0) is None
    assert parse_retry_after(" 7 ", T0) == 7.0
    assert parse_retry_after("Thu, 30 Apr 2026 08:00:00 GMT", T0) == 0.0


def test_only_a_few_kib_of_the_answer_are_read() -> None:
    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        for index in range(10_000):
            produced.append(index)
            yield b"x" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    target = WebhookTarget("sub-1", "https://hooks.example.org/in", (SECRET_OLD,))
    with mock_client(handler) as client:
        result = deliver(
            target,
            event(),
            client=client,
            policy=DeliveryPolicy(),
            now=T0,
            resolver=_static(PUBLIC_IP),
        )

    assert result.outcome is AttemptOutcome.DELIVERED
    assert len(produced) <= 5


def test_dns_failure_is_retried_and_refused_target_is_final() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent")

    def no_answer(host: str, port: int) -> list[str]:
        raise OSError("temporary failure in name resolution")

    target = WebhookTarget("sub-1", "https://hooks.example.org/in", (SECRET_OLD,))
    with mock_client(handler) as client:
        dns = deliver(
            target, event(), client=client, policy=DeliveryPolicy(), now=T0, resolver=no_answer
        )
        refused = deliver(
            target,
            event(),
            client=client,
            policy=DeliveryPolicy(),
            now=T0,
            resolver=_static("169.254.169.254"),
        )

    assert dns.outcome is AttemptOutcome.RETRY and dns.error is AttemptError.DNS
    assert refused.outcome is AttemptOutcome.FAILED
    assert refused.error is AttemptError.TARGET_REFUSED and refused.detail == "link_local"


def test_no_secret_payload_or_url_in_logs_or_attempts(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text="echo: Jonaitis 39001010000")

    secret = "whsec_super-secret-value-42-xyz"
    target = WebhookTarget("sub-1", "https://hooks.example.org/in?token=t0ps3cr3t", (secret,))
    ev = event({"name": "Jonas Jonaitis", "personal_code": "39001010000"})
    caplog.set_level(logging.DEBUG, logger="tiltas.webhooks")
    with mock_client(handler) as client:
        results = [
            deliver(
                target,
                ev,
                client=client,
                policy=DeliveryPolicy(),
                now=T0,
                resolver=_static(PUBLIC_IP),
            ),
            deliver(
                target,
                ev,
                client=client,
                policy=DeliveryPolicy(),
                now=T0,
                resolver=_static("10.1.1.1"),
            ),
        ]

    assert caplog.records, "each attempt is logged"
    exposed = caplog.text + "".join(repr(r) for r in results) + repr(target) + repr(ev)
    for leak in (
        secret,
        "t0ps3cr3t",
        "Jonaitis",
        "39001010000",
        sign(secret, int(T0.timestamp()), ev.body),
    ):
        assert leak not in exposed


# --- signature verification in detail ----------------------------------------------------------


def signed(
    body: bytes, secrets: tuple[str, ...] = (SECRET_OLD,), at: dt.datetime = T0
) -> dict[str, str]:
    stamp = int(at.timestamp())
    return {HEADER_TIMESTAMP: str(stamp), HEADER_SIGNATURE: signature_header(secrets, stamp, body)}


def test_verify_returns_the_timestamp_and_ignores_header_case_and_unknown_schemes() -> None:
    headers = {k.lower(): v for k, v in signed(b"{}").items()}
    headers["tiltas-signature"] = "v0=legacy, " + headers["tiltas-signature"]
    assert verify_signature(SECRET_OLD, headers, b"{}", now=T0 + dt.timedelta(seconds=300)) == int(
        T0.timestamp()
    )


@pytest.mark.parametrize("missing", [HEADER_TIMESTAMP, HEADER_SIGNATURE])
def test_missing_header(missing: str) -> None:
    headers = signed(b"{}")
    del headers[missing]
    with pytest.raises(SignatureRejected) as raised:
        verify_signature(SECRET_OLD, headers, b"{}", now=T0)
    assert raised.value.reason is SignatureFailure.MISSING_HEADER
    assert raised.value.header == missing
    assert isinstance(raised.value, Unauthenticated)


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        (HEADER_TIMESTAMP, "2026-04-30T09:00:00Z", SignatureFailure.MALFORMED_HEADER),
        (HEADER_TIMESTAMP, "-1", SignatureFailure.MALFORMED_HEADER),
        (HEADER_TIMESTAMP, "１２３", SignatureFailure.MALFORMED_HEADER),
        (HEADER_SIGNATURE, "garbage", SignatureFailure.MALFORMED_HEADER),
        (HEADER_SIGNATURE, "v1=XYZ", SignatureFailure.MALFORMED_HEADER),
        (HEADER_SIGNATURE, ", ".join(["v1=" + "0" * 64] * 9), SignatureFailure.MALFORMED_HEADER),
        (HEADER_SIGNATURE, "v2=" + "0" * 64, SignatureFailure.UNSUPPORTED_SCHEME),
        (HEADER_SIGNATURE, "v1=" + "0" * 64, SignatureFailure.SIGNATURE_MISMATCH),
    ],
)
def test_bad_headers(header: str, value: str, reason: SignatureFailure) -> None:
    headers = signed(b"{}")
    headers[header] = value
    with pytest.raises(SignatureRejected) as raised:
        verify_signature(SECRET_OLD, headers, b"{}", now=T0)
    assert raised.value.reason is reason


def test_timestamp_window() -> None:
    body = b'{"a":1}'
    headers = signed(body)
    assert verify_signature(SECRET_OLD, headers, body, now=T0 - dt.timedelta(seconds=300))
    with pytest.raises(SignatureRejected) as future:
        verify_signature(SECRET_OLD, headers, body, now=T0 - dt.timedelta(seconds=301))
    assert future.value.reason is SignatureFailure.FUTURE_TIMESTAMP
    with pytest.raises(SignatureRejected) as stale:
        verify_signature(
            SECRET_OLD, headers, body, now=T0 + dt.timedelta(seconds=60), tolerance_s=30
        )
    assert stale.value.reason is SignatureFailure.STALE_TIMESTAMP


def test_a_moved_timestamp_breaks_the_signature() -> None:
    headers = signed(b"{}")
    headers[HEADER_TIMESTAMP] = str(int(T0.timestamp()) + 1)
    with pytest.raises(SignatureRejected) as raised:
        verify_signature(SECRET_OLD, headers, b"{}", now=T0)
    assert raised.value.reason is SignatureFailure.SIGNATURE_MISMATCH


def test_known_signature_vector() -> None:
    # HMAC-SHA256("whsec_old-secret-0123456789abcdef", "1777539600.{}") computed independently
    # with `printf '1777539600.{}' | openssl dgst -sha256 -hmac whsec_old-secret-0123456789abcdef`.
    assert int(T0.timestamp()) == 1777539600
    assert sign(SECRET_OLD, 1777539600, b"{}") == EXPECTED_VECTOR


EXPECTED_VECTOR = "7f439ccc8b84a9a2cfe7bf72fbd5ecc9d40972ebc1dbb971f6e04c154817bad6"


@pytest.mark.parametrize(
    "bad",
    [
        lambda: verify_signature("short", signed(b""), b"", now=T0),
        lambda: verify_signature((), signed(b""), b"", now=T0),
        lambda: verify_signature(SECRET_OLD, signed(b""), b"", now=dt.datetime(2026, 4, 30)),
        lambda: verify_signature(SECRET_OLD, signed(b""), b"", now=T0, tolerance_s=-1),
        lambda: WebhookTarget("sub 1", "https://x.example", (SECRET_OLD,)),
        lambda: WebhookTarget("sub-1", "https://x.example", ("short",)),
        lambda: WebhookTarget("sub-1", "https://x.example", SECRET_OLD),  # type: ignore[arg-type]
        lambda: WebhookEvent("e-1", "Deadline At Risk", T0, {}),
        lambda: WebhookEvent("e-1", "deadline.at_risk", dt.datetime(2026, 4, 30), {}),
        lambda: WebhookEvent("e-1", "deadline.at_risk", T0, {"when": dt.date(2026, 1, 1)}),
        lambda: WebhookEvent("e-1", "deadline.at_risk", T0, {"x": float("nan")}),
        lambda: RetryPolicy(max_attempts=0),
        lambda: RetryPolicy(base_s=10, cap_s=5),
        lambda: RetryPolicy(jitter=1.0),
        lambda: DeliveryPolicy(timeout_s=0),
        lambda: DeliveryPolicy(max_response_bytes=-1),
        lambda: next_attempt_delay(0),
        lambda: next_attempt_delay(True),
    ],
)
def test_bad_arguments_are_domain_errors(bad: Callable[[], object]) -> None:
    with pytest.raises(InvalidWebhookConfig) as raised:
        bad()
    assert isinstance(raised.value, InvalidInput) and raised.value.field


def test_event_body_is_deterministic_utf8_json() -> None:
    a = WebhookEvent("e-1", "deadline.overdue", T0, {"b": "žąsis", "a": [1, 2]})
    b = WebhookEvent(
        "e-1",
        "deadline.overdue",
        T0.astimezone(dt.timezone(dt.timedelta(hours=3))),
        {"a": [1, 2], "b": "žąsis"},
    )
    assert a.body == b.body
    assert (
        a.body
        == (
            '{"data":{"a":[1,2],"b":"žąsis"},"id":"e-1","occurred_at":"2026-04-30T09:00:00Z",'
            '"type":"deadline.overdue"}'
        ).encode()
    )


# --- SSRF guard -------------------------------------------------------------------------------


def never_called(host: str, port: int) -> list[str]:
    raise AssertionError(f"an IP literal must not be resolved: {host}")


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:8080/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://172.31.255.255/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link_local"),
        ("http://[fe80::1]/", "link_local"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[::ffff:169.254.169.254]/", "link_local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
        ("http://192.0.2.10/", "private"),
    ],
)
def test_forbidden_ip_literals(url: str, category: str) -> None:
    with pytest.raises(TargetRefused) as raised:
        check_target(url, resolver=never_called)
    assert raised.value.reason is TargetRefusal.FORBIDDEN_ADDRESS
    assert raised.value.category == category
    assert raised.value.address is not None
    assert raised.value.address not in raised.value.message
    assert isinstance(raised.value, TiltasError)


@pytest.mark.parametrize(
    "url", ["http://localhost:8080/", "http://LocalHost/x", "http://2130706433/", "http://127.1/"]
)
def test_names_resolving_to_loopback_with_the_system_resolver(url: str) -> None:
    with pytest.raises(TargetRefused) as raised:
        check_target(url)
    assert raised.value.category == "loopback"


def test_a_trailing_dot_does_not_get_through() -> None:
    # Whether "localhost." resolves depends on the machine's resolver; refused either way.
    with pytest.raises(TargetRefused) as raised:
        check_target("http://localhost./")
    assert raised.value.reason in (TargetRefusal.FORBIDDEN_ADDRESS, TargetRefusal.UNRESOLVABLE)


def test_a_name_with_any_private_address_is_refused() -> None:
    resolver = _static(PUBLIC_IP, "192.168.10.20")
    with pytest.raises(TargetRefused) as raised:
        check_target("https://dms.example.org/hooks", resolver=resolver)
    assert raised.value.reason is TargetRefusal.FORBIDDEN_ADDRESS
    assert raised.value.category == "private" and raised.value.address == "192.168.10.20"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.org/", TargetRefusal.SCHEME_NOT_ALLOWED),
        ("file:///etc/passwd", TargetRefusal.SCHEME_NOT_ALLOWED),
        ("gopher://hooks.example.org/", TargetRefusal.SCHEME_NOT_ALLOWED),
        ("https://user:pw@hooks.example.org/", TargetRefusal.USERINFO_NOT_ALLOWED),
        ("https://user@hooks.example.org/", TargetRefusal.USERINFO_NOT_ALLOWED),
        ("https:///path-only", TargetRefusal.MISSING_HOST),
        ("https://hooks.example.org:99999/", TargetRefusal.MALFORMED_URL),
        ("http://[::1/", TargetRefusal.MALFORMED_URL),
    ],
)
def test_refused_url_shapes(url: str, reason: TargetRefusal) -> None:
    with pytest.raises(TargetRefused) as raised:
        check_target(url, resolver=_static(PUBLIC_IP))
    assert raised.value.reason is reason


def test_unresolvable_names() -> None:
    def fails(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    for resolver in (fails, _static(), _static("not-an-ip")):
        with pytest.raises(TargetRefused) as raised:
            check_target("https://nowhere.example.org/", resolver=resolver)
        assert raised.value.reason is TargetRefusal.UNRESOLVABLE


def test_allowances() -> None:
    assert check_target("http://127.0.0.1:8000/", allow_loopback=True).addresses == (
        ipaddress.ip_address("127.0.0.1"),
    )
    assert check_target("http://[::ffff:127.0.0.1]/", allow_loopback=True).host_is_ip
    assert check_target("http://localhost/", allow_loopback=True, resolver=resolve_host).addresses
    assert check_target("http://10.0.0.7/", allow_private=True).addresses
    for url, allowance in [
        ("http://10.0.0.7/", {"allow_loopback": True}),
        ("http://127.0.0.1/", {"allow_private": True}),
        ("http://169.254.169.254/", {"allow_loopback": True, "allow_private": True}),
        ("http://0.0.0.0/", {"allow_loopback": True, "allow_private": True}),
        ("http://[fe80::1]/", {"allow_loopback": True, "allow_private": True}),
    ]:
        with pytest.raises(TargetRefused):
            check_target(url, **allowance)  # type: ignore[arg-type]


def test_a_public_target_passes_with_every_address() -> None:
    checked = check_target(
        "https://Bücher.example:8443/in?x=1",
        resolver=_static(PUBLIC_IP, "2606:4700::1111", PUBLIC_IP),
    )
    assert checked.host == "xn--bcher-kva.example" and checked.port == 8443
    assert [str(a) for a in checked.addresses] == [PUBLIC_IP, "2606:4700::1111"]
    assert checked.host_header == "xn--bcher-kva.example:8443"
    assert str(checked.pinned_url(checked.addresses[1])) == "https://[2606:4700::1111]:8443/in?x=1"


# --- back-off ---------------------------------------------------------------------------------


class Fixed(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@given(
    attempt=st.integers(min_value=1, max_value=2000),
    base=st.floats(min_value=0.1, max_value=600),
    cap_factor=st.floats(min_value=1, max_value=10_000),
    rng=st.randoms(use_true_random=False),
)
def test_back_off_is_positive_capped_and_bounded_by_its_jitter(
    attempt: int, base: float, cap_factor: float, rng: random.Random
) -> None:
    cap = base * cap_factor
    delay = next_attempt_delay(attempt, base_s=base, cap_s=cap, rng=rng)
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 256))
    assert 0 < ceiling / 2 <= delay <= ceiling <= cap


@given(
    attempt=st.integers(min_value=1, max_value=60),
    u1=st.floats(min_value=0, max_value=1, exclude_max=True),
    u2=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_back_off_grows_until_the_cap(attempt: int, u1: float, u2: float) -> None:
    base, cap = 30.0, 6 * 3600.0
    later = next_attempt_delay(attempt + 1, base_s=base, cap_s=cap, rng=Fixed(u1))
    now = next_attempt_delay(attempt, base_s=base, cap_s=cap, rng=Fixed(u2))
    if base * 2**attempt <= cap:
        assert later >= now  # whatever the jitter of either
    else:
        assert cap / 2 <= later <= cap
    assert next_attempt_delay(attempt + 1, base_s=base, cap_s=cap, rng=Fixed(u1)) >= (
        next_attempt_delay(attempt, base_s=base, cap_s=cap, rng=Fixed(u1))
    )


def test_back_off_sequence_without_jitter() -> None:
    policy = RetryPolicy(base_s=30, cap_s=300, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]
