"""A PKI of its own with a short-lived TSA, for archive renewal tests (certomancer).

Root 40 y, intermediate 30 y, signer 3 y, TSA "trumpa" whose certificate lives 2 years and
TSA "ilga" with 25 years, all from ``T0``, 13 years before the real clock. Tests freeze time
(freezegun, ticking) while signing and renewing, so the responders and pyHanko see one clock.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing.config import (
    Pkcs12KeySource,
    SignerKeyConfig,
    SigningConfig,
    TimestampAuthority,
)
from signing.service import SigningService

ORGANISATION = "188000000"
SIGNER_ROLE = "chair"

ARCH = "renewal-test"
# Signed 13 years ago (frozen clock), renewed 23 months later, verified at the real "now".
# pyHanko's LTA validation registers proofs of existence at the machine's real current time
# (POEManager without an override), so a far-future validation_time is not reliable: the
# "decades later" check runs at the real clock instead.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=365 * 13)
PASSWORD = b"slaptazodis"


@dataclass(frozen=True)
class ShortTsaPki:
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


def build_short_tsa_pki(directory: Path) -> ShortTsaPki:
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
    pki = ShortTsaPki(directory, port, directory / "root.cert.pem")
    arch = pki.load_architecture()
    from certomancer.registry import CertLabel

    pki.root_cert_path.write_bytes(arch.get_cert(CertLabel("root")).dump())
    (directory / "signer.p12").write_bytes(
        arch.package_pkcs12(CertLabel("signer"), password=PASSWORD)
    )
    return pki


def short_tsa_service(
    pki: ShortTsaPki, tsa_label: str, *, tsa_url: str | None = None
) -> SigningService:
    """A signing service whose TSA is ``tsa_label`` (or any ``tsa_url``, e.g. a dead one)."""
    url = tsa_url or pki.tsa_url(tsa_label)
    return SigningService(
        SigningConfig(
            timestamp_authorities=(TimestampAuthority(url, timeout_seconds=5),),
            trust_roots=(pki.root_cert_path,),
            keys=(
                SignerKeyConfig(
                    organisation_code=ORGANISATION,
                    role=SIGNER_ROLE,
                    source=Pkcs12KeySource(pki.directory / "signer.p12", PASSWORD),
                    signer_name="Rasa Kazlauskienė",
                    position="Komisijos pirmininkė",
                ),
            ),
        )
    )
