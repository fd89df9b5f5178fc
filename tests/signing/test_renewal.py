"""Archive renewal with a short-lived TSA: renewed in time it validates decades later, else not.

A test PKI of its own (certomancer): root 40 y, intermediate 30 y, signer 3 y, TSA "trumpa"
whose certificate lives 2 years and TSA "ilga" with 25 years. Time is frozen (freezegun, ticking)
while signing and renewing, so the responders and pyHanko all see the same clock.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from freezegun import freeze_time
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from signing.config import (
    Pkcs12KeySource,
    SignatureFieldSpec,
    SignatureRequest,
    SignerKeyConfig,
    SigningConfig,
    TimestampAuthority,
)
from signing.dev_pki import DevPki
from signing.dev_responders import DevResponders
from signing.errors import RenewalRefused
from signing.keys import load_certificates
from signing.renewal import renew_archive_timestamp
from signing.service import SigningService
from signing.verification import (
    Indication,
    LtvLevel,
    VerificationPolicy,
    Verifier,
    verify_pdf_in_process,
)

ARCH = "renewal-test"
# Signed 13 years ago (frozen clock), renewed 23 months later, verified at the real "now".
# pyHanko's LTA validation registers proofs of existence at the machine's real current time
# (POEManager without an override), so a far-future validation_time is not reliable: the
# "decades later" check runs at the real clock instead.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=365 * 13)
PASSWORD = b"slaptazodis"


@dataclass(frozen=True)
class _ShortTsaPki:
    """Duck-types the parts of DevPki that DevResponders uses."""

    directory: Path
    responder_port: int
    root_cert_path: Path

    def load_architecture(self) -> Any:
        from certomancer.registry import ArchLabel, CertomancerConfig

        config = CertomancerConfig.from_file(
            str(self.directory / "certomancer.yml"), key_search_dir=str(self.directory)
        )
        return config.get_pki_arch(ArchLabel(ARCH))

    def tsa_url(self, label: str) -> str:
        return f"http://127.0.0.1:{self.responder_port}/{ARCH}/tsa/{label}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _build_pki(directory: Path) -> _ShortTsaPki:
    port = _free_port()
    labels = ["root", "interm", "ocsp-root", "ocsp-interm", "tsa-short", "tsa-long", "signer"]
    (directory / "keys").mkdir(parents=True)
    for label in labels:
        key = ec.generate_private_key(ec.SECP256R1())
        (directory / "keys" / f"{label}.key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    def validity(years: int) -> dict[str, str]:
        return {
            "valid-from": (T0 - timedelta(days=1)).isoformat(),
            "valid-to": (T0 + timedelta(days=365 * years)).isoformat(),
        }

    def aia(issuer: str) -> dict[str, Any]:
        return {
            "id": "authority_information_access",
            "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": [issuer]}},
        }

    def usage(*names: str) -> dict[str, Any]:
        return {
            "id": "key_usage",
            "critical": True,
            "smart-value": {"schema": "key-usage", "params": list(names)},
        }

    ca = [
        {"id": "basic_constraints", "critical": True, "value": {"ca": True}},
        usage("digital_signature", "key_cert_sign", "crl_sign"),
    ]
    tsa_ext = [
        usage("digital_signature"),
        {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
        aia("interm"),
    ]
    ocsp_ext = [
        usage("digital_signature"),
        {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
        {"id": "ocsp_no_check"},
    ]
    certs = {
        "root": {"subject": "root", "issuer": "root", "validity": validity(40), "extensions": ca},
        "interm": {"issuer": "root", "validity": validity(30), "extensions": [*ca, aia("root")]},
        "ocsp-root": {"issuer": "root", "validity": validity(30), "extensions": ocsp_ext},
        "ocsp-interm": {"issuer": "interm", "validity": validity(30), "extensions": ocsp_ext},
        "tsa-short": {"issuer": "interm", "validity": validity(2), "extensions": tsa_ext},
        "tsa-long": {"issuer": "interm", "validity": validity(25), "extensions": tsa_ext},
        "signer": {
            "issuer": "interm",
            "validity": validity(3),
            "extensions": [usage("digital_signature", "non_repudiation"), aia("interm")],
        },
    }
    config = {
        "external-url-prefix": f"http://127.0.0.1:{port}",
        "keysets": {
            ARCH: {
                "path-prefix": "keys",
                "keys": {label: {"path": f"{label}.key.pem"} for label in labels},
            }
        },
        "pki-architectures": {
            ARCH: {
                "keyset": ARCH,
                "entity-defaults": {"country-name": "LT", "organization-name": "Archyvo bandymai"},
                "entities": {
                    "root": {"common-name": "Bandomoji šakninė CA"},
                    "interm": {"common-name": "Bandomoji tarpinė CA"},
                    "ocsp-root": {"common-name": "OCSP šakninė"},
                    "ocsp-interm": {"common-name": "OCSP tarpinė"},
                    "tsa-short": {"common-name": "Trumpaamžė laiko žymų tarnyba"},
                    "tsa-long": {"common-name": "Ilgaamžė laiko žymų tarnyba"},
                    "signer": {"common-name": "Rasa Kazlauskienė"},
                },
                "certs": certs,
                "services": {
                    "ocsp": {
                        "root": {
                            "for-issuer": "root",
                            "responder-cert": "ocsp-root",
                            "validity-period": {"hours": 1},
                        },
                        "interm": {
                            "for-issuer": "interm",
                            "responder-cert": "ocsp-interm",
                            "validity-period": {"hours": 1},
                        },
                    },
                    "time-stamping": {
                        "trumpa": {"signing-cert": "tsa-short", "certs-to-embed": ["interm"]},
                        "ilga": {"signing-cert": "tsa-long", "certs-to-embed": ["interm"]},
                    },
                },
            }
        },
    }
    (directory / "certomancer.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    pki = _ShortTsaPki(directory, port, directory / "root.cert.pem")
    arch = pki.load_architecture()
    from certomancer.registry import CertLabel

    pki.root_cert_path.write_bytes(arch.get_cert(CertLabel("root")).dump())
    (directory / "signer.p12").write_bytes(
        arch.package_pkcs12(CertLabel("signer"), password=PASSWORD)
    )
    return pki


def _service(pki: _ShortTsaPki, tsa_label: str) -> SigningService:
    return SigningService(
        SigningConfig(
            timestamp_authorities=(TimestampAuthority(pki.tsa_url(tsa_label), timeout_seconds=5),),
            trust_roots=(pki.root_cert_path,),
            keys=(
                SignerKeyConfig(
                    organisation_code="188000000",
                    role="chair",
                    source=Pkcs12KeySource(pki.directory / "signer.p12", PASSWORD),
                    signer_name="Rasa Kazlauskienė",
                    position="Komisijos pirmininkė",
                ),
            ),
        )
    )


@dataclass(frozen=True)
class _Archive:
    pki: _ShortTsaPki
    original: bytes
    renewed: bytes


@pytest.fixture(scope="module")
def short_tsa_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_ShortTsaPki]:
    pki = _build_pki(tmp_path_factory.mktemp("short-tsa"))
    with DevResponders(cast(DevPki, pki)):
        yield pki


@pytest.fixture(scope="module")
def archive(short_tsa_pki: _ShortTsaPki, pdfa_factory: Any) -> _Archive:
    pki = short_tsa_pki
    with freeze_time(T0, tick=True), _service(pki, "trumpa") as service:
        original = service.sign_pades(
            pdfa_factory(),
            service.signer_for("188000000", "chair"),
            SignatureRequest(
                "parasas", "Tvirtinu", new_field=SignatureFieldSpec("parasas", 0, None)
            ),
        )
    policy = VerificationPolicy.from_files([pki.root_cert_path])
    # 23 months later: within the 180-day margin of the 2-year TSA certificate
    with freeze_time(T0 + timedelta(days=700), tick=True), _service(pki, "ilga") as service:
        renewed = renew_archive_timestamp(original, service, policy)
    assert renewed.new_expiry is not None
    assert renewed.previous_expiry < renewed.new_expiry
    return _Archive(pki, original, renewed.pdf)


@pytest.fixture(scope="module")
def verifier() -> Iterator[Verifier]:
    with Verifier() as running:
        yield running


def _policy(archive: _Archive, moment: datetime | None) -> VerificationPolicy:
    return VerificationPolicy.from_files([archive.pki.root_cert_path], validation_time=moment)


def test_renewed_document_still_validates_decades_later(
    archive: _Archive, verifier: Verifier
) -> None:
    # now = T0 + 13 years: the short TSA and the signer certificates expired long ago
    later = datetime.now(UTC)
    report = verifier.verify(archive.renewed, _policy(archive, None))
    assert report.indication is Indication.TOTAL_PASSED, report.to_json()
    signature = report.signatures[0]
    assert signature.ltv_level is LtvLevel.B_LTA
    # proven to exist at signing time, through the expired first timestamp
    assert signature.best_signature_time is not None
    assert signature.best_signature_time < T0 + timedelta(days=1)
    assert len(report.document_timestamps) == 2
    assert report.archive_timestamp_expires is not None
    assert report.archive_timestamp_expires > later
    assert not report.renewal_needed
    assert archive.renewed.startswith(archive.original)  # incremental: the old version inside


def test_a_bare_timestamp_without_fresh_revocation_data_does_not_survive(
    archive: _Archive, verifier: Verifier
) -> None:
    # What the renewal adds before its timestamp matters: a second document timestamp alone
    # (no fresh OCSP for the first TSA's chain) leaves the first one unprovable once expired.
    async def timestamp_only(service: SigningService) -> bytes:
        async with aiohttp.ClientSession() as session:
            context = ValidationContext(
                trust_roots=load_certificates([archive.pki.root_cert_path]),
                allow_fetching=True,
                fetcher_backend=AIOHttpFetcherBackend(session),
            )
            output = await PdfTimeStamper(service.timestampers[0]).async_timestamp_pdf(
                IncrementalPdfFileWriter(BytesIO(archive.original)),
                "sha256",
                validation_context=context,
                in_place=True,
            )
        return bytes(output.getvalue())

    with freeze_time(T0 + timedelta(days=700), tick=True), _service(archive.pki, "ilga") as service:
        bare = service.run(timestamp_only(service))
    report = verifier.verify(bare, _policy(archive, None))
    assert len(report.document_timestamps) == 2
    assert report.document_timestamps[-1].indication is Indication.TOTAL_PASSED
    assert report.indication is not Indication.TOTAL_PASSED
    assert report.signatures[0].sub_indication == "NO_POE"


def test_document_not_renewed_fails_after_tsa_expiry(archive: _Archive, verifier: Verifier) -> None:
    report = verifier.verify(archive.original, _policy(archive, None))
    assert report.indication is not Indication.TOTAL_PASSED
    assert report.renewal_needed


@pytest.mark.parametrize(
    ("version", "day"),
    # the renewed version exists from day 700 on; the short TSA expires on day 730
    [("original", 400), ("original", 710), ("renewed", 710)],
)
def test_both_validate_before_the_short_tsa_expires(
    archive: _Archive, version: str, day: int
) -> None:
    # pyHanko takes proofs of existence at the machine clock: freeze it, verify in-process
    policy = VerificationPolicy.from_files([archive.pki.root_cert_path])
    pdf = archive.original if version == "original" else archive.renewed
    with freeze_time(T0 + timedelta(days=day), tick=True):
        report = asyncio.run(verify_pdf_in_process(pdf, policy))
    assert report.indication is Indication.TOTAL_PASSED, report.to_json()
    assert report.signatures[0].ltv_level is LtvLevel.B_LTA
    assert report.signatures[0].timestamp_time is not None


def test_renewal_not_due_is_refused(archive: _Archive) -> None:
    policy = VerificationPolicy.from_files([archive.pki.root_cert_path])
    with (
        freeze_time(T0 + timedelta(days=30), tick=True),
        _service(archive.pki, "ilga") as service,
        pytest.raises(RenewalRefused) as caught,
    ):
        renew_archive_timestamp(archive.original, service, policy)
    assert caught.value.reason == "not_due"


def test_renewal_after_expiry_is_refused(archive: _Archive) -> None:
    policy = VerificationPolicy.from_files([archive.pki.root_cert_path])
    with (
        freeze_time(T0 + timedelta(days=365 * 2 + 30), tick=True),
        _service(archive.pki, "ilga") as service,
        pytest.raises(RenewalRefused) as caught,
    ):
        renew_archive_timestamp(archive.original, service, policy)
    assert caught.value.reason == "chain_invalid"
    assert caught.value.indication is not None


def test_revocation_freshness_must_stay_below_the_renewal_margin(archive: _Archive) -> None:
    with pytest.raises(ValueError, match="revocation_freshness"):
        replace(_policy(archive, None), revocation_freshness=timedelta(days=200))


def test_replace_policy_margin_changes_due_date(archive: _Archive, verifier: Verifier) -> None:
    policy = replace(_policy(archive, T0 + timedelta(days=10)), renewal_margin=timedelta(days=730))
    report = verifier.verify(archive.original, policy)
    assert report.renewal_needed
