"""age_in_range with the qd294-2025 parameters: 18 to 60 years, counted by month, at the cell vote."""

from __future__ import annotations

from datetime import date

import pytest

from models.guards.eligibility import AgeParams
from tests.unit.situations import codes, params_of, run_guard, situation


def age_problems(birth: date, on: date, **candidate):
    return run_guard("age_in_range", situation(on=on, birth_date=birth, **candidate))


def test_rule_set_gives_eighteen_to_sixty_years_in_months():
    assert params_of("age_in_range") == AgeParams(min_months=216, max_months=720)


def test_candidate_aged_24_passes():
    assert age_problems(date(2001, 3, 10), date(2025, 10, 15)) == []


def test_passes_exactly_on_the_eighteenth_birthday():
    assert age_problems(date(2007, 10, 15), date(2025, 10, 15)) == []


def test_fails_the_day_before_the_eighteenth_birthday_saying_17_years_11_months():
    problems = age_problems(date(2007, 10, 15), date(2025, 10, 14))
    assert codes(problems) == ["age.below_minimum"]
    (p,) = problems
    assert "17 tuổi 11 tháng" in p.message
    assert "18 tuổi" in p.message
    assert "15/10/2025" in p.message          # the day the candidate reaches 18
    assert p.details["age_months"] == 215
    assert p.details["reaches_minimum_on"] == "2025-10-15"


def test_a_month_short_of_eighteen_is_refused_with_the_month_count():
    problems = age_problems(date(2007, 10, 15), date(2025, 9, 15))
    assert codes(problems) == ["age.below_minimum"]
    assert "17 tuổi 11 tháng" in problems[0].message


def test_seventeen_years_exactly_says_no_months():
    problems = age_problems(date(2008, 10, 15), date(2025, 10, 15))
    assert codes(problems) == ["age.below_minimum"]
    assert "mới 17 tuổi;" in problems[0].message


def test_born_on_the_31st_reaches_eighteen_on_the_31st():
    assert age_problems(date(2007, 10, 31), date(2025, 10, 31)) == []
    problems = age_problems(date(2007, 10, 31), date(2025, 10, 30))
    assert codes(problems) == ["age.below_minimum"]
    assert problems[0].details["reaches_minimum_on"] == "2025-10-31"


def test_born_on_the_31st_counts_a_month_on_the_last_day_of_a_shorter_month():
    # 31/10/2007 + 215 months is 30/09/2025 (September has no 31st): 17 years 11 months that day.
    problems = age_problems(date(2007, 10, 31), date(2025, 9, 30))
    assert problems[0].details["age_months"] == 215
    assert "17 tuổi 11 tháng" in problems[0].message
    problems = age_problems(date(2007, 10, 31), date(2025, 9, 29))
    assert problems[0].details["age_months"] == 214
    assert "17 tuổi 10 tháng" in problems[0].message


def test_born_on_29_february_is_eighteen_on_28_february_of_a_common_year():
    assert age_problems(date(2008, 2, 29), date(2026, 2, 28)) == []
    problems = age_problems(date(2008, 2, 29), date(2026, 2, 27))
    assert codes(problems) == ["age.below_minimum"]
    assert problems[0].details["reaches_minimum_on"] == "2026-02-28"
    assert "28/02/2026" in problems[0].message


def test_born_on_29_february_turns_sixty_on_29_february_of_a_leap_year():
    # 29/02/1964 + 720 months = 29/02/2024; + 721 months = 29/03/2024.
    assert age_problems(date(1964, 2, 29), date(2024, 2, 29)) == []
    assert age_problems(date(1964, 2, 29), date(2024, 3, 28)) == []
    assert codes(age_problems(date(1964, 2, 29), date(2024, 3, 29))) == ["age.over_maximum_without_consent"]


def test_exactly_sixty_years_passes():
    assert age_problems(date(1965, 10, 15), date(2025, 10, 15)) == []


def test_sixty_years_and_days_short_of_a_month_still_counts_as_sixty():
    assert age_problems(date(1965, 10, 15), date(2025, 11, 14)) == []


def test_sixty_years_and_one_month_fails_without_consent():
    problems = age_problems(date(1965, 10, 15), date(2025, 11, 15))
    assert codes(problems) == ["age.over_maximum_without_consent"]
    (p,) = problems
    assert p.details["age_months"] == 721
    assert "60 tuổi 1 tháng" in p.message
    assert "ban thường vụ" in p.message


def test_sixty_years_and_one_month_passes_with_the_provincial_consent_recorded():
    assert age_problems(date(1965, 10, 15), date(2025, 11, 15), over_60_consent_ref="125-CV/TU") == []


def test_empty_consent_reference_does_not_count_as_consent():
    problems = age_problems(date(1965, 10, 15), date(2025, 11, 15), over_60_consent_ref="")
    assert codes(problems) == ["age.over_maximum_without_consent"]


def test_born_on_the_31st_is_sixty_and_one_month_on_the_last_day_of_february():
    # 31/01/1965 + 721 months = 28/02/2025 (add_months clamps to the month's last day).
    assert codes(age_problems(date(1965, 1, 31), date(2025, 2, 28))) == ["age.over_maximum_without_consent"]
    assert age_problems(date(1965, 1, 31), date(2025, 2, 27)) == []


def test_without_the_consent_option_over_maximum_is_refused_outright():
    s = situation(on=date(2025, 11, 15), birth_date=date(1965, 10, 15), over_60_consent_ref="125-CV/TU")
    params = AgeParams(min_months=216, max_months=720, over_max_needs_consent=False)
    assert codes(run_guard("age_in_range", s, params)) == ["age.above_maximum"]


@pytest.mark.parametrize(
    ("birth", "on", "ok"),
    [
        (date(2007, 10, 15), date(2025, 10, 15), True),
        (date(2007, 10, 16), date(2025, 10, 15), False),
        (date(1965, 9, 15), date(2025, 10, 15), False),
        (date(1965, 9, 16), date(2025, 10, 15), True),
    ],
)
def test_bounds_are_inclusive_by_month(birth, on, ok):
    assert (age_problems(birth, on) == []) is ok
