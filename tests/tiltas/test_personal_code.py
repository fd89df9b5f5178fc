"""Personal code structure, check digit and birth-date warnings (DOMAIN.md §7)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.factories import personal_code
from tiltas.personal_code import InvalidPersonalCode, check_personal_code


def test_published_example_is_valid() -> None:
    # The example code printed in explanations of the standard (born 1933-09-24).
    assert check_personal_code("33309240064").birth_date == dt.date(1933, 9, 24)


def test_second_weight_set_is_used() -> None:
    """Find codes whose first weighted sum leaves 10: the second weight set decides."""
    first_weights = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1]
    bodies = [f"38502141{n:02d}" for n in range(100)]
    tens = [
        b
        for b in bodies
        if sum(int(d) * w for d, w in zip(b, first_weights, strict=True)) % 11 == 10
    ]
    assert tens
    for body in tens:
        code = personal_code(int(body[0]), body[1:7], body[7:])
        assert check_personal_code(code).birth_date == dt.date(1985, 2, 14)


@given(
    first=st.sampled_from([3, 4, 5, 6]),
    born=st.dates(dt.date(1930, 1, 1), dt.date(2020, 12, 31)),
    serial=st.integers(0, 999),
)
def test_generated_codes_are_valid_and_one_digit_off_is_not(
    first: int, born: dt.date, serial: int
) -> None:
    if (first in (3, 4)) != (born.year < 2000):
        first += 2 if born.year >= 2000 else -2
    code = personal_code(first, born.strftime("%y%m%d"), f"{serial:03d}")
    assert check_personal_code(code, today=dt.date(2026, 11, 23)).birth_date == born
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    with pytest.raises(InvalidPersonalCode) as error:
        check_personal_code(wrong)
    assert error.value.reason == "check_digit"


@pytest.mark.parametrize(
    ("code", "reason"),
    [("3850214123", "structure"), ("385021412345", "structure"), ("3850214123a", "structure"),
     ("３８５０２１４１２３４", "structure"), ("78502141234", "first_digit"), ("08502141234", "first_digit")],
)  # fmt: skip
def test_structural_errors(code: str, reason: str) -> None:
    with pytest.raises(InvalidPersonalCode) as error:
        check_personal_code(code)
    assert error.value.reason == reason


@pytest.mark.parametrize(
    ("yymmdd", "first", "warned"),
    [("851314", 3, True), ("850230", 3, True), ("850014", 3, False), ("850200", 3, False),
     ("991231", 6, True), ("000229", 5, False), ("010229", 5, True), ("850140", 3, True)],
)  # fmt: skip
def test_date_warnings(yymmdd: str, first: int, warned: bool) -> None:
    result = check_personal_code(personal_code(first, yymmdd, "001"), today=dt.date(2026, 11, 23))
    assert bool(result.warnings) is warned


def test_century_from_first_digit() -> None:
    assert check_personal_code(personal_code(1, "990101", "001")).birth_date == dt.date(1899, 1, 1)
    assert check_personal_code(personal_code(5, "100101", "001")).birth_date == dt.date(2010, 1, 1)
    assert check_personal_code(personal_code(9, "123456", "001")).birth_date is None
