"""E-signatures: PAdES B-LTA signing, keys, timestamps, validation, development PKI.

Light imports only here (configuration and errors); the pyHanko-backed parts load on use:

- ``signing.service``: ``SigningService`` (sign_pades, async_sign_pades)
- ``signing.signature_fields``: ``prepare_signature_fields``, ``add_signature_fields``
- ``signing.remote``: ``RemoteSigning`` (prepare -> complete)
- ``signing.acknowledgement``: ``place_signature_image``
- ``signing.validation``: ``async_validate_signed_pdf``
- ``signing.dev_pki`` / ``signing.dev_responders``: ``ensure_dev_pki``, ``DevResponders``
"""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

from signing.config import (
    NOTO_SANS_PATH,
    Pkcs11KeySource,
    Pkcs12KeySource,
    SignatureFieldSpec,
    SignatureRequest,
    SignerKeyConfig,
    SigningConfig,
    TimestampAuthority,
)
from signing.errors import (
    DevPkiError,
    InvalidDocument,
    KeyUnavailable,
    RemoteSigningRefused,
    RevocationUnavailable,
    SignatureFieldError,
    SigningError,
    TimestampAttempt,
    TimestampUnavailable,
)

# cryptography 51 deprecates DSA, which pyHanko and certomancer import on load (we use none):
# without this every command and worker start printed the warning.
warnings.filterwarnings("ignore", "DSA is deprecated", CryptographyDeprecationWarning)

__all__ = [
    "NOTO_SANS_PATH",
    "DevPkiError",
    "InvalidDocument",
    "KeyUnavailable",
    "Pkcs11KeySource",
    "Pkcs12KeySource",
    "RemoteSigningRefused",
    "RevocationUnavailable",
    "SignatureFieldError",
    "SignatureFieldSpec",
    "SignatureRequest",
    "SignerKeyConfig",
    "SigningConfig",
    "SigningError",
    "TimestampAttempt",
    "TimestampAuthority",
    "TimestampUnavailable",
]
