"""Rendering every document type: content, escaping, sandbox, errors, and the templates' build."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import docx
import jinja2
import pytest
from docxtpl import DocxTemplate
from jinja2.sandbox import SandboxedEnvironment

from templates.questionnaire import OPTIONS_BY_ID
from templates.rendering import (
    render,
    template_bytes,
    template_context,
    template_environment,
    template_version,
    validate,
)
from templates.schemas import DocumentTypeId
from templates.source.build_templates import build
from templates.types import (
    DOCUMENT_TYPES,
    InvalidDocumentData,
    TemplateRenderFailed,
    UnknownDocumentType,
    sample,
)
from tiltas.errors import InvalidInput

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _text(rendered: bytes) -> str:
    """All text of the body, tables included, one paragraph per line."""
    document = docx.Document(io.BytesIO(rendered))
    return "\n".join(
        "".join(t.text or "" for t in p.iter(f"{W}t")) for p in document.element.body.iter(f"{W}p")
    )


def _sample_json(type_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    envelope, data = sample(type_id)
    return envelope.model_dump(mode="json"), data.model_dump(mode="json")


def _docx(*paragraphs: str | list[str]) -> bytes:
    document = docx.Document()
    for paragraph in paragraphs:
        created = document.add_paragraph()
        for run in [paragraph] if isinstance(paragraph, str) else paragraph:
            created.add_run(run)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("type_id", list(DOCUMENT_TYPES))
def test_every_type_renders_from_its_sample(type_id: DocumentTypeId) -> None:
    envelope, data = sample(type_id)
    rendered = render(type_id, envelope, data)
    text = _text(rendered)
    assert "{{" not in text and "{%" not in text and "}}" not in text
    if envelope.subject is not None:
        assert envelope.subject.full_name in text or envelope.subject.full_name.upper() in text
    if type_id not in ("G", "H"):
        assert envelope.author.name.upper() in text
        # The protocol's heading is the Commission's name over "POSĖDŽIO PROTOKOLAS".
        title = "POSĖDŽIO PROTOKOLAS" if type_id == "K" else DOCUMENT_TYPES[type_id].title.upper()
        assert title in text
        for signer in envelope.signers:
            assert signer.full_name in text
    assert ("PROJEKTAS" in text) == (envelope.registration is None)
    core = docx.Document(io.BytesIO(rendered)).core_properties
    assert core.title == (envelope.title or DOCUMENT_TYPES[type_id].title)


def test_registration_and_related_documents_are_printed() -> None:
    text = _text(render("B", *sample("B")))
    assert "Į 2026 m. balandžio 28 d. Nr. 1-1234" in text
    envelope, data = _sample_json("B")
    envelope["registration"] = {"number": "S-55", "date": "2026-05-06"}
    text = _text(render("B", envelope, data))
    assert "2026 m. gegužės 6 d. Nr. S-55" in text
    assert "PROJEKTAS" not in text


def test_the_acknowledgement_prints_the_computed_reporting_deadline() -> None:
    envelope, data = _sample_json("E")
    data["reporting_deadline"] = "2026-12-30"
    text = _text(render("E", envelope, data))
    assert "Atvykti ne vėliau kaip 2026 m. gruodžio 30 d." in text
    assert "Kauno regiono probacijos skyrius, Kęstučio g. 1" in text


def test_the_request_prints_the_convict_in_capitals() -> None:
    text = _text(render("G", *sample("G")))
    assert "Prašome įvertinti nuteistojo (-osios) JONAS ŽEMAITIS" in text
    assert "(vardas ir pavardė didžiosiomis raidėmis)" in text


def test_the_questionnaire_prints_every_option_and_marks_the_chosen_ones() -> None:
    envelope, data = sample("H")
    document = docx.Document(io.BytesIO(render("H", envelope, data)))
    text = _text(render("H", envelope, data))
    for option in OPTIONS_BY_ID.values():
        assert option.text in text
    marked_rows: list[tuple[str, str]] = []
    for table in document.tables[1:]:
        header = [cell.text for cell in table.rows[0].cells]
        for row in table.rows[1:]:
            cells = [cell.text for cell in row.cells]
            for column, value in enumerate(cells):
                if value == "X":
                    marked_rows.append((cells[0], header[column]))
    assert len(marked_rows) == 11
    assert ("2.2", "Žymėti\nX") in marked_rows  # leisure.2, printed as 2.2
    assert ("2.1", "Nesavarankiškas (visiškai negali)") in marked_rows  # outings.work.N
    assert ("4.4", "Žymėti\nX") in marked_rows


def test_an_incomplete_questionnaire_is_refused_listing_every_problem() -> None:
    envelope, data = _sample_json("H")
    data["marked"] = [m for m in data["marked"] if not m.startswith("outings.")] + ["eating.1"]
    with pytest.raises(InvalidDocumentData) as raised:
        render("H", envelope, data)
    codes = [(p.code, p.message.split(" ")[1]) for p in raised.value.problems]
    assert codes == [
        ("questionnaire_missing", "outings.work"),
        ("questionnaire_missing", "outings.shopping"),
        ("questionnaire_missing", "outings.day_centre"),
        ("questionnaire_missing", "outings.doctor"),
        ("questionnaire_missing", "outings.canteen"),
        ("questionnaire_duplicated", "eating"),
    ]


def test_ampersand_and_angle_brackets_in_data_are_escaped() -> None:
    hostile = "A & B <w:t>x</w:t> \"quoted\" 'single' ]]>"
    envelope, data = _sample_json("A")
    data["needs"][0]["description"] = hostile
    envelope["subject"]["full_name"] = "Jonas <Ž&> Žemaitis"
    rendered = render("A", envelope, data)
    with zipfile.ZipFile(io.BytesIO(rendered)) as package:
        assert "&amp; B &lt;w:t&gt;" in package.read("word/document.xml").decode()
    text = _text(rendered)
    assert hostile in text
    assert "Jonas <Ž&> Žemaitis" in text


def test_line_breaks_in_long_text_become_word_line_breaks() -> None:
    envelope, data = _sample_json("K")
    data["reasons"] = "Pirma eilutė & kita\nAntra <eilutė>"
    rendered = render("K", envelope, data)
    xml = zipfile.ZipFile(io.BytesIO(rendered)).read("word/document.xml").decode()
    assert re.search(
        r"Pirma eilutė &amp; kita</w:t><w:br/><w:t xml:space=\"preserve\">Antra &lt;eilutė&gt;", xml
    )


def test_invalid_envelope_and_data_are_reported_together() -> None:
    envelope, data = _sample_json("E")
    envelope["document_type"] = "A"
    envelope["signers"] = [{"full_name": "Petras", "position": "Direktorius", "role": "director"}]
    data["reporting_deadline"] = "vakar"
    with pytest.raises(InvalidDocumentData) as raised:
        render("E", envelope, data)
    assert isinstance(raised.value, InvalidInput)
    fields = [(p.field, p.code) for p in raised.value.problems]
    assert fields == [
        ("data.reporting_deadline", "date_from_datetime_parsing"),
        ("envelope.document_type", "document_type_mismatch"),
        ("envelope.signers.0.role", "signer_role"),
        ("envelope.signers", "signer_missing"),
        ("envelope.signers", "signer_missing"),
    ]


def test_a_document_about_a_convict_needs_the_subject() -> None:
    envelope, data = _sample_json("A")
    envelope["subject"] = None
    with pytest.raises(InvalidDocumentData) as raised:
        render("A", envelope, data)
    assert [p.code for p in raised.value.problems] == ["subject_missing"]


def test_signers_are_in_the_order_of_the_type() -> None:
    envelope, data = _sample_json("K")
    envelope["signers"].reverse()
    with pytest.raises(InvalidDocumentData) as raised:
        render("K", envelope, data)
    assert [p.code for p in raised.value.problems] == ["signer_order"]


def test_a_written_reply_needs_the_director() -> None:
    envelope, data = _sample_json("L")
    envelope["signers"] = envelope["signers"][:1]
    with pytest.raises(InvalidDocumentData):
        render("L", envelope, data)
    data["written_reply"] = None
    assert "ATSAKYMAS" not in _text(render("L", envelope, data))


def test_unknown_type() -> None:
    envelope, data = sample("A")
    with pytest.raises(UnknownDocumentType):
        render("Q", envelope, data)


@pytest.mark.parametrize(
    "template",
    [
        _docx("{{ data.no_such_field }}"),
        _docx("{{ ''.__class__.__mro__[1].__subclasses__() }}"),
        _docx("{{ data.needs | lt_date }}"),
        _docx("{% if %}"),
        b"PK\x03\x04 not really a zip",
    ],
    ids=["undefined", "sandbox", "runtime", "syntax", "not-a-docx"],
)
def test_a_broken_template_fails_with_a_domain_error(template: bytes) -> None:
    envelope, data = sample("A")
    with pytest.raises(TemplateRenderFailed) as raised:
        render("A", envelope, data, template=template)
    assert raised.value.template_version == template_version(template)
    assert raised.value.type_id == "A"


def test_a_tag_word_split_across_runs_still_renders() -> None:
    envelope, data = sample("A")
    template = _docx(["Sveiki, {", "{ envelope.subject", ".full_name }", "}!"])
    assert "Sveiki, Jonas Žemaitis!" in _text(render("A", envelope, data, template=template))


@pytest.mark.parametrize("type_id", list(DOCUMENT_TYPES))
def test_shipped_templates_are_what_the_build_script_makes(type_id: str) -> None:
    built = build(type_id)
    assert built == build(type_id), "the build is not reproducible"
    assert built == template_bytes(type_id), (
        f"templates/docx/{type_id}.docx is stale: run python -m templates.source.build_templates"
    )


@pytest.mark.parametrize("type_id", list(DOCUMENT_TYPES))
def test_templates_carry_only_the_styles_and_parts_they_use(type_id: str) -> None:
    package = zipfile.ZipFile(io.BytesIO(template_bytes(type_id)))
    unused = {
        "word/stylesWithEffects.xml",
        "docProps/thumbnail.jpeg",
        "word/theme/theme1.xml",
        "word/numbering.xml",
        "word/webSettings.xml",
        "customXml/item1.xml",
    }
    assert not unused & set(package.namelist())
    styles = package.read("word/styles.xml").decode()
    assert "<w:latentStyles" not in styles
    assert "Theme=" not in styles, "a style names a theme font, and the theme is left out"
    others = "".join(
        package.read(name).decode()
        for name in package.namelist()
        if name.startswith("word/") and name.endswith(".xml") and name != "word/styles.xml"
    )
    defined = re.findall(r'<w:style [^>]*w:styleId="([^"]+)"', styles)
    reference = r'<w:(?:pStyle|rStyle|tblStyle|styleLink|numStyleLink|basedOn|link) w:val="{}"'
    for style_id in defined:
        default = re.search(rf'<w:style [^>]*w:default="1"[^>]*w:styleId="{style_id}"', styles)
        used = re.search(reference.format(re.escape(style_id)), others + styles)
        assert default or used, f"style {style_id} is defined but never used"
    referenced = re.findall(r'<w:(?:pStyle|rStyle|tblStyle|numStyleLink) w:val="([^"]+)"', others)
    assert set(referenced) <= set(defined), "a style the template uses was left out"


@pytest.mark.parametrize("type_id", list(DOCUMENT_TYPES))
def test_templates_set_lithuanian_and_an_installed_font_in_the_document_defaults(
    type_id: str,
) -> None:
    styles = zipfile.ZipFile(io.BytesIO(template_bytes(type_id))).read("word/styles.xml").decode()
    defaults = re.search(r"<w:docDefaults>.*</w:docDefaults>", styles, re.DOTALL)
    assert defaults is not None
    assert 'w:lang w:val="lt-LT"' in defaults.group(0)
    assert 'w:ascii="Liberation Serif"' in defaults.group(0)
    assert '<w:sz w:val="24"/>' in defaults.group(0)
    document = docx.Document(io.BytesIO(template_bytes(type_id)))
    section = document.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert {round(section.page_width.mm), round(section.page_height.mm)} == {210, 297}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_keeps_lithuanian_letters_and_language(tmp_path: Path) -> None:
    envelope, data = _sample_json("A")
    data["needs"][0]["description"] = "Raidės: ąčęėįšųūž ĄČĘĖĮŠŲŪŽ"
    (tmp_path / "A.docx").write_bytes(render("A", envelope, data))
    (tmp_path / "H.docx").write_bytes(render("H", *sample("H")))
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "A.docx"),
            str(tmp_path / "H.docx"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    for type_id in ("A", "H"):
        pdf = tmp_path / f"{type_id}.pdf"
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert "/Lang(lt-LT)" in pdf.read_bytes().decode("latin-1")
        assert "Žemaitis" in text or "ŽEMAITIS" in text
    letter = subprocess.run(
        ["pdftotext", str(tmp_path / "A.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    for word in (
        "ĮSTAIGOS",
        "savivaldybės",
        "Užimtumas",
        "įstaigos",
        "kortelės",
        "Čepulienė",
        "Šilo",
        "lapkričio",
        "poreikiai",
    ):
        assert word in letter
    questionnaire = subprocess.run(
        ["pdftotext", str(tmp_path / "H.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Raidės: ąčęėįšųūž ĄČĘĖĮŠŲŪŽ" in letter
    assert "SOCIALINIO SAVARANKIŠKUMO VERTINIMO KRITERIJAI" in questionnaire
    assert "Žymėti" in questionnaire


@pytest.mark.parametrize("type_id", list(DOCUMENT_TYPES))
def test_rendering_reuses_compiled_templates_without_changing_a_byte(type_id: str) -> None:
    """Compiled once and patched once: the next document of the type comes out exactly as
    docxtpl with a fresh environment renders it."""
    envelope, data = sample(type_id)
    render(type_id, envelope, data)  # compiles and patches the type's XML
    if envelope.subject is not None:
        envelope.subject.full_name = "Ąžuolas Čiurlys"
    kind, checked_envelope, checked_data = validate(type_id, envelope, data)
    stock_environment = SandboxedEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)
    stock_environment.filters.update(template_environment().filters)
    stock = DocxTemplate(io.BytesIO(template_bytes(type_id)))
    stock.render(
        template_context(kind, checked_envelope, checked_data),
        jinja_env=stock_environment,
        autoescape=True,
    )
    expected = io.BytesIO()
    stock.save(expected)

    def body(docx_bytes: bytes) -> bytes:
        with zipfile.ZipFile(io.BytesIO(docx_bytes)) as package:
            return package.read("word/document.xml")

    again = render(type_id, envelope, data)
    assert body(again) == body(expected.getvalue())
    assert envelope.subject is None or "Ąžuolas Čiurlys".upper() in _text(again).upper()
