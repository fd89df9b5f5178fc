"""The registry of the fifteen document types of DOMAIN.md §5: id, Lithuanian title, who signs,
who receives, the data schema and the template file, with one sample per type (for tests and for
the API's examples).

The errors of the templates package live here, at its base, so that every module raises the same
classes. They are domain errors (:class:`tiltas.errors.TiltasError`), mapped to HTTP by the API:

    TemplateError
    ├── UnknownDocumentType      (also NotFound; field: type_id)
    ├── InvalidDocumentData      (also InvalidInput; problems: every invalid field at once)
    ├── TemplateRejected         (also InvalidInput; problems: all problems of an uploaded template)
    └── TemplateRenderFailed     (type_id, template_version, detail, line)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from templates.schemas import (
    Annex,
    AssigneeKind,
    AuthorInstitution,
    CommissionApplicationData,
    CommissionDecision,
    CommissionDocumentsNoticeData,
    CommissionMember,
    CommissionProtocolData,
    CommissionRole,
    ConditionalReleaseListData,
    ConditionalReleaseListRow,
    ContactPerson,
    DocumentTypeId,
    Envelope,
    FreePlacesData,
    IdentifiedNeed,
    MeasureArea,
    MonitoringAcknowledgementData,
    MonitoringDevice,
    MonitoringPeriod,
    NeedArea,
    PlannedMeasure,
    Preparer,
    ProbationAcknowledgementData,
    ProbationOfficerAssignmentData,
    QuestionnaireData,
    Recipient,
    RecommendationAcknowledgementData,
    Registration,
    RelatedDocument,
    ReleaseMeasure,
    ReleaseMeasuresPlanData,
    ReleaseNoticeData,
    ReportingOffice,
    Residence,
    RiskLevel,
    SectorDirection,
    Signer,
    SignerRole,
    SocialCareRequestData,
    SocialWorkerAssignmentData,
    Subject,
    SupervisionPlanData,
)
from tiltas.errors import FieldProblem, InvalidInput, NotFound, TiltasError
from tiltas.schema_types import StrictModel

TEMPLATE_DIRECTORY = Path(__file__).resolve().parent / "docx"


@dataclass(frozen=True)
class DocumentType:
    id: DocumentTypeId
    """The shared id of DOMAIN.md §5 (A … N); also the template's file name."""
    name: str
    """English name for code and logs, e.g. ``release_notice``."""
    title: str
    """The Lithuanian title, printed when the envelope gives none."""
    signer_roles: tuple[SignerRole, ...]
    """Who may sign, in the order the signatures are printed."""
    required_signer_roles: tuple[SignerRole, ...]
    """Roles that must be among the signers (beyond at least one signer)."""
    receives: str
    """Who receives the document (Lithuanian, for people)."""
    schema: type[StrictModel]
    """The model of this type's own data (``data`` in the template)."""
    subject_required: bool = True
    """Whether the envelope must name the convict (not for the list C and the places report M)."""

    @property
    def template_file(self) -> Path:
        return TEMPLATE_DIRECTORY / f"{self.id.value}.docx"


_R = SignerRole
DOCUMENT_TYPES: dict[DocumentTypeId, DocumentType] = {
    t.id: t
    for t in (
        DocumentType(
            DocumentTypeId.A,
            "release_notice",
            "Pranešimas savivaldybės administracijai apie asmens paleidimą iš pataisos įstaigos",
            (_R.director, _R.authorised_official),
            (),
            "Savivaldybės administracija pagal numatomą gyvenamąją vietą",
            ReleaseNoticeData,
        ),
        DocumentType(
            DocumentTypeId.B,
            "social_worker_assignment",
            "Pranešimas apie paskirtą socialinį darbuotoją / NVO",
            (_R.municipality_official,),
            (),
            "Pataisos įstaiga; socialinių paslaugų įstaiga ar NVO; probacijos tarnyba, jei "
            "paleidžiama "
            "lygtinai",
            SocialWorkerAssignmentData,
        ),
        DocumentType(
            DocumentTypeId.B2,
            "probation_officer_assignment",
            "Pranešimas apie paskirtą probacijos pareigūną",
            (_R.preparatory_probation_officer,),
            (),
            "Savivaldybės administracija ar NVO",
            ProbationOfficerAssignmentData,
        ),
        DocumentType(
            DocumentTypeId.C,
            "conditional_release_list",
            "Nuteistųjų, kuriuos planuojama paleisti lygtinai, sąrašas",
            (_R.director, _R.authorised_official),
            (),
            "Lietuvos probacijos tarnyba",
            ConditionalReleaseListData,
            subject_required=False,
        ),
        DocumentType(
            DocumentTypeId.D,
            "supervision_plan",
            "Pirminis individualus probuojamojo priežiūros planas",
            (_R.preparatory_probation_officer,),
            (),
            "Probacijos tarnybos regiono skyrius pagal gyvenamąją vietą",
            SupervisionPlanData,
        ),
        DocumentType(
            DocumentTypeId.E,
            "probation_acknowledgement",
            "Supažindinimas su probacijos vykdymo tvarka, atsakomybe ir pareiga per 3 darbo dienas "
            "atvykti į probacijos tarnybą",
            (_R.convict, _R.preparatory_probation_officer),
            (_R.convict, _R.preparatory_probation_officer),
            "Probacijos byla; kopija nuteistajam",
            ProbationAcknowledgementData,
        ),
        DocumentType(
            DocumentTypeId.F,
            "monitoring_acknowledgement",
            "Supažindinimas su elektroninio stebėjimo priemonių naudojimo atmintine ir materialine "
            "atsakomybe",
            (_R.convict, _R.em_probation_officer),
            (_R.convict, _R.em_probation_officer),
            "Probacijos byla",
            MonitoringAcknowledgementData,
        ),
        DocumentType(
            DocumentTypeId.G,
            "social_care_request",
            "Prašymas dėl nuteistojo socialinės globos poreikio įvertinimo",
            (_R.treating_doctor,),
            (_R.treating_doctor,),
            "Asmens sveikatos priežiūros padalinio vadovas",
            SocialCareRequestData,
        ),
        DocumentType(
            DocumentTypeId.H,
            "social_care_questionnaire",
            "Nuteistojo socialinės globos poreikio vertinimo anketa",
            (_R.authorised_person,),
            (_R.authorised_person,),
            "Asmens sveikatos priežiūros padalinio vadovas",
            QuestionnaireData,
        ),
        DocumentType(
            DocumentTypeId.I,
            "commission_documents_notice",
            "Tarnybinis pranešimas",
            (_R.health_unit_head,),
            (_R.health_unit_head,),
            "Įstaigos direktorius",
            CommissionDocumentsNoticeData,
        ),
        DocumentType(
            DocumentTypeId.J,
            "commission_application",
            "Kreipimasis į Komisiją",
            (_R.director, _R.authorised_official),
            (),
            "Komisija",
            CommissionApplicationData,
        ),
        DocumentType(
            DocumentTypeId.K,
            "commission_protocol",
            "Komisijos posėdžio protokolas",
            (_R.commission_chair, _R.commission_secretary),
            (_R.commission_chair, _R.commission_secretary),
            "Įstaiga, kuri kreipėsi (protokolo kopija)",
            CommissionProtocolData,
        ),
        DocumentType(
            DocumentTypeId.L,
            "recommendation_acknowledgement",
            "Supažindinimas su Komisijos rekomendacija",
            (_R.convict, _R.director, _R.authorised_official),
            (_R.convict,),
            "Nuteistasis; byla",
            RecommendationAcknowledgementData,
        ),
        DocumentType(
            DocumentTypeId.M,
            "free_places_report",
            "Informacija apie laisvas vietas socialinės globos sektoriuje",
            (_R.responsible_employee,),
            (_R.responsible_employee,),
            "Komisijos pirmininkas (elektroniniu paštu)",
            FreePlacesData,
            subject_required=False,
        ),
        DocumentType(
            DocumentTypeId.N,
            "release_measures_plan",
            "Priemonių įgyvendinimo po paleidimo iš pataisos įstaigos planas",
            (_R.social_worker, _R.convict),
            (_R.social_worker,),
            "Asmuo; probacijos tarnyba, jei paleidžiamas lygtinai",
            ReleaseMeasuresPlanData,
        ),
    )
}


class TemplateError(TiltasError):
    code = "template_error"


class UnknownDocumentType(TemplateError, NotFound):
    code = "unknown_document_type"

    def __init__(self, type_id: str) -> None:
        super().__init__(f"unknown document type {type_id!r}; known: {', '.join(DOCUMENT_TYPES)}")
        self.type_id = type_id


class InvalidDocumentData(TemplateError, InvalidInput):
    """The envelope or the data do not fit the type. ``problems`` lists every one."""

    code = "invalid_document_data"

    def __init__(self, problems: list[FieldProblem]) -> None:
        InvalidInput.__init__(
            self,
            problems,
            "the document data are invalid: "
            + "; ".join(f"{p.field}: {p.message}" for p in problems),
        )


class TemplateRejected(TemplateError, InvalidInput):
    """An uploaded template has problems; ``problems`` lists every one (see template_check)."""

    code = "template_rejected"

    def __init__(self, problems: list[FieldProblem]) -> None:
        InvalidInput.__init__(
            self,
            problems,
            f"the template has {len(problems)} problem(s): "
            + "; ".join(p.message for p in problems),
        )


class TemplateRenderFailed(TemplateError):
    """The template could not be rendered with valid data: a fault of the template."""

    code = "template_render_failed"

    def __init__(
        self, type_id: str, template_version: str, detail: str, line: int | None = None
    ) -> None:
        super().__init__(f"template {type_id} ({template_version[:12]}) failed: {detail}")
        self.type_id = type_id
        self.template_version = template_version
        self.detail = detail
        self.line = line


def document_type(type_id: DocumentTypeId | str) -> DocumentType:
    """The registered type; raises :class:`UnknownDocumentType`."""
    try:
        return DOCUMENT_TYPES[DocumentTypeId(type_id)]
    except ValueError:
        raise UnknownDocumentType(str(type_id)) from None


# ---------------------------------------------------------------- samples

_INSTITUTION = AuthorInstitution(
    name="Lietuvos kalėjimų tarnybos Marijampolės pataisos namai",
    code="188000001",
    address="Gamyklų g. 1, 68001 Marijampolė",
    email="marijampole@example.lt",
    phone="+370 343 00000",
)
_PROBATION = AuthorInstitution(
    name="Lietuvos probacijos tarnyba",
    code="188000002",
    address="Vilniaus g. 1, 01001 Vilnius",
    email="probacija@example.lt",
    phone="+370 5 000 0000",
)
_MUNICIPALITY = AuthorInstitution(
    name="Kauno miesto savivaldybės administracija",
    code="188000003",
    address="Laisvės al. 1, 44001 Kaunas",
    email="info@kaunas.example.lt",
)
_DEPARTMENT = AuthorInstitution(
    name="Lietuvos kalėjimų tarnyba",
    code="188000004",
    address="Birutės g. 1, 08001 Vilnius",
    email="info@kaleji.example.lt",
)
_SUBJECT = Subject(
    full_name="Jonas Žemaitis",
    personal_code="38501011239",
    institution="Lietuvos kalėjimų tarnybos Marijampolės pataisos namai",
    possible_release_date=dt.date(2026, 11, 2),
    intended_residence=Residence(
        address="Šilo g. 5-12, 44001 Kaunas", municipality="Kauno miesto savivaldybė"
    ),
)
_INSTITUTION_SOCIAL_WORKER = ContactPerson(
    full_name="Rūta Čepulienė",
    position="Socialinė darbuotoja",
    organisation="Lietuvos kalėjimų tarnybos Marijampolės pataisos namai",
    phone="+370 343 00001",
    email="ruta.cepuliene@example.lt",
)
_MUNICIPAL_SOCIAL_WORKER = ContactPerson(
    full_name="Gintarė Ąžuolienė",
    position="Socialinė darbuotoja",
    organisation="Kauno miesto socialinių paslaugų centras",
    phone="+370 37 000001",
    email="gintare.azuoliene@example.lt",
)
_PREPARER = Preparer(
    full_name="Rūta Čepulienė", phone="+370 343 00001", email="ruta.cepuliene@example.lt"
)
_ALL_MARKED_SAMPLE = [
    "leisure.2",
    "outings.work.N",
    "outings.shopping.IDS",
    "outings.day_centre.IDS",
    "outings.doctor.S",
    "outings.canteen.S",
    "self_care.3",
    "body_functions.4",
    "eating.2",
    "housework.3",
    "activity.2",
]


def _envelope(type_id: DocumentTypeId, **fields: object) -> Envelope:
    values: dict[str, object] = {
        "document_type": type_id,
        "author": _INSTITUTION,
        "subject": _SUBJECT,
        "place": "Marijampolė",
    }
    values.update(fields)
    return Envelope.model_validate(values)


def sample(type_id: DocumentTypeId | str) -> tuple[Envelope, StrictModel]:
    """A realistic, fictitious envelope and data for the type: for tests and API examples."""
    t = document_type(type_id).id
    director = Signer(
        full_name="Petras Kazlauskas", position="Direktorius", role=SignerRole.director
    )
    if t is DocumentTypeId.A:
        return _envelope(
            t,
            registration=Registration(number="1-1234", date=dt.date(2026, 4, 28)),
            recipients=[
                Recipient(
                    name="Kauno miesto savivaldybės administracija",
                    addressed_as="Kauno miesto savivaldybės administracijai",
                    address="Laisvės al. 1, 44001 Kaunas",
                    email="info@kaunas.example.lt",
                )
            ],
            signers=[director],
            preparer=_PREPARER,
        ), ReleaseNoticeData(
            needs=[
                IdentifiedNeed(
                    area=NeedArea.housing,
                    description="Neturi gyvenamosios vietos; reikalingas laikinas apgyvendinimas",
                ),
                IdentifiedNeed(
                    area=NeedArea.employment,
                    description="Ieško darbo, turi suvirintojo kvalifikaciją",
                ),
                IdentifiedNeed(
                    area=NeedArea.identity_documents,
                    description="Pasibaigęs asmens tapatybės kortelės galiojimas",
                ),
            ],
            institution_social_worker=_INSTITUTION_SOCIAL_WORKER,
        )
    if t is DocumentTypeId.B:
        return _envelope(
            t,
            author=_MUNICIPALITY,
            place="Kaunas",
            recipients=[
                Recipient(
                    name="Lietuvos kalėjimų tarnybos Marijampolės pataisos namai",
                    addressed_as="Lietuvos kalėjimų tarnybos Marijampolės pataisos namams",
                ),
                Recipient(
                    name="Kauno miesto socialinių paslaugų centras",
                    addressed_as="Kauno miesto socialinių paslaugų centrui",
                ),
                Recipient(
                    name="Lietuvos probacijos tarnyba", addressed_as="Lietuvos probacijos tarnybai"
                ),
            ],
            related_documents=[RelatedDocument(number="1-1234", date=dt.date(2026, 4, 28))],
            signers=[
                Signer(
                    full_name="Aldona Šimkienė",
                    position="Socialinių paslaugų skyriaus vedėja",
                    role=SignerRole.municipality_official,
                )
            ],
            annexes=[
                Annex(title="Pranešimo apie asmens paleidimą iš pataisos įstaigos kopija", sheets=1)
            ],
        ), SocialWorkerAssignmentData(
            assignee_kind=AssigneeKind.social_services_institution,
            assigned_organisation="Kauno miesto socialinių paslaugų centras",
            contact_person=_MUNICIPAL_SOCIAL_WORKER,
            institution_social_worker=_INSTITUTION_SOCIAL_WORKER,
        )
    if t is DocumentTypeId.B2:
        return _envelope(
            t,
            author=_PROBATION,
            recipients=[
                Recipient(
                    name="Kauno miesto socialinių paslaugų centras",
                    addressed_as="Kauno miesto socialinių paslaugų centrui",
                )
            ],
            signers=[
                Signer(
                    full_name="Laura Jankauskaitė",
                    position="Vyriausioji specialistė",
                    role=SignerRole.preparatory_probation_officer,
                )
            ],
        ), ProbationOfficerAssignmentData(
            probation_officer=ContactPerson(
                full_name="Mindaugas Užkuraitis",
                position="Vyriausiasis specialistas",
                phone="+370 37 000002",
                email="m.uzkuraitis@example.lt",
            ),
            probation_division="Kauno regiono probacijos skyrius",
            supervision_start=dt.date(2026, 10, 30),
            social_worker=_MUNICIPAL_SOCIAL_WORKER,
        )
    if t is DocumentTypeId.C:
        return _envelope(
            t,
            subject=None,
            registration=Registration(number="1-2001", date=dt.date(2026, 9, 30)),
            recipients=[
                Recipient(
                    name="Lietuvos probacijos tarnyba", addressed_as="Lietuvos probacijos tarnybai"
                )
            ],
            signers=[director],
            preparer=_PREPARER,
        ), ConditionalReleaseListData(
            rows=[
                ConditionalReleaseListRow(
                    full_name="Jonas Žemaitis",
                    personal_code="38501011239",
                    possible_release_date=dt.date(2026, 11, 2),
                    residence=Residence(
                        address="Šilo g. 5-12, Kaunas", municipality="Kauno miesto savivaldybė"
                    ),
                    em_check_needed=True,
                    measures_done=["Priklausomybių programa „Pokyčiai“", "Profesinis mokymas"],
                    risk_assessment="Vidutinė rizika (2026-08-15)",
                ),
                ConditionalReleaseListRow(
                    full_name="Ūla Kęstutienė",
                    personal_code="49006152348",
                    possible_release_date=dt.date(2026, 11, 9),
                    residence=Residence(
                        address="Gėlių g. 3, Alytus", municipality="Alytaus miesto savivaldybė"
                    ),
                    em_check_needed=False,
                    measures_done=["Socialinių įgūdžių programa"],
                    risk_assessment="Žema rizika",
                ),
            ]
        )
    if t is DocumentTypeId.D:
        return _envelope(
            t,
            author=_PROBATION,
            registration=Registration(number="PR-77", date=dt.date(2026, 10, 12)),
            recipients=[
                Recipient(
                    name="Kauno regiono probacijos skyrius",
                    addressed_as="Kauno regiono probacijos skyriui",
                )
            ],
            signers=[
                Signer(
                    full_name="Laura Jankauskaitė",
                    position="Vyriausioji specialistė",
                    role=SignerRole.preparatory_probation_officer,
                )
            ],
        ), SupervisionPlanData(
            criminogenic_factors=["Alkoholio vartojimas", "Nėra nuolatinio darbo"],
            risk_level=RiskLevel.medium,
            special_duties=["Nevartoti alkoholio", "Būti namuose nuo 22 iki 6 val."],
            measures=[
                PlannedMeasure(
                    measure="Dalyvauti priklausomybių programoje",
                    responsible="Probacijos pareigūnas",
                    term="Per 1 mėn. nuo paleidimo",
                ),
                PlannedMeasure(
                    measure="Registruotis Užimtumo tarnyboje",
                    responsible="Nuteistasis",
                    term="2026-11-13",
                ),
            ],
            monitoring_schedule=[
                MonitoringPeriod(
                    days="Pirmadienis–sekmadienis",
                    start=dt.time(22, 0),
                    end=dt.time(6, 0),
                    place="Šilo g. 5-12, Kaunas",
                )
            ],
            social_worker=_MUNICIPAL_SOCIAL_WORKER,
            supervising_division="Kauno regiono probacijos skyrius",
        )
    if t is DocumentTypeId.E:
        return _envelope(
            t,
            author=_PROBATION,
            signers=[
                Signer(full_name="Jonas Žemaitis", role=SignerRole.convict),
                Signer(
                    full_name="Laura Jankauskaitė",
                    position="Vyriausioji specialistė",
                    role=SignerRole.preparatory_probation_officer,
                ),
            ],
        ), ProbationAcknowledgementData(
            conditions=[
                "Nevartoti alkoholio",
                "Būti namuose nuo 22 iki 6 val.",
                "Tęsti priklausomybės gydymą",
            ],
            release_date=dt.date(2026, 10, 30),
            reporting_office=ReportingOffice(
                name="Kauno regiono probacijos skyrius",
                address="Kęstučio g. 1, 44001 Kaunas",
                phone="+370 37 000003",
            ),
            reporting_deadline=dt.date(2026, 11, 5),
        )
    if t is DocumentTypeId.F:
        return _envelope(
            t,
            author=_PROBATION,
            signers=[
                Signer(full_name="Jonas Žemaitis", role=SignerRole.convict),
                Signer(
                    full_name="Tomas Ėmužis",
                    position="Vyriausiasis specialistas",
                    role=SignerRole.em_probation_officer,
                ),
            ],
        ), MonitoringAcknowledgementData(
            devices=[
                MonitoringDevice(kind="Apykojė", serial_number="EM-2026-00451"),
                MonitoringDevice(kind="Stacionarus imtuvas", serial_number="RX-88120"),
            ],
            em_officer=ContactPerson(
                full_name="Tomas Ėmužis",
                position="Vyriausiasis specialistas",
                phone="+370 600 00000",
                email="t.emuzis@example.lt",
            ),
            ways_to_notify=[
                "Telefonu +370 600 00000 darbo dienomis 8–17 val.",
                "Elektroniniu paštu t.emuzis@example.lt",
            ],
            supervision_start=dt.date(2026, 10, 30),
        )
    if t is DocumentTypeId.G:
        return _envelope(
            t,
            signers=[
                Signer(
                    full_name="dr. Vaida Šulcienė",
                    position="Gydytoja",
                    role=SignerRole.treating_doctor,
                )
            ],
        ), SocialCareRequestData(
            institution_name="Lietuvos kalėjimų tarnybos Marijampolės pataisos namai",
            request_date=dt.date(2026, 3, 2),
            doctor_name="Vaida Šulcienė",
        )
    if t is DocumentTypeId.H:
        return _envelope(
            t,
            signers=[
                Signer(
                    full_name="Eglė Petrauskienė",
                    position="Socialinė darbuotoja",
                    role=SignerRole.authorised_person,
                )
            ],
        ), QuestionnaireData(
            marked=list(_ALL_MARKED_SAMPLE),
            assessor_name="Eglė Petrauskienė",
            assessor_position="Socialinė darbuotoja",
            assessment_date=dt.date(2026, 3, 12),
        )
    if t is DocumentTypeId.I:
        return _envelope(
            t,
            recipients=[Recipient(name="Direktorius", addressed_as="Direktoriui")],
            signers=[
                Signer(
                    full_name="Daiva Gudaitienė",
                    position="Sveikatos priežiūros skyriaus vedėja",
                    role=SignerRole.health_unit_head,
                )
            ],
        ), CommissionDocumentsNoticeData(
            direction=SectorDirection.transfer_in,
            convict_request_date=dt.date(2026, 2, 25),
            form_027a_date=dt.date(2026, 3, 13),
            questionnaire_date=dt.date(2026, 3, 12),
            certificate_copies=["Neįgalumo pažymėjimo kopija", "Darbingumo lygio pažymos kopija"],
        )
    if t is DocumentTypeId.J:
        return _envelope(
            t,
            recipients=[
                Recipient(
                    name="Nuteistųjų skyrimo, perkėlimo į pataisos įstaigos socialinės globos "
                    "sektorių ar iš šio sektoriaus komisija",
                    addressed_as="Nuteistųjų skyrimo, perkėlimo į pataisos įstaigos socialinės "
                    "globos sektorių ar iš šio sektoriaus komisijai",
                )
            ],
            signers=[director],
            annexes=[Annex(title="Tarnybinis pranešimas su priedais", sheets=9)],
            preparer=_PREPARER,
        ), CommissionApplicationData(
            direction=SectorDirection.transfer_in,
            grounds="Gydantis gydytojas nustatė socialinės globos poreikį; nuteistasis juda tik su "
            "vaikštyne & jam reikalinga pagalba savitarnoje.",
        )
    if t is DocumentTypeId.K:
        return _envelope(
            t,
            author=_DEPARTMENT,
            place="Vilnius",
            registration=Registration(number="SG-14", date=dt.date(2026, 4, 16)),
            signers=[
                Signer(
                    full_name="Andrius Šlekys",
                    position="Komisijos pirmininkas",
                    role=SignerRole.commission_chair,
                ),
                Signer(
                    full_name="Inga Čiurlienė",
                    position="Komisijos sekretorė",
                    role=SignerRole.commission_secretary,
                ),
            ],
        ), CommissionProtocolData(
            commission_name="Nuteistųjų skyrimo, perkėlimo į pataisos įstaigos socialinės globos "
            "sektorių ar iš šio sektoriaus komisija",
            meeting_date=dt.date(2026, 4, 16),
            protocol_number="SG-14",
            documents_registered_on=dt.date(2026, 4, 2),
            members_present=[
                CommissionMember(
                    full_name="Andrius Šlekys",
                    position="Direktoriaus pavaduotojas",
                    role=CommissionRole.chair,
                ),
                CommissionMember(
                    full_name="Inga Čiurlienė",
                    position="Vyriausioji specialistė",
                    role=CommissionRole.secretary,
                ),
                CommissionMember(
                    full_name="Dalia Žukauskienė", position="Gydytoja", role=CommissionRole.member
                ),
            ],
            documents_examined=[
                "Kreipimasis, 2026-03-31 Nr. 1-1500",
                "Tarnybinis pranešimas",
                "Statistinės apskaitos forma Nr. 027/a",
                "Anketos kopija",
            ],
            decision=CommissionDecision.recommend,
            direction=SectorDirection.transfer_in,
            reasons="Nuteistajam dėl sveikatos būklės reikalinga kitų asmenų pagalba buityje ir "
            "savitarnoje.",
        )
    if t is DocumentTypeId.L:
        return _envelope(
            t,
            signers=[Signer(full_name="Jonas Žemaitis", role=SignerRole.convict), director],
        ), RecommendationAcknowledgementData(
            protocol_number="SG-14",
            protocol_date=dt.date(2026, 4, 16),
            decision=CommissionDecision.recommend,
            direction=SectorDirection.transfer_in,
            written_reply="Informuojame, kad Jūsų prašymas išnagrinėtas. Komisija rekomendavo Jus "
            "perkelti į socialinės globos sektorių.",
        )
    if t is DocumentTypeId.M:
        return _envelope(
            t,
            subject=None,
            recipients=[
                Recipient(
                    name="Andrius Šlekys",
                    addressed_as="Komisijos pirmininkui Andriui Šlekiui",
                    email="a.slekys@example.lt",
                )
            ],
            signers=[
                Signer(
                    full_name="Simona Ąžuolaitė",
                    position="Vyriausioji specialistė",
                    role=SignerRole.responsible_employee,
                )
            ],
        ), FreePlacesData(
            as_of=dt.date(2026, 5, 4),
            free_places_now=3,
            planned_this_month=1,
        )
    return _envelope(
        t,
        author=AuthorInstitution(
            name="Kauno miesto socialinių paslaugų centras",
            code="188000005",
            address="Savanorių pr. 1, 44001 Kaunas",
            email="centras@example.lt",
        ),
        place="Kaunas",
        signers=[
            Signer(
                full_name="Gintarė Ąžuolienė",
                position="Socialinė darbuotoja",
                role=SignerRole.social_worker,
            ),
            Signer(full_name="Jonas Žemaitis", role=SignerRole.convict),
        ],
    ), ReleaseMeasuresPlanData(
        measures=[
            ReleaseMeasure(
                area=MeasureArea.housing,
                need="Neturi gyvenamosios vietos",
                measure="Laikinas apgyvendinimas nakvynės namuose",
                provider="Kauno nakvynės namai",
                responsible="Gintarė Ąžuolienė",
                term="Nuo paleidimo dienos",
            ),
            ReleaseMeasure(
                area=MeasureArea.cash_assistance,
                need="Neturi pajamų",
                measure="Socialinė pašalpa",
                provider="Kauno miesto savivaldybės administracija",
                responsible="Gintarė Ąžuolienė",
                term="Per 10 darbo dienų nuo paleidimo",
            ),
            ReleaseMeasure(
                area=MeasureArea.health_addiction,
                need="Priklausomybė nuo alkoholio",
                measure="Tęsti gydymą",
                provider="Respublikinis priklausomybės ligų centras",
                responsible="Jonas Žemaitis",
                term="Nuolat",
            ),
        ]
    )
