"""Validate a signed PDF with pyHanko: every signature, its modification level, and B-LTA.

Used by tests and as the base of the archivist's report. Revocation data comes only from the
document (DSS) — no fetching — so a pass means the document is self-contained (LTV).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

__all__ = ["DocumentValidation", "SignatureCheck", "async_validate_signed_pdf"]


@dataclass(frozen=True)
class SignatureCheck:
    """Outcome for one approval signature."""

    field_name: str
    signer_subject: str
    sub_filter: str | None
    reason: str | None
    name: str | None
    signing_time_entry: str | None
    """The raw /M entry."""
    intact: bool
    valid: bool
    trusted: bool
    modification_level: str | None
    """pyHanko ModificationLevel name of later changes (NONE, LTA_UPDATES, FORM_FILLING...)."""
    docmdp_ok: bool | None
    signature_timestamp: datetime | None
    ades_indication: str
    """AdES LTA sub-indication name; ``OK`` when passed."""

    @property
    def passed(self) -> bool:
        return (
            self.intact
            and self.valid
            and self.trusted
            and self.docmdp_ok is not False
            and self.modification_level
            in {
                ModificationLevel.NONE.name,
                ModificationLevel.LTA_UPDATES.name,
                ModificationLevel.FORM_FILLING.name,
            }
            and self.ades_indication == "OK"
        )


@dataclass(frozen=True)
class DocumentValidation:
    signatures: tuple[SignatureCheck, ...]
    document_timestamps: int
    has_dss: bool
    certification_signature_present: bool

    @property
    def reaches_lta(self) -> bool:
        """Every signature passes AdES LTA, with a DSS and at least one document timestamp."""
        return (
            bool(self.signatures)
            and self.has_dss
            and self.document_timestamps > 0
            and all(check.passed for check in self.signatures)
        )


async def async_validate_signed_pdf(
    pdf: bytes, trust_roots: Iterable[x509.Certificate]
) -> DocumentValidation:
    roots = list(trust_roots)
    reader = PdfFileReader(BytesIO(pdf))
    lta_spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=roots),
                revinfo_policy=CertRevTrustPolicy(revocation_checking_policy=REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(
                online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY
            ),
        )
    )
    checks: list[SignatureCheck] = []
    certification_present = False
    for embedded in reader.embedded_regular_signatures:
        sig_object = embedded.sig_object
        if embedded.docmdp_level is not None and "/Reference" in sig_object:
            certification_present = True
        context = _dss_validation_context(reader, roots)
        status = await async_validate_pdf_signature(
            embedded, signer_validation_context=context, ts_validation_context=context
        )
        lta = await ades_lta_validation(embedded, lta_spec)
        level = status.modification_level
        timestamp_status = status.timestamp_validity
        checks.append(
            SignatureCheck(
                field_name=embedded.field_name,
                signer_subject=status.signing_cert.subject.human_friendly,
                sub_filter=_name_or_none(sig_object.get("/SubFilter")),
                reason=_text_or_none(sig_object.get("/Reason")),
                name=_text_or_none(sig_object.get("/Name")),
                signing_time_entry=_text_or_none(sig_object.get("/M")),
                intact=status.intact,
                valid=status.valid,
                trusted=status.trusted,
                modification_level=level.name if level is not None else None,
                docmdp_ok=status.docmdp_ok,
                signature_timestamp=(
                    timestamp_status.timestamp if timestamp_status is not None else None
                ),
                ades_indication=str(getattr(lta.ades_subindic, "name", lta.ades_subindic)),
            )
        )
    root = reader.root
    return DocumentValidation(
        signatures=tuple(checks),
        document_timestamps=len(reader.embedded_timestamp_signatures),
        has_dss="/DSS" in root,
        certification_signature_present=certification_present or "/Perms" in root,
    )


def _dss_validation_context(
    reader: PdfFileReader, roots: list[x509.Certificate]
) -> ValidationContext:
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    dss = DocumentSecurityStore.read_dss(reader)
    return dss.as_validation_context(
        {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "hard-fail"}
    )


def _name_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


def _text_or_none(value: object) -> str | None:
    return str(value) if value is not None else None
