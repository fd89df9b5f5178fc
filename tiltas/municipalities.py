"""The 60 Lithuanian municipalities, from the data file the project ships."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Municipality:
    id: str
    """Our stable identifier, e.g. ``vilniaus-m`` [design]: not an official register code."""
    name: str
    administration: str
    county: str


@cache
def all_municipalities() -> dict[str, Municipality]:
    raw = json.loads(
        resources.files("tiltas").joinpath("data/municipalities.json").read_text("utf-8")
    )
    return {row["id"]: Municipality(**row) for row in raw["municipalities"]}
