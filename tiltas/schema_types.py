"""Small validated types shared by the domain's input models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from tiltas.personal_code import InvalidPersonalCode, check_personal_code

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=320)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()\-]{5,25}$")]
LegalEntityCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{7}([0-9]{2})?$")]
"""Juridinio asmens kodas: 9 digits (7 for entities registered before 2004)."""
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class StrictModel(BaseModel):
    """Input: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _valid_personal_code(value: str) -> str:
    try:
        check_personal_code(value)
    except InvalidPersonalCode as error:
        raise PydanticCustomError(f"personal_code_{error.reason}", str(error)) from None
    return value


PersonalCode = Annotated[str, AfterValidator(_valid_personal_code)]
"""Asmens kodas: structure and check digit checked; birth-date doubts are warnings elsewhere."""


class IdentifiedPerson(StrictModel):
    """A person named by personal code or, when it is unknown, by birth date."""

    personal_code: PersonalCode | None = None
    birth_date: dt.date | None = None

    @model_validator(mode="after")
    def _identified(self) -> IdentifiedPerson:
        if self.personal_code is None and self.birth_date is None:
            raise PydanticCustomError(
                "identity_missing", "give the personal code or, when it is unknown, the birth date"
            )
        return self
