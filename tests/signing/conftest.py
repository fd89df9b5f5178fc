"""Fixtures: a development PKI with live TSA/OCSP responders, a signing service, PDF/A inputs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pikepdf
import pytest

from signing.config import (
    Pkcs12KeySource,
    SignerKeyConfig,
    SigningConfig,
    TimestampAuthority,
)
from signing.dev_pki import DEV_NOT_QUALIFIED_TEXT, DevPki, ensure_dev_pki
from signing.dev_responders import DevResponders
from signing.keys import load_certificates
from signing.service import SigningService
from signing.validation import DocumentValidation, async_validate_signed_pdf

ORGANISATION = "188000000"
# A loopback port nothing listens on: connecting fails at once.
DEAD_TSA_URL = "http://127.0.0.1:9/tsa"


@pytest.fixture(scope="session")
def dev_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return ensure_dev_pki(tmp_path_factory.mktemp("tiltas-data"))


@pytest.fixture(scope="session")
def responders(dev_pki: DevPki) -> Iterator[DevResponders]:
    with DevResponders(dev_pki) as running:
        yield running


def dev_key_configs(pki: DevPki) -> tuple[SignerKeyConfig, ...]:
    return tuple(
        SignerKeyConfig(
            organisation_code=ORGANISATION,
            role=label,
            source=Pkcs12KeySource(identity.pkcs12_path, pki.pkcs12_password),
            signer_name=identity.full_name,
            position=identity.position,
        )
        for label, identity in pki.signers.items()
    )


def dev_signing_config(pki: DevPki, authorities: tuple[TimestampAuthority, ...]) -> SigningConfig:
    return SigningConfig(
        timestamp_authorities=authorities,
        trust_roots=(pki.root_cert_path,),
        keys=dev_key_configs(pki),
        stamp_notice=DEV_NOT_QUALIFIED_TEXT,
    )


@pytest.fixture(scope="session")
def signing_service(dev_pki: DevPki, responders: DevResponders) -> Iterator[SigningService]:
    service = SigningService(dev_signing_config(dev_pki, (TimestampAuthority(responders.tsa_url),)))
    yield service
    service.close()


def make_pdfa(path: Path | None = None, title: str = "Komisijos posėdžio protokolas") -> bytes:
    """A one-page PDF identified as PDF/A-2b in its XMP (pdfaid), like the converter's output."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 16 Tf 72 760 Td (Protokolas K) Tj ET")
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["pdfaid:part"] = "2"
        meta["pdfaid:conformance"] = "B"
        meta["dc:title"] = title
    from io import BytesIO

    out = BytesIO()
    pdf.save(out)
    data = out.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


@pytest.fixture
def pdfa_bytes() -> bytes:
    return make_pdfa()


def validate(pdf: bytes, pki: DevPki) -> DocumentValidation:
    return asyncio.run(async_validate_signed_pdf(pdf, load_certificates([pki.root_cert_path])))


@pytest.fixture(scope="session")
def validator(dev_pki: DevPki) -> Callable[[bytes], DocumentValidation]:
    """Validate a signed PDF against the dev trust root, offline (DSS only)."""
    return lambda pdf: validate(pdf, dev_pki)


@pytest.fixture(scope="session")
def config_for(dev_pki: DevPki) -> Callable[..., SigningConfig]:
    """Build a dev SigningConfig with the given TSAs (URLs or TimestampAuthority objects)."""

    def build(*authorities: str | TimestampAuthority) -> SigningConfig:
        return dev_signing_config(
            dev_pki,
            tuple(
                a if isinstance(a, TimestampAuthority) else TimestampAuthority(a, timeout_seconds=3)
                for a in authorities
            ),
        )

    return build


@pytest.fixture(scope="session")
def pdfa_factory() -> Callable[..., bytes]:
    return make_pdfa
