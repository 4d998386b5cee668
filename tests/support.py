"""Helpers for tests: an actor, a fixed clock, candidates built from a few overrides, walking steps."""

from __future__ import annotations

from collections.abc import Iterable, Set
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from models.actors import Actor
from models.imports.candidates import CandidateIn, add_candidates
from models.imports.organisation import import_organisation
from models.transitions import TransitionRequest, TransitionResult, apply_transition

SECRETARY = Actor("test:secretary", "secretary")
NOW = datetime(2039, 12, 31, 12, 0, tzinfo=UTC)   # tests act "today" late enough for any walked date


def drop_audit_triggers(engine: Engine) -> None:
    """What someone with the database owner's rights would do before editing the audit record."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_change ON audit_event"))


def import_demo_org(engine: Engine) -> None:
    with resources.as_file(resources.files("ketnap.demo") / "organisation.yaml") as path:
        import_organisation(engine, Path(path), SECRETARY, now=NOW)


def candidate(**overrides: Any) -> CandidateIn:
    """A farmer of bản Nà La born 1990 (past Youth Union age), sponsored by two full members with years together."""
    data: dict[str, Any] = {
        "full_name": "Cà Văn Dũng", "birth_date": date(1990, 2, 3), "gender": "nam", "ethnicity": "Thái",
        "general_education_grade": 12, "occupation": "farmer", "cell": "cb-ban-na-la",
        "residence_village": "ban-na-la", "listed_on": date(2025, 9, 15),
        "sponsors": [
            {"member": "NL01", "together_since": date(2015, 1, 1), "relation": "residence"},
            {"member": "NL02", "together_since": date(2016, 1, 1), "relation": "residence"},
        ],
    }
    data.update(overrides)
    return CandidateIn.model_validate(data)


def add(engine: Engine, **overrides: Any) -> int:
    (cid,) = add_candidates(engine, [(0, candidate(**overrides))], SECRETARY, now=NOW)
    return cid


def step(engine: Engine, cid: int, event: str, on: date | str, now: datetime = NOW, **inputs: Any) -> TransitionResult:
    day = date.fromisoformat(on) if isinstance(on, str) else on
    return apply_transition(engine, TransitionRequest(cid, event, day, SECRETARY, inputs=inputs), now=now)


def walk(engine: Engine, cid: int, steps: Iterable[tuple[str, str, dict[str, Any]]]) -> TransitionResult:
    """Apply steps in order; fail loudly if one is refused."""
    result = None
    for event, on, inputs in steps:
        result = step(engine, cid, event, on, **inputs)
        assert result.applied, f"{event} on {on} refused: {[f.message for f in result.failures]}"
    assert result is not None
    return result


TO_CELL_REVIEW = [
    ("nominate_for_course", "2025-10-01", {}),
    ("record_awareness_certificate", "2025-11-20", {"certificate_number": "CN-1"}),
    ("complete_file", "2026-06-01", {"application_on": "2026-05-02", "cv_certified_on": "2026-05-20",
                                     "background_verified_on": "2026-05-25"}),
    ("summarise_opinions", "2026-06-15", {}),
]


# Weekdays off 2025-2027, written down by hand (not asked of the calendar under test) from the shipped
# models/calendar/vn/*.yaml (Tết, bridge days) and the Labour Code's holidays: 1/1, Hùng Kings (10/3 lunar), 30/4,
# 1/5, 2/9 with a day beside it, from 2026 the Vietnamese Culture Day (24/11), each moved to Monday from a weekend.
WEEKDAYS_OFF = frozenset({
    date(2025, 1, 1), *(date(2025, 1, d) for d in (27, 28, 29, 30, 31)), date(2025, 4, 7), date(2025, 4, 30),
    date(2025, 5, 1), date(2025, 5, 2), date(2025, 9, 1), date(2025, 9, 2),
    date(2026, 1, 1), *(date(2026, 2, d) for d in (16, 17, 18, 19, 20)), date(2026, 4, 27), date(2026, 4, 30),
    date(2026, 5, 1), date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2), date(2026, 11, 24),
    date(2027, 1, 1), *(date(2027, 2, d) for d in (4, 5, 8, 9, 10)), date(2027, 4, 16), date(2027, 4, 30),
    date(2027, 5, 3), date(2027, 9, 2), date(2027, 9, 3), date(2027, 11, 24),
})
MAKE_UP_SATURDAYS = frozenset({date(2025, 4, 26), date(2026, 8, 22)})     # worked for the 2/5/2025 and 31/8/2026 bridges


def count_working_days_by_hand(start: date, n: int, days_off: Set[date], working_saturdays: Set[date] = frozenset()) -> date:
    """Test oracle: the n-th working day after `start` (the start day not counted): a weekday not in `days_off`,
    or one of `working_saturdays`.

    Independent of the calendar under test: the caller writes the days off down by hand (or takes WEEKDAYS_OFF).
    """
    day = start
    while n:
        day += timedelta(days=1)
        if (day.weekday() < 5 and day not in days_off) or day in working_saturdays:
            n -= 1
    return day
