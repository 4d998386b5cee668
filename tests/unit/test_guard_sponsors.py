"""sponsors with the qd294-2025 parameters: two full members with 12 months together, or a union plus one."""

from __future__ import annotations

from datetime import date

import pytest

from models.guards.sponsors import SponsorParams
from tests.unit.situations import (
    ON,
    cell_unit,
    codes,
    member,
    params_of,
    probationary,
    run_guard,
    situation,
    sponsor,
    two_sponsors,
    union_resolution,
)

BINH = member(101, "Lò Văn Bình")
LAN = member(102, "Quàng Thị Lan")


def sponsor_problems(sponsors, **kw):
    return run_guard("sponsors", situation(sponsors=sponsors, **kw))


def test_rule_set_parameters_are_the_same_when_completing_the_file_and_at_the_vote():
    expected = SponsorParams(members_required=2, min_months_together=12, youth_age_below_months=372, union_replaces_members=1)
    assert params_of("sponsors", "complete_file") == expected
    assert params_of("sponsors", "cell_approves") == expected


def test_two_full_members_with_five_years_together_pass():
    assert sponsor_problems(two_sponsors()) == []


# --- months together -------------------------------------------------------------------------


def test_exactly_twelve_months_together_passes():
    assert sponsor_problems(two_sponsors(together_since=date(2024, 10, 15))) == []


def test_eleven_months_together_is_too_short():
    problems = sponsor_problems((sponsor(BINH), sponsor(LAN, together_since=date(2024, 10, 16))))
    assert codes(problems) == ["sponsor.too_short_together"]
    (p,) = problems
    assert p.details == {"member_id": 102, "months_together": 11, "min_months": 12}
    assert "Quàng Thị Lan" in p.message
    assert "11 tháng" in p.message


def test_months_together_from_the_31st_count_by_calendar_month():
    # 31/08/2024 + 12 months = 31/08/2025: 12 months that day, 11 the day before.
    together = date(2024, 8, 31)
    assert sponsor_problems(two_sponsors(together), on=date(2025, 8, 31)) == []
    problems = sponsor_problems(two_sponsors(together), on=date(2025, 8, 30))
    assert codes(problems) == ["sponsor.too_short_together"] * 2


def test_months_together_from_29_february_reach_twelve_on_28_february():
    assert sponsor_problems(two_sponsors(date(2024, 2, 29)), on=date(2025, 2, 28)) == []
    problems = sponsor_problems(two_sponsors(date(2024, 2, 29)), on=date(2025, 2, 27))
    assert {p.details["months_together"] for p in problems} == {11}


def test_sponsor_without_a_together_since_date_has_zero_months():
    problems = sponsor_problems((sponsor(BINH), sponsor(LAN, together_since=None)))
    assert codes(problems) == ["sponsor.too_short_together"]
    assert problems[0].details["months_together"] == 0


# --- who may sponsor -------------------------------------------------------------------------------


def test_probationary_sponsor_is_refused_as_not_a_full_member():
    problems = sponsor_problems((sponsor(BINH), sponsor(probationary(103, "Cà Thị Hoa"))))
    assert codes(problems) == ["sponsor.not_full_member"]
    assert "đảng viên dự bị" in problems[0].message
    assert "Cà Thị Hoa" in problems[0].message
    assert problems[0].details == {"member_id": 103}


def test_sponsor_recognised_as_full_member_on_the_vote_day_passes():
    assert sponsor_problems((sponsor(BINH), sponsor(member(104, recognised_on=ON)))) == []


def test_sponsor_recognised_the_day_after_the_vote_is_still_probationary():
    recognised_tomorrow = member(104, admitted_on=date(2024, 10, 1), recognised_on=date(2025, 10, 16))
    problems = sponsor_problems((sponsor(BINH), sponsor(recognised_tomorrow)))
    assert codes(problems) == ["sponsor.not_full_member"]
    assert "đảng viên dự bị" in problems[0].message


def test_sponsor_who_left_the_party_is_refused():
    left = member(105, "Lường Văn Tú", left_on=date(2025, 6, 1), standing="left")
    problems = sponsor_problems((sponsor(BINH), sponsor(left)))
    assert codes(problems) == ["sponsor.not_full_member"]
    assert "không phải là đảng viên" in problems[0].message


def test_sponsor_who_leaves_on_the_vote_day_no_longer_counts():
    problems = sponsor_problems((sponsor(BINH), sponsor(member(105, left_on=ON))))
    assert codes(problems) == ["sponsor.not_full_member"]


def test_sponsor_outside_the_grassroots_organisation_is_refused():
    problems = sponsor_problems((sponsor(BINH), sponsor(LAN, same_grassroots=False)))
    assert codes(problems) == ["sponsor.not_same_grassroots"]
    assert problems[0].details == {"member_id": 102}


def test_only_one_member_is_too_few():
    problems = sponsor_problems((sponsor(BINH),))
    assert codes(problems) == ["sponsor.too_few"]
    assert problems[0].details == {"required": 2, "recorded": 1, "qualifying": 1}


def test_no_sponsor_at_all_is_too_few():
    assert codes(sponsor_problems(())) == ["sponsor.too_few"]


def test_the_same_member_twice_counts_once():
    problems = sponsor_problems((sponsor(BINH), sponsor(BINH)))
    assert codes(problems) == ["sponsor.too_few"]
    assert problems[0].details["recorded"] == 1


def test_every_failing_problem_is_returned_together():
    # A probationary sponsor with 3 months together: both problems, not just the first.
    hoa = probationary(103, "Cà Thị Hoa")
    problems = sponsor_problems((sponsor(BINH), sponsor(hoa, together_since=date(2025, 7, 15))))
    assert sorted(codes(problems)) == ["sponsor.not_full_member", "sponsor.too_short_together"]
    assert all(p.details["member_id"] == 103 for p in problems)


def test_problems_of_both_sponsors_and_the_count_are_all_reported():
    far = sponsor(probationary(103), together_since=date(2025, 7, 15), same_grassroots=False)
    problems = sponsor_problems((far, far))
    assert sorted(codes(problems)) == [
        "sponsor.not_full_member", "sponsor.not_same_grassroots", "sponsor.too_few", "sponsor.too_short_together",
    ]
    too_few = next(p for p in problems if p.code == "sponsor.too_few")
    assert too_few.details == {"required": 2, "recorded": 1, "qualifying": 0}


# --- Youth Union path ------------------------------------------------------------------------


YOUTH_UNIT = cell_unit(has_youth_union=True)
UNDER_31 = date(1994, 10, 16)    # 30 years 11 months on ON (371 months)
AGED_31 = date(1994, 10, 15)     # exactly 31 years on ON (372 months)


def test_youth_union_resolution_plus_one_member_passes():
    assert sponsor_problems((union_resolution("youth_union"), sponsor(BINH)), unit=YOUTH_UNIT) == []


def test_youth_age_candidate_must_be_a_youth_union_member():
    problems = sponsor_problems(
        (union_resolution("youth_union"), sponsor(BINH)), unit=YOUTH_UNIT, youth_union_member=False,
    )
    assert codes(problems) == ["sponsor.youth_union_membership_required"]


def test_youth_age_candidate_needs_the_youth_union_resolution_even_with_two_members():
    problems = sponsor_problems(two_sponsors(), unit=YOUTH_UNIT)
    assert codes(problems) == ["sponsor.youth_union_resolution_missing"]
    assert "4-KNĐ" in problems[0].message


def test_youth_union_resolution_without_any_member_is_too_few():
    problems = sponsor_problems((union_resolution("youth_union"),), unit=YOUTH_UNIT)
    assert codes(problems) == ["sponsor.too_few"]
    assert problems[0].details["required"] == 1


def test_youth_path_applies_at_30_years_11_months():
    assert sponsor_problems((union_resolution("youth_union"), sponsor(BINH)), unit=YOUTH_UNIT, birth_date=UNDER_31) == []
    problems = sponsor_problems(two_sponsors(), unit=YOUTH_UNIT, birth_date=UNDER_31)
    assert codes(problems) == ["sponsor.youth_union_resolution_missing"]


def test_at_31_years_two_members_suffice_even_for_a_non_member_of_the_youth_union():
    assert sponsor_problems(two_sponsors(), unit=YOUTH_UNIT, birth_date=AGED_31, youth_union_member=False) == []


def test_at_31_years_a_youth_union_resolution_is_not_applicable():
    problems = sponsor_problems((union_resolution("youth_union"), sponsor(BINH)), unit=YOUTH_UNIT, birth_date=AGED_31)
    assert "sponsor.youth_union_not_applicable" in codes(problems)
    # The resolution does not replace a member: two are needed again.
    too_few = [p for p in problems if p.code == "sponsor.too_few"]
    assert too_few and too_few[0].details["required"] == 2


def test_youth_union_resolution_where_the_unit_has_no_youth_union_is_not_applicable():
    problems = sponsor_problems((union_resolution("youth_union"), sponsor(BINH), sponsor(LAN)))
    assert codes(problems) == ["sponsor.youth_union_not_applicable"]


def test_youth_age_candidate_cannot_use_the_trade_union_where_a_youth_union_exists():
    unit = cell_unit(has_youth_union=True, has_trade_union=True)
    problems = sponsor_problems(
        (union_resolution("trade_union", ref="02-NQ/CĐ"), sponsor(BINH)), unit=unit, trade_union_member=True,
    )
    assert "sponsor.youth_union_resolution_missing" in codes(problems)


# --- trade-union path ----------------------------------------------------------------------------


def trade_problems(*, has_trade_union=True, trade_union_member=True, **kw):
    return sponsor_problems(
        (union_resolution("trade_union", ref="02-NQ/CĐ"), sponsor(BINH)),
        unit=cell_unit(has_trade_union=has_trade_union), trade_union_member=trade_union_member, **kw,
    )


def test_trade_union_resolution_plus_one_member_passes_for_a_trade_union_member():
    assert trade_problems() == []


def test_trade_union_resolution_where_the_unit_has_no_trade_union_is_not_applicable():
    problems = trade_problems(has_trade_union=False)
    assert "sponsor.trade_union_not_applicable" in codes(problems)
    assert "sponsor.too_few" in codes(problems)


def test_trade_union_resolution_for_a_candidate_outside_the_trade_union_is_not_applicable():
    problems = trade_problems(trade_union_member=False)
    assert "sponsor.trade_union_not_applicable" in codes(problems)
    assert "4A-KNĐ" in next(p for p in problems if p.code == "sponsor.trade_union_not_applicable").message


# --- union resolutions must be complete --------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "on"),
    [(None, date(2025, 9, 1)), ("", date(2025, 9, 1)), ("05-NQ/ĐTN", None), ("05-NQ/ĐTN", date(2025, 10, 16))],
    ids=["no-number", "blank-number", "no-date", "dated-after-the-vote"],
)
@pytest.mark.parametrize("kind", ["youth_union", "trade_union"])
def test_union_resolution_without_number_or_date_or_dated_after_the_event_is_incomplete(kind, ref, on):
    unit = cell_unit(has_youth_union=kind == "youth_union", has_trade_union=kind == "trade_union")
    problems = sponsor_problems(
        (union_resolution(kind, ref=ref, on=on), sponsor(BINH)), unit=unit, trade_union_member=True,
    )
    assert codes(problems) == ["sponsor.resolution_incomplete"]
    assert problems[0].details == {"kind": kind}

