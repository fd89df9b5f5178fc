"""Finding cases for people: by name or personal code, by process, by possible release date
and by whether a deadline needs attention, newest first, a page at a time.

The same organisation scoping and the same audit entries as ``tiltas.cases.list_cases`` (every
case shown is recorded as read, "via list"; written in one go by
``tiltas.audit.record_many``). The attention filter reads the stored deadlines
(``tiltas.deadline_tracking``), whose due dates are kept current on every change; the page then
shows the deadlines computed afresh.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, or_
from sqlalchemy.orm import Session

from tiltas.access import CaseKind
from tiltas.apikeys import Principal
from tiltas.cases import _require_case_role, _visible_case_query, record_list_reads
from tiltas.deadlines import DeadlineStatus
from tiltas.models import Case, StoredDeadline

_FINAL = (DeadlineStatus.MET.value, DeadlineStatus.MET_LATE.value)


class Attention(StrEnum):
    any = "any"
    """At risk, due today or overdue."""
    overdue = "overdue"


@dataclass(frozen=True)
class CaseSearch:
    text: str = ""
    """Words of the convict's name, or the start of the personal code."""
    kind: CaseKind | None = None
    attention: Attention | None = None
    release_from: dt.date | None = None
    release_to: dt.date | None = None


@dataclass(frozen=True)
class CaseSearchPage:
    items: list[Case]
    next_before: int | None
    """Pass as ``before`` for the next (older) page; None on the last page."""


def _spellings(word: str) -> set[str]:
    # The database may fold only ASCII letters (SQLite always does): "žemaitis" typed in lower
    # case must still find "Žemaitis", so the capitalised spelling is asked for as well.
    return {word.lower(), word.capitalize()}


def _text_condition(text: str) -> ColumnElement[bool] | None:
    words = [w for w in text.split() if w][:5]
    if not words:
        return None
    first = Case.subject["first_name"].as_string()
    last = Case.subject["last_name"].as_string()
    code = Case.subject["personal_code"].as_string()
    conditions = []
    for word in words:
        if word.isdigit():
            conditions.append(code.startswith(word, autoescape=True))
            continue
        conditions.append(
            or_(
                *(
                    column.icontains(spelling, autoescape=True)
                    for spelling in _spellings(word)
                    for column in (first, last)
                )
            )
        )
    return and_(*conditions)


def _attention_condition(attention: Attention, today: dt.date) -> ColumnElement[bool]:
    unmet = or_(StoredDeadline.status.is_(None), StoredDeadline.status.not_in(_FINAL))
    when = (
        StoredDeadline.due_date < today
        if attention is Attention.overdue
        else StoredDeadline.at_risk_from <= today
    )
    return exists().where(StoredDeadline.case_id == Case.id, unmet, when)


def search_cases(
    session: Session,
    principal: Principal,
    search: CaseSearch,
    today: dt.date,
    *,
    limit: int,
    before: int | None = None,
) -> CaseSearchPage:
    _require_case_role(principal)
    query = _visible_case_query(principal)
    text = _text_condition(search.text)
    if text is not None:
        query = query.where(text)
    if search.kind is not None:
        query = query.where(Case.kind == search.kind.value)
    if search.attention is not None:
        query = query.where(_attention_condition(search.attention, today))
    if search.release_from is not None:
        query = query.where(Case.release_date >= search.release_from)
    if search.release_to is not None:
        query = query.where(Case.release_date <= search.release_to)
    if before is not None:
        query = query.where(Case.id < before)
    rows = list(session.scalars(query.order_by(Case.id.desc()).limit(limit + 1)))
    items = rows[:limit]
    record_list_reads(session, principal, [case.public_id for case in items])
    return CaseSearchPage(items, items[-1].id if len(rows) > limit else None)
