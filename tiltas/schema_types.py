"""Small validated types shared by the domain's input models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

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
