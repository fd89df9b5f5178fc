"""The scheduled archive renewal on a real database, file store and TSAs, with frozen time.

Documents signed at T0 by TSA "trumpa" (certificate valid 2 years) or TSA "ilga" (25 years);
the job renews with "ilga" and a 365-day margin (tests.support.short_tsa_pki).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, cast

import pikepdf
import pytest
from freezegun import freeze_time
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signing import renewal
from signing.config import SignatureFieldSpec, SignatureRequest
from signing.dev_pki import DevPki
from signing.dev_responders import DevResponders
from signing.verification import Indication, LtvLevel, VerificationPolicy, verify_pdf_in_process
from tests.support.short_tsa_pki import (
    ORGANISATION,
    SIGNER_ROLE,
    T0,
    ShortTsaPki,
    build_short_tsa_pki,
    short_tsa_service,
)
from tiltas.db import make_engine, make_sessionmaker, transaction
from tiltas.messaging import ARCHIVE_RENEW, celery_config
from tiltas.models import ArchiveTimestampExpiry, Document, Organisation
from tiltas.settings import Settings
from tiltas.storage import FileStore
from workers import archive_renewal
from workers.archive_renewal import ArchiveRenewal, RenewalRun
from workers.signing_runtime import SigningRuntime

MARGIN = timedelta(days=365)
SIGNER_NAME = "Rasa Kazlauskienė"
TITLE = "Komisijos nutarimas dėl lygtinio paleidimo"


def _blank_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    out = BytesIO()
    pdf.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class _Signed:
    pki: ShortTsaPki
    short_tsa: bytes
    """Signed at T0 with the 2-year TSA: renewal due from day 365, too late after day 730."""
    long_tsa: bytes
    """Signed at T0 with the 25-year TSA: not due for decades."""


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Signed]:
    pki = build_short_tsa_pki(tmp_path_factory.mktemp("short-tsa"))
    with DevResponders(cast(DevPki, pki)):
        made: dict[str, bytes] = {}
        for label in ("trumpa", "ilga"):
            with freeze_time(T0, tick=True), short_tsa_service(pki, label) as service:
                made[label] = service.sign_pades(
                    _blank_pdf(),
                    service.signer_for(ORGANISATION, SIGNER_ROLE),
                    SignatureRequest(
                        "parasas-1",
                        f"{TITLE}: pasirašo {SIGNER_NAME}",
                        new_field=SignatureFieldSpec("parasas-1", 0, None),
                    ),
                )
        yield _Signed(pki, made["trumpa"], made["ilga"])


@dataclass(frozen=True)
class _Archive:
    sessions: sessionmaker[Session]
    store: FileStore
    pki: ShortTsaPki

    def add(self, pdf: bytes) -> str:
        public_id = str(uuid.uuid4())
        sha256 = self.store.put(pdf)
        with transaction(self.sessions) as session:
            author = session.scalar(select(Organisation))
            assert author is not None
            session.add(
                Document(
                    public_id=public_id, type_id="A", author_organisation_id=author.id,
                    status="signed", envelope={"title": TITLE}, data={},
                    input_sha256="0" * 64, template_version="0" * 64,
                    pdf_sha256=sha256, pdf_size=len(pdf), signed_at=T0,
                    signatures=[{"index": 1, "signer_name": SIGNER_NAME, "pdf_sha256": sha256}],
                )
            )  # fmt: skip
        return public_id

    def document(self, public_id: str) -> Document:
        with transaction(self.sessions) as session:
            document = session.scalar(select(Document).where(Document.public_id == public_id))
            assert document is not None
            return document

    def run(self, day: int, *, tsa_url: str | None = None, **options: Any) -> RenewalRun:
        with (
            freeze_time(T0 + timedelta(days=day), tick=True),
            short_tsa_service(self.pki, "ilga", tsa_url=tsa_url) as service,
        ):
            job = ArchiveRenewal(self.sessions, self.store, SigningRuntime(service, False), MARGIN)
            return job.run(**options)


@pytest.fixture
def archive(signed: _Signed, database_url: str, tmp_path: Path) -> Iterator[_Archive]:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        session.add(
            Organisation(
                code="188000011", name="Alytaus pataisos namai", kind="correctional_institution",
                address="Pramonės g. 3, Alytus", email="info@apn.lt",
            )
        )  # fmt: skip
    yield _Archive(sessions, FileStore(tmp_path / "documents"), signed.pki)
    engine.dispose()


def test_due_document_is_renewed_and_the_previous_version_kept(
    archive: _Archive, signed: _Signed
) -> None:
    due = archive.add(signed.short_tsa)
    later = archive.add(signed.long_tsa)

    run = archive.run(day=700)

    assert (run.checked, run.due, run.renewed, run.refused) == (2, 1, 1, 0)
    document = archive.document(due)
    previous = hashlib_of(signed.short_tsa)
    assert document.pdf_history[-1] == previous
    assert archive.store.get(previous) == signed.short_tsa
    renewed = archive.store.get(document.pdf_sha256 or "")
    assert renewed.startswith(signed.short_tsa)  # incremental: the signed bytes unchanged
    assert document.pdf_size == len(renewed)
    (entry,) = document.renewals
    assert entry["outcome"] == "renewed"
    assert entry["reason"] == "tsa_certificate_expiring"
    assert entry["previous_sha256"] == previous
    assert entry["new_sha256"] == document.pdf_sha256
    assert entry["tsa_url"] == archive.pki.tsa_url("ilga")
    assert datetime.fromisoformat(entry["at"]) >= T0 + timedelta(days=700)
    assert datetime.fromisoformat(entry["tsa_expires"]) > T0 + timedelta(days=365 * 20)
    untouched = archive.document(later)
    assert untouched.renewals == [] and untouched.pdf_sha256 == hashlib_of(signed.long_tsa)

    # what the renewal is for: the document still verifies after the first TSA expired
    report = asyncio.run(
        verify_pdf_in_process(renewed, VerificationPolicy.from_files([archive.pki.root_cert_path]))
    )
    assert report.indication is Indication.TOTAL_PASSED, report.to_json()
    assert report.signatures[0].ltv_level is LtvLevel.B_LTA


def test_a_second_run_changes_nothing(archive: _Archive, signed: _Signed) -> None:
    public_id = archive.add(signed.short_tsa)
    archive.run(day=700)
    first = archive.document(public_id)

    again = archive.run(day=701)

    assert (again.due, again.renewed, again.refused) == (0, 0, 0)
    document = archive.document(public_id)
    assert document.version == first.version
    assert document.renewals == first.renewals


def test_dry_run_verifies_but_changes_nothing(archive: _Archive, signed: _Signed) -> None:
    public_id = archive.add(signed.short_tsa)

    run = archive.run(day=700, dry_run=True)

    assert (run.due, run.renewed, run.refused) == (1, 1, 0)
    assert "would renew 1" in run.summary()
    document = archive.document(public_id)
    assert document.pdf_sha256 == hashlib_of(signed.short_tsa)
    assert document.renewals == [] and document.pdf_history == []


def test_not_due_before_the_margin(archive: _Archive, signed: _Signed) -> None:
    archive.add(signed.short_tsa)
    run = archive.run(day=300)  # the TSA certificate expires on day 730; margin 365 days
    assert (run.checked, run.due, run.renewed) == (1, 0, 0)


def test_each_version_is_read_once_and_later_runs_ask_the_database(
    archive: _Archive, signed: _Signed, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive.add(signed.long_tsa)
    short_id = archive.add(signed.short_tsa)
    opened: list[int] = []
    read_expiry = renewal.last_archive_timestamp_expiry

    def counting(pdf: bytes) -> datetime | None:
        opened.append(len(pdf))
        return read_expiry(pdf)

    monkeypatch.setattr(archive_renewal, "last_archive_timestamp_expiry", counting)
    first = archive.run(day=300)
    assert len(opened) == 2 and (first.checked, first.due) == (2, 0)
    with transaction(archive.sessions) as session:
        kept = {
            row.pdf_sha256: row.tsa_expires
            for row in session.scalars(select(ArchiveTimestampExpiry))
        }
    assert kept == {
        hashlib_of(pdf): read_expiry(pdf) for pdf in (signed.long_tsa, signed.short_tsa)
    }
    # a new job (a new process, the command line) reads no PDF: the database knows
    again = archive.run(day=301)
    assert len(opened) == 2 and (again.checked, again.due) == (2, 0)
    due = archive.run(day=700, dry_run=True)
    assert len(opened) == 2 and (due.checked, due.due, due.renewed) == (2, 1, 1)
    # a renewal records its new version's expiry: the next run reads nothing either
    assert archive.run(day=700).renewed == 1
    renewed = archive.document(short_id).pdf_sha256
    assert renewed != hashlib_of(signed.short_tsa)
    after = archive.run(day=701)
    assert len(opened) == 2 and (after.checked, after.due) == (2, 0)
    with transaction(archive.sessions) as session:
        kept_now = {row.pdf_sha256 for row in session.scalars(select(ArchiveTimestampExpiry))}
    assert kept_now == {*kept, renewed}


def test_too_late_is_refused_and_alerted_once(
    archive: _Archive, signed: _Signed, caplog: pytest.LogCaptureFixture
) -> None:
    public_id = archive.add(signed.short_tsa)

    with caplog.at_level(logging.WARNING, logger="tiltas.archive"):
        run = archive.run(day=740)  # the first TSA certificate expired on day 730

    assert (run.due, run.renewed, run.refused) == (1, 0, 1)
    document = archive.document(public_id)
    assert document.pdf_sha256 == hashlib_of(signed.short_tsa)  # nothing added
    (entry,) = document.renewals
    assert entry["outcome"] == "refused" and entry["reason"] == "chain_invalid"
    assert entry["indication"].startswith("INDETERMINATE")
    assert document.failure is not None
    assert document.failure["code"] == "archive_renewal_refused"
    alerts = [r.getMessage() for r in caplog.records if r.name == "tiltas.archive"]
    assert any(public_id in alert and "REFUSED" in alert for alert in alerts)
    assert not any(SIGNER_NAME in alert or TITLE in alert for alert in alerts)

    again = archive.run(day=741)
    assert again.refused == 1  # still alerted
    assert len(archive.document(public_id).renewals) == 1  # recorded once


def test_no_tsa_answering_changes_nothing(archive: _Archive, signed: _Signed) -> None:
    public_id = archive.add(signed.short_tsa)
    run = archive.run(day=700, tsa_url="http://127.0.0.1:9/tsa")  # nothing listens there
    assert (run.due, run.renewed, run.unavailable) == (1, 0, 1)
    document = archive.document(public_id)
    assert document.pdf_sha256 == hashlib_of(signed.short_tsa) and document.renewals == []


def test_a_missing_stored_file_is_reported_not_fatal(archive: _Archive, signed: _Signed) -> None:
    gone = archive.add(signed.short_tsa)
    archive.store.path_for(hashlib_of(signed.short_tsa)).unlink()
    present = archive.add(signed.long_tsa)
    run = archive.run(day=700)
    assert (run.checked, run.unreadable, run.renewed) == (2, 1, 0)
    assert archive.document(gone).renewals == [] and archive.document(present).renewals == []


def test_runs_daily_from_beat(tmp_path: Path) -> None:
    schedule = celery_config(Settings(data_dir=tmp_path))["beat_schedule"]
    (entry,) = [e for e in schedule.values() if e["task"] == ARCHIVE_RENEW]
    assert entry["schedule"] == 24 * 3600


def hashlib_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
