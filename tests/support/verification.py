"""Signed documents for the verification tests: a protocol K signed through the API, a
client whose verifier workers are closed, and a byte flipped under every signature."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.documents import running_worker
from tests.support.factories import World, protocols
from tests.support.servers import RedisServer
from tiltas.settings import Settings


@contextmanager
def verification_client(settings: Settings) -> Iterator[TestClient]:
    # The app's lifespan closes the verifier's worker processes.
    with TestClient(create_app(settings)) as client:
        yield client


def signed_protocol(world: World) -> tuple[dict[str, str], str]:
    """Document K of a care case, generated and signed by chair then secretary (B-LTA) through
    the API; returns the commission's headers and the document id."""
    commission, [body] = protocols(world)
    created = world.client.post("/v1/documents", json=body, headers=commission).json()
    assert created["status"] == "generated", created
    for signer in (1, 2):
        signed = world.client.post(
            f"/v1/documents/{created['id']}/signatures", json={"signer": signer}, headers=commission
        )
        assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "signed", signed.json()
    return commission, str(created["id"])


def signed_protocol_pdf(settings: Settings) -> bytes:
    with verification_client(settings) as client, running_worker(settings):
        world = World.build(client)
        commission, document_id = signed_protocol(world)
        return client.get(f"/v1/documents/{document_id}/pdf", headers=commission).content


def module_settings(
    tmp_path: Path,
    sqlite_template: Path,
    redis_server: RedisServer,
    converter_profiles: Path,
    dev_pki_root: Path,
) -> Settings:
    database = tmp_path / "tiltas.sqlite3"
    shutil.copyfile(sqlite_template, database)
    return Settings(
        dev_pki_dir=dev_pki_root,
        database_url=f"sqlite:///{database}",
        data_dir=tmp_path / "data",
        broker_url=redis_server.url,
        converter_profile_dir=converter_profiles,
        document_wait_s=90,
        max_body_bytes=1_048_576,
    )


def flip_signed_byte(pdf: bytes) -> bytes:
    """Flip one byte that every signature's /ByteRange covers: a byte of the binary comment
    on the PDF's second line, which changes no object, only the signed bytes' hash."""
    byte_ranges = [
        tuple(int(n) for n in match.groups())
        for match in re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    ]
    assert byte_ranges, "not a signed PDF"
    offset = pdf.index(b"\n%", 0, 64) + 2
    assert pdf[offset] >= 0x80, "expected the binary comment after the header"
    assert all(start <= offset < start + length for start, length, _, _ in byte_ranges)
    return pdf[:offset] + bytes([pdf[offset] ^ 0x01]) + pdf[offset + 1 :]
