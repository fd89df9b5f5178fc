"""Documents of a case: who may ask for which, what they were built from, and their state.

A request is stored first (``requested``) and produced by a worker (render → convert →
check → store); the record then holds the template version, a hash of the input and when
it was generated. A document that failed a check is ``failed`` with the reason: it never
gets a stored PDF.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from tiltas import audit
from tiltas.access import (
    CASELESS_DOCUMENTS,
    DOCUMENT_AUTHORS,
    DOCUMENT_SECTION,
    may_read_document,
)
from tiltas.apikeys import Principal
from tiltas.errors import FieldProblem, Forbidden, InvalidInput, NotFound, TiltasError
from tiltas.models import Case, CaseParticipant, Document, Organisation, TemplateVersion, utcnow


class DocumentStatus(StrEnum):
    requested = "requested"
    generated = "generated"
    signed = "signed"
    failed = "failed"
    cancelled = "cancelled"
    """Asked for in a batch that was cancelled before the document was made."""


class DocumentNotReady(TiltasError):
    code = "document_not_ready"

    def __init__(self, public_id: str, status: str) -> None:
        super().__init__(f"document {public_id} has no PDF yet (status: {status})")
        self.status = status


def input_sha256(envelope: dict[str, Any], data: dict[str, Any]) -> str:
    canonical = json.dumps(
        {"envelope": envelope, "data": data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _visible_case(session: Session, principal: Principal, case_public_id: str) -> Case:
    case = session.scalar(
        select(Case).where(
            Case.public_id == case_public_id,
            exists().where(
                CaseParticipant.case_id == Case.id,
                CaseParticipant.organisation_id == principal.organisation_id,
            ),
        )
    )
    if case is None:
        raise InvalidInput(
            [FieldProblem("case_id", "no such case among your organisation's", "unknown")]
        )
    return case


def check_may_author(principal: Principal, type_id: str, case_public_id: str | None) -> None:
    if principal.role not in DOCUMENT_AUTHORS[type_id]:
        raise Forbidden(f"role {principal.role.value} may not ask for document {type_id}")
    if case_public_id is None and type_id not in CASELESS_DOCUMENTS:
        raise InvalidInput(
            [FieldProblem("case_id", f"document {type_id} belongs to a case", "required")]
        )


def subject_of(
    session: Session, principal: Principal, case_public_id: str
) -> tuple[Case, dict[str, Any]]:
    """The case and its subject as a document's envelope prints it."""
    from tiltas.municipalities import all_municipalities

    case = _visible_case(session, principal, case_public_id)
    subject = case.subject
    institution = session.scalar(
        select(Organisation).where(Organisation.code == case.institution_code)
    )
    residence = subject.get("intended_residence")
    printed: dict[str, Any] = {
        "full_name": f"{subject['first_name']} {subject['last_name']}",
        "personal_code": subject.get("personal_code"),
        "birth_date": subject.get("birth_date"),
        "institution": institution.name if institution else case.institution_code,
        "possible_release_date": subject.get("possible_release_date"),
        "intended_residence": (
            {
                "address": residence["address"],
                "municipality": all_municipalities()[residence["municipality"]].name,
            }
            if residence
            else None
        ),
    }
    return case, printed


def author_of(session: Session, principal: Principal) -> dict[str, Any]:
    organisation = session.get_one(Organisation, principal.organisation_id)
    return {
        "name": organisation.name,
        "code": organisation.code,
        "address": organisation.address,
        "email": organisation.email,
    }


@dataclass
class RequestLookups:
    """What the documents asked for in one transaction share, looked up once: the author,
    each case with its printed subject, each type's template in use. A batch of 200 ran these
    queries for every item. Nothing here changes within the transaction that asks."""

    session: Session
    principal: Principal
    _author: dict[str, Any] | None = None
    _subjects: dict[str, tuple[Case, dict[str, Any]]] = field(default_factory=dict)
    _templates: dict[str, str | None] = field(default_factory=dict)

    def author(self) -> dict[str, Any]:
        if self._author is None:
            self._author = author_of(self.session, self.principal)
        return self._author

    def subject(self, case_public_id: str) -> tuple[Case, dict[str, Any]]:
        """As :func:`subject_of`; an unknown case raises every time (nothing is kept)."""
        if case_public_id not in self._subjects:
            self._subjects[case_public_id] = subject_of(
                self.session, self.principal, case_public_id
            )
        return self._subjects[case_public_id]

    def active_template(self, type_id: str) -> str | None:
        if type_id not in self._templates:
            self._templates[type_id] = active_template(self.session, type_id)
        return self._templates[type_id]


def request_document(
    session: Session,
    principal: Principal,
    type_id: str,
    case: Case | None,
    envelope: dict[str, Any],
    data: dict[str, Any],
    template_version: str,
) -> Document:
    now = utcnow()
    document = Document(
        public_id=str(uuid.uuid4()),
        type_id=type_id,
        case_id=case.id if case else None,
        author_organisation_id=principal.organisation_id,
        status=DocumentStatus.requested.value,
        version=1,
        created_at=now,
        updated_at=now,
        envelope=envelope,
        data=data,
        input_sha256=input_sha256(envelope, data),
        template_version=template_version,
    )
    session.add(document)
    session.flush()
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.create,
        "document",
        document.public_id,
        case_id=case.public_id if case else None,
        detail={"type": type_id},
    )
    return document


def visible_documents(principal: Principal) -> Select[Document]:
    readable = [t for t in DOCUMENT_SECTION if may_read_document(principal.role, t)]
    in_own_case = exists().where(
        CaseParticipant.case_id == Document.case_id,
        CaseParticipant.organisation_id == principal.organisation_id,
    )
    own_caseless = (Document.case_id.is_(None)) & (
        Document.author_organisation_id == principal.organisation_id
    )
    return select(Document).where(Document.type_id.in_(readable), or_(in_own_case, own_caseless))


def read_document(
    session: Session, principal: Principal, public_id: str, *, purpose: str
) -> Document:
    document = session.scalar(visible_documents(principal).where(Document.public_id == public_id))
    if document is None:
        raise NotFound(f"no document {public_id}")
    audit.record(
        session,
        principal.actor,
        audit.AuditAction.read,
        "document",
        document.public_id,
        case_id=case_public_id(session, document),
        detail={"type": document.type_id, "part": purpose},
    )
    return document


def case_public_id(session: Session, document: Document) -> str | None:
    if document.case_id is None:
        return None
    return session.scalar(select(Case.public_id).where(Case.id == document.case_id))


def list_case_documents(
    session: Session, principal: Principal, case_public_id: str
) -> list[Document]:
    try:
        case = _visible_case(session, principal, case_public_id)
    except InvalidInput:
        # Here the case is the request's path, not a field of its body.
        raise NotFound(f"no case {case_public_id}") from None
    documents = list(
        session.scalars(
            visible_documents(principal).where(Document.case_id == case.id).order_by(Document.id)
        )
    )
    for document in documents:
        audit.record(
            session,
            principal.actor,
            audit.AuditAction.read,
            "document",
            document.public_id,
            case_id=case.public_id,
            detail={"type": document.type_id, "part": "metadata", "via": "list"},
        )
    return documents


def by_public_id(session: Session, public_id: str) -> Document:
    document = session.scalar(select(Document).where(Document.public_id == public_id))
    if document is None:
        raise NotFound(f"no document {public_id}")
    return document


def load_for_generation(session: Session, public_id: str) -> Document | None:
    return session.scalar(select(Document).where(Document.public_id == public_id).with_for_update())


def mark_generated(document: Document, pdf_sha256: str, pdf_size: int, at: dt.datetime) -> None:
    document.status = DocumentStatus.generated.value
    document.pdf_sha256 = pdf_sha256
    document.pdf_size = pdf_size
    document.generated_at = at
    document.failure = None
    document.version += 1
    document.updated_at = at


def mark_failed(document: Document, code: str, message: str) -> None:
    document.status = DocumentStatus.failed.value
    document.failure = {"code": code, "message": message}
    document.version += 1
    document.updated_at = utcnow()


# ---------------------------------------------------------------- template versions


def active_template(session: Session, type_id: str) -> str | None:
    """SHA-256 of the uploaded template in use, or None for the one the service ships."""
    return session.scalar(
        select(TemplateVersion.sha256).where(
            TemplateVersion.type_id == type_id, TemplateVersion.active
        )
    )


def add_template_version(
    session: Session, type_id: str, sha256: str, uploaded_by: str
) -> TemplateVersion:
    """Record an uploaded (already checked) template and make it the one in use."""
    for version in session.scalars(
        select(TemplateVersion).where(TemplateVersion.type_id == type_id)
    ):
        version.active = False
    existing = session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.type_id == type_id, TemplateVersion.sha256 == sha256
        )
    )
    if existing is None:
        existing = TemplateVersion(type_id=type_id, sha256=sha256, uploaded_by=uploaded_by)
        session.add(existing)
    existing.active = True
    session.flush()
    return existing


def template_versions(session: Session, type_id: str) -> list[TemplateVersion]:
    return list(
        session.scalars(
            select(TemplateVersion)
            .where(TemplateVersion.type_id == type_id)
            .order_by(TemplateVersion.id)
        )
    )


# ---------------------------------------------------------------- signatures


class SigningOutOfOrder(TiltasError):
    code = "signing_out_of_order"

    def __init__(self, message: str, next_signer: int | None) -> None:
        super().__init__(message)
        self.next_signer = next_signer


CONVICT_ROLE = "convict"
"""Convicts sign by hand (DOMAIN.md §8); their acknowledgement is not a PAdES signature."""


def signature_field_name(index: int) -> str:
    return f"parasas-{index}"


def official_signers(envelope: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The envelope's signers who sign electronically, with their 1-based position."""
    return [
        (index, signer)
        for index, signer in enumerate(envelope.get("signers", []), start=1)
        if signer.get("role") != CONVICT_ROLE
    ]


def next_signer(document: Document) -> int | None:
    done = {s["index"] for s in document.signatures}
    return next((i for i, _ in official_signers(document.envelope) if i not in done), None)


def is_author(principal: Principal, document: Document) -> bool:
    """The caller is of the organisation that wrote the document, in a role that writes it:
    who signs it, records its acknowledgement and how it travels."""
    return (
        principal.organisation_id == document.author_organisation_id
        and principal.role in DOCUMENT_AUTHORS[document.type_id]
    )


def check_may_sign(principal: Principal, document: Document, index: int) -> None:
    if not is_author(principal, document):
        raise Forbidden("only the author organisation's officials sign this document")
    if document.status == DocumentStatus.requested:
        raise DocumentNotReady(document.public_id, document.status)
    expected = next_signer(document)
    if expected is None:
        raise SigningOutOfOrder("every signer has already signed this document", None)
    if index != expected:
        raise SigningOutOfOrder(f"signers sign in order: next is signer {expected}", expected)


def record_signature(
    document: Document, index: int, signer_name: str, role: str, pdf_sha256: str, pdf_size: int
) -> None:
    now = utcnow()
    document.pdf_history = [*document.pdf_history, document.pdf_sha256 or ""]
    document.signatures = [
        *document.signatures,
        {
            "index": index,
            "field": signature_field_name(index),
            "signer_name": signer_name,
            "role": role,
            "signed_at": now.isoformat(),
            "pdf_sha256": pdf_sha256,
        },
    ]
    document.pdf_sha256 = pdf_sha256
    document.pdf_size = pdf_size
    document.failure = None
    if next_signer(document) is None:
        document.status = DocumentStatus.signed.value
        document.signed_at = now
    document.version += 1
    document.updated_at = now


def record_step_failure(document: Document, code: str, message: str) -> None:
    """A failed signing attempt: recorded, the document itself unchanged."""
    document.failure = {"code": code, "message": message[:500]}
    document.version += 1
    document.updated_at = utcnow()


# ---------------------------------------------------------------- convicts' acknowledgements


class AcknowledgementKind(StrEnum):
    signature_pad = "signature_pad"
    """A signature-pad image placed in the convict's box before the officer signs."""
    paper_scan = "paper_scan"
    """A scan of the paper the convict signed by hand, stored beside the document and sealed."""


ACKNOWLEDGED_DOCUMENTS = frozenset({"E", "F", "L"})


class AcknowledgementRefused(TiltasError):
    code = "acknowledgement_refused"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def convict_position(envelope: dict[str, Any]) -> int | None:
    return next(
        (
            i
            for i, s in enumerate(envelope.get("signers", []), start=1)
            if s.get("role") == CONVICT_ROLE
        ),
        None,
    )


def check_may_acknowledge(
    principal: Principal, document: Document, kind: AcknowledgementKind
) -> None:
    if not is_author(principal, document):
        raise Forbidden("only the author organisation records the convict's acknowledgement")
    if (
        document.type_id not in ACKNOWLEDGED_DOCUMENTS
        or convict_position(document.envelope) is None
    ):
        raise AcknowledgementRefused(
            "this document has no convict's acknowledgement", "not_acknowledged_type"
        )
    if document.status == DocumentStatus.requested:
        raise DocumentNotReady(document.public_id, document.status)
    if document.acknowledgement is not None:
        raise AcknowledgementRefused("the acknowledgement is already recorded", "already_recorded")
    if kind is AcknowledgementKind.signature_pad and document.signatures:
        raise AcknowledgementRefused(
            "a signature-pad image goes in before the officer signs; upload a scan instead",
            "already_signed",
        )


def record_acknowledgement(
    document: Document,
    kind: AcknowledgementKind,
    *,
    pdf_sha256: str | None = None,
    pdf_size: int | None = None,
    scan_sha256: str | None = None,
) -> None:
    now = utcnow()
    entry: dict[str, Any] = {"kind": kind.value, "recorded_at": now.isoformat()}
    if pdf_sha256 is not None:
        document.pdf_history = [*document.pdf_history, document.pdf_sha256 or ""]
        document.pdf_sha256 = pdf_sha256
        document.pdf_size = pdf_size
    if scan_sha256 is not None:
        entry["scan_sha256"] = scan_sha256
    document.acknowledgement = entry
    document.failure = None
    document.version += 1
    document.updated_at = now
