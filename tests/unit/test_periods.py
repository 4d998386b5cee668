"""Periods in calendar months (Civil Code 2015, Art. 147-148): models/calendar/periods.py."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.calendar.periods import add_months, months_between, years_and_months

DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
MONTHS = st.integers(min_value=0, max_value=1200)


def _last_day_of_month(year: int, month: int) -> int:
    """Independent of the calendar module: the day before the first of the next month."""
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return (first_of_next - timedelta(days=1)).day


# --- add_months ---------------------------------------------------------------------------


def test_probation_from_a_leap_day_ends_on_the_last_day_of_february():
    # The rules brief: a ceremony on 29/02/2024 ends probation on 28/02/2025.
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_leap_day_plus_four_years_lands_on_a_leap_day_again():
    assert add_months(date(2024, 2, 29), 48) == date(2028, 2, 29)


def test_end_of_january_plus_one_month_is_end_of_february_in_a_common_year():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)


def test_end_of_january_plus_one_month_is_29_february_in_a_leap_year():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def test_the_31st_into_a_30_day_month_is_clamped_to_the_30th():
    assert add_months(date(2025, 3, 31), 1) == date(2025, 4, 30)
    assert add_months(date(2025, 8, 31), 1) == date(2025, 9, 30)


def test_a_day_every_month_has_is_kept_unchanged():
    assert add_months(date(2025, 3, 15), 1) == date(2025, 4, 15)
    assert add_months(date(2025, 1, 28), 1) == date(2025, 2, 28)


def test_adding_months_rolls_over_into_the_next_year():
    assert add_months(date(2025, 12, 15), 1) == date(2026, 1, 15)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


def test_adding_zero_months_is_the_same_day():
    assert add_months(date(2024, 2, 29), 0) == date(2024, 2, 29)


def test_negative_months_go_back_and_clamp_too():
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert add_months(date(2026, 1, 10), -13) == date(2024, 12, 10)
    assert add_months(date(2025, 2, 28), -12) == date(2024, 2, 28)


def test_sixty_month_certificate_validity_ends_five_years_later():
    assert add_months(date(2021, 6, 15), 60) == date(2026, 6, 15)


# --- months_between: ages and periods by month -------------------------------------------


def test_age_reaches_18_years_on_the_18th_birthday():
    assert months_between(date(2008, 5, 20), date(2026, 5, 20)) == 216


def test_age_is_17_years_11_months_the_day_before_the_18th_birthday():
    assert months_between(date(2008, 5, 20), date(2026, 5, 19)) == 215


def test_a_person_born_on_a_leap_day_turns_18_on_28_february_of_a_common_year():
    assert months_between(date(2008, 2, 29), date(2026, 2, 28)) == 216
    assert months_between(date(2008, 2, 29), date(2026, 2, 27)) == 215


def test_one_month_from_31_january_is_complete_on_the_last_day_of_february():
    assert months_between(date(2025, 1, 31), date(2025, 2, 28)) == 1
    assert months_between(date(2025, 1, 31), date(2025, 2, 27)) == 0


def test_months_between_a_day_and_itself_is_zero():
    assert months_between(date(2026, 12, 3), date(2026, 12, 3)) == 0


def test_months_between_counts_only_whole_months_across_years():
    assert months_between(date(2025, 12, 15), date(2026, 1, 14)) == 0
    assert months_between(date(2025, 12, 15), date(2026, 1, 15)) == 1
    assert months_between(date(2020, 7, 1), date(2025, 6, 30)) == 59
    assert months_between(date(2020, 7, 1), date(2025, 7, 1)) == 60


def test_months_between_is_negative_when_the_end_is_before_the_start():
    assert months_between(date(2026, 5, 20), date(2008, 5, 20)) == -216
    assert months_between(date(2026, 5, 20), date(2026, 5, 19)) == 0
    assert months_between(date(2026, 5, 20), date(2026, 4, 20)) == -1


# --- years_and_months ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("months", "expected"),
    [(215, (17, 11)), (216, (18, 0)), (0, (0, 0)), (11, (0, 11)), (720, (60, 0)), (721, (60, 1))],
)
def test_years_and_months_splits_a_month_count_for_messages(months, expected):
    assert years_and_months(months) == expected


# --- properties ---------------------------------------------------------------------------


@given(DATES, st.integers(min_value=-1200, max_value=1200))
@settings(deadline=None)  # no timing assertions
def test_add_months_lands_in_the_right_month_on_the_clamped_day(start, n):
    result = add_months(start, n)
    total = start.year * 12 + start.month - 1 + n
    assert (result.year, result.month) == (total // 12, total % 12 + 1)
    assert result.day == min(start.day, _last_day_of_month(result.year, result.month))


@given(DATES, MONTHS)
@settings(deadline=None)  # no timing assertions
def test_months_between_undoes_add_months(start, n):
    assert months_between(start, add_months(start, n)) == n


@given(DATES, MONTHS, MONTHS)
@settings(deadline=None)  # no timing assertions
def test_add_months_is_monotone_in_the_number_of_months(start, n1, n2):
    low, high = sorted((n1, n2))
    assert add_months(start, low) <= add_months(start, high)


@given(DATES, DATES)
@settings(deadline=None)  # no timing assertions
def test_months_between_is_the_largest_n_with_add_months_not_after_the_end(a, b):
    start, end = min(a, b), max(a, b)
    n = months_between(start, end)
    assert n >= 0
    assert add_months(start, n) <= end
    assert add_months(start, n + 1) > end


@given(DATES, DATES)
@settings(deadline=None)  # no timing assertions
def test_months_between_is_antisymmetric(a, b):
    assert months_between(a, b) == -months_between(b, a)
