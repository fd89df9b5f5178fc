"""Configuration value objects of the signing package (frozen; secrets kept out of ``repr``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "NOTO_SANS_PATH",
    "Pkcs11KeySource",
    "Pkcs12KeySource",
    "SignatureFieldSpec",
    "SignatureRequest",
    "SignerKeyConfig",
    "SigningConfig",
    "TimestampAuthority",
]

# Noto Sans has unitsPerEm = 1000: pyHanko draws its glyph widths right (DejaVu/Liberation,
# 2048 units, come out about twice too wide) and it covers ą č ę ė į š ų ū ž.
NOTO_SANS_PATH = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")


@dataclass(frozen=True)
class TimestampAuthority:
    """One RFC 3161 time-stamping authority reached over HTTP(S)."""

    url: str
    """Endpoint that accepts ``application/timestamp-query`` POSTs."""
    username: str | None = None
    """HTTP basic-auth user, if the TSA requires it."""
    password: str | None = field(default=None, repr=False)
    """HTTP basic-auth password."""
    policy_oid: str | None = None
    """TSA policy to request (``reqPolicy``); a token under another policy is refused."""
    timeout_seconds: float = 10.0
    """Whole-request timeout; after it the next TSA of the list is tried."""
    max_clock_skew_seconds: float = 60.0
    """A token whose time is further than this from our clock is refused: one of the two
    clocks is wrong, and the token would date the signature wrongly (one from the future also
    fails LTA validation, NO_POE). Qualified TSAs keep UTC to within a second."""


@dataclass(frozen=True)
class Pkcs12KeySource:
    """A key and certificate chain in a PKCS#12 (.p12/.pfx) file."""

    path: Path
    password: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Pkcs11KeySource:
    """A key on a PKCS#11 token (HSM, smart card, SoftHSM2 in tests)."""

    module_path: str
    """PKCS#11 library, e.g. ``/usr/lib/softhsm/libsofthsm2.so``."""
    token_label: str
    user_pin: str = field(repr=False)
    key_label: str | None = None
    """Label of the private key; defaults to ``cert_label``."""
    cert_label: str | None = None
    """Label of the signer's certificate on the token; defaults to ``key_label``."""
    chain_paths: tuple[Path, ...] = ()
    """Issuer certificates (PEM/DER) not stored on the token."""


@dataclass(frozen=True)
class SignerKeyConfig:
    """The key one organisation uses for one signing role (loaded once, then cached)."""

    organisation_code: str
    """Legal code (juridinio asmens kodas) of the organisation that owns the key."""
    role: str
    """Signing role id within the organisation, e.g. ``commission-chair``, ``e-seal``."""
    source: Pkcs12KeySource | Pkcs11KeySource
    signer_name: str
    """Name written to /Name and the stamp, e.g. "Rasa Kazlauskienė"."""
    position: str
    """Position (pareigos) written on the stamp and as the CAdES claimed role."""

    @property
    def key_id(self) -> str:
        return f"{self.organisation_code}/{self.role}"


@dataclass(frozen=True)
class SigningConfig:
    """Everything a :class:`~signing.service.SigningService` needs; read once at start-up."""

    timestamp_authorities: tuple[TimestampAuthority, ...]
    """Tried in order; if none answers, nothing is signed."""
    trust_roots: tuple[Path, ...]
    """Trust anchors (PEM/DER) for the signer, TSA and OCSP chains."""
    keys: tuple[SignerKeyConfig, ...] = ()
    stamp_font_path: Path = NOTO_SANS_PATH
    """TrueType font for the visible stamp; must have unitsPerEm = 1000 (see NOTO_SANS_PATH)."""
    stamp_notice: str | None = None
    """Extra last line on every stamp, e.g. "Nekvalifikuotas – tik bandymams" for the dev PKI."""
    signature_bytes_reserved: int = 32_768
    """Hex characters reserved for each CMS signature (skips pyHanko's dry-run estimate)."""
    revocation_refresh_fraction: float = 0.5
    """Refetch OCSP/CRL once this fraction of their remaining validity has passed."""
    revocation_max_age_seconds: float = 3600.0
    """Refetch after this age when a response has no nextUpdate."""
    local_timezone: str = "Europe/Vilnius"
    """Zone of the signing time printed on the stamp."""

    def __post_init__(self) -> None:
        if not self.timestamp_authorities:
            raise ValueError("at least one timestamp authority must be configured")
        if not 0.0 < self.revocation_refresh_fraction <= 1.0:
            raise ValueError("revocation_refresh_fraction must be in (0, 1]")


@dataclass(frozen=True)
class SignatureFieldSpec:
    """A signature field to create before the first signature (page index from 0)."""

    name: str
    page: int = 0
    box: tuple[int, int, int, int] | None = None
    """(x1, y1, x2, y2) in PDF points; ``None`` makes an invisible signature."""


@dataclass(frozen=True)
class SignatureRequest:
    """What one signature says: field, reason and the signer's role (PDF-LT Level A)."""

    field_name: str
    reason: str
    """/Reason, e.g. "Komisijos posėdžio protokolo tvirtinimas"."""
    role: str | None = None
    """Signer's role; defaults to the key's position. Goes to /Reason and the CAdES claimed role."""
    location: str | None = None
    new_field: SignatureFieldSpec | None = None
    """Create the field while signing; only allowed when the PDF has no signature yet."""
    signature_image_png: bytes | None = field(default=None, repr=False)
    """Hand-written signature (signature pad) drawn inside this signature's box."""
