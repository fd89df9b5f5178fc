"""Data schemas of the fifteen documents (DOMAIN.md §5): a common :class:`Envelope` and one model
per document type with that document's own data.

Field names are English; descriptions are Lithuanian because these models appear in OpenAPI for the
institutions' integrators. Every model refuses unknown fields. Names of bodies and officials are
always data (DOMAIN.md §2): the templates never hard-code them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from templates.questionnaire import OPTIONS_BY_ID
from tiltas.schema_types import (
    Email,
    IdentifiedPerson,
    LegalEntityCode,
    Name,
    PersonalCode,
    Phone,
    StrictModel,
    Text,
)

ShortText = Annotated[str, Field(min_length=1, max_length=500)]
"""One line of a list in a document (a condition, a measure, a factor)."""

# ---------------------------------------------------------------- envelope


class DocumentTypeId(StrEnum):
    """The document ids of DOMAIN.md §5, shared by code, API and templates."""

    A = "A"
    B = "B"
    B2 = "B2"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 - the id of the document in DOMAIN.md
    J = "J"
    K = "K"
    L = "L"
    M = "M"
    N = "N"


class SignerRole(StrEnum):
    director = "director"
    authorised_official = "authorised_official"
    municipality_official = "municipality_official"
    preparatory_probation_officer = "preparatory_probation_officer"
    em_probation_officer = "em_probation_officer"
    treating_doctor = "treating_doctor"
    health_unit_head = "health_unit_head"
    authorised_person = "authorised_person"
    commission_chair = "commission_chair"
    commission_secretary = "commission_secretary"
    responsible_employee = "responsible_employee"
    social_worker = "social_worker"
    convict = "convict"


class Registration(StrictModel):
    """Registracijos duomenys, kuriuos suteikia įstaigos dokumentų valdymo sistema."""

    number: Name = Field(description="Registracijos numeris, pvz., „1-234“")
    date: dt.date = Field(description="Registracijos data")


class AuthorInstitution(StrictModel):
    name: Name = Field(description="Dokumento sudarytojo (įstaigos) pavadinimas, kaip spausdinamas")
    code: LegalEntityCode = Field(description="Juridinio asmens kodas")
    address: Text = Field(description="Buveinės adresas")
    email: Email = Field(description="Elektroninio pašto adresas")
    phone: Phone | None = Field(default=None, description="Telefono numeris")


class Recipient(StrictModel):
    name: Name = Field(
        description="Adresato pavadinimas (vardininku), pvz., „Vilniaus miesto "
        "savivaldybės administracija“"
    )
    addressed_as: Name | None = Field(
        default=None,
        description="Kaip adresatas užrašomas dokumente (naudininku), pvz., „Vilniaus miesto "
        "savivaldybės administracijai“; jei nenurodyta – spausdinamas pavadinimas",
    )
    code: LegalEntityCode | None = Field(default=None, description="Juridinio asmens kodas")
    address: Text | None = Field(default=None, description="Adresas")
    email: Email | None = Field(default=None, description="Elektroninio pašto adresas")


class Signer(StrictModel):
    full_name: Name = Field(description="Pasirašančiojo vardas ir pavardė")
    position: Name | None = Field(default=None, description="Pareigos (nuteistajam nenurodoma)")
    role: SignerRole = Field(description="Pasirašančiojo vaidmuo")


class Annex(StrictModel):
    title: Text = Field(description="Priedo pavadinimas")
    sheets: int | None = Field(default=None, ge=1, le=10000, description="Lapų skaičius")


class Preparer(StrictModel):
    full_name: Name = Field(description="Dokumento rengėjo vardas ir pavardė")
    phone: Phone | None = Field(default=None, description="Telefono numeris")
    email: Email | None = Field(default=None, description="Elektroninio pašto adresas")


class RelatedDocument(StrictModel):
    number: Name = Field(description="Susijusio dokumento registracijos numeris")
    date: dt.date = Field(description="Susijusio dokumento registracijos data")
    title: Text | None = Field(default=None, description="Susijusio dokumento pavadinimas")


class Residence(StrictModel):
    address: Text = Field(description="Numatomos gyvenamosios vietos adresas")
    municipality: Name = Field(
        description="Savivaldybės pavadinimas, pvz., „Vilniaus miesto savivaldybė“"
    )


class Subject(IdentifiedPerson):
    """Nuteistasis, kuriam rengiamas dokumentas."""

    full_name: Name = Field(description="Nuteistojo vardas ir pavardė")
    personal_code: PersonalCode | None = Field(
        default=None, description="Asmens kodas (11 skaitmenų)"
    )
    birth_date: dt.date | None = Field(
        default=None, description="Gimimo data, kai asmens kodas nežinomas"
    )
    institution: Name = Field(description="Pataisos įstaiga, kurioje nuteistasis atlieka bausmę")
    possible_release_date: dt.date | None = Field(
        default=None, description="Galimo lygtinio paleidimo data"
    )
    intended_residence: Residence | None = Field(
        default=None, description="Numatoma gyvenamoji vieta po paleidimo"
    )


class Envelope(StrictModel):
    """Bendrieji dokumento rekvizitai: sudarytojas, adresatai, registracija, pasirašantieji,
    priedai ir asmuo, kuriam dokumentas rengiamas."""

    document_type: DocumentTypeId = Field(description="Dokumento rūšis (DOMAIN.md §5: A–N)")
    title: Text | None = Field(
        default=None, description="Dokumento antraštė; jei nenurodyta – rūšies pavadinimas"
    )
    registration: Registration | None = Field(
        default=None,
        description="Registracijos numeris ir data; kol nėra – dokumentas yra projektas",
    )
    place: Name | None = Field(
        default=None, description="Dokumento sudarymo vieta, pvz., „Vilnius“"
    )
    author: AuthorInstitution = Field(description="Dokumento sudarytojas")
    recipients: list[Recipient] = Field(
        default_factory=list, max_length=20, description="Adresatai"
    )
    signers: list[Signer] = Field(
        min_length=1, max_length=20, description="Pasirašantieji, eilės tvarka"
    )
    annexes: list[Annex] = Field(default_factory=list, max_length=50, description="Priedai")
    preparer: Preparer | None = Field(default=None, description="Dokumento rengėjas")
    related_documents: list[RelatedDocument] = Field(
        default_factory=list, max_length=20, description="Susiję dokumentai (į ką atsakoma)"
    )
    subject: Subject | None = Field(
        default=None, description="Nuteistasis (nebūtinas sąrašui C ir laisvų vietų informacijai M)"
    )


# ---------------------------------------------------------------- shared parts


class ContactPerson(StrictModel):
    full_name: Name = Field(description="Vardas ir pavardė")
    position: Name | None = Field(default=None, description="Pareigos")
    organisation: Name | None = Field(default=None, description="Įstaiga ar organizacija")
    phone: Phone | None = Field(default=None, description="Telefono numeris")
    email: Email | None = Field(default=None, description="Elektroninio pašto adresas")


class SectorDirection(StrEnum):
    """Dėl ko kreipiamasi: skirti, perkelti į socialinės globos sektorių ar iš jo."""

    assign = "assign"
    transfer_in = "transfer_in"
    transfer_out = "transfer_out"


# ---------------------------------------------------------------- A


class NeedArea(StrEnum):
    housing = "housing"
    employment = "employment"
    addiction_treatment = "addiction_treatment"
    social_support = "social_support"
    debts = "debts"
    family = "family"
    identity_documents = "identity_documents"


class IdentifiedNeed(StrictModel):
    area: NeedArea = Field(
        description="Sritis: gyvenamoji vieta, užimtumas, priklausomybės ligų gydymas, socialinė "
        "parama, įsiskolinimai, santykiai su artimaisiais, asmens dokumentai"
    )
    description: Text = Field(description="Nustatytas poreikis")


class ReleaseNoticeData(StrictModel):
    """A. Pranešimas savivaldybės administracijai apie asmens paleidimą iš pataisos įstaigos."""

    needs: list[IdentifiedNeed] = Field(
        default_factory=list, max_length=50, description="Nustatyti poreikiai"
    )
    institution_social_worker: ContactPerson = Field(
        description="Pataisos įstaigos socialinis darbuotojas (vardas, pavardė, telefonas, "
        "el. paštas)"
    )


# ---------------------------------------------------------------- B, B2


class AssigneeKind(StrEnum):
    social_services_institution = "social_services_institution"
    ngo = "ngo"


class SocialWorkerAssignmentData(StrictModel):
    """B. Pranešimas apie paskirtą socialinį darbuotoją / NVO."""

    assignee_kind: AssigneeKind = Field(
        description="Paskirta socialinių paslaugų įstaiga (jos socialinis darbuotojas) ar NVO"
    )
    assigned_organisation: Name = Field(description="Paskirtos įstaigos ar NVO pavadinimas")
    contact_person: ContactPerson = Field(
        description="Paskirtas socialinis darbuotojas / NVO kontaktinis asmuo"
    )
    institution_social_worker: ContactPerson = Field(
        description="Pataisos įstaigos socialinis darbuotojas, kurio duomenys perduodami"
    )
    conditional_release: bool = Field(
        default=True,
        description="Asmuo paleidžiamas lygtinai (tada informuojama ir probacijos tarnyba)",
    )


class ProbationOfficerAssignmentData(StrictModel):
    """B2. Pranešimas apie paskirtą probacijos pareigūną."""

    probation_officer: ContactPerson = Field(
        description="Priežiūrą vykdantis probacijos pareigūnas"
    )
    probation_division: Name = Field(description="Probacijos tarnybos regiono skyrius")
    supervision_start: dt.date | None = Field(default=None, description="Priežiūros pradžia")
    social_worker: ContactPerson | None = Field(
        default=None, description="Savivaldybės ar NVO paskirtas socialinis darbuotojas"
    )


# ---------------------------------------------------------------- C


class ConditionalReleaseListRow(IdentifiedPerson):
    full_name: Name = Field(description="Nuteistojo vardas ir pavardė")
    personal_code: PersonalCode | None = Field(default=None, description="Asmens kodas")
    birth_date: dt.date | None = Field(
        default=None, description="Gimimo data, kai asmens kodas nežinomas"
    )
    possible_release_date: dt.date = Field(description="Galimo lygtinio paleidimo data")
    residence: Residence = Field(description="Nurodyta gyvenamoji vieta")
    em_check_needed: bool = Field(
        description="Reikia patikrinti technines galimybes taikyti intensyvią priežiūrą "
        "(elektroninį stebėjimą)"
    )
    measures_done: list[ShortText] = Field(
        default_factory=list,
        max_length=30,
        description="Bausmės atlikimo metu vykdytos resocializacijos priemonės",
    )
    risk_assessment: Text | None = Field(
        default=None, description="Nusikalstamo elgesio rizikos vertinimo rezultatai"
    )


class ConditionalReleaseListData(StrictModel):
    """C. Nuteistųjų, kuriuos planuojama paleisti lygtinai, sąrašas."""

    rows: list[ConditionalReleaseListRow] = Field(
        min_length=1, max_length=500, description="Po vieną eilutę kiekvienam nuteistajam"
    )


# ---------------------------------------------------------------- D


class RiskLevel(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class PlannedMeasure(StrictModel):
    measure: Text = Field(description="Priemonė")
    responsible: Name = Field(description="Atsakingas asmuo ar įstaiga")
    term: ShortText = Field(description="Terminas (data arba aprašymas)")


class MonitoringPeriod(StrictModel):
    days: ShortText = Field(description="Dienos, pvz., „pirmadienis–penktadienis“")
    start: dt.time = Field(description="Nuo (laikas)")
    end: dt.time = Field(description="Iki (laikas)")
    place: Text = Field(description="Nustatyta buvimo vieta")


class SupervisionPlanData(StrictModel):
    """D. Pirminis individualus probuojamojo priežiūros planas."""

    criminogenic_factors: list[ShortText] = Field(
        default_factory=list, max_length=50, description="Kriminogeniniai veiksniai"
    )
    risk_level: RiskLevel = Field(description="Nusikalstamo elgesio rizikos lygis")
    special_duties: list[ShortText] = Field(
        default_factory=list, max_length=50, description="Planuojamos specialiosios pareigos"
    )
    measures: list[PlannedMeasure] = Field(
        default_factory=list, max_length=100, description="Resocializacijos priemonės"
    )
    monitoring_schedule: list[MonitoringPeriod] = Field(
        default_factory=list,
        max_length=50,
        description="Intensyvios priežiūros (elektroninio stebėjimo) grafikas; tuščias – netaikoma",
    )
    social_worker: ContactPerson | None = Field(
        default=None, description="Savivaldybės ar NVO paskirtas socialinis darbuotojas"
    )
    supervising_division: Name = Field(
        description="Probacijos tarnybos regiono skyrius pagal gyvenamąją vietą"
    )


# ---------------------------------------------------------------- E, F


class ReportingOffice(StrictModel):
    name: Name = Field(description="Probacijos tarnybos padalinys pagal gyvenamąją vietą")
    address: Text = Field(description="Adresas")
    phone: Phone | None = Field(default=None, description="Telefono numeris")


class ProbationAcknowledgementData(StrictModel):
    """E. Supažindinimas su probacijos vykdymo tvarka, atsakomybe ir pareiga atvykti."""

    conditions: list[ShortText] = Field(
        default_factory=list, max_length=50, description="Probacijos sąlygos ir pareigos"
    )
    release_date: dt.date = Field(description="Paleidimo diena")
    reporting_office: ReportingOffice = Field(description="Kur atvykti")
    reporting_deadline: dt.date = Field(
        description="Paskutinė diena atvykti (apskaičiuojama: paleidimo diena + 3 darbo dienos)"
    )


class MonitoringDevice(StrictModel):
    kind: Name = Field(description="Priemonės rūšis, pvz., „apykojė“")
    serial_number: Name = Field(description="Serijos numeris")


class MonitoringAcknowledgementData(StrictModel):
    """F. Supažindinimas su elektroninio stebėjimo priemonių naudojimo atmintine ir materialine
    atsakomybe."""

    devices: list[MonitoringDevice] = Field(min_length=1, max_length=10, description="Priemonės")
    em_officer: ContactPerson = Field(
        description="Probacijos tarnybos pareigūnas, atsakingas už elektroninį stebėjimą"
    )
    ways_to_notify: list[ShortText] = Field(
        min_length=1,
        max_length=10,
        description="Būdai, kuriais iš anksto informuojama apie pasikeitusią buvimo vietą ar laiką",
    )
    supervision_start: dt.date | None = Field(
        default=None, description="Intensyvios priežiūros pradžia"
    )


# ---------------------------------------------------------------- G, H


class SocialCareRequestData(StrictModel):
    """G. 1 priedas. Prašymas dėl nuteistojo socialinės globos poreikio įvertinimo."""

    institution_name: Name = Field(description="Įstaigos pavadinimas")
    request_date: dt.date = Field(description="Data")
    doctor_name: Name = Field(description="Prašymą užpildžiusio gydytojo vardas, pavardė")


class QuestionnaireData(StrictModel):
    """H. 2 priedas. Nuteistojo socialinės globos poreikio vertinimo anketa.

    ``marked`` are the ids of the cells marked X, exactly as on paper; completeness (one mark per
    section and per row of section 2) is checked by
    :func:`templates.questionnaire.check_completeness`.
    """

    marked: list[Annotated[str, Field(max_length=40)]] = Field(
        max_length=60, description="Pažymėtų atsakymų identifikatoriai (žr. anketos punktus)"
    )
    assessor_name: Name = Field(description="Vertinimą atlikusio asmens vardas, pavardė")
    assessor_position: Name = Field(description="Pareigos")
    assessment_date: dt.date = Field(description="Vertinimo atlikimo data")

    @field_validator("marked")
    @classmethod
    def _known_options(cls, value: list[str]) -> list[str]:
        unknown = [option for option in value if option not in OPTIONS_BY_ID]
        if unknown:
            raise PydanticCustomError(
                "unknown_option", "unknown questionnaire options: {unknown}", {"unknown": unknown}
            )
        return value


# ---------------------------------------------------------------- I, J, K, L, M


class CommissionDocumentsNoticeData(StrictModel):
    """I. Tarnybinis pranešimas su Tvarkos aprašo 11 punkte nurodytais dokumentais."""

    direction: SectorDirection = Field(description="Skirti, perkelti į sektorių ar iš jo")
    convict_request_date: dt.date | None = Field(
        default=None, description="Nuteistojo prašymo data (jei prašymas buvo pateiktas)"
    )
    form_027a_date: dt.date = Field(description="Statistinės apskaitos formos Nr. 027/a data")
    questionnaire_date: dt.date = Field(description="Anketos užpildymo data")
    certificate_copies: list[ShortText] = Field(
        default_factory=list,
        max_length=20,
        description="Neįgalumo, darbingumo lygio, specialiųjų poreikių ar kitų dokumentų kopijos",
    )


class CommissionApplicationData(StrictModel):
    """J. Kreipimasis į Komisiją."""

    direction: SectorDirection = Field(description="Skirti, perkelti į sektorių ar iš jo")
    grounds: Text | None = Field(default=None, description="Trumpas aplinkybių aprašymas")


class CommissionRole(StrEnum):
    chair = "chair"
    secretary = "secretary"
    member = "member"


class CommissionMember(StrictModel):
    full_name: Name = Field(description="Vardas ir pavardė")
    position: Name | None = Field(default=None, description="Pareigos")
    role: CommissionRole = Field(description="Pirmininkas, sekretorius ar narys")


class CommissionDecision(StrEnum):
    recommend = "recommend"
    not_recommend = "not_recommend"


class CommissionProtocolData(StrictModel):
    """K. Komisijos posėdžio protokolas (vienas nuteistajam)."""

    commission_name: Text = Field(description="Komisijos pavadinimas")
    meeting_date: dt.date = Field(description="Posėdžio data")
    protocol_number: Name = Field(description="Protokolo numeris")
    documents_registered_on: dt.date | None = Field(
        default=None, description="Dokumentų gavimo (registravimo) data"
    )
    members_present: list[CommissionMember] = Field(
        min_length=1, max_length=30, description="Posėdyje dalyvavę Komisijos nariai"
    )
    documents_examined: list[ShortText] = Field(
        min_length=1, max_length=30, description="Išnagrinėti dokumentai"
    )
    decision: CommissionDecision = Field(description="Rekomenduoti ar nerekomenduoti")
    direction: SectorDirection = Field(description="Skirti, perkelti į sektorių ar iš jo")
    reasons: Text = Field(description="Sprendimo motyvai")

    @model_validator(mode="after")
    def _one_chair_and_secretary(self) -> CommissionProtocolData:
        roles = [member.role for member in self.members_present]
        for role in (CommissionRole.chair, CommissionRole.secretary):
            if roles.count(role) != 1:
                raise PydanticCustomError(
                    "commission_roles", "members_present needs exactly one chair and one secretary"
                )
        return self


class RecommendationAcknowledgementData(StrictModel):
    """L. Supažindinimas su Komisijos rekomendacija."""

    protocol_number: Name = Field(description="Komisijos posėdžio protokolo numeris")
    protocol_date: dt.date = Field(description="Protokolo data")
    decision: CommissionDecision = Field(description="Komisijos rekomendacija")
    direction: SectorDirection = Field(description="Skirti, perkelti į sektorių ar iš jo")
    acknowledged_on: dt.date | None = Field(
        default=None, description="Susipažinimo data; jei nenurodyta – įrašoma ranka"
    )
    written_reply: Text | None = Field(
        default=None, description="Atsakymas nuteistajam raštu, jei jis pats kreipėsi"
    )


class FreePlacesData(StrictModel):
    """M. Informacija apie laisvas vietas socialinės globos sektoriuje."""

    as_of: dt.date = Field(description="Data, kuriai teikiama informacija")
    free_places_now: int = Field(ge=0, le=10000, description="Esamos laisvos vietos")
    planned_this_month: int = Field(
        ge=0, le=10000, description="Planuojamos einamąjį mėnesį laisvos vietos"
    )
    unplanned_vacancy: bool = Field(
        default=False, description="Vieta atsilaisvino neplanuotai (informuojama nedelsiant)"
    )
    vacancy_date: dt.date | None = Field(default=None, description="Kada atsilaisvino vieta")

    @model_validator(mode="after")
    def _vacancy_date_only_for_vacancy(self) -> FreePlacesData:
        if self.vacancy_date is not None and not self.unplanned_vacancy:
            raise PydanticCustomError(
                "vacancy_date", "vacancy_date is given only with unplanned_vacancy"
            )
        return self


# ---------------------------------------------------------------- N


class MeasureArea(StrEnum):
    social_services = "social_services"
    cash_assistance = "cash_assistance"
    housing = "housing"
    crisis_centre = "crisis_centre"
    employment = "employment"
    health_addiction = "health_addiction"
    debts = "debts"


class ReleaseMeasure(StrictModel):
    area: MeasureArea = Field(
        description="Sritis: socialinės paslaugos, piniginė socialinė parama, gyvenamoji vieta, "
        "krizių centras, užimtumas, sveikata ir priklausomybės, įsiskolinimai"
    )
    need: Text = Field(description="Nustatytas poreikis")
    measure: Text = Field(description="Priemonė")
    provider: Name = Field(description="Paslaugos teikėjas")
    responsible: Name = Field(description="Atsakingas asmuo")
    term: ShortText = Field(description="Terminas (data arba aprašymas)")


class ReleaseMeasuresPlanData(StrictModel):
    """N. Priemonių įgyvendinimo po paleidimo iš pataisos įstaigos planas."""

    measures: list[ReleaseMeasure] = Field(min_length=1, max_length=100, description="Priemonės")
