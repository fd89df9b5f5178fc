"""Build each signer's signing-certificate-v2 attribute once, not per signature.

Measured here (bench/bench_signing.py): pyHanko builds the ESS signing-certificate-v2 value
(RFC 5035: certificate hash, issuer name, serial) from Python values for every signature,
and asn1crypto re-encodes a value built that way on every ``dump()``; pyHanko dumps the
signed attributes several times per signature, ~10 ms each with our issuer names. That was
about a third of the signing CPU per document.

:func:`install` makes pyHanko's provider return, per certificate, one value parsed from its
DER, whose dumps cost nothing. The value is the same bytes pyHanko would produce.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import tsp
from pyhanko.sign import attributes
from pyhanko.sign.general import as_signing_certificate_v2

__all__ = ["install"]

_values: dict[bytes, tsp.SigningCertificateV2] = {}
_installed = False


async def _build_attr_value(self: Any, dry_run: bool = False) -> tsp.SigningCertificateV2:
    certificate = self.signing_cert
    key: bytes = certificate.sha256
    value = _values.get(key)
    if value is None:
        built = as_signing_certificate_v2(certificate)
        value = _values.setdefault(key, tsp.SigningCertificateV2.load(built.dump()))
    return value


def install() -> None:
    """Idempotent; called when ``signing.service`` is imported."""
    global _installed
    if not _installed:
        attributes.SigningCertificateV2Provider.build_attr_value = _build_attr_value  # type: ignore[method-assign]
        _installed = True
