"""Build the fifteen Word templates in ``templates/docx/`` with python-docx, reproducibly.

    .venv/bin/python -m templates.source.build_templates

The generated ``.docx`` files are kept in the repository and stay editable in Word; run this again
after changing the layout or the wording here. Tags are docxtpl's: ``{{ … }}``, ``{%p … %}``
(a paragraph of its own), ``{%tr … %}`` (a table row of its own). The context is ``envelope``,
``data``, ``title`` and ``is_draft`` (see :mod:`templates.rendering`).

Wording:
- G and H are Annex 1 and Annex 2 of Order V-80, verbatim (H takes its texts from
  :mod:`templates.questionnaire`, which holds them verbatim from the seed). [design] H adds one
  line naming the convict, which the printed form lacks, and both add the "PROJEKTAS" marking of
  an unregistered draft.
- Sentences describing a step (E, F, I, J, K, L) reuse the seed's own words.
- [design] Everything else — the letterhead and requisites layout, margins, headings such as
  "Nustatyti poreikiai", the connecting sentences of the letters, table column headings, and the
  labels of enumerations in :mod:`templates.rendering` — is our wording where the law is silent;
  it states facts from the data and cites no rule the seeds do not contain.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import docx
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml import etree

from templates.questionnaire import LABEL_TEXT, MATRIX_COLUMN_TEXT, PART_TITLE, SECTIONS, Part

OUTPUT = Path(__file__).resolve().parent.parent / "docx"
BODY_FONT = "Liberation Serif"
"""From Debian's fonts-liberation2: LibreOffice embeds it, and it has every Lithuanian letter."""
FIXED_TIMESTAMP = (2026, 1, 1, 0, 0, 0)
"""Zip entry time, so that the same source always gives the same bytes (and template hash)."""

Container = Document | _Cell


# ---------------------------------------------------------------- text primitives


@dataclass(frozen=True)
class Run:
    text: str
    bold: bool = False
    italic: bool = False
    size: float | None = None


def b(text: str) -> Run:
    return Run(text, bold=True)


def small(text: str, size: float = 9) -> Run:
    return Run(text, size=size)


Content = str | Run | Sequence[str | Run]


def para(
    container: Container,
    content: Content = "",
    *,
    align: str = "left",
    size: float | None = None,
    before: float = 0,
    after: float = 0,
    first_line_indent: bool = False,
    keep_with_next: bool = False,
) -> Paragraph:
    paragraph = container.add_paragraph()
    paragraph.alignment = {
        "left": WD_ALIGN_PARAGRAPH.LEFT,
        "center": WD_ALIGN_PARAGRAPH.CENTER,
        "right": WD_ALIGN_PARAGRAPH.RIGHT,
        "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    }[align]
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    fmt.keep_with_next = keep_with_next
    if first_line_indent:
        fmt.first_line_indent = Mm(12.7)
    runs: Sequence[str | Run] = [content] if isinstance(content, str | Run) else content
    for item in runs:
        run_spec = item if isinstance(item, Run) else Run(item)
        if not run_spec.text:
            continue
        run = paragraph.add_run(run_spec.text)
        run.bold = run_spec.bold or None
        run.italic = run_spec.italic or None
        if run_spec.size or size:
            run.font.size = Pt(run_spec.size or size or 12)
    return paragraph


def tag(container: Container, jinja: str) -> None:
    """A paragraph that holds only a docxtpl ``{%p … %}`` tag (removed when rendered)."""
    para(container, jinja)


def body(
    container: Container,
    content: Content,
    *,
    align: str = "justify",
    before: float = 0,
    keep_with_next: bool = False,
) -> Paragraph:
    """A body paragraph with a first-line indent and a little space after."""
    return para(
        container,
        content,
        align=align,
        first_line_indent=True,
        before=before,
        after=4,
        keep_with_next=keep_with_next,
    )


def numbered_list(container: Container, items: str, *, empty: str = "") -> None:
    """``1. text`` lines for each element of the Jinja list expression ``items``."""
    if empty:
        tag(container, f"{{%p if not {items} %}}")
        para(container, empty, after=2)
        tag(container, "{%p endif %}")
    tag(container, f"{{%p for item in {items} %}}")
    para(container, "{{ loop.index }}. {{ item }}", after=2, align="justify")
    tag(container, "{%p endfor %}")


# ---------------------------------------------------------------- tables


def _cell_borders(cell: _Cell, **edges: str) -> None:
    properties = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for edge, value in edges.items():
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), value)
        element.set(qn("w:sz"), "4")
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)
    properties.append(borders)


def table(
    container: Container,
    widths_mm: Sequence[float],
    rows: Sequence[Sequence[Content]],
    *,
    grid: bool = True,
    header_rows: int = 1,
    size: float | None = 10,
    aligns: Sequence[str] | None = None,
) -> Table:
    """A table with fixed column widths; ``header_rows`` are bold and repeat on each page."""
    created = container.add_table(rows=len(rows), cols=len(widths_mm))
    if grid:
        created.style = "Table Grid"
    created.alignment = WD_TABLE_ALIGNMENT.CENTER
    created.autofit = False
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    created._tbl.tblPr.append(layout)
    for row_index, (row, contents) in enumerate(zip(created.rows, rows, strict=True)):
        if row_index < header_rows:
            header = OxmlElement("w:tblHeader")
            row._tr.get_or_add_trPr().append(header)
        for column, (cell, content) in enumerate(zip(row.cells, contents, strict=True)):
            cell.width = Mm(widths_mm[column])
            paragraph = cell.paragraphs[0]
            runs: Sequence[str | Run] = [content] if isinstance(content, str | Run) else content
            if row_index < header_rows:
                runs = [Run(r, bold=True) if isinstance(r, str) else r for r in runs]
            for item in runs:
                spec = item if isinstance(item, Run) else Run(item)
                run = paragraph.add_run(spec.text)
                run.bold = spec.bold or None
                run.italic = spec.italic or None
                if spec.size or size:
                    run.font.size = Pt(spec.size or size or 12)
            align = "center" if row_index < header_rows else (aligns[column] if aligns else "left")
            paragraph.alignment = {
                "left": WD_ALIGN_PARAGRAPH.LEFT,
                "center": WD_ALIGN_PARAGRAPH.CENTER,
                "right": WD_ALIGN_PARAGRAPH.RIGHT,
            }[align]
    for column_index, width in enumerate(widths_mm):
        created.columns[column_index].width = Mm(width)
    return created


def spacer(container: Container, points: float = 6) -> None:
    para(container, "", after=points)


# ---------------------------------------------------------------- document and shared blocks


def new_document(*, landscape: bool = False) -> Document:
    document = docx.Document()
    _set_document_defaults(document)
    section = document.sections[0]
    # [design] A4; margins left 30 mm, top and bottom 20 mm, right 15 mm.
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    else:
        section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.header_distance = section.footer_distance = Mm(10)
    _page_number_from_second_page(document)
    document.core_properties.language = "lt-LT"
    document.core_properties.author = ""
    document.core_properties.comments = ""
    return document


def _set_document_defaults(document: Document) -> None:
    """Font, size and language in ``w:docDefaults``: LibreOffice writes ``/Lang lt-LT`` into the
    PDF only from the document defaults, not from the Normal style (DOMAIN.md §9)."""
    styles = document.styles.element
    run_defaults = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    properties = run_defaults.find(qn("w:rPr"))
    for old in (
        properties.findall(qn("w:lang"))
        + properties.findall(qn("w:rFonts"))
        + properties.findall(qn("w:sz"))
        + properties.findall(qn("w:szCs"))
    ):
        properties.remove(old)
    fonts = OxmlElement("w:rFonts")
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), BODY_FONT)
    properties.insert(0, fonts)
    for name in ("w:sz", "w:szCs"):
        size = OxmlElement(name)
        size.set(qn("w:val"), "24")
        properties.append(size)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), "lt-LT")
    language.set(qn("w:eastAsia"), "lt-LT")
    language.set(qn("w:bidi"), "ar-SA")
    properties.append(language)

    normal = document.styles["Normal"]
    normal.font.name = BODY_FONT
    normal.font.size = Pt(12)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    r_fonts = normal.element.rPr.rFonts
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        r_fonts.set(qn(attribute), BODY_FONT)
    # python-docx's Normal style names a theme font; the explicit font must win.
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        r_fonts.attrib.pop(qn(attribute), None)
    grid = document.styles["Table Grid"]
    grid.font.name = BODY_FONT


def _page_number_from_second_page(document: Document) -> None:
    section = document.sections[0]
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def draft_mark(container: Container) -> None:
    tag(container, "{%p if is_draft %}")
    para(container, b("PROJEKTAS"), align="left", after=4)
    tag(container, "{%p endif %}")


def letterhead(document: Document) -> None:
    """Institution name and requisites from data — names of bodies are never template text."""
    para(document, b("{{ envelope.author.name | upper }}"), align="center", size=13, after=2)
    requisites = para(
        document,
        small(
            "{{ envelope.author.address }}"
            "{% if envelope.author.phone %}, tel. {{ envelope.author.phone }}{% endif %}"
            ", el. p. {{ envelope.author.email }}. Juridinio asmens kodas {{ envelope.author.code "
            "}}"
        ),
        align="center",
        after=12,
    )
    properties = requisites._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "4"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    border.append(bottom)
    properties.append(border)


REGISTRATION = (
    "{% if envelope.registration %}{{ envelope.registration.date | lt_date }} "
    "Nr. {{ envelope.registration.number }}{% else %}__________ Nr. ______{% endif %}"
)


def addressee_and_registration(document: Document) -> None:
    """Addressees on the left; registration, the documents answered and place on the right."""
    block = document.add_table(rows=1, cols=2)
    block.autofit = False
    left, right = block.rows[0].cells
    left.width, right.width = Mm(95), Mm(70)
    tag(left, "{%p for r in envelope.recipients %}")
    para(left, "{{ r.addressed_as or r.name }}")
    tag(left, "{%p if r.address %}")
    para(left, small("{{ r.address }}", 10))
    tag(left, "{%p endif %}")
    tag(left, "{%p if r.email %}")
    para(left, small("{{ r.email }}", 10), after=4)
    tag(left, "{%p endif %}")
    tag(left, "{%p endfor %}")
    tag(right, "{%p if is_draft %}")
    para(right, b("PROJEKTAS"))
    tag(right, "{%p endif %}")
    para(right, REGISTRATION)
    tag(right, "{%p for rel in envelope.related_documents %}")
    para(right, "Į {{ rel.date | lt_date }} Nr. {{ rel.number }}")
    tag(right, "{%p endfor %}")
    tag(right, "{%p if envelope.place %}")
    para(right, "{{ envelope.place }}")
    tag(right, "{%p endif %}")
    # python-docx's new cells start with an empty paragraph: drop it.
    for cell in (left, right):
        first = cell.paragraphs[0]._element
        first.getparent().remove(first)
    for column, width in zip(block.columns, (Mm(95), Mm(70)), strict=True):
        column.width = width
    spacer(document, 12)


def registration_centered(document: Document) -> None:
    """Registration and place under the title, for forms, plans and protocols."""
    tag(document, "{%p if is_draft %}")
    para(document, b("PROJEKTAS"), align="center")
    tag(document, "{%p endif %}")
    para(document, REGISTRATION, align="center")
    tag(document, "{%p if envelope.place %}")
    para(document, "{{ envelope.place }}", align="center")
    tag(document, "{%p endif %}")
    spacer(document, 8)


def heading(document: Document, text: str = "{{ title | upper }}") -> None:
    para(document, b(text), align="center", after=10, keep_with_next=True)


def section_heading(document: Document, text: str) -> None:
    para(document, b(text), before=8, after=4, keep_with_next=True)


SUBJECT_IDENTITY = (
    "{% if envelope.subject.personal_code %}asmens kodas {{ envelope.subject.personal_code }}"
    "{% else %}gimimo data {{ envelope.subject.birth_date | lt_date }}{% endif %}"
)


def subject_block(document: Document, *, with_release_date: bool = True) -> None:
    """The convict: name, personal code or birth date, institution, PCR date, intended residence."""
    para(
        document,
        ["Nuteistasis (-oji): ", b("{{ envelope.subject.full_name }}"), f", {SUBJECT_IDENTITY}"],
    )
    para(document, "Pataisos įstaiga: {{ envelope.subject.institution }}")
    if with_release_date:
        tag(document, "{%p if envelope.subject.possible_release_date %}")
        para(
            document,
            "Galimo lygtinio paleidimo data: {{ envelope.subject.possible_release_date | lt_date "
            "}}",
        )
        tag(document, "{%p endif %}")
    tag(document, "{%p if envelope.subject.intended_residence %}")
    para(
        document,
        "Numatoma gyvenamoji vieta: {{ envelope.subject.intended_residence.address }} "
        "({{ envelope.subject.intended_residence.municipality }})",
    )
    tag(document, "{%p endif %}")
    spacer(document, 6)


def contact(expression: str) -> str:
    """One line with a :class:`ContactPerson`'s details."""
    e = expression
    return (
        f"{{{{ {e}.full_name }}}}{{% if {e}.position %}}, {{{{ {e}.position | lower }}}}{{% endif "
        f"%}}"
        f"{{% if {e}.organisation %}}, {{{{ {e}.organisation }}}}{{% endif %}}"
        f"{{% if {e}.phone %}}, tel. {{{{ {e}.phone }}}}{{% endif %}}"
        f"{{% if {e}.email %}}, el. p. {{{{ {e}.email }}}}{{% endif %}}"
    )


def annexes(document: Document) -> None:
    tag(document, "{%p if envelope.annexes %}")
    para(document, "PRIDEDAMA:", before=8, keep_with_next=True)
    tag(document, "{%p endif %}")
    tag(document, "{%p for a in envelope.annexes %}")
    para(
        document,
        "{{ loop.index }}. {{ a.title }}{% if a.sheets %}, {{ a.sheets }} lap.{% endif %}",
        align="justify",
    )
    tag(document, "{%p endfor %}")


def signatures(document: Document) -> None:
    """One row per signer, in order. A convict signs by hand: a line for the signature."""
    spacer(document, 18)
    rows: list[list[Content]] = [
        ["{%tr for s in envelope.signers %}", "", ""],
        [
            "{% if s.role == 'convict' %}Nuteistasis (-oji){% else %}{{ s.position }}{% endif %}",
            "{% if s.role == 'convict' %}______________{% endif %}",
            "{{ s.full_name }}",
        ],
        [
            "",
            small("{% if s.role == 'convict' %}(parašas){% endif %}", 8),
            "",
        ],
        ["{%tr endfor %}", "", ""],
    ]
    created = table(
        document,
        (70, 45, 50),
        rows,
        grid=False,
        header_rows=0,
        size=12,
        aligns=("left", "center", "left"),
    )
    created.alignment = WD_TABLE_ALIGNMENT.LEFT


def acknowledgement_date(document: Document) -> None:
    """The day the convict signs, written by hand."""
    para(document, "Susipažinimo data: __________", before=8)


def preparer(document: Document) -> None:
    tag(document, "{%p if envelope.preparer %}")
    para(
        document,
        small(
            "{{ envelope.preparer.full_name }}"
            "{% if envelope.preparer.phone %}, tel. {{ envelope.preparer.phone }}{% endif %}"
            "{% if envelope.preparer.email %}, el. p. {{ envelope.preparer.email }}{% endif %}",
            10,
        ),
        before=24,
    )
    tag(document, "{%p endif %}")


def letter(document: Document) -> None:
    """A letter: the draft marking goes beside the registration line."""
    letterhead(document)
    addressee_and_registration(document)
    heading(document)


def closing(document: Document) -> None:
    annexes(document)
    signatures(document)
    preparer(document)


# ---------------------------------------------------------------- the fifteen documents


def release_notice_a() -> Document:
    document = new_document()
    letter(document)
    subject_block(document)
    body(
        document,
        "Informuojame, kad nuteistasis (-oji) {{ envelope.subject.full_name }} gali būti "
        "paleistas (-a) "
        "iš pataisos įstaigos lygtinai {{ envelope.subject.possible_release_date | lt_date }} "
        "Prašome "
        "paskirti socialinių paslaugų įstaigos socialinį darbuotoją arba NVO ir apie paskyrimą "
        "informuoti pataisos įstaigą.",
    )
    tag(document, "{%p if data.needs %}")
    section_heading(document, "Nustatyti asmens poreikiai")
    tag(document, "{%p endif %}")
    table(
        document,
        (10, 55, 100),
        [
            ["Eil. Nr.", "Sritis", "Poreikis"],
            ["{%tr for n in data.needs %}", "", ""],
            ["{{ loop.index }}.", "{{ n.area | lt_label }}", "{{ n.description | multiline }}"],
            ["{%tr endfor %}", "", ""],
        ],
    )
    spacer(document)
    body(
        document,
        "Pataisos įstaigos socialinis darbuotojas: "
        + contact("data.institution_social_worker")
        + ".",
        align="left",
    )
    closing(document)
    return document


def social_worker_assignment_b() -> Document:
    document = new_document()
    letter(document)
    subject_block(document)
    body(
        document,
        "Informuojame, kad gavus pranešimą apie asmens paleidimą iš pataisos įstaigos, nurodytam "
        "nuteistajam (-ajai) paskirta {{ data.assignee_kind | lt_label }} "
        "{{ data.assigned_organisation }}.",
    )
    body(document, ["Kontaktinis asmuo: ", contact("data.contact_person"), "."])
    body(
        document,
        [
            "Pataisos įstaigos socialinis darbuotojas: ",
            contact("data.institution_social_worker"),
            ".",
        ],
    )
    tag(document, "{%p if data.conditional_release %}")
    body(
        document,
        "Asmuo iš pataisos įstaigos paleidžiamas lygtinai, todėl paskirto socialinio darbuotojo "
        "ar NVO "
        "kontaktinio asmens duomenys perduodami probacijos tarnybai.",
    )
    tag(document, "{%p endif %}")
    closing(document)
    return document


def probation_officer_assignment_b2() -> Document:
    document = new_document()
    letter(document)
    subject_block(document)
    body(
        document,
        "Informuojame, kad nurodyto lygtinai paleidžiamo asmens priežiūrai paskirtas"
        " probacijos tarnybos pareigūnas: " + contact("data.probation_officer") + ".",
    )
    body(document, "Priežiūrą vykdo: {{ data.probation_division }}.")
    tag(document, "{%p if data.supervision_start %}")
    body(document, "Priežiūros pradžia: {{ data.supervision_start | lt_date }}")
    tag(document, "{%p endif %}")
    tag(document, "{%p if data.social_worker %}")
    body(
        document,
        "Socialinio darbuotojo kontaktai perduoti probacijos pareigūnui: "
        + contact("data.social_worker")
        + ".",
    )
    tag(document, "{%p endif %}")
    closing(document)
    return document


def conditional_release_list_c() -> Document:
    document = new_document(landscape=True)
    letter(document)
    body(document, "Teikiame nuteistųjų, kuriuos planuojama paleisti lygtinai, sąrašą.")
    spacer(document, 4)
    table(
        document,
        (10, 36, 30, 27, 46, 24, 50, 29),
        [
            [
                "Eil. Nr.",
                "Vardas, pavardė",
                "Asmens kodas (gimimo data)",
                "Galimo lygtinio paleidimo data",
                "Nurodyta gyvenamoji vieta",
                "Reikia tikrinti intensyvios priežiūros galimybes",
                "Vykdytos resocializacijos priemonės",
                "Rizikos vertinimas",
            ],
            ["{%tr for row in data.rows %}", "", "", "", "", "", "", ""],
            [
                "{{ loop.index }}.",
                "{{ row.full_name }}",
                "{{ row.personal_code or (row.birth_date | lt_date) }}",
                "{{ row.possible_release_date | lt_date }}",
                "{{ row.residence.address }} ({{ row.residence.municipality }})",
                "{{ row.em_check_needed | yes_no }}",
                "{{ row.measures_done | join('; ') }}",
                "{{ row.risk_assessment or '–' }}",
            ],
            ["{%tr endfor %}", "", "", "", "", "", "", ""],
        ],
        size=9,
    )
    closing(document)
    return document


def supervision_plan_d() -> Document:
    document = new_document()
    letterhead(document)
    heading(document)
    registration_centered(document)
    subject_block(document)
    section_heading(document, "1. Kriminogeniniai veiksniai")
    numbered_list(document, "data.criminogenic_factors", empty="Nenustatyta.")
    section_heading(document, "2. Nusikalstamo elgesio rizikos lygis")
    para(document, "{{ data.risk_level | lt_label }}")
    section_heading(document, "3. Planuojamos specialiosios pareigos")
    numbered_list(document, "data.special_duties", empty="Nenumatyta.")
    section_heading(document, "4. Resocializacijos priemonės")
    table(
        document,
        (10, 85, 40, 30),
        [
            ["Eil. Nr.", "Priemonė", "Atsakingas", "Terminas"],
            ["{%tr for m in data.measures %}", "", "", ""],
            [
                "{{ loop.index }}.",
                "{{ m.measure | multiline }}",
                "{{ m.responsible }}",
                "{{ m.term }}",
            ],
            ["{%tr endfor %}", "", "", ""],
        ],
    )
    section_heading(document, "5. Intensyvi priežiūra (elektroninis stebėjimas)")
    tag(document, "{%p if not data.monitoring_schedule %}")
    para(document, "Netaikoma.")
    tag(document, "{%p endif %}")
    table(
        document,
        (50, 25, 25, 65),
        [
            ["Dienos", "Nuo", "Iki", "Nustatyta buvimo vieta"],
            ["{%tr for period in data.monitoring_schedule %}", "", "", ""],
            [
                "{{ period.days }}",
                "{{ period.start | hhmm }}",
                "{{ period.end | hhmm }}",
                "{{ period.place }}",
            ],
            ["{%tr endfor %}", "", "", ""],
        ],
    )
    section_heading(document, "6. Savivaldybės ar NVO paskirtas socialinis darbuotojas")
    para(
        document,
        "{% if data.social_worker %}"
        + contact("data.social_worker")
        + "{% else %}Nepaskirtas.{% endif %}",
    )
    section_heading(document, "7. Priežiūrą vykdantis probacijos skyrius")
    para(document, "{{ data.supervising_division }}")
    closing(document)
    return document


def probation_acknowledgement_e() -> Document:
    document = new_document()
    letterhead(document)
    heading(document)
    registration_centered(document)
    subject_block(document)
    body(
        document,
        "Aš, {{ envelope.subject.full_name }}, esu supažindintas (-a) su probacijos vykdymo "
        "tvarka ir "
        "atsakomybe už probacijos sąlygų nesilaikymą.",
    )
    tag(document, "{%p if data.conditions %}")
    body(document, "Man taikomos probacijos sąlygos ir pareigos:", keep_with_next=True)
    tag(document, "{%p endif %}")
    numbered_list(document, "data.conditions")
    body(
        document,
        "Esu informuotas (-a) apie pareigą per 3 darbo dienas nuo paleidimo atvykti į probacijos "
        "tarnybą "
        "pagal gyvenamąją vietą:",
        before=4,
    )
    para(
        document,
        b(
            "{{ data.reporting_office.name }}, {{ data.reporting_office.address }}"
            "{% if data.reporting_office.phone %}, tel. {{ data.reporting_office.phone }}{% endif "
            "%}"
        ),
        align="center",
        after=4,
    )
    body(
        document,
        [
            "Paleidimo diena – {{ data.release_date | lt_date }} Atvykti ne vėliau kaip ",
            b("{{ data.reporting_deadline | lt_date }}"),
            " (3 darbo dienos nuo paleidimo).",
        ],
    )
    acknowledgement_date(document)
    closing(document)
    return document


def monitoring_acknowledgement_f() -> Document:
    document = new_document()
    letterhead(document)
    heading(document)
    registration_centered(document)
    subject_block(document)
    body(
        document,
        "Aš, {{ envelope.subject.full_name }}, esu supažindintas (-a) su elektroninių stebėjimo "
        "priemonių naudojimo instrukcija (atmintine), su materialine atsakomybe tyčinio "
        "elektroninio "
        "stebėjimo priemonių praradimo ar jų sugadinimo atveju.",
    )
    tag(document, "{%p if data.supervision_start %}")
    body(document, "Intensyvios priežiūros pradžia: {{ data.supervision_start | lt_date }}")
    tag(document, "{%p endif %}")
    section_heading(document, "Man perduotos elektroninio stebėjimo priemonės")
    table(
        document,
        (12, 83, 70),
        [
            ["Eil. Nr.", "Priemonė", "Serijos numeris"],
            ["{%tr for device in data.devices %}", "", ""],
            ["{{ loop.index }}.", "{{ device.kind }}", "{{ device.serial_number }}"],
            ["{%tr endfor %}", "", ""],
        ],
    )
    spacer(document)
    body(
        document,
        "Su manimi aptarti būdai, kuriais iš anksto privalau informuoti probacijos tarnybos "
        "pareigūną, "
        "atsakingą už elektroninį stebėjimą, apie objektyvias priežastis, dėl kurių pasikeitė man "
        "nustatyta buvimo vieta ar laikas:",
        keep_with_next=True,
    )
    numbered_list(document, "data.ways_to_notify")
    body(
        document,
        "Probacijos tarnybos pareigūnas, atsakingas už elektroninį stebėjimą: "
        + contact("data.em_officer")
        + ".",
        before=4,
    )
    acknowledgement_date(document)
    closing(document)
    return document


ANNEX_HEADER = (
    "Nuteistųjų skyrimo, perkėlimo į pataisos namų socialinės globos sektorių ar iš šio sektoriaus "
    "tvarkos aprašo"
)


def annex_header(document: Document, number: str) -> None:
    block = document.add_table(rows=1, cols=2)
    left, right = block.rows[0].cells
    left.width, right.width = Mm(75), Mm(90)
    draft_mark(left)
    para(right, ANNEX_HEADER)
    para(right, f"{number} priedas")
    for cell in (left, right):
        first = cell.paragraphs[0]._element
        first.getparent().remove(first)
    for column, width in zip(block.columns, (Mm(75), Mm(90)), strict=True):
        column.width = width
    spacer(document, 18)


def filled_line(document: Document, value: str, caption: str, *, align: str = "center") -> None:
    """A value written on the form's line, with the form's caption under it."""
    line = para(document, value, align=align, keep_with_next=True)
    properties = line._p.get_or_add_pPr()
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, val in (("w:val", "single"), ("w:sz", "4"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), val)
    border.append(bottom)
    properties.append(border)
    para(document, small(caption, 10), align=align, after=10)


def social_care_request_g() -> Document:
    """Annex 1 of Order V-80, verbatim."""
    document = new_document()
    annex_header(document, "1")
    heading(document, "PRAŠYMAS DĖL NUTEISTOJO SOCIALINĖS GLOBOS POREIKIO ĮVERTINIMO")
    spacer(document, 6)
    filled_line(document, "{{ data.institution_name }}", "(įstaigos pavadinimas)")
    filled_line(document, "{{ data.request_date | lt_date }}", "(data)")
    spacer(document, 18)
    para(
        document,
        ["Prašome įvertinti nuteistojo (-osios) ", b("{{ envelope.subject.full_name | upper }}")],
    )
    para(document, small("(vardas ir pavardė didžiosiomis raidėmis)", 10), align="center", after=6)
    para(
        document,
        "socialinės globos poreikį užpildant Nuteistojo socialinės globos poreikio vertinimo "
        "anketą "
        "(Tvarkos aprašo 2 priedas) pagal pateiktus socialinio ir fizinio savarankiškumo vertinimo "
        "kriterijus.",
        align="justify",
    )
    spacer(document, 48)
    filled_line(
        document,
        "{{ data.doctor_name }}",
        "Prašymą užpildžiusio gydytojo vardas, pavardė, parašas",
        align="left",
    )
    return document


def _mark(option_id: str) -> str:
    return f"{{% if '{option_id}' in data.marked %}}X{{% endif %}}"


def social_care_questionnaire_h() -> Document:
    """Annex 2 of Order V-80, verbatim, with the X marks of the chosen answers."""
    document = new_document()
    annex_header(document, "2")
    heading(document, "NUTEISTOJO SOCIALINĖS GLOBOS POREIKIO VERTINIMO ANKETA")
    para(
        document,
        ["Nuteistasis (-oji): ", b("{{ envelope.subject.full_name }}"), f", {SUBJECT_IDENTITY}"],
        after=6,
    )
    current_part: Part | None = None
    for section in SECTIONS:
        if section.part is not current_part:
            current_part = section.part
            para(
                document,
                b(PART_TITLE[current_part]),
                align="center",
                before=10,
                after=6,
                keep_with_next=True,
            )
        para(
            document,
            b(f"{section.number}. {section.title}"),
            before=6,
            after=4,
            keep_with_next=True,
        )
        if section.is_matrix:
            rows: list[list[Content]] = [
                [
                    "Eil. Nr.",
                    "Kriterijus",
                    *(MATRIX_COLUMN_TEXT[label] for label in MATRIX_COLUMN_TEXT),
                ]
            ]
            for item in section.items:
                text = item.options[0].text
                rows.append([item.number, text, *(_mark(option.id) for option in item.options)])
            table(
                document,
                (14, 61, 30, 30, 30),
                rows,
                size=10,
                aligns=("left", "left", "center", "center", "center"),
            )
        else:
            rows = [["Eil. Nr.", "Kriterijus", "Vertinimas", "Žymėti\nX"]]
            for option in section.items[0].options:
                rows.append(
                    [option.number, option.text, LABEL_TEXT[option.label], _mark(option.id)]
                )
            table(
                document,
                (14, 100, 33, 18),
                rows,
                size=10,
                aligns=("left", "left", "left", "center"),
            )
    para(document, "Vertinimą atliko:", keep_with_next=True, before=14, after=8)
    filled_line(
        document,
        "{{ data.assessor_name }}, {{ data.assessor_position | lower }}",
        "Vardas, pavardė, pareigos",
        align="left",
    )
    filled_line(
        document, "{{ data.assessment_date | lt_date }}", "Vertinimo atlikimo data", align="left"
    )
    return document


TVARKOS_APRASAS = (
    "Nuteistųjų skyrimo, perkėlimo į pataisos įstaigos socialinės globos sektorių ar iš šio "
    "sektoriaus "
    "tvarkos aprašo"
)


def commission_documents_notice_i() -> Document:
    document = new_document()
    letter(document)
    subject_block(document, with_release_date=False)
    body(
        document,
        "Informuoju, kad gauti visi dokumentai dėl nurodyto nuteistojo (-osios) "
        "{{ data.direction | lt_label }}. Vadovaujantis "
        + TVARKOS_APRASAS
        + " 11 punktu, pridedami "
        "užpildyti dokumentai:",
    )
    tag(document, "{%p if data.convict_request_date %}")
    para(document, "– nuteistojo prašymas, {{ data.convict_request_date | lt_date }};")
    tag(document, "{%p endif %}")
    para(document, "– statistinės apskaitos forma Nr. 027/a, {{ data.form_027a_date | lt_date }};")
    para(
        document,
        "– Anketos kopija, {{ data.questionnaire_date | lt_date }}{% if data.certificate_copies %};"
        "{% else %}.{% endif %}",
    )
    tag(document, "{%p for copy in data.certificate_copies %}")
    para(document, "– {{ copy }}{% if loop.last %}.{% else %};{% endif %}")
    tag(document, "{%p endfor %}")
    closing(document)
    return document


def commission_application_j() -> Document:
    document = new_document()
    letter(document)
    subject_block(document, with_release_date=False)
    body(
        document,
        "Vadovaudamiesi " + TVARKOS_APRASAS + " 12 punktu, kreipiamės į Komisiją dėl nurodyto "
        "nuteistojo (-osios) {{ data.direction | lt_label }}.",
    )
    tag(document, "{%p if data.grounds %}")
    body(document, "{{ data.grounds | multiline }}")
    tag(document, "{%p endif %}")
    closing(document)
    return document


def commission_protocol_k() -> Document:
    document = new_document()
    letterhead(document)
    para(document, b("{{ data.commission_name | upper }}"), align="center", after=4)
    heading(document, "POSĖDŽIO PROTOKOLAS")
    tag(document, "{%p if is_draft %}")
    para(document, b("PROJEKTAS"), align="center")
    tag(document, "{%p endif %}")
    para(
        document, "{{ data.meeting_date | lt_date }} Nr. {{ data.protocol_number }}", align="center"
    )
    tag(document, "{%p if envelope.place %}")
    para(document, "{{ envelope.place }}", align="center")
    tag(document, "{%p endif %}")
    spacer(document, 10)
    tag(document, "{%p for m in data.members_present if m.role == 'chair' %}")
    para(document, "Posėdžio pirmininkas (-ė) – {{ m.full_name }}.")
    tag(document, "{%p endfor %}")
    tag(document, "{%p for m in data.members_present if m.role == 'secretary' %}")
    para(document, "Posėdžio sekretorius (-ė) – {{ m.full_name }}.")
    tag(document, "{%p endfor %}")
    para(document, "Dalyvavo Komisijos nariai:", before=4)
    tag(document, "{%p for m in data.members_present %}")
    para(
        document,
        "{{ loop.index }}. {{ m.full_name }}{% if m.position %}, {{ m.position | lower }}{% endif "
        "%}",
    )
    tag(document, "{%p endfor %}")
    tag(document, "{%p if data.documents_registered_on %}")
    para(
        document,
        "Dokumentai gauti (užregistruoti) {{ data.documents_registered_on | lt_date }}",
        before=4,
    )
    tag(document, "{%p endif %}")
    section_heading(document, "SVARSTYTA.")
    body(document, "Nuteistojo (-osios) {{ data.direction | lt_label }} klausimas.")
    para(
        document,
        [
            "Nuteistasis (-oji): ",
            b("{{ envelope.subject.full_name }}"),
            f", {SUBJECT_IDENTITY}, {{{{ envelope.subject.institution }}}}.",
        ],
        after=4,
    )
    para(document, "Išnagrinėti dokumentai:", keep_with_next=True)
    numbered_list(document, "data.documents_examined")
    section_heading(document, "NUTARTA.")
    body(
        document,
        "{% if data.decision == 'recommend' %}Rekomenduoti{% else %}Nerekomenduoti{% endif %} "
        "nuteistąjį "
        "(-ąją) {{ data.direction | lt_label('infinitive') }}.",
    )
    body(document, "Motyvai: {{ data.reasons | multiline }}")
    closing(document)
    return document


def recommendation_acknowledgement_l() -> Document:
    document = new_document()
    letterhead(document)
    heading(document)
    registration_centered(document)
    subject_block(document, with_release_date=False)
    body(
        document,
        "Nuteistasis (-oji) {{ envelope.subject.full_name }} pasirašytinai supažindinamas (-a) su "
        "Komisijos "
        "rekomendacija (Komisijos posėdžio {{ data.protocol_date | lt_date }} protokolas "
        "Nr. {{ data.protocol_number }}): {% if data.decision == 'recommend' %}rekomenduoti{% "
        "else %}"
        "nerekomenduoti{% endif %} nuteistąjį (-ąją) {{ data.direction | lt_label('infinitive') "
        "}}.",
    )
    body(
        document,
        "Su Komisijos rekomendacija susipažinau. Susipažinimo data: "
        "{% if data.acknowledged_on %}{{ data.acknowledged_on | lt_date }}{% else %}__________{% "
        "endif %}",
    )
    tag(document, "{%p if data.written_reply %}")
    section_heading(document, "ATSAKYMAS Į NUTEISTOJO PRAŠYMĄ")
    tag(document, "{%p endif %}")
    tag(document, "{%p if data.written_reply %}")
    body(document, "{{ data.written_reply | multiline }}")
    tag(document, "{%p endif %}")
    closing(document)
    return document


def free_places_report_m() -> Document:
    document = new_document()
    letter(document)
    body(
        document,
        "Informuojame, kad {{ data.as_of | lt_date }} socialinės globos sektoriuje esamų"
        " laisvų vietų: {{ data.free_places_now }}; planuojamų einamąjį mėnesį laisvų "
        "vietų: {{ data.planned_this_month }}.",
    )
    tag(document, "{%p if data.unplanned_vacancy %}")
    body(
        document,
        "Vieta atsilaisvino neplanuotai{% if data.vacancy_date %} "
        "{{ data.vacancy_date | lt_date }}{% else %}.{% endif %}",
    )
    tag(document, "{%p endif %}")
    closing(document)
    return document


def release_measures_plan_n() -> Document:
    document = new_document(landscape=True)
    letterhead(document)
    heading(document)
    registration_centered(document)
    subject_block(document)
    table(
        document,
        (10, 30, 45, 50, 38, 35, 44),
        [
            ["Eil. Nr.", "Sritis", "Poreikis", "Priemonė", "Teikėjas", "Atsakingas", "Terminas"],
            ["{%tr for m in data.measures %}", "", "", "", "", "", ""],
            [
                "{{ loop.index }}.",
                "{{ m.area | lt_label }}",
                "{{ m.need | multiline }}",
                "{{ m.measure | multiline }}",
                "{{ m.provider }}",
                "{{ m.responsible }}",
                "{{ m.term }}",
            ],
            ["{%tr endfor %}", "", "", "", "", "", ""],
        ],
    )
    closing(document)
    return document


BUILDERS: dict[str, Callable[[], Document]] = {
    "A": release_notice_a,
    "B": social_worker_assignment_b,
    "B2": probation_officer_assignment_b2,
    "C": conditional_release_list_c,
    "D": supervision_plan_d,
    "E": probation_acknowledgement_e,
    "F": monitoring_acknowledgement_f,
    "G": social_care_request_g,
    "H": social_care_questionnaire_h,
    "I": commission_documents_notice_i,
    "J": commission_application_j,
    "K": commission_protocol_k,
    "L": recommendation_acknowledgement_l,
    "M": free_places_report_m,
    "N": release_measures_plan_n,
}


UNUSED_PARTS = (
    RT.THUMBNAIL,
    "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects",
    RT.THEME,
    RT.NUMBERING,
    RT.WEB_SETTINGS,
    RT.CUSTOM_XML,
)
"""Parts of python-docx's default document that ours do not need: a thumbnail of that
document, Word 2010's copy of the styles (ignored by LibreOffice and later Word), the theme
(no style of ours names a theme font or colour), list numbering (our lists are numbered in
text), web settings and a custom XML item. Every conversion parses what is left: without
these and the latent styles, LibreOffice took 3.3 ms less CPU per document (of 29)."""

STYLE_REFERENCE = re.compile(
    r'<w:(?:pStyle|rStyle|tblStyle|numStyleLink|styleLink|basedOn|next|link) w:val="([^"]+)"'
)


def _without_unused_parts_and_styles(document: Document) -> None:
    """Leave out what the template never uses: every render and every conversion reads it,
    and the default styles part alone is 350 kB (of 164 styles a template uses about ten)."""
    package = document.part.package
    for owner in (package, document.part):
        for r_id, relationship in list(owner.rels.items()):
            if relationship.reltype in UNUSED_PARTS:
                owner.rels.pop(r_id)
    parts = [document.part, *(r.target_part for r in document.part.rels.values())]
    text = "".join(
        part.blob.decode()
        for part in parts
        if part.partname.endswith(".xml") and part.partname != "/word/styles.xml"
    )
    styles = document.styles.element
    for latent in styles.findall(qn("w:latentStyles")):  # defaults for styles we do not have
        styles.remove(latent)
    by_id = {style.get(qn("w:styleId")): style for style in styles.findall(qn("w:style"))}
    wanted = {i for i, style in by_id.items() if style.get(qn("w:default")) == "1"}
    wanted |= set(STYLE_REFERENCE.findall(text)) & by_id.keys()
    while True:  # and the styles those are based on, linked to or followed by
        found = (STYLE_REFERENCE.findall(etree.tostring(by_id[i]).decode()) for i in wanted)
        more = set().union(*found) & by_id.keys() - wanted
        if not more:
            break
        wanted |= more
    for style_id, style in by_id.items():
        if style_id not in wanted:
            styles.remove(style)


def build(type_id: str) -> bytes:
    """The template's bytes; the same source always gives the same bytes."""
    document = BUILDERS[type_id]()
    _without_unused_parts_and_styles(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return _normalised_zip(buffer.getvalue())


def _normalised_zip(raw: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(raw))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _without_timestamps(data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIMESTAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)
    return output.getvalue()


def _without_timestamps(core: bytes) -> bytes:
    return re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", core)


def main(argv: Sequence[str] = ()) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for type_id in argv or BUILDERS:
        (OUTPUT / f"{type_id}.docx").write_bytes(build(type_id))
        print(f"templates/docx/{type_id}.docx")


if __name__ == "__main__":
    main(sys.argv[1:])
