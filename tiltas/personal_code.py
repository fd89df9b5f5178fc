"""Lithuanian personal code (asmens kodas): ``G YYMMDD NNN K`` (DOMAIN.md §7).

A wrong structure or check digit is an error; an implausible birth date is only a warning,
because codes issued with unknown birth months or days, or by mistake, are still in use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_WEIGHTS_FIRST = (1, 2, 3, 4, 5, 6, 7, 8, 9, 1)
_WEIGHTS_SECOND = (3, 4, 5, 6, 7, 8, 9, 1, 2, 3)
_CENTURY_BY_FIRST_DIGIT = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}


class InvalidPersonalCode(ValueError):
    """The code cannot be a Lithuanian personal code. ``reason`` is machine-readable."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class PersonalCodeCheck:
    birth_date: dt.date | None
    """The birth date the code encodes, when it encodes a full, valid date."""
    warnings: tuple[str, ...]


def check_digit(first_ten: str) -> int:
    digits = [int(c) for c in first_ten]
    for weights in (_WEIGHTS_FIRST, _WEIGHTS_SECOND):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return 0


def check_personal_code(code: str, *, today: dt.date | None = None) -> PersonalCodeCheck:
    """Raise :class:`InvalidPersonalCode` for a structural error; return date warnings."""
    if len(code) != 11 or not code.isascii() or not code.isdigit():
        raise InvalidPersonalCode("structure", "a personal code is exactly 11 digits")
    first = int(code[0])
    if first not in _CENTURY_BY_FIRST_DIGIT and first != 9:
        raise InvalidPersonalCode(
            "first_digit", "the first digit of a personal code must be 1–6 (or 9)"
        )
    if check_digit(code[:10]) != int(code[10]):
        raise InvalidPersonalCode("check_digit", "the check digit of the personal code is wrong")
    if first == 9:
        # Codes starting with 9 were issued without the date rules.
        return PersonalCodeCheck(birth_date=None, warnings=())

    year = _CENTURY_BY_FIRST_DIGIT[first] + int(code[1:3])
    month, day = int(code[3:5]), int(code[5:7])
    if month == 0 or day == 0:
        # Legal for people whose birth month or day is unknown.
        if month > 12 or day > 31:
            return PersonalCodeCheck(None, ("the birth date in the personal code is implausible",))
        return PersonalCodeCheck(birth_date=None, warnings=())
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return PersonalCodeCheck(None, ("the birth date in the personal code is not a real date",))
    today = today or dt.date.today()
    if born > today:
        return PersonalCodeCheck(born, ("the birth date in the personal code is in the future",))
    if today.year - born.year > 120:
        return PersonalCodeCheck(
            born, ("the birth date in the personal code is over 120 years ago",)
        )
    return PersonalCodeCheck(born, ())
