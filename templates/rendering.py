"""Render a document type's Word template with case data: ``render(type_id, envelope, data)``.

docxtpl renders with a sandboxed Jinja environment (a template uploaded by an administrator runs no
Python), ``autoescape`` on (an ``&`` or ``<`` in case data would otherwise corrupt the DOCX XML,
DOMAIN.md §9) and ``StrictUndefined`` (a misspelt variable fails instead of printing nothing).

Errors (see :mod:`templates.types`): :class:`UnknownDocumentType`, :class:`InvalidDocumentData`
(every problem of the envelope and data at once), :class:`TemplateRenderFailed`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
import zipfile
from collections.abc import Mapping, MutableMapping
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any

import jinja2
from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment
from lxml import etree
from markupsafe import Markup, escape
from pydantic import BaseModel, ValidationError

from templates.questionnaire import check_completeness
from templates.schemas import (
    AssigneeKind,
    Envelope,
    MeasureArea,
    NeedArea,
    QuestionnaireData,
    RecommendationAcknowledgementData,
    RiskLevel,
    SectorDirection,
    SignerRole,
)
from templates.types import (
    DocumentType,
    InvalidDocumentData,
    TemplateRenderFailed,
    UnknownDocumentType,
    document_type,
)
from tiltas.errors import FieldProblem

__all__ = [
    "CONTEXT_NAMES",
    "InvalidDocumentData",
    "TemplateRenderFailed",
    "UnknownDocumentType",
    "render",
    "render_validated",
    "template_bytes",
    "template_environment",
    "template_version",
    "validate",
]

CONTEXT_NAMES = ("envelope", "data", "title", "is_draft")
"""The top-level names a template may use."""

_MONTHS_GENITIVE = (
    "sausio",
    "vasario",
    "kovo",
    "balandžio",
    "gegužės",
    "birželio",
    "liepos",
    "rugpjūčio",
    "rugsėjo",
    "spalio",
    "lapkričio",
    "gruodžio",
)

# [design] Lithuanian labels of the enumerations: our wording; the law gives none.
_LABELS: dict[tuple[type[StrEnum], str], dict[str, str]] = {
    (NeedArea, ""): {
        "housing": "Gyvenamoji vieta",
        "employment": "Užimtumas",
        "addiction_treatment": "Priklausomybės ligų gydymas",
        "social_support": "Socialinė parama",
        "debts": "Įsiskolinimai, finansų tvarkymas",
        "family": "Santykiai su artimaisiais",
        "identity_documents": "Asmens tapatybę patvirtinantys dokumentai",
    },
    (MeasureArea, ""): {
        "social_services": "Socialinės paslaugos",
        "cash_assistance": "Piniginė socialinė parama",
        "housing": "Gyvenamoji vieta",
        "crisis_centre": "Krizių centro paslaugos",
        "employment": "Užimtumas",
        "health_addiction": "Sveikata, priklausomybės",
        "debts": "Įsiskolinimai",
    },
    (RiskLevel, ""): {"low": "Žemas", "medium": "Vidutinis", "high": "Aukštas"},
    (AssigneeKind, ""): {
        "social_services_institution": "socialinių paslaugų įstaiga",
        "ngo": "nevyriausybinė organizacija",
    },
    (SectorDirection, ""): {
        "assign": "skyrimo į socialinės globos sektorių",
        "transfer_in": "perkėlimo į socialinės globos sektorių",
        "transfer_out": "perkėlimo iš socialinės globos sektoriaus",
    },
    (SectorDirection, "infinitive"): {
        "assign": "skirti į socialinės globos sektorių",
        "transfer_in": "perkelti į socialinės globos sektorių",
        "transfer_out": "perkelti iš socialinės globos sektoriaus",
    },
}


def lt_date(value: dt.date | None) -> str:
    """``2026 m. balandžio 30 d.``, the form of the seeds' dates."""
    if value is None:
        return ""
    if not isinstance(value, dt.date):
        raise jinja2.TemplateRuntimeError(f"lt_date needs a date, got {type(value).__name__}")
    return f"{value.year} m. {_MONTHS_GENITIVE[value.month - 1]} {value.day} d."


def hhmm(value: dt.time) -> str:
    if not isinstance(value, dt.time):
        raise jinja2.TemplateRuntimeError(f"hhmm needs a time, got {type(value).__name__}")
    return f"{value.hour:02d}:{value.minute:02d}"


def lt_label(value: StrEnum, form: str = "") -> str:
    """The Lithuanian label of an enumeration value; ``form`` picks a grammatical form."""
    labels = _LABELS.get((type(value), form)) if isinstance(value, StrEnum) else None
    if labels is None or value.value not in labels:
        raise jinja2.TemplateRuntimeError(f"no Lithuanian label for {value!r} (form {form!r})")
    return labels[value.value]


def yes_no(value: bool) -> str:
    return "Taip" if value else "Ne"


def multiline(value: str | None) -> Markup:
    """Escape the text and keep its line breaks as Word line breaks."""
    escaped = escape(value or "")
    return Markup('</w:t><w:br/><w:t xml:space="preserve">').join(escaped.split("\n"))


class _CompilingOnceEnvironment(SandboxedEnvironment):
    """Compiles each template source once. A document type's XML is the same for every
    document, and compiling it again was a fifth of a document's rendering CPU."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: dict[str, jinja2.Template] = {}
        self._compiled_lock = threading.Lock()

    def from_string(
        self,
        source: str | jinja2.nodes.Template,
        globals: MutableMapping[str, Any] | None = None,
        template_class: type[jinja2.Template] | None = None,
    ) -> jinja2.Template:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        with self._compiled_lock:
            compiled = self._compiled.get(source)
        if compiled is None:
            compiled = super().from_string(source)
            with self._compiled_lock:
                if len(self._compiled) >= COMPILED_TEMPLATES_KEPT:
                    self._compiled.pop(next(iter(self._compiled)))
                self._compiled[source] = compiled
        return compiled


COMPILED_TEMPLATES_KEPT = 64
"""Template sources kept compiled (the fifteen shipped types, and uploaded versions)."""


class _PatchingOnceTemplate(DocxTemplate):  # type: ignore[misc]
    """docxtpl's clean-up of the template XML into Jinja source, done once per source."""

    def patch_xml(self, src_xml: str) -> str:
        return _patched_xml(src_xml)


@lru_cache(maxsize=COMPILED_TEMPLATES_KEPT)
def _patched_xml(src_xml: str) -> str:
    patched: str = DocxTemplate.patch_xml(None, src_xml)  # pure: it never reads ``self``
    return patched


@cache
def template_environment() -> SandboxedEnvironment:
    """The one Jinja environment for rendering and for checking templates."""
    environment = _CompilingOnceEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters.update(
        lt_date=lt_date, hhmm=hhmm, lt_label=lt_label, yes_no=yes_no, multiline=multiline
    )
    return environment


# ---------------------------------------------------------------- templates and versions


def template_version(template: bytes) -> str:
    """A template version is named by the sha256 of its bytes."""
    return hashlib.sha256(template).hexdigest()


def template_bytes(type_id: str) -> bytes:
    """The shipped template of the type."""
    kind = document_type(type_id)
    try:
        return kind.template_file.read_bytes()
    except OSError as error:
        raise TemplateRenderFailed(kind.id.value, "", f"template file missing: {error}") from error


# ---------------------------------------------------------------- validation


def _problems_of(error: ValidationError, prefix: str) -> list[FieldProblem]:
    return [
        FieldProblem(
            field=".".join([prefix, *(str(part) for part in item["loc"])]),
            message=item["msg"],
            code=item["type"],
        )
        for item in error.errors()
    ]


def validate(
    type_id: str, envelope: Envelope | Mapping[str, Any], data: BaseModel | Mapping[str, Any]
) -> tuple[DocumentType, Envelope, BaseModel]:
    """Check envelope and data against the type; raises :class:`InvalidDocumentData` with every
    problem at once."""
    kind = document_type(type_id)
    problems: list[FieldProblem] = []
    checked_envelope: Envelope | None = None
    checked_data: BaseModel | None = None
    try:
        checked_envelope = Envelope.model_validate(
            envelope.model_dump() if isinstance(envelope, BaseModel) else envelope
        )
    except ValidationError as error:
        problems += _problems_of(error, "envelope")
    try:
        checked_data = kind.schema.model_validate(
            data.model_dump() if isinstance(data, BaseModel) else data
        )
    except ValidationError as error:
        problems += _problems_of(error, "data")
    if checked_envelope is not None:
        problems += _envelope_problems(kind, checked_envelope)
    if checked_data is not None:
        problems += _data_problems(kind, checked_envelope, checked_data)
    if problems or checked_envelope is None or checked_data is None:
        raise InvalidDocumentData(problems)
    return kind, checked_envelope, checked_data


def _envelope_problems(kind: DocumentType, envelope: Envelope) -> list[FieldProblem]:
    problems = []
    if envelope.document_type != kind.id:
        problems.append(
            FieldProblem(
                "envelope.document_type",
                f"the envelope is for {envelope.document_type.value}, not {kind.id.value}",
                "document_type_mismatch",
            )
        )
    if kind.subject_required and envelope.subject is None:
        problems.append(
            FieldProblem(
                "envelope.subject", f"document {kind.id.value} names the convict", "subject_missing"
            )
        )
    roles = [signer.role for signer in envelope.signers]
    for index, role in enumerate(roles):
        if role not in kind.signer_roles:
            allowed = ", ".join(r.value for r in kind.signer_roles)
            problems.append(
                FieldProblem(
                    f"envelope.signers.{index}.role",
                    f"{role.value} does not sign document {kind.id.value} (signers: {allowed})",
                    "signer_role",
                )
            )
    for role in kind.required_signer_roles:
        if role not in roles:
            problems.append(
                FieldProblem(
                    "envelope.signers",
                    f"document {kind.id.value} needs a signer {role.value}",
                    "signer_missing",
                )
            )
    order = [kind.signer_roles.index(role) for role in roles if role in kind.signer_roles]
    if order != sorted(order):
        expected = ", ".join(r.value for r in kind.signer_roles)
        problems.append(
            FieldProblem(
                "envelope.signers", f"signers are printed in the order {expected}", "signer_order"
            )
        )
    return problems


def _data_problems(
    kind: DocumentType, envelope: Envelope | None, data: BaseModel
) -> list[FieldProblem]:
    problems = []
    if isinstance(data, QuestionnaireData):
        problems += [
            FieldProblem("data.marked", problem.message, f"questionnaire_{problem.kind.value}")
            for problem in check_completeness(data.marked)
        ]
    # p. 14.2: the institution answers the convict in writing; the director signs the reply.
    reply_signers = {SignerRole.director, SignerRole.authorised_official}
    if (
        isinstance(data, RecommendationAcknowledgementData)
        and data.written_reply
        and envelope
        and not reply_signers & {s.role for s in envelope.signers}
    ):
        problems.append(
            FieldProblem(
                "envelope.signers",
                "a written reply needs the director or an authorised official among the signers",
                "signer_missing",
            )
        )
    return problems


# ---------------------------------------------------------------- rendering


def render(
    type_id: str,
    envelope: Envelope | Mapping[str, Any],
    data: BaseModel | Mapping[str, Any],
    *,
    template: bytes | None = None,
) -> bytes:
    """The rendered DOCX. ``template`` is a stored template version; the shipped one by default.

    Raises :class:`UnknownDocumentType`, :class:`InvalidDocumentData` or
    :class:`TemplateRenderFailed`; nothing else.
    """
    kind, checked_envelope, checked_data = validate(type_id, envelope, data)
    source = template if template is not None else template_bytes(kind.id.value)
    return render_validated(kind, checked_envelope, checked_data, source)


def template_context(kind: DocumentType, envelope: Envelope, data: BaseModel) -> dict[str, Any]:
    """What a template sees. Models are dumped in Python mode: dates stay dates, enums enums."""
    return {
        "envelope": envelope.model_dump(),
        "data": data.model_dump(),
        "title": envelope.title or kind.title,
        "is_draft": envelope.registration is None,
    }


def render_validated(
    kind: DocumentType, envelope: Envelope, data: BaseModel, source: bytes
) -> bytes:
    version = template_version(source)
    context = template_context(kind, envelope, data)
    try:
        document = _PatchingOnceTemplate(io.BytesIO(source))
        document.render(context, jinja_env=template_environment(), autoescape=True)
        properties = document.docx.core_properties
        properties.title = context["title"]
        properties.language = "lt-LT"
        output = io.BytesIO()
        document.save(output)
    except jinja2.TemplateError as error:
        raise TemplateRenderFailed(
            kind.id.value,
            version,
            f"{type(error).__name__}: {error.message or error}",
            getattr(error, "lineno", None),
        ) from error
    except (
        zipfile.BadZipFile,
        etree.LxmlError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        OSError,
    ) as error:
        # python-docx and docxtpl report a broken package or XML with builtin exceptions.
        raise TemplateRenderFailed(
            kind.id.value, version, f"{type(error).__name__}: {error}"
        ) from error
    return output.getvalue()
