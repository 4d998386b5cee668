"""Where a cell's resolution goes next depends on the organisation tree, not on the procedure."""

from __future__ import annotations

from datetime import date

from models.casefile import casefile
from tests.scenarios.helpers import (
    TODAY,
    assert_trail_sound,
    candidate_row,
    codes,
    deadlines,
    facts,
    refused,
    to_cell_review,
)
from tests.support import add, walk


def _candidate_of(org, cell: str, sponsors: tuple[str, str]) -> int:
    cid = add(org, full_name="Tòng Văn Quý", birth_date=date(1989, 8, 8), cell=cell, residence_village=None,
              occupation="worker", listed_on=date(2025, 9, 15),
              sponsors=[{"member": code, "together_since": date(2018, 1, 1), "relation": "work"} for code in sponsors])
    to_cell_review(org, cid)
    return cid


def test_routing_follows_the_organisation_tree(org):
    # A grassroots cell (chi bộ cơ sở) is its own grassroots organisation: straight to the decision.
    health = _candidate_of(org, "cbcs-tram-y-te", ("YT01", "YT02"))
    walk(org, health, [("cell_approves", "2026-06-16", {"approve": 2})])         # 2 of 3 full members: 6 >= 6
    assert candidate_row(org, health)["stage"] == "awaiting_decision"
    assert deadlines(org, health)["admission_decision"]["status"] == "open"
    assert facts(org, health)["cell_full_members"] == 3
    file = casefile(org, health, today=TODAY)
    assert file["competent_body"] == "Ban Thường vụ Đảng ủy xã Mường Bú"
    assert [s["event"] for s in file["next_steps"]][:1] == ["admit"]

    # A cell under an intermediate committee of an enterprise's party committee (9 members).
    tea = _candidate_of(org, "cb-doi-che-1", ("DC01", "DC02"))
    walk(org, tea, [("cell_approves", "2026-06-16", {"approve": 3})])            # 3 of 4: 9 >= 8
    assert candidate_row(org, tea)["stage"] == "intermediate_appraisal"
    assert deadlines(org, tea)["admission_decision"]["status"] == "open"
    walk(org, tea, [("appraise", "2026-06-23", {})])
    assert candidate_row(org, tea)["stage"] == "grassroots_review"
    assert codes(refused(org, tea, "grassroots_approves", "2026-07-01", approve=5)) == {"vote.below_two_thirds"}  # 15 < 18
    walk(org, tea, [("grassroots_approves", "2026-07-01", {"approve": 6})])      # 18 >= 18
    assert candidate_row(org, tea)["stage"] == "awaiting_decision"
    f = facts(org, tea)
    assert (f["appraisal_on"], f["grassroots_approve"], f["grassroots_committee_members"]) == (
        date(2026, 6, 23), 6, 9)
    assert casefile(org, tea, today=TODAY)["competent_body"] == "Ban Thường vụ Đảng ủy xã Mường Bú"

    # A school's party committee of 7: the cell goes to it directly, no appraisal.
    school = _candidate_of(org, "cb-giao-vien-xh", ("XH01", "XH02"))
    walk(org, school, [("cell_approves", "2026-06-16", {"approve": 3})])         # 3 of 4
    assert candidate_row(org, school)["stage"] == "grassroots_review"
    assert codes(refused(org, school, "grassroots_approves", "2026-07-01", approve=4)) == {"vote.below_two_thirds"}  # 12 < 14
    walk(org, school, [("grassroots_approves", "2026-07-01", {"approve": 5})])   # 15 >= 14
    assert facts(org, school)["grassroots_committee_members"] == 7
    assert candidate_row(org, school)["stage"] == "awaiting_decision"

    # A village cell directly under the commune committee, which is authorised to admit itself.
    village = _candidate_of(org, "cb-ban-na-la", ("NL01", "NL02"))
    walk(org, village, [("cell_approves", "2026-06-16", {"approve": 4})])
    assert candidate_row(org, village)["stage"] == "grassroots_review"
    walk(org, village, [("grassroots_approves", "2026-07-01", {"approve": 10})])
    assert facts(org, village)["grassroots_committee_members"] == 15
    assert casefile(org, village, today=TODAY)["competent_body"] == "Đảng ủy xã Mường Bú"

    stages = {}
    for cid in (health, tea, school, village):
        trail = assert_trail_sound(org, cid, "qd294-2025")
        stages[cid] = [e["stage_after"] for e in trail if e["kind"] == "transition"][4:]
    assert stages[health] == ["awaiting_decision"]
    assert stages[tea] == ["intermediate_appraisal", "grassroots_review", "awaiting_decision"]
    assert stages[school] == ["grassroots_review", "awaiting_decision"]
    assert stages[village] == ["grassroots_review", "awaiting_decision"]
