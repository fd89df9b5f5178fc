"""The signing-certificate-v2 attribute is built once per key and is what pyHanko builds."""

from __future__ import annotations

import asyncio

from asn1crypto import x509
from pyhanko.sign import attributes
from pyhanko.sign.general import as_signing_certificate_v2

import signing.service  # noqa: F401 - installs the cache
from signing.dev_pki import DevPki
from signing.keys import load_certificates


def test_value_is_pyhankos_and_built_once_per_certificate(dev_pki: DevPki) -> None:
    certificates: list[x509.Certificate] = load_certificates(
        [dev_pki.root_cert_path, dev_pki.intermediate_cert_path]
    )
    for certificate in certificates:
        provider = attributes.SigningCertificateV2Provider(signing_cert=certificate)
        first = asyncio.run(provider.build_attr_value())
        second = asyncio.run(provider.build_attr_value())
        assert first is second
        assert first.dump() == as_signing_certificate_v2(certificate).dump()
    values = [
        asyncio.run(attributes.SigningCertificateV2Provider(c).build_attr_value())
        for c in certificates
    ]
    assert len({v.dump() for v in values}) == len(certificates)
