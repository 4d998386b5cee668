"""Files that end before full membership: a failed cell vote, withdrawal, leaving the list, removal."""

from __future__ import annotations

from datetime import date

import pytest

from models.procedure.engine import StageConflict
from tests.scenarios.helpers import (
    add_na_la,
    assert_trail_sound,
    candidate_row,
    codes,
    deadlines,
    events,
    facts,
    refused,
    to_cell_review,
)
from tests.support import step, walk


def test_cell_vote_below_two_thirds_is_refused_then_not_admitted(org):
    cid = add_na_la(org)
    to_cell_review(org, cid)

    # 3 of 5 full members: 9 < 10, two thirds of 5 needs 4.
    result = refused(org, cid, "cell_approves", "2026-06-16", approve=3)
    assert codes(result) == {"vote.below_two_thirds"}
    (failure,) = result.failures
    assert (failure.details["approve"], failure.details["eligible"], failure.details["needed"]) == (3, 5, 4)
    assert candidate_row(org, cid)["stage"] == "cell_review"
    assert deadlines(org, cid) == {}                       # no resolution, no decision clock

    # 4 of 5 did pass: it cannot be recorded as a rejection.
    assert codes(refused(org, cid, "cell_rejects", "2026-06-16", approve=4)) == {"vote.actually_passed"}

    result = step(org, cid, "cell_rejects", "2026-06-16", approve=3)
    assert result.applied and result.stage_after == "not_admitted"
    row = candidate_row(org, cid)
    assert row["stage"] == "not_admitted"
    assert row["closed_on"] == date(2026, 6, 16)
    assert row["cell_resolution_on"] == date(2026, 6, 16)
    f = facts(org, cid)
    assert (f["cell_approve"], f["cell_full_members"]) == (3, 5)
    assert deadlines(org, cid) == {}
    with pytest.raises(StageConflict):
        step(org, cid, "cell_approves", "2026-07-01", approve=5)

    trail = assert_trail_sound(org, cid, "qd294-2025")
    assert [(e["kind"], e["event"], e["stage_after"]) for e in trail[-3:]] == [
        ("refusal", "cell_approves", "cell_review"),
        ("refusal", "cell_rejects", "cell_review"),
        ("transition", "cell_rejects", "not_admitted"),
    ]


def test_candidate_withdraws(org):
    cid = add_na_la(org)
    to_cell_review(org, cid)
    walk(org, cid, [
        ("cell_approves", "2026-06-16", {"approve": 5}),
        ("grassroots_approves", "2026-07-01", {"approve": 12}),
    ])
    assert candidate_row(org, cid)["stage"] == "awaiting_decision"
    assert deadlines(org, cid)["admission_decision"]["status"] == "open"

    result = step(org, cid, "withdraw", "2026-07-20", reason="Đi làm ăn xa")
    assert result.applied and result.stage_after == "withdrawn"
    row = candidate_row(org, cid)
    assert (row["stage"], row["closed_on"]) == ("withdrawn", date(2026, 7, 20))
    assert facts(org, cid)["closure_reason"] == "Đi làm ăn xa"
    d = deadlines(org, cid)["admission_decision"]
    assert (d["status"], d["closed_on"]) == ("cancelled", date(2026, 7, 20))
    with pytest.raises(StageConflict):
        step(org, cid, "admit", "2026-07-21", decision_number="1-QĐ/ĐU")

    trail = assert_trail_sound(org, cid, "qd294-2025")
    last = trail[-1]
    assert (last["event"], last["stage_before"], last["stage_after"]) == ("withdraw", "awaiting_decision", "withdrawn")
    assert {"clock": "admission_decision", "change": "cancelled", "due_on": d["due_on"].isoformat()} in (
        last["payload"]["deadlines"])


def test_source_list_removal(org):
    cid = add_na_la(org)
    walk(org, cid, [("nominate_for_course", "2025-10-01", {})])
    assert candidate_row(org, cid)["stage"] == "awareness_course"

    result = step(org, cid, "leave_source_list", "2025-11-03", reason="Không tham gia đầy đủ lớp bồi dưỡng")
    assert result.applied and result.stage_after == "left_source_list"
    row = candidate_row(org, cid)
    assert (row["stage"], row["closed_on"]) == ("left_source_list", date(2025, 11, 3))
    f = facts(org, cid)
    assert f["closure_reason"] == "Không tham gia đầy đủ lớp bồi dưỡng"
    assert f["course_nominated_on"] == date(2025, 10, 1)
    assert "awareness_certificate_on" not in f
    assert deadlines(org, cid) == {}
    with pytest.raises(StageConflict):
        step(org, cid, "record_awareness_certificate", "2025-11-20", certificate_number="CN-9")

    trail = assert_trail_sound(org, cid, "qd294-2025")
    assert [e["event"] for e in trail] == ["add_candidate", "nominate_for_course", "leave_source_list"]


def test_probationary_member_removed(org):
    cid = add_na_la(org)
    to_cell_review(org, cid)
    walk(org, cid, [
        ("cell_approves", "2026-06-16", {"approve": 4}),
        ("grassroots_approves", "2026-07-01", {"approve": 10}),
        ("admit", "2026-08-10", {"decision_number": "125-QĐ/ĐU"}),
        ("hold_ceremony", "2026-09-10", {"helper": "NL03"}),
    ])
    assert candidate_row(org, cid)["stage"] == "probation"

    # Half-way through probation the competent committee strikes the name off.
    result = step(org, cid, "remove", "2027-03-15", decision_number="77-QĐ/ĐU",
                  reason="Vi phạm tư cách đảng viên")
    assert result.applied and result.stage_after == "removed"
    row = candidate_row(org, cid)
    assert (row["stage"], row["closed_on"]) == ("removed", date(2027, 3, 15))
    assert row["recognised_on"] is None
    assert facts(org, cid)["closure_reason"] == "Vi phạm tư cách đảng viên"

    d = deadlines(org, cid)
    assert {c: r["status"] for c, r in d.items()} == {
        "admission_decision": "met", "ceremony": "met", "probation": "cancelled", "recognition_vote": "cancelled",
    }
    assert d["probation"]["closed_on"] == d["recognition_vote"]["closed_on"] == date(2027, 3, 15)
    with pytest.raises(StageConflict):
        step(org, cid, "open_recognition", "2027-09-10")

    trail = assert_trail_sound(org, cid, "qd294-2025")
    last = trail[-1]
    assert (last["event"], last["stage_before"], last["stage_after"]) == ("remove", "probation", "removed")
    assert last["payload"]["inputs"]["decision_number"] == "77-QĐ/ĐU"
    assert events(org, cid)[-1]["effective_on"] == date(2027, 3, 15)
