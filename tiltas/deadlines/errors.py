"""Errors of the deadlines package.

    TiltasError
    └── InvalidInput                (tiltas.errors; the API answers 422 with ``errors``)
        └── DeadlineError
            ├── DateOutOfRange           a date, or a result, outside 2000-01-01 … 2100-12-31
            ├── InvalidCalendarOverrides an override table that contradicts itself
            └── InvalidTermInput         any other bad argument (a month 13, …)

Every class carries machine-readable fields besides its message, and a ``FieldProblem`` list
naming the argument at fault, so the API layer needs no special case for them.
"""

from __future__ import annotations

from datetime import date

from tiltas.errors import FieldProblem, InvalidInput


class DeadlineError(InvalidInput):
    code = "deadline_error"


class DateOutOfRange(DeadlineError):
    """A date the working-day calendar cannot answer for.

    ``day`` is the date given (or the start date of an operation whose result would leave the
    range); ``earliest`` and ``latest`` are the calendar's bounds.
    """

    code = "date_out_of_calendar_range"

    def __init__(self, day: date, earliest: date, latest: date, *, field: str, detail: str) -> None:
        message = (
            f"{field}: {detail}; the working-day calendar covers "
            f"{earliest.isoformat()} to {latest.isoformat()}"
        )
        super().__init__([FieldProblem(field, message, self.code)], message)
        self.day = day
        self.earliest = earliest
        self.latest = latest
        self.field = field


class InvalidCalendarOverrides(DeadlineError):
    """The administrator's override table is inconsistent (one problem per offending day)."""

    code = "invalid_calendar_overrides"

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(problems, f"{len(problems)} problem(s) in the calendar overrides")


class InvalidTermInput(DeadlineError):
    code = "invalid_term_input"

    def __init__(self, field: str, reason: str) -> None:
        message = f"{field}: {reason}"
        super().__init__([FieldProblem(field, message, self.code)], message)
        self.field = field
        self.reason = reason
