"""A TSA answering garbage, and a TSA whose clock is far from ours, under a real ``tiltas serve``:
nothing is signed, the document records why, and signing resumes once the TSA is sound."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from signing.dev_pki import ensure_dev_pki
from tests.faults.fake_tsa import JUNK_KINDS, FakeTsa, fake_tsa
from tests.faults.stack import Stack, audit_entries, check_nothing_lost, running_stack
from tests.support.servers import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


def _refused_then_resumed(stack: Stack, tsa: FakeTsa, served: tuple[str, ...]) -> str:
    """Ask for a signature while the TSA is bad: the worker tries it (and retries) until the TSA
    served ``served`` kinds of bad answers; nothing is signed and the failure says why. Then
    the TSA is made honest and the retried task signs. Returns the failure's message."""
    created = stack.request_protocol(stack.open_case())
    document_id = str(created.json()["id"])
    generated = stack.wait_document(document_id, lambda d: d["status"] == "generated", 120)
    answer = stack.sign(document_id, 1)
    # The API waits TILTAS_DOCUMENT_WAIT_S for the signature, then answers with the document.
    assert answer.status_code == 202, answer.text
    wait_for(lambda: all(tsa.served[k] for k in served), 120, f"the TSA serving {served}")
    refused = stack.wait_document(document_id, lambda d: d["failure"] is not None, 30)
    assert refused["status"] == "generated" and refused["signatures"] == []
    assert refused["pdf_sha256"] == generated["pdf_sha256"], "nothing was signed"
    assert refused["failure"]["code"] == "timestamp_unavailable", refused["failure"]
    tsa.mode = "honest"
    signed = stack.wait_document(document_id, lambda d: len(d["signatures"]) == 1, 180)
    assert signed["failure"] is None and signed["pdf_sha256"] != generated["pdf_sha256"]
    message: str = refused["failure"]["message"]
    return message


@contextmanager
def _stack_with_fake_tsa(tmp_path: Path, database_url: str) -> Iterator[tuple[Stack, FakeTsa, int]]:
    """``tiltas serve`` signing with the fake TSA (honest for now); one protocol already made
    and signed; the audit entries so far."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with (
        fake_tsa(ensure_dev_pki(data_dir.resolve())) as tsa,
        # The API answers 202 after 3 s, with the document as it is.
        running_stack(
            data_dir, database_url, TILTAS_TSA_URLS=tsa.url, TILTAS_DOCUMENT_WAIT_S="3"
        ) as stack,
    ):
        stack.make_signed_protocol()
        yield stack, tsa, audit_entries(database_url)


def test_tsa_answering_garbage(tmp_path: Path, database_url: str) -> None:
    with _stack_with_fake_tsa(tmp_path, database_url) as (stack, tsa, entries):
        tsa.mode = "garbage"
        message = _refused_then_resumed(stack, tsa, JUNK_KINDS[:3])
        assert "not signed" in message, message
        report = check_nothing_lost(stack, audit_entries_before=entries)
        assert report.referenced >= 5  # two protocols: generated, signed once, twice; signed once


@pytest.mark.parametrize(
    "skew", [dt.timedelta(days=1), dt.timedelta(days=-1)], ids=["ahead", "behind"]
)
def test_tsa_clock_far_from_ours(tmp_path: Path, database_url: str, skew: dt.timedelta) -> None:
    """A token dated a day away from our clock is not evidence of when the document was signed
    (and one from the future fails LTA validation): refused like no answer at all."""
    with _stack_with_fake_tsa(tmp_path, database_url) as (stack, tsa, entries):
        tsa.mode, tsa.skew = "skewed", skew
        message = _refused_then_resumed(stack, tsa, ("skewed",))
        assert "clock" in message, message
        check_nothing_lost(stack, audit_entries_before=entries)
