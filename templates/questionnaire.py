"""Annex 2 of Order V-80: Nuteistojo socialinės globos poreikio vertinimo anketa (document H).

The texts below are the seed's, verbatim, including the printed item numbers of section 1
("2.1"–"2.3", a slip in the original that we keep as printed). Each option carries only the label
the form prints next to it: Savarankiškas (S), Iš dalies savarankiškas (IDS) or Nesavarankiškas (N).

The order sets no scoring rule: the need for social care is determined by the treating doctor (p. 4)
and the recommendation by the Commission (p. 13). This module therefore never computes a verdict,
total, score or threshold. It checks completeness (exactly one mark per single-choice section and
per row of the section 2 matrix) and gives a neutral summary per part: the count of each label and
every N answer word for word.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Label(StrEnum):
    S = "S"
    IDS = "IDS"
    N = "N"


class Part(StrEnum):
    social = "social"
    """I. Socialinio savarankiškumo vertinimo kriterijai (sections 1–2)."""
    physical = "physical"
    """II. Fizinio savarankiškumo vertinimo kriterijai (sections 3–7)."""


LABEL_TEXT: dict[Label, str] = {
    Label.S: "Savarankiškas",
    Label.IDS: "Iš dalies savarankiškas",
    Label.N: "Nesavarankiškas",
}
"""The assessment column of the single-choice sections, as printed."""

MATRIX_COLUMN_TEXT: dict[Label, str] = {
    Label.S: "Savarankiškas (gali pats, kai prireikia)",
    Label.IDS: "Iš dalies savarankiškas (gali tik kitų padedamas)",
    Label.N: "Nesavarankiškas (visiškai negali)",
}
"""The column headers of the section 2 matrix, as printed."""

PART_TITLE: dict[Part, str] = {
    Part.social: "I. SOCIALINIO SAVARANKIŠKUMO VERTINIMO KRITERIJAI",
    Part.physical: "II. FIZINIO SAVARANKIŠKUMO VERTINIMO KRITERIJAI",
}


@dataclass(frozen=True)
class Option:
    id: str
    """Stable id, e.g. ``self_care.2`` or ``outings.work.N``; what the API sends in ``marked``."""
    item: str
    """Id of the item this option answers: a section (single choice) or a matrix row."""
    number: str
    """The number printed in the form's "Eil. Nr." column."""
    text: str
    """The criterion text, verbatim (for a matrix cell: the row's criterion)."""
    label: Label


@dataclass(frozen=True)
class Item:
    """One thing that needs exactly one mark: a single-choice section or one row of section 2."""

    id: str
    part: Part
    section: str
    """Id of the section the item belongs to."""
    number: str
    """Printed number: the section's (single choice) or the row's (matrix)."""
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Section:
    id: str
    part: Part
    number: str
    title: str
    items: tuple[Item, ...]

    @property
    def is_matrix(self) -> bool:
        return len(self.items) > 1


def _single_choice(
    section_id: str, part: Part, number: str, title: str, options: Sequence[tuple[str, str, Label]]
) -> Section:
    built = tuple(
        Option(f"{section_id}.{ordinal}", section_id, printed, text, label)
        for ordinal, (printed, text, label) in enumerate(options, start=1)
    )
    return Section(
        section_id, part, number, title, (Item(section_id, part, section_id, number, built),)
    )


def _matrix(
    section_id: str, part: Part, number: str, title: str, rows: Sequence[tuple[str, str, str]]
) -> Section:
    items = []
    for row_key, printed, text in rows:
        item_id = f"{section_id}.{row_key}"
        options = tuple(
            Option(f"{item_id}.{label.value}", item_id, printed, text, label) for label in Label
        )
        items.append(Item(item_id, part, section_id, printed, options))
    return Section(section_id, part, number, title, tuple(items))


SECTIONS: tuple[Section, ...] = (
    _single_choice(
        "leisure",
        Part.social,
        "1",
        "Laisvalaikis",
        [
            (
                "2.1",
                "Aktyviai leidžia laisvalaikį (lanko kultūrinius renginius, maldos namus, užsiima "
                "mėgstama veikla)",
                Label.S,
            ),
            (
                "2.2",
                "Daugiau laiko praleidžia savo gyvenamojoje patalpoje, žiūrėdamas televizorių, "
                "klausydamas radijo, skaitydamas knygas, kartais užsiimdamas kita mėgstama veikla",
                Label.IDS,
            ),
            (
                "2.3",
                "Leidžia laiką savo gyvenamojoje patalpoje, niekuo nesidomėdamas ir nieko "
                "neveikdamas arba negalėdamas aktyviai leisti laisvalaikio",
                Label.N,
            ),
        ],
    ),
    _matrix(
        "outings",
        Part.social,
        "2",
        "Reikalai, dėl kurių asmuo pagal galimybes išeina iš gyvenamųjų patalpų",
        [
            ("work", "2.1", "Dirbti"),
            ("shopping", "2.2", "Apsipirkti parduotuvėje"),
            ("day_centre", "2.3", "Apsilankyti dienos, bendruomenės centre"),
            ("doctor", "2.4", "Nueiti pas gydytoją, socialinį darbuotoją, psichologą ar kt."),
            ("canteen", "2.5", "Nueiti į valgyklą"),
        ],
    ),
    _single_choice(
        "self_care",
        Part.physical,
        "3",
        "Asmens priežiūra (savipriežiūra)",
        [
            (
                "3.1",
                "Gali pats pasirūpinti asmenine higiena (nusiprausti, išsimaudyti, prižiūrėti savo "
                "kūną), apsirengti. Savarankiškai susitvarko tualete",
                Label.S,
            ),
            (
                "3.2",
                "Gali pats nusiprausti, bet išsimaudyti pats negali, sunku atlikti kai kuriuos "
                "rengimosi veiksmus. Gali pats nueiti į tualetą, bet po to visiškai susitvarkyti "
                "negali",
                Label.IDS,
            ),
            (
                "3.3",
                "Gali pasirūpinti tik viršutinės kūno dalies higiena ir atlikti tik kai kuriuos "
                "rengimosi veiksmus. Savarankiškai tualete nesusitvarko",
                Label.IDS,
            ),
            (
                "3.4",
                "Visiškai negali savarankiškai pasirūpinti asmenine higiena. Negali nei "
                "nusirengti, "
                "nei apsirengti. Tuštinasi ir šlapinasi, naudodamasis specialiosiomis priemonėmis",
                Label.N,
            ),
        ],
    ),
    _single_choice(
        "body_functions",
        Part.physical,
        "4",
        "Kūno funkcijų ir kūno struktūros sutrikimai",
        [
            (
                "4.1",
                "Nėra didelių judėjimo, regos, klausos ar kalbos, psichomotorinės kontrolės "
                "funkcijų "
                "sutrikimų (gali laisvai judėti savo būste ir už jo ribų, valdyti kūno judesius, "
                "mato, "
                "girdi, gali bendrauti be techninių pagalbos priemonių arba su jomis).",
                Label.S,
            ),
            (
                "4.2",
                "Kūno struktūros ir kūno funkcijų sutrikimai kompensuojami techninės pagalbos "
                "priemonėmis",
                Label.IDS,
            ),
            (
                "4.3",
                "Kūno struktūros ir kūno funkcijų sutrikimai nevisiškai kompensuojami techninės "
                "pagalbos priemonėmis (sunkiai juda, valdo kūno judesius, silpnai mato ar girdi "
                "net su "
                "techninės pagalbos priemonėmis, sutrikęs kalbos suvokimas ir kalba)",
                Label.IDS,
            ),
            (
                "4.4",
                "Dideli judėjimo, regos, klausos ar kalbos, psichomotorinės kontrolės funkcijų "
                "sutrikimai (sunkiai arba visai negali judėti, dėl psichikos ar protinės negalios "
                "negali "
                "savarankiškai pasinaudoti savo kūno sugebėjimais, beveik arba visiškai nemato, "
                "negirdi "
                "ar nekalba) nekompensuojami techninės pagalbos priemonėmis",
                Label.N,
            ),
        ],
    ),
    _single_choice(
        "eating",
        Part.physical,
        "5",
        "Maitinimasis",
        [
            ("5.1", "Savarankiškai gali pasigaminti maistą ir pavalgyti", Label.S),
            (
                "5.2",
                "Gali pasigaminti kai kuriuos lengvesnius patiekalus, pasišildyti pagamintą maistą "
                "ir pavalgyti",
                Label.IDS,
            ),
            ("5.3", "Negali pasigaminti, bet gali pavalgyti patiektą maistą", Label.IDS),
            ("5.4", "Negali nei valgyti, nei gerti be kitų pagalbos", Label.N),
        ],
    ),
    _single_choice(
        "housework",
        Part.physical,
        "6",
        "Namų ruoša (namų ūkio veikla)",
        [
            (
                "6.1",
                "Gali atlikti visus namų ruošos darbus (skalbti, valyti būstą, išsilyginti "
                "skalbinius ir pan.)",
                Label.S,
            ),
            (
                "6.2",
                "Gali atlikti lengvus namų ruošos darbus (išsiplauti indus, pasikloti lovą, "
                "išsiskalbti smulkius skalbinius ir pan.). Sudėtinga susiplanuoti darbus",
                Label.IDS,
            ),
            (
                "6.3",
                "Reikalinga pagalba atliekant visus namų ruošos darbus. Mažai ką gali pasidaryti "
                "pats",
                Label.IDS,
            ),
            ("6.4", "Negali ar neturi paskatos atlikti namų ruošos darbų", Label.N),
        ],
    ),
    _single_choice(
        "activity",
        Part.physical,
        "7",
        "Asmens veiklos galimybės ir pagalbos poreikis",
        [
            (
                "7.1",
                "Asmens galimybės pagrindinėse jo veiklos srityse (buityje, asmeniniame ir "
                "visuomeniniame gyvenime, darbinėje veikloje, ugdantis) dėl sveikatos būklės yra "
                "nežymiai ribotos, pagalba beveik nereikalinga, specialiųjų poreikių apimtis yra "
                "nedidelė arba vidutinė",
                Label.S,
            ),
            (
                "7.2",
                "Asmens galimybės pagrindinėse jo veiklos srityse dėl sveikatos būklės yra "
                "vidutiniškai ar žymiai ribotos, pagalba reikalinga, specialiųjų poreikių apimtis "
                "yra "
                "vidutinė arba didelė",
                Label.IDS,
            ),
            (
                "7.3",
                "Asmens galimybės pagrindinėse jo veiklos srityse dėl sveikatos būklės yra "
                "visiškai ribotos, be kitų pagalbos asmuo negali atlikti beveik nieko, specialiųjų "
                "poreikių apimtis yra didelė",
                Label.N,
            ),
        ],
    ),
)

ITEMS: tuple[Item, ...] = tuple(item for section in SECTIONS for item in section.items)
ITEMS_BY_ID: dict[str, Item] = {item.id: item for item in ITEMS}
OPTIONS_BY_ID: dict[str, Option] = {option.id: option for item in ITEMS for option in item.options}
SECTIONS_BY_ID: dict[str, Section] = {section.id: section for section in SECTIONS}


# ---------------------------------------------------------------- completeness


class ProblemKind(StrEnum):
    missing = "missing"
    duplicated = "duplicated"
    unknown = "unknown"


@dataclass(frozen=True)
class CompletenessProblem:
    kind: ProblemKind
    item: str
    """Item id (section or matrix row); for ``unknown``, the unknown option id."""
    number: str
    """The item's printed number ("" for unknown options)."""
    marked: tuple[str, ...]
    """The option ids marked for this item (empty when missing)."""

    @property
    def message(self) -> str:
        if self.kind is ProblemKind.missing:
            return f"item {self.item} (no. {self.number}) has no mark"
        if self.kind is ProblemKind.duplicated:
            return (
                f"item {self.item} (no. {self.number}) has {len(self.marked)} marks: "
                + ", ".join(self.marked)
            )
        return f"unknown option {self.item}"


def check_completeness(marked: Iterable[str]) -> tuple[CompletenessProblem, ...]:
    """Every missing, duplicated or unknown mark, in the form's order; empty when complete."""
    marks = list(marked)
    problems = [
        CompletenessProblem(ProblemKind.unknown, option, "", (option,))
        for option in dict.fromkeys(marks)
        if option not in OPTIONS_BY_ID
    ]
    by_item: dict[str, list[str]] = {item.id: [] for item in ITEMS}
    for option in marks:
        if option in OPTIONS_BY_ID:
            by_item[OPTIONS_BY_ID[option].item].append(option)
    for item in ITEMS:
        chosen = by_item[item.id]
        if not chosen:
            problems.append(CompletenessProblem(ProblemKind.missing, item.id, item.number, ()))
        elif len(chosen) > 1:
            problems.append(
                CompletenessProblem(ProblemKind.duplicated, item.id, item.number, tuple(chosen))
            )
    return tuple(problems)


# ---------------------------------------------------------------- neutral summary


@dataclass(frozen=True)
class NAnswer:
    """A Nesavarankiškas answer, word for word as printed."""

    section_title: str
    number: str
    criterion: str
    assessment: str


@dataclass(frozen=True)
class PartSummary:
    """How many answers of each label one part has, and every N answer. Deliberately no total,
    score or verdict: the order gives none (DOMAIN.md §4)."""

    part: Part
    title: str
    count_s: int
    count_ids: int
    count_n: int
    n_answers: tuple[NAnswer, ...]


@dataclass(frozen=True)
class QuestionnaireSummary:
    social: PartSummary
    physical: PartSummary


class IncompleteQuestionnaire(Exception):
    """The marks do not give exactly one answer per item. ``problems`` lists every one."""

    def __init__(self, problems: tuple[CompletenessProblem, ...]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


def summarise(marked: Iterable[str]) -> QuestionnaireSummary:
    """The neutral summary of a complete questionnaire; raises :class:`IncompleteQuestionnaire`."""
    marks = list(marked)
    problems = check_completeness(marks)
    if problems:
        raise IncompleteQuestionnaire(problems)
    chosen = [OPTIONS_BY_ID[option] for option in marks]
    return QuestionnaireSummary(
        _part_summary(Part.social, chosen), _part_summary(Part.physical, chosen)
    )


def _part_summary(part: Part, chosen: list[Option]) -> PartSummary:
    in_part = [option for option in _in_form_order(chosen) if ITEMS_BY_ID[option.item].part is part]
    counts = Counter(option.label for option in in_part)
    n_answers = []
    for option in in_part:
        if option.label is not Label.N:
            continue
        section = SECTIONS_BY_ID[ITEMS_BY_ID[option.item].section]
        assessment = (
            MATRIX_COLUMN_TEXT[option.label] if section.is_matrix else LABEL_TEXT[option.label]
        )
        n_answers.append(NAnswer(section.title, option.number, option.text, assessment))
    return PartSummary(
        part=part,
        title=PART_TITLE[part],
        count_s=counts[Label.S],
        count_ids=counts[Label.IDS],
        count_n=counts[Label.N],
        n_answers=tuple(n_answers),
    )


def _in_form_order(chosen: list[Option]) -> list[Option]:
    position = {option_id: index for index, option_id in enumerate(OPTIONS_BY_ID)}
    return sorted(chosen, key=lambda option: position[option.id])
