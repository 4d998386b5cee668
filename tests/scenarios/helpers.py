"""Shared pieces of the scenario tests: reading a candidate back, its deadlines and its audit trail.

Expected values in the scenarios are written out by hand (dates counted on a calendar, with
the count in a comment); nothing here computes an expected value from production code.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from models.audit.trail import timeline, verify
from models.casefile import casefile
from models.tables import Candidate, Deadline, Member
from models.transitions import TransitionResult
from tests.support import add, step, walk

CANDIDATE = Candidate.__table__
DEADLINE = Deadline.__table__
MEMBER = Member.__table__
TODAY = date(2039, 12, 31)          # the day the scenarios read files on (tests.support.NOW)

# Sponsors of a candidate of bản Nà La: two full members who have lived beside them for years.
NA_LA_SPONSORS = [
    {"member": "NL01", "together_since": date(2015, 1, 1), "relation": "residence"},
    {"member": "NL02", "together_since": date(2016, 1, 1), "relation": "residence"},
]


def add_na_la(engine: Engine, **overrides: Any) -> int:
    """A 36-year-old farmer of bản Nà La (past Youth Union age), listed 15/09/2025, two sponsors."""
    data: dict[str, Any] = {
        "full_name": "Lò Văn Khánh", "birth_date": date(1990, 2, 3), "cell": "cb-ban-na-la",
        "residence_village": "ban-na-la", "listed_on": date(2025, 9, 15), "sponsors": NA_LA_SPONSORS,
    }
    data.update(overrides)
    return add(engine, **data)


def to_cell_review(engine: Engine, cid: int, *, file_on: str = "2026-06-01", opinions_on: str = "2026-06-10") -> None:
    """Course, certificate (20/11/2025), file and opinions: the candidate waits for the cell vote."""
    walk(engine, cid, [
        ("nominate_for_course", "2025-10-01", {}),
        ("record_awareness_certificate", "2025-11-20", {"certificate_number": "CN-NTVĐ 0457"}),
        ("complete_file", file_on, {"application_on": "2026-05-02", "cv_certified_on": "2026-05-20",
                                    "background_verified_on": "2026-05-25"}),
        ("summarise_opinions", opinions_on, {}),
    ])


def candidate_row(engine: Engine, cid: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(CANDIDATE).where(CANDIDATE.c.id == cid)).mappings().one())


def facts(engine: Engine, cid: int) -> dict[str, Any]:
    return casefile(engine, cid, today=TODAY)["facts"]


def deadlines(engine: Engine, cid: int) -> dict[str, dict[str, Any]]:
    """The candidate's deadlines by clock (each clock runs at most once in these scenarios)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(DEADLINE).where(DEADLINE.c.candidate_id == cid).order_by(DEADLINE.c.id)
        ).mappings().all()
    out = {r["clock"]: dict(r) for r in rows}
    assert len(out) == len(rows), f"a clock ran twice: {[r['clock'] for r in rows]}"
    return out


def events(engine: Engine, cid: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return timeline(conn, cid)


def member_id(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(MEMBER.c.id).where(MEMBER.c.code == code)).scalar_one()


def codes(result: TransitionResult) -> set[str]:
    return {f.code for f in result.failures}


def refused(engine: Engine, cid: int, event: str, on: str, **inputs: Any) -> TransitionResult:
    """Apply a step that must be refused; check the refusal changed nothing but the audit trail."""
    before = candidate_row(engine, cid)
    result = step(engine, cid, event, on, **inputs)
    assert result.status == "refused", f"{event} on {on} was applied, expected a refusal"
    after = candidate_row(engine, cid)
    for column in ("stage", "version", "facts", "last_event_on"):
        assert after[column] == before[column], column
    last = events(engine, cid)[-1]
    assert (last["kind"], last["event"]) == ("refusal", event)
    assert last["stage_before"] == last["stage_after"] == before["stage"]
    assert {f["code"] for f in last["payload"]["failures"]} == codes(result)
    return result


def assert_trail_sound(engine: Engine, cid: int, ruleset: str) -> list[dict[str, Any]]:
    """The whole audit chain verifies; this candidate's chain is consistent step to step."""
    assert verify(engine).ok
    trail = events(engine, cid)
    assert trail[0]["kind"] == "created"
    assert [e["seq"] for e in trail] == list(range(1, len(trail) + 1))
    assert all(e["ruleset_version"] == ruleset for e in trail)
    stage = trail[0]["stage_after"]
    last_on = trail[0]["effective_on"]
    for e in trail[1:]:
        assert e["stage_before"] == stage, e
        if e["kind"] == "transition":
            assert e["effective_on"] >= last_on, e
            stage, last_on = e["stage_after"], e["effective_on"]
        else:
            assert e["stage_after"] == stage, e
    assert candidate_row(engine, cid)["stage"] == stage
    return trail
