"""Every term of process A (cooperation algorithm) and process B (order V-80) as ``Deadline``s.

Counting rules (DOMAIN.md §6):

* backward terms ("likus ne mažiau kaip 6 mėnesiams iki …"): subtract months by Civil Code
  art. 1.119, then move a non-working result to the **previous** working day [design];
* the release day: the PCR date, or the preceding working day when it is a rest day or holiday
  (Penitentiary Code art. 94(3));
* forward working-day terms: counted from the day after the event (Civil Code art. 1.118), so
  they always end on a working day;
* forward terms with a fixed last day (the 5th of the month): a non-working last day moves to
  the next working day (Civil Code art. 1.121).

Each ``Deadline`` records the ``CalendarVersion`` that computed it. ``deadline_status`` is a pure
function of (deadline, today, met_on).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cached_property

from tiltas.deadlines.calendar import (
    EARLIEST,
    LATEST,
    CalendarVersion,
    WorkingDayCalendar,
    months_before,
)
from tiltas.deadlines.errors import DateOutOfRange, InvalidTermInput


class DeadlineKind(StrEnum):
    """Stable ids: stored with cases and used by the API; never rename a value."""

    STAGE_I_START = "process_a.stage_i_start"
    RELEASE_NOTICE = "process_a.release_notice"
    RELEASE_LIST = "process_a.release_list"
    RELEASE_DAY = "process_a.release_day"
    SUPERVISION_PLAN = "process_a.supervision_plan"
    PROBATION_ACKNOWLEDGEMENT = "process_a.probation_acknowledgement"
    ELECTRONIC_MONITORING_ACKNOWLEDGEMENT = "process_a.electronic_monitoring_acknowledgement"
    PROBATION_REPORTING = "process_a.probation_reporting"
    QUESTIONNAIRE_HANDOVER = "process_b.questionnaire_handover"
    QUESTIONNAIRE_RETURN = "process_b.questionnaire_return"
    COMMISSION_PROTOCOL = "process_b.commission_protocol"
    FREE_PLACES_MONTHLY = "process_b.free_places_monthly"
    FREE_PLACE_UNPLANNED = "process_b.free_place_unplanned"


class ActorRole(StrEnum):
    """Who must act for a deadline to be met (DOMAIN.md §2)."""

    CORRECTIONAL_INSTITUTION = "correctional_institution"
    PREPARATORY_PROBATION_OFFICER = "preparatory_probation_officer"
    ELECTRONIC_MONITORING_OFFICER = "electronic_monitoring_officer"
    CONVICT = "convict"
    HEAD_OF_HEALTH_CARE_UNIT = "head_of_health_care_unit"
    AUTHORISED_PERSON = "authorised_person"
    COMMISSION = "commission"
    RESPONSIBLE_EMPLOYEE = "responsible_employee"


class AnchorEvent(StrEnum):
    PCR_DATE = "pcr_date"
    """Galimo lygtinio paleidimo data, as given."""
    RELEASE = "release"
    """The (adjusted) release day, or the actual release date once recorded."""
    REQUEST_FILED = "request_filed"
    """The doctor filled request G and informed the head of the health-care unit (V-80 p. 5)."""
    QUESTIONNAIRE_HANDED_OVER = "questionnaire_handed_over"
    REGISTERED_AT_PRISON_DEPARTMENT = "registered_at_prison_department"
    MONTH_START = "month_start"
    PLACE_VACATED = "place_vacated"


class Provenance(StrEnum):
    """The tags of DOMAIN.md: where a rule comes from."""

    SEED = "seed"
    LAW = "law"
    DESIGN = "design"


@dataclass(frozen=True)
class Citation:
    lt: str
    en: str
    provenance: Provenance


@dataclass(frozen=True)
class LegalBasis:
    """Why a date is what it is, shown next to it. Paraphrases, except where the seed is quoted."""

    citations: tuple[Citation, ...]

    # Cached: a basis is shared by every case's deadline of its kind, and an organisation's
    # deadline list joined the same citations a few hundred times.
    @cached_property
    def lt(self) -> str:
        return "; ".join(c.lt for c in self.citations)

    @cached_property
    def en(self) -> str:
        return "; ".join(c.en for c in self.citations)


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    document_id: str | None
    """The document of DOMAIN.md §5 (A…N) whose state meets the deadline; ``None`` for the
    stage I start and the release day, which are events, not documents."""
    actor: ActorRole
    anchor_event: AnchorEvent
    anchor_date: date
    anchor_is_projected: bool
    """True while the anchor is a computed date (e.g. the hand-over *due* date) because the
    actual event has not been recorded yet; recompute when it is."""
    nominal_date: date
    """The date before any working-day adjustment (e.g. PCR date minus 6 months)."""
    due_date: date
    """The last day on which the act is in time (until 24:00, Civil Code art. 1.122)."""
    at_risk_from: date
    """From this day on, an unmet deadline is ``at_risk``."""
    legal_basis: LegalBasis
    calendar_version: CalendarVersion


@dataclass(frozen=True)
class TermPolicy:
    at_risk_lead_working_days: int = 5
    """How many working days before the due date an unmet deadline becomes ``at_risk``."""

    def __post_init__(self) -> None:
        lead = self.at_risk_lead_working_days
        if not isinstance(lead, int) or isinstance(lead, bool) or not 0 <= lead <= 250:
            raise InvalidTermInput(
                "at_risk_lead_working_days", f"must be an integer 0…250, got {lead!r}"
            )


DEFAULT_POLICY = TermPolicy()


@dataclass(frozen=True)
class CaseTerms:
    deadlines: tuple[Deadline, ...]

    def __iter__(self) -> Iterator[Deadline]:
        return iter(self.deadlines)

    def get(self, kind: DeadlineKind) -> Deadline | None:
        return next((d for d in self.deadlines if d.kind is kind), None)

    def __getitem__(self, kind: DeadlineKind) -> Deadline:
        found = self.get(kind)
        if found is None:
            raise InvalidTermInput("kind", f"this case has no {kind.value} deadline")
        return found


# --- legal bases ------------------------------------------------------------------------------

_ALGORITHM_LT = "Bendradarbiavimo algoritmas, I socialinės integracijos modelio etapas"
_ALGORITHM_EN = "Cooperation algorithm, stage I of the social integration model"
_V80_LT = (
    "Kalėjimų departamento direktoriaus 2022 m. kovo 25 d. įsakymu Nr. V-80 patvirtintas "
    "tvarkos aprašas"
)
_V80_EN = "Procedure approved by the Prison Department director's order No. V-80 of 25 March 2022"

CIVIL_CODE_1_118 = Citation(
    "Civilinio kodekso 1.118 straipsnis (terminas pradedamas skaičiuoti kitą dieną po įvykio)",
    "Civil Code art. 1.118 (a term runs from the day after the event)",
    Provenance.LAW,
)
CIVIL_CODE_1_119 = Citation(
    "Civilinio kodekso 1.119 straipsnis (mėnesiais skaičiuojamas terminas baigiasi tą pačią "
    "mėnesio dieną, o jei tokios dienos mėnuo neturi – paskutinę mėnesio dieną)",
    "Civil Code art. 1.119 (a month term ends on the same-numbered day, or on the month's last "
    "day if it has none)",
    Provenance.LAW,
)
CIVIL_CODE_1_121 = Citation(
    "Civilinio kodekso 1.121 straipsnis (jei paskutinė termino diena yra ne darbo diena, "
    "terminas baigiasi kitą darbo dieną)",
    "Civil Code art. 1.121 (if the last day of a term is a non-working day, the term ends on "
    "the next working day)",
    Provenance.LAW,
)
PENITENTIARY_CODE_94_3 = Citation(
    "Bausmių vykdymo kodekso 94 straipsnio 3 dalis (jei paleidimo diena yra poilsio ar švenčių "
    "diena, paleidžiama prieš ją buvusią darbo dieną)",
    "Penitentiary Code art. 94(3) (if the release day is a rest day or holiday, the convict is "
    "released on the preceding working day)",
    Provenance.LAW,
)
ROLL_BACK_DESIGN = Citation(
    "Sistemos „Tiltas“ sprendimas: jei gauta diena nėra darbo diena, terminas perkeliamas į "
    "ankstesnę darbo dieną, kad būtų laikomasi reikalavimo „ne vėliau kaip“",
    "Tiltas design: a non-working result moves to the previous working day, so that "
    "'not later than' still holds",
    Provenance.DESIGN,
)
BEFORE_RELEASE_DESIGN = Citation(
    "Sistemos „Tiltas“ sprendimas: ne vėliau kaip paleidimo dieną",
    "Tiltas design: no later than the release day",
    Provenance.DESIGN,
)

_BASES: dict[DeadlineKind, LegalBasis] = {
    DeadlineKind.STAGE_I_START: LegalBasis(
        (
            Citation(
                f"{_ALGORITHM_LT}, 1 dalis: intensyvus nuteistųjų rengimas gyvenimui laisvėje "
                "pradedamas pataisos įstaigose, likus ne mažiau kaip 1 metams iki galimo lygtinio "
                "paleidimo",
                f"{_ALGORITHM_EN}, part 1: intensive preparation of convicts for life at liberty "
                "starts in the correctional institution no less than 1 year before the possible "
                "conditional release",
                Provenance.SEED,
            ),
            CIVIL_CODE_1_119,
            ROLL_BACK_DESIGN,
        )
    ),
    DeadlineKind.RELEASE_NOTICE: LegalBasis(
        (
            Citation(
                f"{_ALGORITHM_LT}, 1 dalis: likus ne mažiau kaip 6 mėnesiams iki galimo lygtinio "
                "paleidimo iš pataisos įstaigos pranešimo savivaldybės administracijai apie asmens "
                "paleidimą iš pataisos įstaigos siuntimas",
                f"{_ALGORITHM_EN}, part 1: the release notice is sent to the municipality "
                "administration no less than 6 months before the possible conditional release",
                Provenance.SEED,
            ),
            CIVIL_CODE_1_119,
            ROLL_BACK_DESIGN,
        )
    ),
    DeadlineKind.RELEASE_LIST: LegalBasis(
        (
            Citation(
                f"{_ALGORITHM_LT}, 3 dalis: ne vėliau kaip likus 1 mėnesiui iki galimo lygtinio "
                "paleidimo iš pataisos namų administracijos gaunamas sąrašas nuteistųjų, kuriuos "
                "planuojama paleisti lygtinai",
                f"{_ALGORITHM_EN}, part 3: no later than 1 month before the possible conditional "
                "release the probation service receives from the institution the list of convicts "
                "planned for conditional release",
                Provenance.SEED,
            ),
            CIVIL_CODE_1_119,
            ROLL_BACK_DESIGN,
        )
    ),
    DeadlineKind.RELEASE_DAY: LegalBasis((PENITENTIARY_CODE_94_3,)),
    DeadlineKind.SUPERVISION_PLAN: LegalBasis(
        (
            Citation(
                f"{_ALGORITHM_LT}, 3 dalis: sudaromas pirminis individualus probuojamojo "
                "priežiūros planas",
                f"{_ALGORITHM_EN}, part 3: the initial individual supervision plan is drawn up",
                Provenance.SEED,
            ),
            BEFORE_RELEASE_DESIGN,
        )
    ),
    DeadlineKind.PROBATION_ACKNOWLEDGEMENT: LegalBasis(
        (
            Citation(
                f"{_ALGORITHM_LT}, 3 dalis: lygtinai paleidžiamas iš įstaigos nuteistasis "
                "pasirašytinai supažindinamas su probacijos vykdymo tvarka, atsakomybe už "
                "probacijos sąlygų nesilaikymą",
                f"{_ALGORITHM_EN}, part 3: the convict being conditionally released acknowledges "
                "by signature the probation procedure and the responsibility for breaching it",
                Provenance.SEED,
            ),
            BEFORE_RELEASE_DESIGN,
        )
    ),
    DeadlineKind.ELECTRONIC_MONITORING_ACKNOWLEDGEMENT: LegalBasis(
        (
            Citation(
                f"{_ALGORITHM_LT}, 3 dalis: prieš pradedant vykdyti intensyvią priežiūrą, "
                "nuteistasis pasirašytinai supažindinamas su elektroninių stebėjimo priemonių "
                "naudojimo instrukcija (atmintine); faktinę lygtinio paleidimo iš įstaigos dieną "
                "uždedama apykojė",
                f"{_ALGORITHM_EN}, part 3: before intensive supervision starts the convict "
                "acknowledges by signature the electronic monitoring instruction (memo); the ankle "
                "tag is fitted on the actual release day",
                Provenance.SEED,
            ),
            BEFORE_RELEASE_DESIGN,
        )
    ),
    DeadlineKind.PROBATION_REPORTING: LegalBasis(
        (
            Citation(
                f"{_ALGORITHM_LT}, 3 dalis: asmuo informuojamas apie pareigą per 3 darbo dienas "
                "nuo paleidimo atvykti į probacijos tarnybą pagal gyvenamąją vietą",
                f"{_ALGORITHM_EN}, part 3: the person is told of the duty to come to the probation "
                "service of his residence within 3 working days of release",
                Provenance.SEED,
            ),
            CIVIL_CODE_1_118,
        )
    ),
    DeadlineKind.QUESTIONNAIRE_HANDOVER: LegalBasis(
        (
            Citation(
                f"{_V80_LT}, 6 punktas: Vadovas ne vėliau kaip per 5 darbo dienas įgaliotam "
                "asmeniui pateikia Prašymą ir Anketą",
                f"{_V80_EN}, point 6: the head of the health-care unit gives the request and the "
                "questionnaire to the authorised person within 5 working days",
                Provenance.SEED,
            ),
            CIVIL_CODE_1_118,
        )
    ),
    DeadlineKind.QUESTIONNAIRE_RETURN: LegalBasis(
        (
            Citation(
                f"{_V80_LT}, 7 punktas: Įgaliotas asmuo, užpildęs Anketą, ne vėliau kaip per "
                "5 darbo dienas ją grąžina Vadovui",
                f"{_V80_EN}, point 7: the authorised person fills the questionnaire and returns it "
                "to the head of the health-care unit within 5 working days",
                Provenance.SEED,
            ),
            CIVIL_CODE_1_118,
        )
    ),
    DeadlineKind.COMMISSION_PROTOCOL: LegalBasis(
        (
            Citation(
                f"{_V80_LT}, 13 punktas: Komisija per 10 darbo dienų (nuo dokumentų gavimo "
                "(registravimo) Kalėjimų departamente dienos) išnagrinėja pateiktus dokumentus, "
                "priima sprendimą",
                f"{_V80_EN}, point 13: the Commission examines the documents and decides within "
                "10 working days from their registration at the Prison Department",
                Provenance.SEED,
            ),
            CIVIL_CODE_1_118,
        )
    ),
    DeadlineKind.FREE_PLACES_MONTHLY: LegalBasis(
        (
            Citation(
                f"{_V80_LT}, 16 punktas: atsakingas darbuotojas iki kiekvieno mėnesio 5 d. "
                "elektroniniu paštu informuoja Komisijos pirmininką apie socialinės globos "
                "sektoriuje esamas ir planuojamas einamąjį mėnesį laisvas vietas",
                f"{_V80_EN}, point 16: the responsible employee informs the Commission chair by "
                "e-mail, by the 5th of every month, of the free places in the social-care sector "
                "now and planned this month",
                Provenance.SEED,
            ),
            CIVIL_CODE_1_121,
            Citation(
                "Sistemos „Tiltas“ sprendimas: priminimas nuo pirmosios mėnesio darbo dienos",
                "Tiltas design: reminder from the first working day of the month",
                Provenance.DESIGN,
            ),
        )
    ),
    DeadlineKind.FREE_PLACE_UNPLANNED: LegalBasis(
        (
            Citation(
                f"{_V80_LT}, 16 punktas: atsilaisvinus vietai neplanuotai, Komisijos pirmininką "
                "informuoja apie tai nedelsdamas",
                f"{_V80_EN}, point 16: an unplanned vacancy is reported to the Commission chair "
                "immediately",
                Provenance.SEED,
            ),
            Citation(
                "Sistemos „Tiltas“ sprendimas: „nedelsdamas“ – tą pačią dieną",
                "Tiltas design: 'immediately' means the same day",
                Provenance.DESIGN,
            ),
        )
    ),
}


@dataclass(frozen=True)
class _Rule:
    document_id: str | None
    actor: ActorRole
    anchor_event: AnchorEvent


_RULES: dict[DeadlineKind, _Rule] = {
    DeadlineKind.STAGE_I_START: _Rule(
        None, ActorRole.CORRECTIONAL_INSTITUTION, AnchorEvent.PCR_DATE
    ),
    DeadlineKind.RELEASE_NOTICE: _Rule(
        "A", ActorRole.CORRECTIONAL_INSTITUTION, AnchorEvent.PCR_DATE
    ),
    DeadlineKind.RELEASE_LIST: _Rule("C", ActorRole.CORRECTIONAL_INSTITUTION, AnchorEvent.PCR_DATE),
    DeadlineKind.RELEASE_DAY: _Rule(None, ActorRole.CORRECTIONAL_INSTITUTION, AnchorEvent.PCR_DATE),
    DeadlineKind.SUPERVISION_PLAN: _Rule(
        "D", ActorRole.PREPARATORY_PROBATION_OFFICER, AnchorEvent.RELEASE
    ),
    DeadlineKind.PROBATION_ACKNOWLEDGEMENT: _Rule(
        "E", ActorRole.PREPARATORY_PROBATION_OFFICER, AnchorEvent.RELEASE
    ),
    DeadlineKind.ELECTRONIC_MONITORING_ACKNOWLEDGEMENT: _Rule(
        "F", ActorRole.ELECTRONIC_MONITORING_OFFICER, AnchorEvent.RELEASE
    ),
    DeadlineKind.PROBATION_REPORTING: _Rule("E", ActorRole.CONVICT, AnchorEvent.RELEASE),
    DeadlineKind.QUESTIONNAIRE_HANDOVER: _Rule(
        "G", ActorRole.HEAD_OF_HEALTH_CARE_UNIT, AnchorEvent.REQUEST_FILED
    ),
    DeadlineKind.QUESTIONNAIRE_RETURN: _Rule(
        "H", ActorRole.AUTHORISED_PERSON, AnchorEvent.QUESTIONNAIRE_HANDED_OVER
    ),
    DeadlineKind.COMMISSION_PROTOCOL: _Rule(
        "K", ActorRole.COMMISSION, AnchorEvent.REGISTERED_AT_PRISON_DEPARTMENT
    ),
    DeadlineKind.FREE_PLACES_MONTHLY: _Rule(
        "M", ActorRole.RESPONSIBLE_EMPLOYEE, AnchorEvent.MONTH_START
    ),
    DeadlineKind.FREE_PLACE_UNPLANNED: _Rule(
        "M", ActorRole.RESPONSIBLE_EMPLOYEE, AnchorEvent.PLACE_VACATED
    ),
}

NOTICE_MONTHS = 6
LIST_MONTHS = 1
STAGE_I_MONTHS = 12
REPORTING_WORKING_DAYS = 3
HANDOVER_WORKING_DAYS = 5
RETURN_WORKING_DAYS = 5
PROTOCOL_WORKING_DAYS = 10
MONTHLY_REPORT_DAY = 5


def legal_basis(kind: DeadlineKind) -> LegalBasis:
    return _BASES[kind]


def document_of(kind: DeadlineKind) -> str | None:
    return _RULES[kind].document_id


def _deadline(
    calendar: WorkingDayCalendar,
    policy: TermPolicy,
    kind: DeadlineKind,
    anchor: date,
    nominal: date,
    due: date,
    *,
    projected: bool = False,
    remind_from: date | None = None,
) -> Deadline:
    rule = _RULES[kind]
    if remind_from is None:
        at_risk_from = _lead_start(calendar, due, policy.at_risk_lead_working_days)
    else:
        at_risk_from = min(remind_from, due)
    return Deadline(
        kind=kind,
        document_id=rule.document_id,
        actor=rule.actor,
        anchor_event=rule.anchor_event,
        anchor_date=anchor,
        anchor_is_projected=projected,
        nominal_date=nominal,
        due_date=due,
        at_risk_from=at_risk_from,
        legal_basis=_BASES[kind],
        calendar_version=calendar.version,
    )


def _lead_start(calendar: WorkingDayCalendar, due: date, lead: int) -> date:
    try:
        return calendar.add_working_days(due, -lead)
    except DateOutOfRange:
        # A due date in the first days of 2000: the warning window simply starts with the range.
        return EARLIEST


def _check_date(value: object, field: str) -> date:
    if not isinstance(value, date):
        raise InvalidTermInput(field, "must be a date")
    if not EARLIEST <= value <= LATEST:
        raise DateOutOfRange(
            value, EARLIEST, LATEST, field=field, detail=f"{value.isoformat()} is outside"
        )
    return value


def _backward(
    calendar: WorkingDayCalendar, pcr_date: date, months: int, field: str
) -> tuple[date, date]:
    nominal = months_before(pcr_date, months)
    if nominal < EARLIEST:
        raise DateOutOfRange(
            pcr_date,
            EARLIEST,
            LATEST,
            field=field,
            detail=f"{months} months before {pcr_date.isoformat()} is outside",
        )
    try:
        return nominal, calendar.previous_working_day_on_or_before(nominal)
    except DateOutOfRange as error:
        raise DateOutOfRange(
            pcr_date, EARLIEST, LATEST, field=field, detail=error.message
        ) from None


def release_day(calendar: WorkingDayCalendar, pcr_date: date) -> date:
    """The PCR date, or the preceding working day if it is a rest day or holiday.

    Penitentiary Code art. 94(3): the convict is released on the working day *before* a rest
    day or holiday, never after it.
    """
    _check_date(pcr_date, "pcr_date")
    try:
        return calendar.previous_working_day_on_or_before(pcr_date)
    except DateOutOfRange as error:
        raise DateOutOfRange(
            pcr_date, EARLIEST, LATEST, field="pcr_date", detail=error.message
        ) from None


def _forward(calendar: WorkingDayCalendar, anchor: date, count: int, field: str) -> date:
    try:
        return calendar.add_working_days(anchor, count)
    except DateOutOfRange as error:
        raise DateOutOfRange(anchor, EARLIEST, LATEST, field=field, detail=error.message) from None


# --- process A --------------------------------------------------------------------------------


def conditional_release_terms(
    calendar: WorkingDayCalendar,
    pcr_date: date,
    *,
    actual_release_date: date | None = None,
    intensive_supervision: bool = False,
    policy: TermPolicy = DEFAULT_POLICY,
) -> CaseTerms:
    """Every deadline of process A for one case, in chronological order of the rules.

    Deadlines anchored on the release (D, E, F, the 3-working-day reporting) use
    ``actual_release_date`` once recorded, else the release day computed from the PCR date,
    marked ``anchor_is_projected``. F (electronic monitoring) only with ``intensive_supervision``.
    """
    _check_date(pcr_date, "pcr_date")
    if actual_release_date is not None:
        _check_date(actual_release_date, "actual_release_date")
    result: list[Deadline] = []
    for kind, months in (
        (DeadlineKind.STAGE_I_START, STAGE_I_MONTHS),
        (DeadlineKind.RELEASE_NOTICE, NOTICE_MONTHS),
        (DeadlineKind.RELEASE_LIST, LIST_MONTHS),
    ):
        nominal, due = _backward(calendar, pcr_date, months, "pcr_date")
        result.append(_deadline(calendar, policy, kind, pcr_date, nominal, due))
    legal_release = release_day(calendar, pcr_date)
    result.append(
        _deadline(calendar, policy, DeadlineKind.RELEASE_DAY, pcr_date, pcr_date, legal_release)
    )

    released = actual_release_date if actual_release_date is not None else legal_release
    projected = actual_release_date is None
    before_release = [DeadlineKind.SUPERVISION_PLAN, DeadlineKind.PROBATION_ACKNOWLEDGEMENT]
    if intensive_supervision:
        before_release.append(DeadlineKind.ELECTRONIC_MONITORING_ACKNOWLEDGEMENT)
    for kind in before_release:
        result.append(
            _deadline(calendar, policy, kind, released, released, released, projected=projected)
        )
    field = "actual_release_date" if actual_release_date is not None else "pcr_date"
    reporting = _forward(calendar, released, REPORTING_WORKING_DAYS, field)
    result.append(
        _deadline(
            calendar,
            policy,
            DeadlineKind.PROBATION_REPORTING,
            released,
            reporting,
            reporting,
            projected=projected,
        )
    )
    return CaseTerms(tuple(result))


# --- process B --------------------------------------------------------------------------------


def questionnaire_handover_deadline(
    calendar: WorkingDayCalendar, request_filed_on: date, *, policy: TermPolicy = DEFAULT_POLICY
) -> Deadline:
    """V-80 p. 6: request G and questionnaire H to the authorised person within 5 working days."""
    _check_date(request_filed_on, "request_filed_on")
    due = _forward(calendar, request_filed_on, HANDOVER_WORKING_DAYS, "request_filed_on")
    return _deadline(
        calendar, policy, DeadlineKind.QUESTIONNAIRE_HANDOVER, request_filed_on, due, due
    )


def questionnaire_return_deadline(
    calendar: WorkingDayCalendar,
    handed_over_on: date,
    *,
    projected: bool = False,
    policy: TermPolicy = DEFAULT_POLICY,
) -> Deadline:
    """V-80 p. 7: questionnaire H back to the head of the health-care unit within 5 working days."""
    _check_date(handed_over_on, "handed_over_on")
    due = _forward(calendar, handed_over_on, RETURN_WORKING_DAYS, "handed_over_on")
    return _deadline(
        calendar,
        policy,
        DeadlineKind.QUESTIONNAIRE_RETURN,
        handed_over_on,
        due,
        due,
        projected=projected,
    )


def commission_protocol_deadline(
    calendar: WorkingDayCalendar, registered_on: date, *, policy: TermPolicy = DEFAULT_POLICY
) -> Deadline:
    """V-80 p. 13: protocol K within 10 working days of registration at the Prison Department."""
    _check_date(registered_on, "registered_on")
    due = _forward(calendar, registered_on, PROTOCOL_WORKING_DAYS, "registered_on")
    return _deadline(calendar, policy, DeadlineKind.COMMISSION_PROTOCOL, registered_on, due, due)


def social_care_terms(
    calendar: WorkingDayCalendar,
    request_filed_on: date,
    *,
    handed_over_on: date | None = None,
    registered_on: date | None = None,
    policy: TermPolicy = DEFAULT_POLICY,
) -> CaseTerms:
    """The deadlines of process B known so far for one convict (also for a transfer out).

    Until the hand-over is recorded, the return of H is projected from the hand-over due date.
    Protocol K has a deadline only once the Prison Department has registered the documents
    (I and J have no term, so that date cannot be projected).
    """
    handover = questionnaire_handover_deadline(calendar, request_filed_on, policy=policy)
    if handed_over_on is None:
        back = questionnaire_return_deadline(
            calendar, handover.due_date, projected=True, policy=policy
        )
    else:
        back = questionnaire_return_deadline(calendar, handed_over_on, policy=policy)
    deadlines = [handover, back]
    if registered_on is not None:
        deadlines.append(commission_protocol_deadline(calendar, registered_on, policy=policy))
    return CaseTerms(tuple(deadlines))


def free_places_report_deadline(calendar: WorkingDayCalendar, year: int, month: int) -> Deadline:
    """V-80 p. 16: the free-places report M for a month, due on the 5th.

    A 5th that is not a working day moves to the next working day (Civil Code art. 1.121);
    the reminder starts on the first working day of the month [design].
    """
    if (
        not isinstance(year, int)
        or isinstance(year, bool)
        or not EARLIEST.year <= year <= LATEST.year
    ):
        raise InvalidTermInput(
            "year", f"must be a year {EARLIEST.year}…{LATEST.year}, got {year!r}"
        )
    if not isinstance(month, int) or isinstance(month, bool) or not 1 <= month <= 12:
        raise InvalidTermInput("month", f"must be a month 1…12, got {month!r}")
    first = date(year, month, 1)
    nominal = date(year, month, MONTHLY_REPORT_DAY)
    due = calendar.next_working_day_on_or_after(nominal)
    remind_from = calendar.next_working_day_on_or_after(first)
    return _deadline(
        calendar,
        DEFAULT_POLICY,
        DeadlineKind.FREE_PLACES_MONTHLY,
        first,
        nominal,
        due,
        remind_from=remind_from,
    )


def unplanned_vacancy_deadline(calendar: WorkingDayCalendar, vacated_on: date) -> Deadline:
    """V-80 p. 16: an unplanned vacancy is reported immediately — the same day [design]."""
    _check_date(vacated_on, "vacated_on")
    return _deadline(
        calendar,
        DEFAULT_POLICY,
        DeadlineKind.FREE_PLACE_UNPLANNED,
        vacated_on,
        vacated_on,
        vacated_on,
        remind_from=vacated_on,
    )


# --- status -----------------------------------------------------------------------------------


class DeadlineStatus(StrEnum):
    PENDING = "pending"
    AT_RISK = "at_risk"
    DUE = "due"
    OVERDUE = "overdue"
    MET = "met"
    MET_LATE = "met_late"
    """Done, but after the due date: kept apart from ``met`` so a late act stays visible."""


def deadline_status(deadline: Deadline, today: date, met_on: date | None = None) -> DeadlineStatus:
    """Where a deadline stands on ``today``; ``met_on`` is when its document reached the required
    state (sent, signed, returned …), if it has."""
    if not isinstance(today, date):
        raise InvalidTermInput("today", "must be a date")
    if met_on is not None:
        if not isinstance(met_on, date):
            raise InvalidTermInput("met_on", "must be a date")
        if met_on > today:
            raise InvalidTermInput(
                "met_on", f"{met_on.isoformat()} is after today ({today.isoformat()})"
            )
        return DeadlineStatus.MET if met_on <= deadline.due_date else DeadlineStatus.MET_LATE
    if today > deadline.due_date:
        return DeadlineStatus.OVERDUE
    if today == deadline.due_date:
        return DeadlineStatus.DUE
    if today >= deadline.at_risk_from:
        return DeadlineStatus.AT_RISK
    return DeadlineStatus.PENDING
