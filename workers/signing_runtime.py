"""The signing service of a worker process, built once from Settings.

Production: the TSAs of ``TILTAS_TSA_URLS`` and the keys of ``TILTAS_SIGNING_KEYS_FILE``,
one per organisation and signing role. Development: the development PKI's keys (marked not
qualified) stand in for every organisation, and its local TSA unless TSAs are configured.
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from signing.config import Pkcs12KeySource, SignerKeyConfig, SigningConfig, TimestampAuthority
from signing.dev_pki import DEV_NOT_QUALIFIED_TEXT, DevPki, ensure_dev_pki
from signing.key_file import load_key_file
from signing.keys import ConfiguredSigner
from signing.service import SigningService
from tiltas.settings import Settings

DEV_ORGANISATION = "dev"

# [design] Development only: which sample identity of the development PKI signs for an
# envelope signer's role. Real keys come from the key file, per organisation and role.
DEV_IDENTITY_BY_ROLE = {
    "commission_chair": "rasa-kazlauskiene",
    "commission_secretary": "jonas-petrauskas",
    "preparatory_probation_officer": "egle-vaitkiene",
    "em_probation_officer": "egle-vaitkiene",
    "municipality_official": "egle-vaitkiene",
    "social_worker": "egle-vaitkiene",
}
DEV_DEFAULT_IDENTITY = "tomas-jankauskas"


@dataclass(frozen=True)
class SigningRuntime:
    service: SigningService
    development: bool

    seal_label: str = ""

    def signer_for(self, organisation_code: str, signer_role: str) -> ConfiguredSigner:
        if self.development:
            if signer_role == "e-seal":
                return self.service.signer_for(DEV_ORGANISATION, self.seal_label)
            label = DEV_IDENTITY_BY_ROLE.get(signer_role, DEV_DEFAULT_IDENTITY)
            return self.service.signer_for(DEV_ORGANISATION, label)
        return self.service.signer_for(organisation_code, signer_role)


def dev_pki_for(settings: Settings) -> DevPki:
    return ensure_dev_pki(settings.resolved_dev_pki_dir)


@cache
def _runtime(settings: Settings) -> SigningRuntime:
    if settings.uses_dev_pki:
        pki = dev_pki_for(settings)
        keys = tuple(
            SignerKeyConfig(
                organisation_code=DEV_ORGANISATION,
                role=label,
                source=Pkcs12KeySource(identity.pkcs12_path, pki.pkcs12_password),
                signer_name=identity.full_name,
                position=identity.position,
            )
            for label, identity in pki.signers.items()
        )
        roots: tuple[Path, ...] = (pki.root_cert_path,)
        tsa_urls = settings.tsa_urls or (pki.tsa_url,)
        notice: str | None = DEV_NOT_QUALIFIED_TEXT
    else:
        assert settings.signing_keys_file is not None
        key_file = load_key_file(settings.signing_keys_file)
        keys, roots, tsa_urls, notice = key_file.keys, key_file.trust_roots, settings.tsa_urls, None
    config = SigningConfig(
        timestamp_authorities=tuple(TimestampAuthority(url) for url in tsa_urls),
        trust_roots=roots,
        keys=keys,
        stamp_notice=notice,
    )
    seal_label = dev_pki_for(settings).institution_seal_label if settings.uses_dev_pki else ""
    service = SigningService(config)
    atexit.register(service.close)
    return SigningRuntime(service, settings.uses_dev_pki, seal_label)


def signing_runtime_for(settings: Settings) -> SigningRuntime:
    return _runtime(settings)
