"""Lithuanian working days and the terms of process A and process B, as a pure library.

No HTTP, database or Celery here: callers pass a ``WorkingDayCalendar`` (built once from the
administrator's ``CalendarOverrides``) and dates, and get ``Deadline`` values that record the
calendar version that computed them.

Errors (all ``tiltas.errors.InvalidInput``, so the API answers 422)::

    DeadlineError
    ├── DateOutOfRange
    ├── InvalidCalendarOverrides
    └── InvalidTermInput
"""

from tiltas.deadlines.bulk import BulkTerms, conditional_release_bulk, social_care_bulk
from tiltas.deadlines.calendar import (
    EARLIEST,
    LATEST,
    CalendarOverrides,
    CalendarVersion,
    OverrideDay,
    WorkingDayCalendar,
    months_before,
)
from tiltas.deadlines.errors import (
    DateOutOfRange,
    DeadlineError,
    InvalidCalendarOverrides,
    InvalidTermInput,
)
from tiltas.deadlines.terms import (
    ActorRole,
    AnchorEvent,
    CaseTerms,
    Citation,
    Deadline,
    DeadlineKind,
    DeadlineStatus,
    LegalBasis,
    Provenance,
    TermPolicy,
    commission_protocol_deadline,
    conditional_release_terms,
    deadline_status,
    document_of,
    free_places_report_deadline,
    legal_basis,
    questionnaire_handover_deadline,
    questionnaire_return_deadline,
    release_day,
    social_care_terms,
    unplanned_vacancy_deadline,
)

__all__ = [
    "EARLIEST",
    "LATEST",
    "ActorRole",
    "AnchorEvent",
    "BulkTerms",
    "CalendarOverrides",
    "CalendarVersion",
    "CaseTerms",
    "Citation",
    "DateOutOfRange",
    "Deadline",
    "DeadlineError",
    "DeadlineKind",
    "DeadlineStatus",
    "InvalidCalendarOverrides",
    "InvalidTermInput",
    "LegalBasis",
    "OverrideDay",
    "Provenance",
    "TermPolicy",
    "WorkingDayCalendar",
    "commission_protocol_deadline",
    "conditional_release_bulk",
    "conditional_release_terms",
    "deadline_status",
    "document_of",
    "free_places_report_deadline",
    "legal_basis",
    "months_before",
    "questionnaire_handover_deadline",
    "questionnaire_return_deadline",
    "release_day",
    "social_care_bulk",
    "social_care_terms",
    "unplanned_vacancy_deadline",
]
