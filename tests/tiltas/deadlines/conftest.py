from __future__ import annotations

import pytest

from tiltas.deadlines import WorkingDayCalendar


@pytest.fixture(scope="session")
def lt_calendar() -> WorkingDayCalendar:
    """The package calendar with no overrides (building one costs ≈ 0.2 s)."""
    return WorkingDayCalendar(label="test")
