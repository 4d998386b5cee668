"""The admission-decision clock: 60 working days from the cell resolution, extendable by 30 in all.

Counted by hand over autumn 2026. Days off in the range: Tue 24/11/2026 (Ngày Văn hóa Việt
Nam, a paid day off from 2026 under Resolution 80-NQ/TW) and Fri 01/01/2027 (New Year).
"""

from __future__ import annotations

from datetime import date

import pytest

from models.procedure.engine import InputError
from tests.scenarios.helpers import (
    add_na_la,
    assert_trail_sound,
    candidate_row,
    codes,
    deadlines,
    facts,
    refused,
    to_cell_review,
)
from tests.support import step, walk

CELL_VOTE = "2026-09-14"          # a Monday
# 60 working days after Mon 14/09/2026: 15-18/9 (4), nine whole weeks to Fri 20/11 (49),
# Mon 23/11 (50), Tue 24/11 off, 25-27/11 (53), 30/11-4/12 (58), Mon 7/12 (59), Tue 8/12 (60).
DUE = date(2026, 12, 8)


def _to_awaiting_decision(org) -> int:
    cid = add_na_la(org)
    to_cell_review(org, cid)
    walk(org, cid, [
        ("cell_approves", CELL_VOTE, {"approve": 4}),
        ("grassroots_approves", "2026-09-28", {"approve": 10}),
    ])
    d = deadlines(org, cid)["admission_decision"]
    assert (d["starts_on"], d["due_on"], d["status"], d["extended_days"]) == (date(2026, 9, 14), DUE, "open", 0)
    return cid


def test_decision_deadline_extension(org):
    cid = _to_awaiting_decision(org)

    walk(org, cid, [("extend_decision_deadline", "2026-11-30", {"working_days": 20, "reason": "Chờ xác minh lý lịch"})])
    d = deadlines(org, cid)["admission_decision"]
    # 20 working days after Tue 8/12/2026: 9-11/12 (3), 14-18/12 (8), 21-25/12 (13), 28-31/12 (17),
    # Fri 1/1/2027 off, 4-6/1 (20): Wed 6/1/2027.
    assert (d["due_on"], d["extended_days"], d["status"]) == (date(2027, 1, 6), 20, "open")

    walk(org, cid, [("extend_decision_deadline", "2026-12-07", {"working_days": 10, "reason": "Chờ ý kiến nơi cư trú"})])
    d = deadlines(org, cid)["admission_decision"]
    # 10 working days after Wed 6/1/2027: 7-8/1 (2), 11-15/1 (7), 18-20/1 (10): Wed 20/1/2027.
    assert (d["due_on"], d["extended_days"], d["status"]) == (date(2027, 1, 20), 30, "open")
    assert facts(org, cid)["decision_extension_reason"] == "Chờ ý kiến nơi cư trú"

    # 30 working days are used up: one more day is refused, and a single request above 30 is malformed.
    result = refused(org, cid, "extend_decision_deadline", "2026-12-08", working_days=1, reason="Thêm một ngày")
    assert codes(result) == {"deadline.extension_too_long"}
    with pytest.raises(InputError):
        step(org, cid, "extend_decision_deadline", "2026-12-08", working_days=31, reason="Quá dài")
    d = deadlines(org, cid)["admission_decision"]
    assert (d["due_on"], d["extended_days"]) == (date(2027, 1, 20), 30)

    # Decided after the original due date (8/12/2026), before the extended one (20/1/2027): met.
    walk(org, cid, [("admit", "2027-01-15", {"decision_number": "9-QĐ/ĐU"})])
    d = deadlines(org, cid)["admission_decision"]
    assert (d["status"], d["closed_on"], d["due_on"]) == ("met", date(2027, 1, 15), date(2027, 1, 20))
    assert candidate_row(org, cid)["stage"] == "awaiting_ceremony"

    trail = assert_trail_sound(org, cid, "qd294-2025")
    extensions = [e for e in trail if e["event"] == "extend_decision_deadline"]
    assert [e["kind"] for e in extensions] == ["transition", "transition", "refusal"]
    assert [c["due_on"] for e in extensions[:2] for c in e["payload"]["deadlines"]] == ["2027-01-06", "2027-01-20"]


def test_late_decision_is_flagged_not_blocked(org):
    cid = _to_awaiting_decision(org)

    # 70 working days after Mon 14/09/2026: the 60th is Tue 8/12 (above), then 9-11/12 (63),
    # 14-18/12 (68), Mon 21/12 (69), Tue 22/12 (70).
    result = step(org, cid, "admit", "2026-12-22", decision_number="301-QĐ/ĐU")
    assert result.applied and result.stage_after == "awaiting_ceremony"
    d = deadlines(org, cid)
    assert (d["admission_decision"]["status"], d["admission_decision"]["closed_on"]) == ("late", date(2026, 12, 22))
    assert d["admission_decision"]["due_on"] == DUE
    # The next clock runs as usual. 30 working days after Tue 22/12/2026: 23-25/12 (3), 28-31/12 (7),
    # Fri 1/1 off, 4/1-29/1 four whole weeks (27), 1-3/2 (30): Wed 3/2/2027, the eve of Tết.
    assert (d["ceremony"]["status"], d["ceremony"]["due_on"]) == ("open", date(2027, 2, 3))
    assert candidate_row(org, cid)["decision_on"] == date(2026, 12, 22)

    trail = assert_trail_sound(org, cid, "qd294-2025")
    assert {"clock": "admission_decision", "change": "late", "due_on": "2026-12-08"} in trail[-1]["payload"]["deadlines"]


def test_decision_cannot_be_received_before_it_is_made(org):
    # The ceremony clock counts from the day the cell receives the decision; a receipt dated
    # before the decision itself is impossible and would start the clock too early.
    cid = _to_awaiting_decision(org)
    try:
        result = step(org, cid, "admit", "2026-11-02", decision_number="280-QĐ/ĐU", received_on="2026-10-26")
    except InputError:
        result = None
    assert result is None or result.status == "refused", "a decision received a week before it was made was accepted"
    assert candidate_row(org, cid)["stage"] == "awaiting_decision"
    assert deadlines(org, cid)["admission_decision"]["status"] == "open"
    assert "ceremony" not in deadlines(org, cid)
    assert_trail_sound(org, cid, "qd294-2025")
