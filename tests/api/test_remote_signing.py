"""Remote signing through the API: the official's key stays on the card; the service prepares,
the card signs the challenge, any process completes the document to B-LTA."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import update

from signing.dev_pki import ensure_dev_pki
from signing.keys import load_certificates
from signing.validation import async_validate_signed_pdf
from tests.support.documents import running_worker
from tests.support.factories import World, protocols
from tiltas.access import Role
from tiltas.db import transaction
from tiltas.models import RemoteSigningSession
from tiltas.settings import Settings

pytestmark = pytest.mark.redis

CHAIR, SECRETARY = "rasa-kazlauskiene", "jonas-petrauskas"


@pytest.fixture
def settings(document_settings: Settings) -> Settings:
    return document_settings


class Card:
    """A signing card: the key never leaves it; it signs what it is given."""

    def __init__(self, dev_pki_root: Path, label: str) -> None:
        pki = ensure_dev_pki(dev_pki_root)
        key, cert, chain = pkcs12.load_key_and_certificates(
            pki.signers[label].pkcs12_path.read_bytes(), pki.pkcs12_password
        )
        assert isinstance(key, ec.EllipticCurvePrivateKey) and cert is not None
        self._key = key
        der = serialization.Encoding.DER
        self.certificate = base64.b64encode(cert.public_bytes(der)).decode()
        self.chain = [base64.b64encode(c.public_bytes(der)).decode() for c in chain]

    def sign(self, challenge: dict[str, Any]) -> str:
        signed_attributes = base64.b64decode(challenge["signed_attributes"])
        value = self._key.sign(signed_attributes, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(value).decode()


def _protocol(world: World) -> tuple[dict[str, str], str]:
    """Protocol K whose chair and secretary are the development PKI's sample officials."""
    commission, [body] = protocols(world)
    body["envelope"]["signers"][0]["full_name"] = "Rasa Kazlauskienė"
    body["envelope"]["signers"][1]["full_name"] = "Jonas Petrauskas"
    document = world.client.post("/v1/documents", json=body, headers=commission).json()
    assert document["status"] == "generated", document
    return commission, str(document["id"])


def _prepare(
    world: World, headers: dict[str, str], document_id: str, card: Card, **extra: Any
) -> Any:
    return world.client.post(
        f"/v1/documents/{document_id}/remote-signatures",
        json={"certificate": card.certificate, "chain": card.chain, **extra},
        headers=headers,
    )


def _complete(
    world: World, headers: dict[str, str], document_id: str, session_id: str, value: str
) -> Any:
    return world.client.post(
        f"/v1/documents/{document_id}/remote-signatures/{session_id}/completion",
        json={"signature_value": value},
        headers=headers,
    )


def test_card_signature_prepared_by_one_worker_completed_by_another(
    world: World, settings: Settings, dev_pki_root: Path
) -> None:
    chair = Card(dev_pki_root, CHAIR)
    with running_worker(settings):
        commission, document_id = _protocol(world)
        prepared = _prepare(world, commission, document_id, chair)
    assert prepared.status_code == 201, prepared.text
    session = prepared.json()
    assert session["status"] == "prepared" and session["signer"] == 1
    challenge = session["challenge"]
    assert challenge["digest_algorithm"] == "sha256"
    assert challenge["signature_algorithm"] == "ecdsa"
    assert len(base64.b64decode(challenge["digest"])) == 32
    value = chair.sign(challenge)

    # A second worker: its own signing service, nothing shared with the first but the
    # database and the document store.
    other = settings.model_copy(update={"document_wait_s": 89.0})
    with running_worker(other):
        done = _complete(world, commission, document_id, session["id"], value)
        assert done.status_code == 200, done.text
        signed = done.json()
        assert [s["index"] for s in signed["signatures"]] == [1]
        assert signed["signatures"][0]["signer_name"] == "Rasa Kazlauskienė"
        assert signed["next_signer"] == 2

        replay = _complete(world, commission, document_id, session["id"], value)
        assert replay.status_code == 409 and replay.json()["reason"] == "replayed"
        read = world.client.get(
            f"/v1/documents/{document_id}/remote-signatures/{session['id']}", headers=commission
        ).json()
        assert read["status"] == "completed" and read["completed_at"]

        # The secretary signs with the service-held key: both signatures reach B-LTA.
        second = world.client.post(
            f"/v1/documents/{document_id}/signatures", json={}, headers=commission
        )
        assert second.status_code == 200, second.text
    pdf = world.client.get(f"/v1/documents/{document_id}/pdf", headers=commission).content
    roots = load_certificates([ensure_dev_pki(dev_pki_root).root_cert_path])
    validation = asyncio.run(async_validate_signed_pdf(pdf, roots))
    assert [s.name for s in validation.signatures] == ["Rasa Kazlauskienė", "Jonas Petrauskas"]
    assert validation.reaches_lta


def test_refused_completions_change_nothing(
    world: World, settings: Settings, dev_pki_root: Path
) -> None:
    chair, secretary = Card(dev_pki_root, CHAIR), Card(dev_pki_root, SECRETARY)
    with running_worker(settings):
        commission, document_id = _protocol(world)

        not_the_signer = _prepare(world, commission, document_id, secretary)
        assert not_the_signer.status_code == 422
        assert not_the_signer.json()["errors"][0]["code"] == "certificate_not_of_signer"
        garbage = _prepare(world, commission, document_id, chair, chain=["bm90IGEgY2VydA=="])
        assert garbage.status_code == 422 and garbage.json()["errors"][0]["field"] == "chain.0"
        out_of_order = _prepare(world, commission, document_id, secretary, signer=2)
        assert out_of_order.status_code == 409 and out_of_order.json()["next_signer"] == 1
        foreign = world.orgs["commission_2"].auth(Role.commission)
        assert _prepare(world, foreign, document_id, chair).status_code == 404

        session = _prepare(world, commission, document_id, chair).json()
        before = world.client.get(f"/v1/documents/{document_id}", headers=commission).json()

        mismatch = _complete(
            world, commission, document_id, session["id"], secretary.sign(session["challenge"])
        )
        assert mismatch.status_code == 422 and mismatch.json()["reason"] == "mismatch"
        not_base64 = _complete(world, commission, document_id, session["id"], "%%%")
        assert not_base64.status_code == 422
        unknown = _complete(
            world, commission, document_id, "no-such-session", chair.sign(session["challenge"])
        )
        assert unknown.status_code == 404
        after = world.client.get(f"/v1/documents/{document_id}", headers=commission).json()
        assert (after["version"], after["pdf_sha256"]) == (before["version"], before["pdf_sha256"])

        # Expired: the session is refused as stale even with a right value.
        expired = _prepare(world, commission, document_id, chair).json()
        database = world.client.app.state.database  # type: ignore[attr-defined]
        with transaction(database.sessions) as db:
            db.execute(
                update(RemoteSigningSession)
                .where(RemoteSigningSession.public_id == expired["id"])
                .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
            )
        stale = _complete(
            world, commission, document_id, expired["id"], chair.sign(expired["challenge"])
        )
        assert stale.status_code == 409 and stale.json()["reason"] == "stale"

        # The chair signs with the service-held key meanwhile: the open session is now stale.
        assert (
            world.client.post(
                f"/v1/documents/{document_id}/signatures", json={}, headers=commission
            ).status_code
            == 200
        )
        late = _complete(
            world, commission, document_id, session["id"], chair.sign(session["challenge"])
        )
        assert late.status_code == 409 and late.json()["reason"] == "stale"
    signed = world.client.get(f"/v1/documents/{document_id}", headers=commission).json()
    assert [s["index"] for s in signed["signatures"]] == [1]
