"""Candidates walked over years of effective dates, from the source list to full membership.

Due dates are counted by hand on the Vietnamese calendar (the day of the event not counted,
weekends and days off skipped, make-up Saturdays worked); each count is written beside it.
"""

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
    facts,
    member_id,
    refused,
    to_cell_review,
)
from tests.support import step, walk


def test_candidate_walks_from_source_list_to_full_member(org):
    cid = add_na_la(org)
    assert candidate_row(org, cid)["ruleset_version"] == "qd294-2025"
    to_cell_review(org, cid)

    # E: 4 of the cell's 5 full members approve (NL05 is exempted but present in the count): 12 >= 10.
    result = step(org, cid, "cell_approves", "2026-06-16", approve=4)
    assert result.applied and result.stage_after == "grassroots_review"
    # 60 working days after Tue 16/06/2026: 17-19/6 (3), 22/6-14/8 eight weeks (43), 17-21/8 (48),
    # Sat 22/8 worked as the make-up day (49), 24-28/8 (54); 31/8, 1/9, 2/9 off; 3-4/9 (56), 7-10/9 (60).
    assert deadlines(org, cid)["admission_decision"]["due_on"] == date(2026, 9, 10)

    # G: the commune committee (15 members) votes 10 for: 30 >= 30.
    walk(org, cid, [("grassroots_approves", "2026-07-01", {"approve": 10})])
    assert candidate_row(org, cid)["stage"] == "awaiting_decision"

    # H: decided on 10/08, received by the cell on 12/08: the ceremony clock counts from receipt.
    walk(org, cid, [("admit", "2026-08-10", {"decision_number": "125-QĐ/ĐU", "received_on": "2026-08-12"})])
    d = deadlines(org, cid)
    assert (d["admission_decision"]["status"], d["admission_decision"]["closed_on"]) == ("met", date(2026, 8, 10))
    # 30 working days after Wed 12/08/2026: 13-14/8 (2), 17-21/8 (7), Sat 22/8 (8), 24-28/8 (13),
    # 31/8-2/9 off, 3-4/9 (15), 7-11/9 (20), 14-18/9 (25), 21-25/9 (30).
    assert (d["ceremony"]["status"], d["ceremony"]["due_on"]) == ("open", date(2026, 9, 25))

    # I: the ceremony, NL03 assigned to help the new member.
    walk(org, cid, [("hold_ceremony", "2026-09-10", {"helper": "NL03"})])
    d = deadlines(org, cid)
    assert (d["ceremony"]["status"], d["ceremony"]["closed_on"]) == ("met", date(2026, 9, 10))
    assert (d["probation"]["kind"], d["probation"]["due_on"], d["probation"]["status"]) == (
        "period", date(2027, 9, 10), "open")
    # 30 working days after Fri 10/09/2027 (no day off in the range): six whole weeks, Fri 22/10/2027.
    assert (d["recognition_vote"]["due_on"], d["recognition_vote"]["status"]) == (date(2027, 10, 22), "open")

    # J: the new-member course during probation; recognition cannot open a day early.
    walk(org, cid, [("record_new_member_certificate", "2027-03-01", {"certificate_number": "ĐVM-88"})])
    early = refused(org, cid, "open_recognition", "2027-09-09")
    assert codes(early) == {"recognition.probation_not_over"}
    walk(org, cid, [("open_recognition", "2027-09-10", {})])
    d = deadlines(org, cid)
    assert (d["probation"]["status"], d["probation"]["closed_on"]) == ("elapsed", date(2027, 9, 10))

    # K: recognition documents, the cell's and the commune committee's resolutions.
    walk(org, cid, [
        ("record_recognition_documents", "2027-09-13", {"self_review_on": "2027-09-11",
                                                         "helper_review_on": "2027-09-12",
                                                         "recognition_opinions_on": "2027-09-13"}),
        ("cell_recognises", "2027-09-20", {"approve": 4}),
    ])
    assert candidate_row(org, cid)["stage"] == "recognition_grassroots_review"
    d = deadlines(org, cid)
    assert (d["recognition_vote"]["status"], d["recognition_vote"]["closed_on"]) == ("met", date(2027, 9, 20))
    # 30 working days after Mon 20/09/2027: 21-24/9 (4), five whole weeks to Fri 29/10 (29), Mon 1/11 (30).
    assert (d["recognition_decision"]["due_on"], d["recognition_decision"]["status"]) == (date(2027, 11, 1), "open")
    walk(org, cid, [("grassroots_recognises", "2027-10-05", {"approve": 10})])
    assert candidate_row(org, cid)["stage"] == "awaiting_recognition_decision"

    # L: decided five weeks after probation ended; membership counts from the end of probation.
    result = step(org, cid, "recognise", "2027-10-15", decision_number="310-QĐ/ĐU")
    assert result.applied and result.stage_after == "full_member"

    row = candidate_row(org, cid)
    assert row["stage"] == "full_member"
    assert row["ceremony_on"] == date(2026, 9, 10)
    assert row["probation_ends_on"] == date(2027, 9, 10)           # ceremony + 12 months
    assert row["recognised_on"] == date(2027, 9, 10)               # not the decision date
    assert row["closed_on"] == date(2027, 10, 15)
    assert row["decision_on"] == date(2026, 8, 10)
    assert row["cell_resolution_on"] == date(2026, 6, 16)
    f = facts(org, cid)
    assert f["recognition_decision_on"] == date(2027, 10, 15)
    assert f["recognition_decision_number"] == "310-QĐ/ĐU"
    assert f["decision_number"] == "125-QĐ/ĐU"
    assert f["decision_received_on"] == date(2026, 8, 12)
    assert (f["cell_approve"], f["cell_full_members"]) == (4, 5)
    assert (f["grassroots_approve"], f["grassroots_committee_members"]) == (10, 15)
    assert f["helper_member_id"] == member_id(org, "NL03")
    assert f["new_member_certificate_number"] == "ĐVM-88"
    assert f["awareness_certificate_on"] == date(2025, 11, 20)
    assert (f["self_review_on"], f["helper_review_on"], f["recognition_opinions_on"]) == (
        date(2027, 9, 11), date(2027, 9, 12), date(2027, 9, 13))
    assert f["recognition_cell_resolution_on"] == date(2027, 9, 20)
    assert f["recognition_grassroots_resolution_on"] == date(2027, 10, 5)

    d = deadlines(org, cid)
    assert {c: r["status"] for c, r in d.items()} == {
        "admission_decision": "met", "ceremony": "met", "probation": "elapsed",
        "recognition_vote": "met", "recognition_decision": "met",
    }
    assert d["recognition_decision"]["closed_on"] == date(2027, 10, 15)

    trail = assert_trail_sound(org, cid, "qd294-2025")
    assert [(e["kind"], e["event"]) for e in trail] == [
        ("created", "add_candidate"),
        ("transition", "nominate_for_course"),
        ("transition", "record_awareness_certificate"),
        ("transition", "complete_file"),
        ("transition", "summarise_opinions"),
        ("transition", "cell_approves"),
        ("transition", "grassroots_approves"),
        ("transition", "admit"),
        ("transition", "hold_ceremony"),
        ("transition", "record_new_member_certificate"),
        ("refusal", "open_recognition"),
        ("transition", "open_recognition"),
        ("transition", "record_recognition_documents"),
        ("transition", "cell_recognises"),
        ("transition", "grassroots_recognises"),
        ("transition", "recognise"),
    ]
    assert trail[-1]["effective_on"] == date(2027, 10, 15)
    assert trail[-1]["stage_after"] == "full_member"


def test_recognition_escalates_after_three_failed_votes(org):
    cid = add_na_la(org)
    to_cell_review(org, cid)
    walk(org, cid, [
        ("cell_approves", "2027-11-01", {"approve": 4}),
        ("grassroots_approves", "2027-11-15", {"approve": 10}),
        ("admit", "2028-01-10", {"decision_number": "12-QĐ/ĐU"}),
        # A ceremony on 29/02/2028: twelve months end on 28/02/2029, February having no 29th.
        ("hold_ceremony", "2028-02-29", {"helper": "NL01"}),
        ("record_new_member_certificate", "2028-09-01", {"certificate_number": "ĐVM-102"}),
    ])
    assert candidate_row(org, cid)["probation_ends_on"] == date(2029, 2, 28)
    assert codes(refused(org, cid, "open_recognition", "2029-02-27")) == {"recognition.probation_not_over"}
    walk(org, cid, [
        ("open_recognition", "2029-02-28", {}),
        ("record_recognition_documents", "2029-03-01", {"self_review_on": "2029-03-01", "helper_review_on": "2029-03-01",
                                                         "recognition_opinions_on": "2029-03-01"}),
    ])

    # 4 of 5 is two thirds: recording it as a failed vote is refused.
    assert codes(refused(org, cid, "cell_recognition_vote_fails", "2029-03-05", approve=4)) == {"vote.actually_passed"}
    walk(org, cid, [("cell_recognition_vote_fails", "2029-03-05", {"approve": 2})])
    assert candidate_row(org, cid)["stage"] == "recognition_review"
    assert facts(org, cid)["failed_cell_recognition_votes"] == 1

    assert codes(refused(org, cid, "cell_recognition_vote_fails", "2029-04-02", approve=5)) == {"vote.actually_passed"}
    walk(org, cid, [("cell_recognition_vote_fails", "2029-04-02", {"approve": 3})])     # 9 < 10
    assert candidate_row(org, cid)["stage"] == "recognition_review"
    assert facts(org, cid)["failed_cell_recognition_votes"] == 2

    # With the exempted NL05 absent, 3 of 4 eligible is two thirds (9 >= 8): not a failure.
    assert codes(refused(org, cid, "cell_recognition_vote_fails", "2029-05-07", approve=3, excused_absent=1)) == {
        "vote.actually_passed"}
    walk(org, cid, [("cell_recognition_vote_fails", "2029-05-07", {"approve": 1})])
    assert candidate_row(org, cid)["stage"] == "awaiting_recognition_decision"
    assert facts(org, cid)["failed_cell_recognition_votes"] == 3

    # The cell no longer votes; the competent committee decides.
    with pytest.raises(StageConflict):
        step(org, cid, "cell_recognises", "2029-05-08", approve=4)
    walk(org, cid, [("recognise", "2029-05-21", {"decision_number": "201-QĐ/ĐU"})])
    row = candidate_row(org, cid)
    assert row["stage"] == "full_member"
    assert row["recognised_on"] == date(2029, 2, 28)
    assert row["closed_on"] == date(2029, 5, 21)
    assert facts(org, cid)["recognition_decision_on"] == date(2029, 5, 21)

    trail = assert_trail_sound(org, cid, "qd294-2025")
    fails = [e for e in trail if e["event"] == "cell_recognition_vote_fails"]
    assert [(e["kind"], e["stage_after"]) for e in fails] == [
        ("refusal", "recognition_review"),
        ("transition", "recognition_review"),
        ("refusal", "recognition_review"),
        ("transition", "recognition_review"),
        ("refusal", "recognition_review"),
        ("transition", "awaiting_recognition_decision"),
    ]


def test_candidate_under_2021_rules_keeps_its_version(org):
    # Listed before 294-QĐ/TW came into force (01/07/2025): processed under 24-QĐ/TW to the end,
    # even for the steps dated after 01/07/2025.
    cid = add_na_la(org, listed_on=date(2023, 3, 1))
    assert candidate_row(org, cid)["ruleset_version"] == "qd24-2021"
    walk(org, cid, [
        ("nominate_for_course", "2023-03-15", {}),
        ("record_awareness_certificate", "2023-05-10", {"certificate_number": "CN-2023-17"}),
        ("complete_file", "2024-11-04", {"application_on": "2024-10-01", "cv_certified_on": "2024-10-20",
                                         "background_verified_on": "2024-10-25"}),
        ("summarise_opinions", "2024-12-02", {}),
        ("cell_approves", "2025-03-03", {"approve": 4}),
    ])
    refusals = [refused(org, cid, "grassroots_approves", "2025-03-17", approve=9)]        # 27 < 30
    assert codes(refusals[0]) == {"vote.below_two_thirds"}
    walk(org, cid, [
        ("grassroots_approves", "2025-03-17", {"approve": 10}),
        ("admit", "2025-04-21", {"decision_number": "88-QĐ/ĐU"}),
        ("hold_ceremony", "2025-05-19", {"helper": "NL04"}),
        ("record_new_member_certificate", "2025-10-06", {"certificate_number": "ĐVM-5"}),
    ])
    refusals.append(refused(org, cid, "open_recognition", "2026-05-18"))
    assert codes(refusals[1]) == {"recognition.probation_not_over"}
    result = walk(org, cid, [
        ("open_recognition", "2026-05-19", {}),
        ("record_recognition_documents", "2026-05-25", {"self_review_on": "2026-05-20", "helper_review_on": "2026-05-21",
                                                         "recognition_opinions_on": "2026-05-25"}),
        ("cell_recognises", "2026-06-01", {"approve": 4}),
        ("grassroots_recognises", "2026-06-15", {"approve": 10}),
        ("recognise", "2026-06-29", {"decision_number": "402-QĐ/ĐU"}),
    ])
    assert result.ruleset_version == "qd24-2021"
    row = candidate_row(org, cid)
    assert (row["stage"], row["ruleset_version"], row["recognised_on"]) == ("full_member", "qd24-2021", date(2026, 5, 19))

    for r in refusals:
        assert r.ruleset_version == "qd24-2021"
        for failure in r.failures:
            assert "24-QĐ/TW" in failure.cite and "294-QĐ/TW" not in failure.cite, failure.cite
    assert {d["ruleset_version"] for d in deadlines(org, cid).values()} == {"qd24-2021"}
    trail = assert_trail_sound(org, cid, "qd24-2021")
    assert any(e["effective_on"] >= date(2025, 7, 1) for e in trail if e["kind"] == "transition")
    for e in trail:
        for failure in e["payload"].get("failures", []):
            assert "24-QĐ/TW" in failure["cite"] and "294-QĐ/TW" not in failure["cite"]

    # The version follows the listing date: the day before and the day 294-QĐ/TW came into force.
    assert candidate_row(org, add_na_la(org, listed_on=date(2025, 6, 30)))["ruleset_version"] == "qd24-2021"
    assert candidate_row(org, add_na_la(org, listed_on=date(2025, 7, 1)))["ruleset_version"] == "qd294-2025"


def test_grassroots_recognition_failures_are_counted_apart_from_the_cell(org):
    # "Tổ chức đảng cấp dưới đã qua 3 lần biểu quyết" (29-QĐ/TW Art. 5.2, kept by 24- and 294-QĐ/TW):
    # three failed votes of the same body send the file up. Two failed cell votes followed by a
    # passing one, then one failed vote of the commune committee, are not three failures of one body.
    cid = add_na_la(org)
    to_cell_review(org, cid)
    walk(org, cid, [
        ("cell_approves", "2026-06-16", {"approve": 4}),
        ("grassroots_approves", "2026-07-01", {"approve": 10}),
        ("admit", "2026-08-10", {"decision_number": "125-QĐ/ĐU"}),
        ("hold_ceremony", "2026-09-10", {"helper": "NL03"}),
        ("record_new_member_certificate", "2027-03-01", {"certificate_number": "ĐVM-88"}),
        ("open_recognition", "2027-09-10", {}),
        ("record_recognition_documents", "2027-09-13", {"self_review_on": "2027-09-11", "helper_review_on": "2027-09-12",
                                                         "recognition_opinions_on": "2027-09-13"}),
        ("cell_recognition_vote_fails", "2027-09-20", {"approve": 2}),
        ("cell_recognition_vote_fails", "2027-10-04", {"approve": 2}),
        ("cell_recognises", "2027-10-18", {"approve": 4}),
    ])
    assert candidate_row(org, cid)["stage"] == "recognition_grassroots_review"

    walk(org, cid, [("grassroots_recognition_vote_fails", "2027-11-01", {"approve": 9})])      # 27 < 30
    # The commune committee has voted once: it votes again, the file does not go up yet.
    assert candidate_row(org, cid)["stage"] == "recognition_grassroots_review"
    assert_trail_sound(org, cid, "qd294-2025")
