"""Vote arithmetic (biểu quyết): the pure functions of models/guards/votes.py."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.guards.votes import cell_eligible, minimum_approvals, passes, percent

COUNTS = st.integers(min_value=0, max_value=10_000)


# --- passes: approvals >= 2/3 of the eligible count -----------------------------------------


def test_cell_vote_of_two_out_of_three_full_members_passes():
    assert passes(2, 3) is True


def test_cell_vote_of_three_out_of_five_full_members_fails():
    # 3/5 = 60% < 66.67%
    assert passes(3, 5) is False


def test_cell_vote_of_four_out_of_five_full_members_passes():
    assert passes(4, 5) is True


def test_cell_vote_of_four_out_of_six_is_exactly_two_thirds_and_passes():
    assert passes(4, 6) is True


def test_cell_vote_of_three_out_of_six_fails():
    assert passes(3, 6) is False


def test_one_out_of_two_fails_and_two_out_of_two_passes():
    assert passes(1, 2) is False
    assert passes(2, 2) is True


def test_zero_approvals_of_zero_eligible_meets_the_integer_rule():
    # 3 × 0 ≥ 2 × 0: the integer test passes; a cell with no eligible member is refused elsewhere.
    assert passes(0, 0) is True


def test_zero_approvals_of_one_eligible_fails():
    assert passes(0, 1) is False


def test_a_custom_fraction_is_honoured():
    assert passes(1, 2, numerator=1, denominator=2) is True
    assert passes(1, 3, numerator=1, denominator=2) is False
    assert passes(3, 4, numerator=3, denominator=4) is True
    assert passes(2, 3, numerator=3, denominator=4) is False


@pytest.mark.parametrize(("approve", "eligible"), [(-1, 3), (2, -3), (-1, -1)])
def test_negative_vote_counts_are_refused(approve, eligible):
    with pytest.raises(ValueError, match="cannot be negative"):
        passes(approve, eligible)


# --- minimum_approvals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("eligible", "needed"),
    [(0, 0), (1, 1), (2, 2), (3, 2), (4, 3), (5, 4), (6, 4), (7, 5), (9, 6), (10, 7), (30, 20), (31, 21)],
)
def test_minimum_approvals_is_two_thirds_rounded_up(eligible, needed):
    assert minimum_approvals(eligible) == needed


def test_minimum_approvals_with_a_custom_fraction():
    assert minimum_approvals(10, numerator=1, denominator=2) == 5
    assert minimum_approvals(11, numerator=1, denominator=2) == 6
    assert minimum_approvals(10, numerator=3, denominator=4) == 8


# --- cell_eligible --------------------------------------------------------------------------


def test_excused_absentees_are_left_out_of_the_count():
    assert cell_eligible(9, 2) == 7


def test_without_excused_absentees_every_full_member_counts():
    assert cell_eligible(5, 0) == 5


def test_all_full_members_excused_leaves_nobody_eligible():
    assert cell_eligible(3, 3) == 0


def test_more_excused_absentees_than_full_members_is_refused():
    with pytest.raises(ValueError, match="between 0 and the number of full members"):
        cell_eligible(3, 4)


def test_a_negative_number_of_excused_absentees_is_refused():
    with pytest.raises(ValueError, match="between 0 and the number of full members"):
        cell_eligible(3, -1)


# --- percent --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("approve", "eligible", "printed"),
    [
        (5, 6, "83,33%"),
        (2, 3, "66,67%"),
        (1, 3, "33,33%"),
        (6, 6, "100,00%"),
        (1, 8, "12,50%"),
        (0, 5, "0,00%"),
        (0, 0, "0,00%"),
    ],
)
def test_percent_is_printed_with_a_vietnamese_decimal_comma(approve, eligible, printed):
    assert percent(approve, eligible) == printed


def test_percent_has_no_decimal_point():
    assert "." not in percent(7, 9)


# --- properties -----------------------------------------------------------------------------


@given(st.integers(min_value=1, max_value=10_000))
@settings(deadline=None)  # no timing assertions
def test_the_minimum_passes_and_one_fewer_fails(eligible):
    needed = minimum_approvals(eligible)
    assert passes(needed, eligible) is True
    assert passes(needed - 1, eligible) is False


@given(COUNTS)
@settings(deadline=None)  # no timing assertions
def test_minimum_approvals_matches_exact_rational_ceiling(eligible):
    assert minimum_approvals(eligible) == math.ceil(Fraction(2 * eligible, 3))


@given(COUNTS, COUNTS)
@settings(deadline=None)  # no timing assertions
def test_passes_is_the_integer_two_thirds_rule(approve, eligible):
    assert passes(approve, eligible) == (3 * approve >= 2 * eligible)


@given(COUNTS, st.integers(min_value=1, max_value=10_000))
@settings(deadline=None)  # no timing assertions
def test_passes_agrees_with_exact_fractions(approve, eligible):
    assert passes(approve, eligible) == (Fraction(approve, eligible) >= Fraction(2, 3))


@given(st.integers(min_value=-10_000, max_value=-1), COUNTS)
@settings(deadline=None)  # no timing assertions
def test_any_negative_approval_count_raises(approve, eligible):
    with pytest.raises(ValueError):
        passes(approve, eligible)


@given(COUNTS, st.integers(min_value=-10_000, max_value=-1))
@settings(deadline=None)  # no timing assertions
def test_any_negative_eligible_count_raises(approve, eligible):
    with pytest.raises(ValueError):
        passes(approve, eligible)


@given(st.integers(min_value=0, max_value=500), st.data())
@settings(deadline=None)  # no timing assertions
def test_cell_eligible_rejects_more_excused_than_full(full, data):
    excused = data.draw(st.integers(min_value=full + 1, max_value=full + 500))
    with pytest.raises(ValueError):
        cell_eligible(full, excused)


@given(st.integers(min_value=0, max_value=500), st.data())
@settings(deadline=None)  # no timing assertions
def test_cell_eligible_subtracts_excused_absentees(full, data):
    excused = data.draw(st.integers(min_value=0, max_value=full))
    assert cell_eligible(full, excused) == full - excused


@given(st.integers(min_value=0, max_value=1000), st.integers(min_value=1, max_value=1000))
@settings(deadline=None)  # no timing assertions
def test_percent_is_the_rounded_share_with_a_comma(approve, eligible):
    printed = percent(approve, eligible)
    assert printed.endswith("%")
    whole, _, decimals = printed[:-1].partition(",")
    assert len(decimals) == 2
    value = Fraction(int(whole) * 100 + int(decimals), 100)
    assert abs(value - Fraction(100 * approve, eligible)) <= Fraction(1, 200)
