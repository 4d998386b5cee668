"""two_thirds_vote and cell_size: who counts in a cell vote, 2/3 on integers, committee votes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.guards.votes import CellSizeParams, VoteParams, cell_eligible, minimum_approvals, passes, percent
from tests.unit.situations import cell_unit, codes, params_of, run_guard, situation

CELL_VOTE = VoteParams(body="cell")
CELL_VOTE_FAILS = VoteParams(body="cell", expect="fail")
COMMITTEE_VOTE = VoteParams(body="grassroots_committee")


def cell_vote(approve, full, excused=0, *, registry=None, excusable=None, params=CELL_VOTE, stated=True):
    """Problems of a cell vote; the register agrees with the stated count unless told otherwise."""
    unit = cell_unit(
        full_members=full if registry is None else registry,
        excusable_members=excused if excusable is None else excusable,
    )
    inputs = {"approve": approve, "excused_absent": excused}
    if stated:
        inputs["full_members"] = full
    return run_guard("two_thirds_vote", situation(unit=unit, inputs=inputs), params)


def committee_vote(approve, committee_members=None, *, unit_size=9, params=COMMITTEE_VOTE):
    inputs = {"approve": approve}
    if committee_members is not None:
        inputs["committee_members"] = committee_members
    s = situation(stage="grassroots_review", unit=cell_unit(grassroots_committee_size=unit_size), inputs=inputs)
    return run_guard("two_thirds_vote", s, params)


def test_rule_set_uses_the_cell_and_committee_votes_where_expected():
    assert params_of("two_thirds_vote", "cell_approves") == CELL_VOTE
    assert params_of("two_thirds_vote", "cell_rejects") == CELL_VOTE_FAILS
    assert params_of("two_thirds_vote", "cell_recognises") == CELL_VOTE
    assert params_of("two_thirds_vote", "cell_recognition_vote_fails") == CELL_VOTE_FAILS
    assert params_of("two_thirds_vote", "grassroots_approves") == COMMITTEE_VOTE
    assert params_of("two_thirds_vote", "grassroots_rejects") == VoteParams(body="grassroots_committee", expect="fail")
    assert params_of("cell_size") == CellSizeParams(min_full_members=3)


# --- the arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approve", "eligible", "ok"),
    [(4, 6, True), (3, 5, False), (4, 5, True), (2, 3, True), (1, 2, False), (6, 9, True), (5, 9, False), (0, 0, True)],
)
def test_passes_is_exactly_two_thirds_on_integers(approve, eligible, ok):
    assert passes(approve, eligible) is ok


def test_passes_refuses_negative_counts():
    with pytest.raises(ValueError):
        passes(-1, 3)


@pytest.mark.parametrize(("eligible", "needed"), [(3, 2), (4, 3), (5, 4), (6, 4), (7, 5), (9, 6), (10, 7)])
def test_minimum_approvals_is_two_thirds_rounded_up(eligible, needed):
    assert minimum_approvals(eligible) == needed


def test_percent_is_printed_with_a_decimal_comma():
    assert percent(5, 6) == "83,33%"
    assert percent(3, 5) == "60,00%"
    assert percent(0, 0) == "0,00%"


def test_cell_eligible_leaves_out_excused_absentees_and_rejects_impossible_counts():
    assert cell_eligible(7, 2) == 5
    with pytest.raises(ValueError):
        cell_eligible(3, 4)
    with pytest.raises(ValueError):
        cell_eligible(3, -1)


# --- cell votes -------------------------------------------------------------------------------------


def test_four_of_six_full_members_pass():
    assert cell_vote(4, 6) == []


def test_three_of_five_full_members_fail_below_two_thirds():
    problems = cell_vote(3, 5)
    assert codes(problems) == ["vote.below_two_thirds"]
    (p,) = problems
    assert "3/5" in p.message
    assert "60,00%" in p.message
    assert p.details == {"approve": 3, "eligible": 5, "needed": 4}


def test_count_defaults_to_the_register_when_the_resolution_states_none():
    assert cell_vote(4, 6, stated=False) == []
    assert codes(cell_vote(3, 5, stated=False)) == ["vote.below_two_thirds"]


def test_excused_absentees_are_left_out_of_the_eligible_count():
    # 6 full members, 2 on temporary transfer and absent: 3 of 4 is 75%.
    assert cell_vote(3, 6, excused=2) == []
    # The same 3 approvals without excused absentees are 3 of 6: refused.
    assert codes(cell_vote(3, 6, excused=0, excusable=2)) == ["vote.below_two_thirds"]


def test_missing_excused_absent_input_counts_as_none():
    s = situation(unit=cell_unit(full_members=6, excusable_members=2), inputs={"approve": 3, "full_members": 6})
    assert codes(run_guard("two_thirds_vote", s, CELL_VOTE)) == ["vote.below_two_thirds"]


def test_stated_full_members_different_from_the_register_is_refused():
    problems = cell_vote(4, 6, registry=5)
    assert codes(problems) == ["vote.full_members_mismatch"]
    assert problems[0].details == {"stated": 6, "registry": 5}


def test_more_excused_absentees_than_excusable_members_is_refused():
    problems = cell_vote(3, 6, excused=2, excusable=1)
    assert codes(problems) == ["vote.too_many_excused"]
    assert problems[0].details == {"excused_absent": 2, "excusable": 1}


def test_excused_absentees_in_a_cell_with_no_excusable_member_are_refused():
    # Nobody in the cell is on temporary transfer or exempted (excusable_members=0, as
    # models/snapshot.py counts it), yet the resolution leaves 2 absentees out of the count.
    problems = cell_vote(2, 5, excused=2, excusable=0)
    assert "vote.too_many_excused" in codes(problems)


def test_excused_absentees_beyond_the_full_members_never_pass_silently():
    problems = cell_vote(0, 5, excused=7, excusable=0)
    assert problems != []


def test_more_approvals_than_eligible_is_refused():
    problems = cell_vote(6, 5)
    assert codes(problems) == ["vote.more_approvals_than_eligible"]
    assert problems[0].details["eligible"] == 5


def test_approvals_from_excused_absentees_are_more_than_eligible():
    # 5 full members, 1 excused absentee: 4 may vote, 5 approvals is impossible.
    assert codes(cell_vote(5, 5, excused=1)) == ["vote.more_approvals_than_eligible"]


def test_mismatch_and_the_failing_vote_are_reported_together():
    assert codes(cell_vote(3, 5, registry=6)) == ["vote.full_members_mismatch", "vote.below_two_thirds"]


# --- grassroots committee votes -------------------------------------------------------------


def test_committee_vote_uses_the_stated_committee_members():
    assert committee_vote(4, committee_members=6, unit_size=9) == []
    problems = committee_vote(3, committee_members=6, unit_size=9)
    assert codes(problems) == ["vote.below_two_thirds"]
    assert "3/6 cấp ủy viên" in problems[0].message


def test_committee_vote_falls_back_to_the_units_committee_size():
    assert committee_vote(6) == []
    problems = committee_vote(5)
    assert codes(problems) == ["vote.below_two_thirds"]
    assert problems[0].details == {"approve": 5, "eligible": 9, "needed": 6}


def test_committee_vote_with_unknown_committee_size_is_refused():
    assert codes(committee_vote(6, unit_size=None)) == ["vote.committee_size_unknown"]


def test_committee_vote_with_more_approvals_than_members_is_refused():
    assert codes(committee_vote(10)) == ["vote.more_approvals_than_eligible"]


# --- recording a vote that failed ------------------------------------------------------------


def test_recording_a_failed_vote_that_actually_passed_is_refused():
    problems = cell_vote(4, 5, params=CELL_VOTE_FAILS)
    assert codes(problems) == ["vote.actually_passed"]
    assert "4/5" in problems[0].message
    assert "80,00%" in problems[0].message


def test_recording_a_vote_that_did_fail_is_accepted():
    assert cell_vote(3, 5, params=CELL_VOTE_FAILS) == []


def test_recording_a_failed_committee_vote_that_passed_is_refused():
    fails = VoteParams(body="grassroots_committee", expect="fail")
    assert codes(committee_vote(6, params=fails)) == ["vote.actually_passed"]
    assert committee_vote(5, params=fails) == []


# --- cell size ----------------------------------------------------------------------------------------


def cell_size_problems(full_members, *, stated=None):
    inputs = {} if stated is None else {"full_members": stated}
    s = situation(unit=cell_unit(full_members=full_members), inputs=inputs)
    return run_guard("cell_size", s)


def test_cell_with_three_full_members_may_vote():
    assert cell_size_problems(3) == []


def test_cell_with_two_full_members_may_not_vote():
    problems = cell_size_problems(2)
    assert codes(problems) == ["cell.too_few_full_members"]
    assert problems[0].details == {"full_members": 2, "min_full_members": 3}
    assert "2 đảng viên chính thức" in problems[0].message


def test_cell_size_uses_the_stated_count_when_given():
    assert codes(cell_size_problems(5, stated=2)) == ["cell.too_few_full_members"]
    assert cell_size_problems(2, stated=3) == []


# --- properties -------------------------------------------------------------------------------------


@st.composite
def cell_votes(draw):
    full = draw(st.integers(min_value=0, max_value=60))
    excused = draw(st.integers(min_value=0, max_value=full))
    approve = draw(st.integers(min_value=0, max_value=full - excused))
    return approve, full, excused


@settings(deadline=None, max_examples=300)
@given(cell_votes())
def test_cell_vote_is_refused_exactly_below_two_thirds_of_full_less_excused(vote):
    approve, full, excused = vote
    refused = cell_vote(approve, full, excused) != []
    assert refused == (3 * approve < 2 * (full - excused))


@settings(deadline=None, max_examples=300)
@given(cell_votes())
def test_recorded_failure_is_refused_exactly_when_the_vote_reached_two_thirds(vote):
    approve, full, excused = vote
    refused = cell_vote(approve, full, excused, params=CELL_VOTE_FAILS) != []
    assert refused == (3 * approve >= 2 * (full - excused))


@settings(deadline=None, max_examples=200)
@given(st.integers(min_value=1, max_value=40).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_committee_vote_is_refused_exactly_below_two_thirds_of_the_committee(vote):
    approve, members = vote
    refused = committee_vote(approve, committee_members=members) != []
    assert refused == (3 * approve < 2 * members)
