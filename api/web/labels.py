"""Lithuanian words for the values the pages show: roles, statuses, kinds and the options of
every enumeration that appears in a form. Keys are the API's English values."""

from __future__ import annotations

from tiltas.access import Role

ROLE = {
    Role.institution_staff: "Pataisos įstaigos darbuotojas",
    Role.health_unit: "Sveikatos priežiūros padalinys",
    Role.director: "Direktorius",
    Role.probation_officer: "Probacijos pareigūnas",
    Role.social_worker: "Socialinis darbuotojas",
    Role.commission: "Komisija",
    Role.archivist: "Archyvaras",
    Role.auditor: "Auditorius",
    Role.admin: "Administratorius",
}

CASE_KIND = {
    "conditional_release": "Lygtinis paleidimas (A procesas)",
    "social_care": "Socialinės globos sektorius (B procesas)",
}
CASE_KIND_SHORT = {"conditional_release": "Lygtinis paleidimas", "social_care": "Socialinė globa"}

ORGANISATION_KIND = {
    "correctional_institution": "Pataisos įstaiga",
    "probation": "Probacijos tarnyba",
    "municipality": "Savivaldybė",
    "ngo": "NVO",
    "commission": "Komisija",
    "archive": "Archyvas",
}

DEADLINE_STATUS = {
    "pending": "Laukiama",
    "at_risk": "Artėja terminas",
    "due": "Terminas šiandien",
    "overdue": "Praleistas terminas",
    "met": "Įvykdyta",
    "met_late": "Įvykdyta pavėluotai",
}

DEADLINE_ACTOR = {
    "correctional_institution": "Pataisos įstaiga",
    "preparatory_probation_officer": "Parengiamųjų darbų probacijos pareigūnas",
    "electronic_monitoring_officer": "Už elektroninį stebėjimą atsakingas pareigūnas",
    "convict": "Nuteistasis",
    "head_of_health_care_unit": "Sveikatos priežiūros padalinio vadovas",
    "authorised_person": "Įgaliotas asmuo",
    "commission": "Komisija",
    "responsible_employee": "Atsakingas darbuotojas",
}

DEADLINE_KIND = {
    "process_a.stage_i_start": "I etapo pradžia",
    "process_a.release_notice": "Pranešimas savivaldybei (A)",
    "process_a.release_list": "Sąrašas probacijos tarnybai (C)",
    "process_a.release_day": "Paleidimo diena",
    "process_a.supervision_plan": "Pirminis priežiūros planas (D)",
    "process_a.probation_acknowledgement": "Supažindinimas su probacijos tvarka (E)",
    "process_a.electronic_monitoring_acknowledgement": "Supažindinimas su EM atmintine (F)",
    "process_a.probation_reporting": "Atvykimas į probacijos tarnybą",
    "process_b.questionnaire_handover": "Anketos perdavimas (H)",
    "process_b.questionnaire_return": "Anketos grąžinimas (H)",
    "process_b.commission_protocol": "Komisijos protokolas (K)",
    "process_b.free_places_monthly": "Informacija apie laisvas vietas (M)",
    "process_b.free_place_unplanned": "Neplanuotai atsilaisvinusi vieta (M)",
}

ANCHOR_EVENT = {
    "pcr_date": "galimo lygtinio paleidimo data",
    "release": "paleidimo diena",
    "request_filed": "prašymo (G) pateikimas",
    "questionnaire_handed_over": "anketos perdavimas",
    "registered_at_prison_department": "dokumentų registravimas",
    "month_start": "mėnesio pradžia",
    "place_vacated": "vietos atsilaisvinimas",
}

DOCUMENT_STATUS = {
    "requested": "Rengiamas",
    "generated": "Parengtas, nepasirašytas",
    "signed": "Pasirašytas",
    "failed": "Nepavyko parengti",
    "cancelled": "Atšauktas",
}

DELIVERY_STATE = {
    "generated": "Parengtas",
    "signed": "Pasirašytas",
    "sent": "Išsiųstas",
    "delivered": "Įteiktas",
    "acknowledged": "Susipažinta",
    "failed": "Nepavyko išsiųsti",
    "returned": "Grąžintas",
}

DELIVERY_CHANNEL = {
    "e_delivery": "E. pristatymas",
    "dms": "Dokumentų valdymo sistema",
    "email": "El. paštas",
    "post": "Paštas",
    "in_person": "Įteikta asmeniškai",
    "other": "Kita",
}

PERSON_ROLE = {
    "institution_social_worker": "Pataisos įstaigos socialinis darbuotojas",
    "preparatory_probation_officer": "Parengiamųjų darbų probacijos pareigūnas",
    "supervising_probation_officer": "Priežiūrą vykdantis probacijos pareigūnas",
    "em_probation_officer": "Už elektroninį stebėjimą atsakingas pareigūnas",
    "municipal_social_worker": "Savivaldybės socialinis darbuotojas",
    "ngo_representative": "NVO atstovas",
    "treating_doctor": "Gydantis gydytojas",
    "health_unit_head": "Sveikatos priežiūros padalinio vadovas",
    "director": "Direktorius",
    "authorised_person": "Įgaliotas asmuo",
    "responsible_employee": "Atsakingas darbuotojas",
    "commission_chair": "Komisijos pirmininkas",
    "commission_secretary": "Komisijos sekretorius",
}

SIGNER_ROLE = {
    "director": "Direktorius",
    "authorised_official": "Įgaliotas pareigūnas",
    "municipality_official": "Savivaldybės pareigūnas",
    "preparatory_probation_officer": "Parengiamųjų darbų probacijos pareigūnas",
    "em_probation_officer": "Už elektroninį stebėjimą atsakingas pareigūnas",
    "treating_doctor": "Gydantis gydytojas",
    "health_unit_head": "Sveikatos priežiūros padalinio vadovas",
    "authorised_person": "Įgaliotas asmuo",
    "commission_chair": "Komisijos pirmininkas",
    "commission_secretary": "Komisijos sekretorius",
    "responsible_employee": "Atsakingas darbuotojas",
    "social_worker": "Socialinis darbuotojas",
    "convict": "Nuteistasis (pasirašo ranka)",
}

NEED_AREA = {
    "housing": "Gyvenamoji vieta",
    "employment": "Užimtumas",
    "addiction_treatment": "Priklausomybės ligų gydymas",
    "social_support": "Socialinė parama",
    "debts": "Įsiskolinimai, finansai",
    "family": "Santykiai su artimaisiais",
    "identity_documents": "Asmens dokumentai",
}

RISK_LEVEL = {"low": "Žemas", "medium": "Vidutinis", "high": "Aukštas"}

ENUM_OPTIONS: dict[str, dict[str, str]] = {
    # JSON-schema titles of the enumerations (the class names) → their options' words.
    "CaseKind": CASE_KIND,
    "PersonRole": PERSON_ROLE,
    "NeedArea": NEED_AREA,
    "RiskLevel": RISK_LEVEL,
    "SignerRole": SIGNER_ROLE,
    "AssigneeKind": {
        "social_services_institution": "Socialinių paslaugų įstaiga",
        "ngo": "Nevyriausybinė organizacija",
    },
    "SectorDirection": {
        "assign": "Skirti į socialinės globos sektorių",
        "transfer_in": "Perkelti į socialinės globos sektorių",
        "transfer_out": "Perkelti iš socialinės globos sektoriaus",
    },
    "CommissionRole": {"chair": "Pirmininkas", "secretary": "Sekretorius", "member": "Narys"},
    "CommissionDecision": {"recommend": "Rekomenduoti", "not_recommend": "Nerekomenduoti"},
    "MeasureArea": {
        "social_services": "Socialinės paslaugos",
        "cash_assistance": "Piniginė socialinė parama",
        "housing": "Gyvenamoji vieta",
        "crisis_centre": "Krizių centras",
        "employment": "Užimtumas",
        "health_addiction": "Sveikata ir priklausomybės",
        "debts": "Įsiskolinimai",
    },
    "RecordedState": {k: v for k, v in DELIVERY_STATE.items() if k not in ("generated", "signed")},
    "Channel": DELIVERY_CHANNEL,
}

FIELD = {
    # Fields whose schema has no Lithuanian description.
    "kind": "Procesas",
    "subject": "Nuteistasis",
    "first_name": "Vardas",
    "last_name": "Pavardė",
    "personal_code": "Asmens kodas",
    "birth_date": "Gimimo data (jei asmens kodas nežinomas)",
    "institution_code": "Pataisos įstaiga",
    "possible_release_date": "Galimo lygtinio paleidimo data",
    "intended_residence": "Numatoma gyvenamoji vieta",
    "address": "Adresas",
    "municipality": "Savivaldybė",
    "people": "Susiję asmenys",
    "role": "Vaidmuo",
    "full_name": "Vardas ir pavardė",
    "position": "Pareigos",
    "phone": "Telefonas",
    "email": "El. paštas",
    "organisation_code": "Organizacijos kodas",
    "participants": "Dalyvaujančios organizacijos",
    "needs": "Poreikiai",
    "area": "Sritis",
    "description": "Aprašymas",
    "risk": "Nusikalstamo elgesio rizikos vertinimas",
    "level": "Rizikos lygis",
    "assessed_on": "Įvertinimo data",
    "criminogenic_factors": "Kriminogeniniai veiksniai",
    "notes": "Pastabos",
    "health": "Sveikatos duomenys",
    "disability_certificate": "Turi neįgalumo pažymėjimą",
    "working_capacity_percent": "Darbingumo lygis, %",
    "special_needs_level": "Specialiųjų poreikių lygis",
    "title": "Antraštė (jei kita nei dokumento rūšies pavadinimas)",
    "registration": "Registracija dokumentų valdymo sistemoje",
    "place": "Sudarymo vieta",
    "recipients": "Adresatai",
    "signers": "Pasirašantieji (eilės tvarka)",
    "annexes": "Priedai",
    "preparer": "Rengėjas",
    "related_documents": "Susiję dokumentai",
}

ITEM = {
    # How one row of a list is called ("Adresatas 2").
    "recipients": "Adresatas",
    "signers": "Pasirašantysis",
    "annexes": "Priedas",
    "related_documents": "Susijęs dokumentas",
    "people": "Asmuo",
    "needs": "Poreikis",
    "measures": "Priemonė",
    "rows": "Eilutė",
    "devices": "Priemonė",
    "members_present": "Narys",
    "monitoring_schedule": "Laikotarpis",
}


def role(value: str) -> str:
    try:
        return ROLE[Role(value)]
    except ValueError:
        return value
