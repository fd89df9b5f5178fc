"""Check an uploaded template version before it is used: every problem at once.

A version is named by the sha256 of its bytes (:func:`templates.rendering.template_version`).

The XML of each part is prepared exactly as docxtpl prepares it for rendering (``patch_xml``): that
joins a ``{{ tag }}`` Word has split across runs (``{`` in one run, ``{ data.x }}`` in the next,
proofing marks in between) back into one tag, so a split tag is checked like any other. What Word
cannot split into a valid tag (``{ {``, a tag left open) shows up as a syntax error or a stray
brace.

Checks, on the body, headers and footers:
- the file is a DOCX;
- Jinja syntax (each ``{{ … }}`` on its own, so several bad expressions are all reported, and the
  part as a whole for the block structure);
- stray braces in text (``{ {``, ``} }``, ``{ %``);
- variables other than the context's (``envelope``, ``data``, ``title``, ``is_draft``);
- attributes the schemas lack (``data.needz``, ``envelope.author.nam``), following ``for`` loops
  into list items;
- filters and tests the environment lacks;
- finally, a render with the type's sample data (catches what only shows at run time).
"""

from __future__ import annotations

import io
import re
import types
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Union, get_args, get_origin

import jinja2
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import parse_xml
from docxtpl import DocxTemplate
from jinja2 import nodes
from lxml import etree
from pydantic import BaseModel

from templates.rendering import (
    CONTEXT_NAMES,
    render_validated,
    template_environment,
    template_version,
)
from templates.schemas import Envelope
from templates.types import (
    DocumentType,
    TemplateError,
    TemplateRejected,
    document_type,
    sample,
)
from tiltas.errors import FieldProblem

__all__ = [
    "ProblemKind",
    "TemplateCheckReport",
    "TemplateProblem",
    "check_template",
    "ensure_valid_template",
]


class ProblemKind(StrEnum):
    not_a_docx = "not_a_docx"
    syntax = "syntax"
    stray_brace = "stray_brace"
    unknown_variable = "unknown_variable"
    unknown_field = "unknown_field"
    unknown_filter = "unknown_filter"
    render_failed = "render_failed"


@dataclass(frozen=True)
class TemplateProblem:
    kind: ProblemKind
    message: str
    part: str = ""
    """The package part, e.g. ``word/document.xml``."""
    paragraph: int | None = None
    """1-based number of the paragraph in the part (as docxtpl numbers lines: one per paragraph)."""
    text: str = ""
    """The paragraph's text, to find the place in Word."""


@dataclass(frozen=True)
class TemplateCheckReport:
    type_id: str
    version: str
    """sha256 of the template bytes: the version's name."""
    problems: tuple[TemplateProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_template(type_id: str, template: bytes) -> TemplateCheckReport:
    """Every problem of ``template`` as a template of ``type_id``. Raises only
    :class:`~templates.types.UnknownDocumentType`."""
    kind = document_type(type_id)
    version = template_version(template)
    problems = list(_problems(kind, template))
    return TemplateCheckReport(kind.id.value, version, tuple(problems))


def ensure_valid_template(type_id: str, template: bytes) -> str:
    """The version name of a valid template; raises :class:`TemplateRejected` listing every
    problem."""
    report = check_template(type_id, template)
    if report.problems:
        raise TemplateRejected(
            [
                FieldProblem(
                    field=f"template:{p.part}" + (f":{p.paragraph}" if p.paragraph else ""),
                    message=p.message + (f" (in: {p.text!r})" if p.text else ""),
                    code=p.kind.value,
                )
                for p in report.problems
            ]
        )
    return report.version


# ---------------------------------------------------------------- the checks


def _problems(kind: DocumentType, template: bytes) -> Iterator[TemplateProblem]:
    try:
        parts = list(_template_parts(template))
    except (zipfile.BadZipFile, KeyError, ValueError, etree.LxmlError) as error:
        yield TemplateProblem(ProblemKind.not_a_docx, f"not a Word document (.docx): {error}")
        return
    found_any = False
    for name, xml in parts:
        for problem in _part_problems(kind, name, xml):
            found_any = True
            yield problem
    if found_any:
        return
    envelope, data = sample(kind.id)
    try:
        render_validated(kind, envelope, data, template)
    except TemplateError as error:
        yield TemplateProblem(ProblemKind.render_failed, f"rendering the sample failed: {error}")


def _template_parts(template: bytes) -> Iterator[tuple[str, str]]:
    """(part name, XML prepared as docxtpl prepares it, one paragraph per line)."""
    document = DocxTemplate(io.BytesIO(template))
    document.init_docx()
    main = document.docx
    yield (
        "word/document.xml",
        _lines(document.patch_xml(document.xml_to_string(main._element.body))),
    )
    for relationship in main.part.rels.values():
        if relationship.reltype in (RELATIONSHIP_TYPE.HEADER, RELATIONSHIP_TYPE.FOOTER):
            part = relationship.target_part
            xml = document.xml_to_string(parse_xml(part.blob))
            yield str(part.partname).lstrip("/"), _lines(document.patch_xml(xml))


def _lines(xml: str) -> str:
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", xml)


_TEXT_OF_LINE = re.compile(r"<[^>]+>")
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_STRAY_BRACE = re.compile(r"\{\s+[{%]|[}%]\s+\}")


def _paragraph_text(xml: str, line: int | None) -> str:
    if line is None:
        return ""
    lines = xml.split("\n")
    if not 1 <= line <= len(lines):
        return ""
    return _TEXT_OF_LINE.sub("", lines[line - 1]).strip()[:200]


def _part_problems(kind: DocumentType, part: str, xml: str) -> Iterator[TemplateProblem]:
    environment = template_environment()

    def problem(kind_: ProblemKind, message: str, line: int | None) -> TemplateProblem:
        return TemplateProblem(kind_, message, part, line, _paragraph_text(xml, line))

    lines = xml.split("\n")
    for number, line in enumerate(lines, start=1):
        text = _TEXT_OF_LINE.sub("", line)
        for match in _STRAY_BRACE.finditer(text):
            yield problem(
                ProblemKind.stray_brace, f"stray brace {match.group(0)!r}: not a tag", number
            )
        for expression in _EXPRESSION.finditer(line):
            try:
                environment.parse(expression.group(0))
            except jinja2.TemplateSyntaxError as error:
                yield problem(ProblemKind.syntax, f"{error.message}: {expression.group(0)}", number)
                # Blank the bad expression so that the rest of the part is still checked.
                lines[number - 1] = lines[number - 1].replace(expression.group(0), "{{ '' }}", 1)
    try:
        tree = environment.parse("\n".join(lines))
    except jinja2.TemplateSyntaxError as error:
        yield problem(ProblemKind.syntax, error.message or str(error), error.lineno)
        return
    checker = _SchemaChecker(kind)
    checker.visit(tree, dict(checker.roots))
    for kind_, message, at_line in checker.problems:
        yield problem(kind_, message, at_line)


# ---------------------------------------------------------------- schema paths


class _Any:
    """A value whose attributes are not checked (a leaf, a loop variable, a computed value)."""


ANY = _Any()


@dataclass(frozen=True)
class _ListOf:
    item: TypeRef


TypeRef = type[BaseModel] | _ListOf | _Any


def _type_of(annotation: Any) -> TypeRef:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _type_of(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return _type_of(members[0]) if len(members) == 1 else ANY
    if origin is list:
        return _ListOf(_type_of(get_args(annotation)[0]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return ANY


_CONTEXT = ", ".join(CONTEXT_NAMES)


class _SchemaChecker:
    def __init__(self, kind: DocumentType) -> None:
        self.kind = kind
        self.environment = template_environment()
        self.roots: dict[str, TypeRef] = {name: ANY for name in self.environment.globals}
        self.roots.update({name: ANY for name in CONTEXT_NAMES})
        self.roots.update({"envelope": Envelope, "data": kind.schema})
        self.problems: list[tuple[ProblemKind, str, int | None]] = []
        self.unknown_names: set[str] = set()

    def visit(self, node: nodes.Node, scope: dict[str, TypeRef]) -> None:
        if isinstance(node, nodes.For):
            self.visit(node.iter, scope)
            item = self.resolve(node.iter, scope)
            inner = dict(scope)
            self._bind(node.target, item.item if isinstance(item, _ListOf) else ANY, inner)
            inner["loop"] = ANY
            if node.test is not None:
                self.visit(node.test, inner)
            for child in node.body:
                self.visit(child, inner)
            for child in node.else_:
                self.visit(child, scope)
            return
        if isinstance(node, nodes.Assign | nodes.AssignBlock):
            for child in node.iter_child_nodes(exclude=("target",)):
                self.visit(child, scope)
            self._bind(node.target, ANY, scope)
            return
        if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name):
            self.resolve(node, scope)
            return
        if isinstance(node, nodes.Filter) and node.name not in self.environment.filters:
            self.problems.append(
                (ProblemKind.unknown_filter, f"unknown filter {node.name!r}", node.lineno)
            )
        if isinstance(node, nodes.Test) and node.name not in self.environment.tests:
            self.problems.append(
                (ProblemKind.unknown_filter, f"unknown test {node.name!r}", node.lineno)
            )
        for child in node.iter_child_nodes():
            self.visit(child, scope)

    def _bind(self, target: nodes.Node, value: TypeRef, scope: dict[str, TypeRef]) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = value
        else:
            for name in target.find_all(nodes.Name):
                scope[name.name] = ANY

    def resolve(self, node: nodes.Node, scope: dict[str, TypeRef]) -> TypeRef:
        if isinstance(node, nodes.Name):
            if (
                node.ctx == "load"
                and node.name not in scope
                and node.name not in self.unknown_names
            ):
                self.unknown_names.add(node.name)
                self.problems.append(
                    (
                        ProblemKind.unknown_variable,
                        f"unknown variable {node.name!r}; a template has {_CONTEXT}",
                        node.lineno,
                    )
                )
            return scope.get(node.name, ANY)
        if isinstance(node, nodes.Getattr):
            return self._attribute(self.resolve(node.node, scope), node.attr, node)
        if isinstance(node, nodes.Getitem):
            base = self.resolve(node.node, scope)
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                return self._attribute(base, node.arg.value, node)
            self.visit(node.arg, scope)
            return base.item if isinstance(base, _ListOf) else ANY
        self.visit(node, scope)
        return ANY

    def _attribute(self, base: TypeRef, name: str, node: nodes.Getattr | nodes.Getitem) -> TypeRef:
        if not (isinstance(base, type) and issubclass(base, BaseModel)):
            return ANY
        field = base.model_fields.get(name)
        if field is None:
            known = ", ".join(base.model_fields)
            self.problems.append(
                (
                    ProblemKind.unknown_field,
                    f"{_path(node)}: {base.__name__} has no field {name!r} (fields: {known})",
                    node.lineno,
                )
            )
            return ANY
        return _type_of(field.annotation)


def _path(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_path(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_path(node.node)}[{node.arg.value!r}]"
    return "…"
