"""Cases: the list (search, filters, deadlines that need attention), a new case, a case."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import DATABASE_INT_MAX, DatabaseDep, TodayDep
from api.idempotent import run_post
from api.web import forms, labels
from api.web.rendering import WebRoute, page
from api.web.session import CheckedForm, CurrentUser
from templates.schemas import DocumentTypeId
from templates.types import DOCUMENT_TYPES
from tiltas import case_deadlines, cases, documents
from tiltas.access import (
    CASE_CREATORS,
    CASELESS_DOCUMENTS,
    DOCUMENT_AUTHORS,
    CaseKind,
    OrganisationKind,
    Section,
    may_read_document,
    visible_sections,
)
from tiltas.apikeys import Principal
from tiltas.case_search import Attention, CaseSearch, search_cases
from tiltas.deadlines import DeadlineStatus
from tiltas.delivery import current_state, events_by_document, timeline
from tiltas.errors import FieldProblem, Forbidden, InvalidInput
from tiltas.idempotency import StoredResponse
from tiltas.models import Organisation
from tiltas.municipalities import all_municipalities
from tiltas.organisations import list_organisations

router = APIRouter(prefix="/web", route_class=WebRoute, include_in_schema=False)

PAGE_SIZE = 50

ATTENTION = frozenset({DeadlineStatus.AT_RISK, DeadlineStatus.DUE, DeadlineStatus.OVERDUE})
_SEVERITY = {
    DeadlineStatus.OVERDUE: 3,
    DeadlineStatus.DUE: 2,
    DeadlineStatus.AT_RISK: 1,
    DeadlineStatus.PENDING: 0,
}


def _date_or_none(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _row_deadlines(items: list[case_deadlines.CaseDeadline]) -> dict[str, Any]:
    """What a row of the list says about a case's deadlines: the nearest open one and how many
    need attention."""
    open_items = sorted(
        (i for i in items if i.status in _SEVERITY), key=lambda i: i.deadline.due_date
    )
    worst = max((_SEVERITY[i.status] for i in open_items), default=0)
    counts = {s.value: sum(1 for i in open_items if i.status is s) for s in ATTENTION}
    return {
        "next": open_items[0] if open_items else None,
        "worst": next((s.value for s, v in _SEVERITY.items() if v == worst and worst), None),
        "counts": counts,
    }


@router.get("/bylos")
def case_list(
    request: Request,
    user: CurrentUser,
    database: DatabaseDep,
    today: TodayDep,
    q: Annotated[str, Query(max_length=100)] = "",
    procesas: str = "",
    terminai: str = "",
    nuo: str = "",
    iki: str = "",
    pries: Annotated[int | None, Query(ge=1, le=DATABASE_INT_MAX)] = None,
) -> Response:
    principal = user.principal
    search = CaseSearch(
        text=q.strip(),
        kind=CaseKind(procesas) if procesas in CaseKind.__members__ else None,
        attention=Attention(terminai) if terminai in Attention.__members__ else None,
        release_from=_date_or_none(nuo),
        release_to=_date_or_none(iki),
    )
    with database.transaction() as session:
        found = search_cases(session, principal, search, today, limit=PAGE_SIZE, before=pries)
        by_case: dict[str, list[case_deadlines.CaseDeadline]] = defaultdict(list)
        for item in case_deadlines.deadlines_of_cases(session, found.items, today):
            by_case[item.case_id].append(item.item)
        institutions = _organisation_names(session, {c.institution_code for c in found.items})
        rows = [
            {
                "id": case.public_id,
                "subject": case.subject,
                "kind": case.kind,
                "institution": institutions.get(case.institution_code, case.institution_code),
                "release_date": case.release_date,
                "deadlines": _row_deadlines(by_case[case.public_id]),
            }
            for case in found.items
        ]
    filters = {"q": q, "procesas": procesas, "terminai": terminai, "nuo": nuo, "iki": iki}
    given = {k: v for k, v in filters.items() if v}
    next_query = (
        urlencode({**given, "pries": found.next_before}) if found.next_before is not None else None
    )
    return page(
        request,
        "cases.html",
        user,
        rows=rows,
        filters=filters,
        next_query=next_query,
        first_query=urlencode(given),
        first_page=pries is None,
        may_create=any(principal.role in roles for roles in CASE_CREATORS.values()),
        today=today,
    )


def _organisation_names(session: Any, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(
        select(Organisation.code, Organisation.name).where(Organisation.code.in_(codes))
    )
    return {code: name for code, name in rows}


# ---------------------------------------------------------------- a new case


def _case_form_spec(session: Any, principal: Principal) -> forms.FormSpec:
    organisations = list_organisations(session)
    institutions = [
        (o.code, o.name)
        for o in organisations
        if o.kind == OrganisationKind.correctional_institution
    ]
    others = [
        (o.code, f"{o.name} ({labels.ORGANISATION_KIND.get(o.kind, o.kind)})")
        for o in organisations
        if o.id != principal.organisation_id
    ]
    municipalities = sorted(
        ((m.id, m.name) for m in all_municipalities().values()), key=lambda m: m[1]
    )
    kinds = [
        (kind.value, labels.CASE_KIND[kind.value])
        for kind, roles in CASE_CREATORS.items()
        if principal.role in roles
    ]
    hidden = {Section.needs, Section.risk, Section.health} - visible_sections(principal.role)
    return forms.FormSpec(
        schema=cases.CaseCreate.model_json_schema(),
        use_descriptions=False,
        options={
            "kind": kinds,
            "subject.institution_code": institutions,
            "subject.intended_residence.municipality": municipalities,
            "participants": others,
            "people.*.organisation_code": [(o.code, o.name) for o in organisations],
        },
        widgets={
            "subject.institution_code": "select",
            "subject.intended_residence.municipality": "select",
            "participants": "checkboxes",
            "people.*.organisation_code": "select",
        },
        labels={
            "participants": "Kitos dalyvaujančios organizacijos (jūsų ir pataisos įstaiga "
            "įtraukiamos visada)",
        },
        skip=frozenset(s.value for s in hidden),
        order={
            "subject": (
                "first_name",
                "last_name",
                "personal_code",
                "birth_date",
                "institution_code",
                "possible_release_date",
            )
        },
    )


def _case_form_page(
    request: Request,
    user: CurrentUser,
    spec: forms.FormSpec,
    values: dict[str, Any],
    problems: list[FieldProblem],
    idempotency_key: str,
    *,
    initial: bool = False,
    status_code: int = 200,
) -> Response:
    fields = forms.build_form(spec, values, initial=initial)
    by_field, shown = forms.place_problems(problems, fields)
    fields = forms.build_form(spec, values, by_field, initial=initial)
    return page(
        request,
        "case_new.html",
        user,
        status_code=status_code,
        fields=fields,
        problems=shown,
        idempotency_key=idempotency_key,
    )


@router.get("/bylos/nauja")
def new_case_form(request: Request, user: CurrentUser, database: DatabaseDep) -> Response:
    principal = user.principal
    if not any(principal.role in roles for roles in CASE_CREATORS.values()):
        raise Forbidden(f"role {principal.role.value} may not open cases")
    with database.transaction() as session:
        spec = _case_form_spec(session, principal)
        own = session.get_one(Organisation, principal.organisation_id)
    kinds = spec.options["kind"]
    values: dict[str, Any] = {"kind": kinds[0][0] if len(kinds) == 1 else None, "subject": {}}
    if own.kind == OrganisationKind.correctional_institution:
        values["subject"]["institution_code"] = own.code
    return _case_form_page(request, user, spec, values, [], str(uuid.uuid4()), initial=True)


@router.post("/bylos/nauja")
def create_case(
    request: Request, user: CurrentUser, form: CheckedForm, database: DatabaseDep
) -> Response:
    principal = user.principal
    with database.transaction() as session:
        spec = _case_form_spec(session, principal)
    posted = forms.FormData([(k, str(v)) for k, v in form.multi_items()])
    idempotency_key = posted.get("idempotency_key") or str(uuid.uuid4())
    action = posted.get("_action")
    values = forms.parse_form(spec, posted, keep_blank_rows=bool(action))
    if action:
        forms.apply_action(values, action)
        return _case_form_page(request, user, spec, values, [], idempotency_key)
    try:
        data = cases.CaseCreate.model_validate(values)
    except ValidationError as error:
        return _case_form_page(
            request, user, spec, values, forms.problems_of(error), idempotency_key, status_code=422
        )

    def perform(session: Any) -> StoredResponse:
        case, _warnings = cases.create_case(session, principal, data)
        return StoredResponse(
            201, {"id": case.public_id}, {"Location": f"/web/bylos/{case.public_id}"}
        )

    try:
        response = run_post(
            database,
            principal,
            idempotency_key,
            ("POST", "/web/bylos/nauja", data.model_dump(mode="json")),
            perform,
        )
    except InvalidInput as error:
        return _case_form_page(
            request, user, spec, values, error.problems, idempotency_key, status_code=422
        )
    return RedirectResponse(response.headers["Location"], 303)


# ---------------------------------------------------------------- a case


@router.get("/bylos/{case_id}")
def case_page(
    request: Request, case_id: str, user: CurrentUser, database: DatabaseDep, today: TodayDep
) -> Response:
    principal = user.principal
    with database.transaction() as session:
        case = cases.read_case(session, principal, case_id)
        view = cases.case_view(case, principal)
        deadlines = case_deadlines.case_deadlines(session, principal, case_id, today)
        listed = documents.list_case_documents(session, principal, case_id)
        events = events_by_document(session, [d.id for d in listed])
        rows = [
            {
                "document": d,
                "title": DOCUMENT_TYPES[DocumentTypeId(d.type_id)].title,
                "delivery": current_state(timeline(d, events.get(d.id, []))),
            }
            for d in listed
        ]
        institution = _organisation_names(session, {case.institution_code})
    authorable = [
        (kind.id.value, kind.title)
        for kind in DOCUMENT_TYPES.values()
        if principal.role in DOCUMENT_AUTHORS[kind.id.value]
        and may_read_document(principal.role, kind.id.value)
        and kind.id.value not in CASELESS_DOCUMENTS
    ]
    return page(
        request,
        "case.html",
        user,
        case=view,
        institution=institution.get(case.institution_code, case.institution_code),
        municipalities=all_municipalities(),
        deadlines=deadlines,
        documents=rows,
        authorable=authorable,
        today=today,
    )
