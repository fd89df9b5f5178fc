"""Checking an uploaded template version: every problem at once, split tags included."""

from __future__ import annotations

import hashlib
import io

import docx
import pytest

from templates.rendering import template_bytes
from templates.template_check import ProblemKind, check_template, ensure_valid_template
from templates.types import DOCUMENT_TYPES, TemplateRejected, UnknownDocumentType
from tiltas.errors import InvalidInput


def _docx(*paragraphs: str | list[str], header: str = "") -> bytes:
    """Paragraphs given as lists are written one run per element, as Word splits tags."""
    document = docx.Document()
    if header:
        document.sections[0].header.paragraphs[0].add_run(header)
    for paragraph in paragraphs:
        created = document.add_paragraph()
        for run in [paragraph] if isinstance(paragraph, str) else paragraph:
            created.add_run(run).bold = run.startswith("{")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _kinds(template: bytes, type_id: str = "A") -> list[tuple[ProblemKind, str]]:
    return [(p.kind, p.message) for p in check_template(type_id, template).problems]


@pytest.mark.parametrize("type_id", list(DOCUMENT_TYPES))
def test_shipped_templates_pass(type_id: str) -> None:
    report = check_template(type_id, template_bytes(type_id))
    assert report.ok, report.problems


def test_the_version_is_the_sha256_of_the_bytes() -> None:
    template = _docx("{{ envelope.author.name }}")
    report = check_template("A", template)
    assert report.ok
    assert report.version == hashlib.sha256(template).hexdigest()
    assert ensure_valid_template("A", template) == report.version


def test_every_syntax_error_is_reported() -> None:
    template = _docx("Pradžia {{ data.needs + }}", "Vidurys", "{{ envelope.( }}", "{{ title }}")
    problems = check_template("A", template).problems
    assert [(p.kind, p.paragraph, p.text) for p in problems] == [
        (ProblemKind.syntax, 2, "Pradžia {{ data.needs + }}"),
        (ProblemKind.syntax, 4, "{{ envelope.( }}"),
    ]


def test_an_unclosed_block_is_reported() -> None:
    problems = check_template("A", _docx("{% if is_draft %}", "Projektas")).problems
    assert [p.kind for p in problems] == [ProblemKind.syntax]
    assert "endif" in problems[0].message


def test_unknown_variables_are_reported_once_each() -> None:
    kinds = _kinds(
        _docx("{{ convict }} {{ convict.name }}", "{{ envelope.author.name }} {{ today }}")
    )
    assert [k for k, _ in kinds] == [ProblemKind.unknown_variable, ProblemKind.unknown_variable]
    assert "'convict'" in kinds[0][1] and "'today'" in kinds[1][1]


def test_fields_the_schema_lacks_are_reported_with_the_known_fields() -> None:
    template = _docx(
        "{{ data.needz }}",
        "{{ envelope.author.nam }}",
        "{{ envelope['subject']['full_nme'] }}",
        "{{ data.institution_social_worker.phone }}",
    )
    messages = [m for k, m in _kinds(template) if k is ProblemKind.unknown_field]
    assert len(messages) == 3
    assert messages[0].startswith(
        "data.needz: ReleaseNoticeData has no field 'needz' (fields: needs,"
    )
    assert "envelope.author.nam" in messages[1]
    assert "full_nme" in messages[2]


def test_fields_are_checked_inside_loops_over_lists_of_models() -> None:
    template = _docx(
        "{%p for n in data.needs %}",
        "{{ loop.index }}. {{ n.area }} {{ n.descripton }}",
        "{%p endfor %}",
        "{% for r in envelope.recipients if r.emial %}{{ r.name }}{% endfor %}",
    )
    messages = [m for k, m in _kinds(template) if k is ProblemKind.unknown_field]
    assert messages == [
        "n.descripton: IdentifiedNeed has no field 'descripton' (fields: area, description)",
        "r.emial: Recipient has no field 'emial' (fields: name, addressed_as, code, address, email)",
    ]


def test_a_field_of_another_type_is_unknown_to_this_type() -> None:
    template = _docx("{{ data.reporting_deadline | lt_date }}")
    assert check_template("E", template).ok
    assert [k for k, _ in _kinds(template, "A")] == [ProblemKind.unknown_field]


def test_tags_split_across_runs_are_joined_as_docxtpl_joins_them() -> None:
    good = _docx(["Sveiki, {", "{ envelope.subject", ".full_name }", "}"])
    assert check_template("A", good).ok
    bad = _docx(["{", "{ data.nee", "dz }}"])
    problems = check_template("A", bad).problems
    assert [(p.kind, p.text) for p in problems] == [(ProblemKind.unknown_field, "{{ data.needz }}")]


def test_braces_that_are_not_tags_are_reported() -> None:
    kinds = _kinds(_docx("Pavardė: { { envelope.subject.full_name }}", "Pabaiga"))
    assert (ProblemKind.stray_brace, "stray brace '{ {': not a tag") in kinds


def test_unknown_filters_and_tests_are_reported() -> None:
    kinds = _kinds(_docx("{{ title | shout }}", "{% if title is loud %}x{% endif %}"))
    assert [k for k, _ in kinds] == [ProblemKind.unknown_filter, ProblemKind.unknown_filter]


def test_headers_are_checked() -> None:
    problems = check_template("A", _docx("{{ title }}", header="{{ data.page_owner }}")).problems
    assert [(p.kind, p.part) for p in problems] == [(ProblemKind.unknown_field, "word/header1.xml")]


def test_problems_only_found_when_rendering_are_reported() -> None:
    problems = check_template("A", _docx("{{ data.needs | lt_date }}")).problems
    assert [p.kind for p in problems] == [ProblemKind.render_failed]


def test_a_file_that_is_not_a_docx() -> None:
    assert [k for k, _ in _kinds(b"%PDF-1.7")] == [ProblemKind.not_a_docx]


def test_ensure_valid_template_lists_every_problem_as_a_domain_error() -> None:
    template = _docx("{{ data.x + }}", "{{ nobody }}", "{{ data.needz }}")
    with pytest.raises(TemplateRejected) as raised:
        ensure_valid_template("A", template)
    assert isinstance(raised.value, InvalidInput)
    assert [p.code for p in raised.value.problems] == [
        "syntax",
        "unknown_variable",
        "unknown_field",
    ]
    assert raised.value.problems[0].field == "template:word/document.xml:2"


def test_unknown_type() -> None:
    with pytest.raises(UnknownDocumentType):
        check_template("X", _docx("{{ title }}"))
