"""Annex 2 (document H): items, verbatim texts, completeness and the neutral summary."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from templates.questionnaire import (
    ITEMS,
    LABEL_TEXT,
    MATRIX_COLUMN_TEXT,
    OPTIONS_BY_ID,
    SECTIONS,
    IncompleteQuestionnaire,
    Label,
    Part,
    PartSummary,
    ProblemKind,
    QuestionnaireSummary,
    check_completeness,
    summarise,
)

# ../shared sits beside the repository, in CI too.
SEED = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "seeds"
    / "order-V-80-social-care-sector.lt.txt"
)

COMPLETE = [
    "leisure.3",
    "outings.work.N",
    "outings.shopping.IDS",
    "outings.day_centre.N",
    "outings.doctor.S",
    "outings.canteen.S",
    "self_care.1",
    "body_functions.4",
    "eating.3",
    "housework.2",
    "activity.3",
]


def test_items_and_labels_are_those_of_the_form() -> None:
    labels = {
        section.id: [option.label.value for option in section.items[0].options]
        for section in SECTIONS
        if not section.is_matrix
    }
    assert labels == {
        "leisure": ["S", "IDS", "N"],
        "self_care": ["S", "IDS", "IDS", "N"],
        "body_functions": ["S", "IDS", "IDS", "N"],
        "eating": ["S", "IDS", "IDS", "N"],
        "housework": ["S", "IDS", "IDS", "N"],
        "activity": ["S", "IDS", "N"],
    }
    outings = next(section for section in SECTIONS if section.id == "outings")
    assert [item.number for item in outings.items] == ["2.1", "2.2", "2.3", "2.4", "2.5"]
    assert all([o.label for o in item.options] == list(Label) for item in outings.items)
    assert [item.part for item in ITEMS].count(Part.social) == 6
    assert [item.part for item in ITEMS].count(Part.physical) == 5


def test_section_one_keeps_the_printed_numbering_slip() -> None:
    leisure = next(section for section in SECTIONS if section.id == "leisure")
    assert [option.number for option in leisure.items[0].options] == ["2.1", "2.2", "2.3"]


def test_option_ids_are_stable() -> None:
    assert OPTIONS_BY_ID["leisure.1"].number == "2.1"
    assert OPTIONS_BY_ID["self_care.4"].text.startswith("Visiškai negali savarankiškai")
    assert OPTIONS_BY_ID["outings.canteen.N"].text == "Nueiti į valgyklą"
    assert len(OPTIONS_BY_ID) == 3 + 5 * 3 + 4 + 4 + 4 + 4 + 3


def test_texts_are_verbatim_from_the_seed() -> None:
    assert SEED.exists(), f"the seed text is expected at {SEED}"
    lines = [line.strip() for line in SEED.read_text("utf-8").splitlines() if line.strip()]
    for section in SECTIONS:
        assert f"{section.number}. {section.title}" in lines
        for item in section.items:
            for option in item.options:
                index = lines.index(option.text)
                assert lines[index - 1] == option.number
                if not section.is_matrix:
                    assert lines[index + 1] == LABEL_TEXT[option.label]
    for header in MATRIX_COLUMN_TEXT.values():
        assert header in lines


def test_a_complete_questionnaire_has_no_problems() -> None:
    assert check_completeness(COMPLETE) == ()


def test_every_missing_item_is_listed() -> None:
    problems = check_completeness(["leisure.1", "outings.work.S"])
    missing = [p.item for p in problems if p.kind is ProblemKind.missing]
    assert missing == [
        "outings.shopping",
        "outings.day_centre",
        "outings.doctor",
        "outings.canteen",
        "self_care",
        "body_functions",
        "eating",
        "housework",
        "activity",
    ]
    assert all(p.kind is ProblemKind.missing for p in problems)
    assert "no mark" in problems[0].message


def test_duplicated_marks_in_a_section_and_in_a_matrix_row_are_listed() -> None:
    marks = [*COMPLETE, "leisure.1", "outings.work.S"]
    problems = check_completeness(marks)
    assert [(p.kind, p.item, p.marked) for p in problems] == [
        (ProblemKind.duplicated, "leisure", ("leisure.3", "leisure.1")),
        (ProblemKind.duplicated, "outings.work", ("outings.work.N", "outings.work.S")),
    ]
    assert "2 marks" in problems[0].message


def test_unknown_options_are_listed() -> None:
    problems = check_completeness([*COMPLETE, "leisure.9"])
    assert [(p.kind, p.item) for p in problems] == [(ProblemKind.unknown, "leisure.9")]


def test_summary_counts_labels_per_part_and_quotes_every_n_answer() -> None:
    summary = summarise(COMPLETE)
    social, physical = summary.social, summary.physical
    assert (social.count_s, social.count_ids, social.count_n) == (2, 1, 3)
    assert (physical.count_s, physical.count_ids, physical.count_n) == (1, 2, 2)
    assert [(n.number, n.criterion, n.assessment) for n in social.n_answers] == [
        (
            "2.3",
            "Leidžia laiką savo gyvenamojoje patalpoje, niekuo nesidomėdamas ir nieko neveikdamas "
            "arba negalėdamas aktyviai leisti laisvalaikio",
            "Nesavarankiškas",
        ),
        ("2.1", "Dirbti", "Nesavarankiškas (visiškai negali)"),
        ("2.3", "Apsilankyti dienos, bendruomenės centre", "Nesavarankiškas (visiškai negali)"),
    ]
    assert [n.number for n in physical.n_answers] == ["4.4", "7.3"]
    assert physical.n_answers[0].section_title == "Kūno funkcijų ir kūno struktūros sutrikimai"


def test_summary_has_no_verdict_total_or_score() -> None:
    forbidden = (
        "total",
        "score",
        "verdict",
        "threshold",
        "result",
        "sum",
        "needs_care",
        "eligible",
    )
    for cls in (PartSummary, QuestionnaireSummary):
        for field in dataclasses.fields(cls):
            assert not any(word in field.name for word in forbidden), field.name
    summary = summarise(COMPLETE)
    assert {f.name for f in dataclasses.fields(summary)} == {"social", "physical"}


def test_summary_of_an_incomplete_questionnaire_is_refused() -> None:
    with pytest.raises(IncompleteQuestionnaire) as raised:
        summarise(COMPLETE[1:])
    assert [p.item for p in raised.value.problems] == ["leisure"]
