"""The Vietnamese working-day calendar: models/calendar/working_days.py."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.calendar.working_days import YearCorrections, build_calendar, vietnam_calendar
from tests.support import count_working_days_by_hand

# Days off of 2027 listed here, independently of the library and of models/calendar/vn/2027.yaml:
# New Year, Tết Đinh Mùi (Thursday 4 to Wednesday 10 February, the weekend included).
TET_2027 = [date(2027, 2, d) for d in range(4, 11)]
WEEKDAYS_OFF_JAN_APR_2027 = {date(2027, 1, 1), *(d for d in TET_2027 if d.weekday() < 5)}




def corrections(year: int, revision: int = 1, **days: dict[date, str]) -> YearCorrections:
    return YearCorrections(year=year, revision=revision, source="test announcement", **days)


@pytest.fixture(scope="module")
def vn():
    return vietnam_calendar()


# --- weekends, holidays, make-up days -------------------------------------------------------


def test_saturday_and_sunday_are_not_working_days(vn):
    assert vn.is_working_day(date(2027, 1, 2)) is False      # Saturday
    assert vn.is_working_day(date(2027, 1, 3)) is False      # Sunday
    assert vn.is_working_day(date(2027, 1, 4)) is True       # Monday


def test_new_year_day_is_a_day_off(vn):
    assert vn.is_working_day(date(2027, 1, 1)) is False      # a Friday
    assert vn.holiday_name(date(2027, 1, 1)) is not None


@pytest.mark.parametrize("day", TET_2027, ids=lambda d: d.isoformat())
def test_tet_2027_from_4_to_10_february_is_off(vn, day):
    assert vn.is_working_day(day) is False


def test_the_days_around_tet_2027_are_working_days(vn):
    assert vn.is_working_day(date(2027, 2, 3)) is True       # Wednesday before
    assert vn.is_working_day(date(2027, 2, 11)) is True      # Thursday after


def test_tet_weekdays_carry_a_holiday_name(vn):
    for day in TET_2027:
        if day.weekday() < 5:
            assert vn.holiday_name(day) == "Tết Nguyên đán"
    assert vn.holiday_name(date(2027, 2, 11)) is None


def test_make_up_saturday_26_april_2025_is_a_working_day(vn):
    assert date(2025, 4, 26).weekday() == 5
    assert vn.is_working_day(date(2025, 4, 26)) is True


def test_friday_2_may_2025_is_the_day_off_it_buys(vn):
    assert date(2025, 5, 2).weekday() == 4
    assert vn.is_working_day(date(2025, 5, 2)) is False


def test_sunday_after_the_make_up_saturday_is_still_off(vn):
    assert vn.is_working_day(date(2025, 4, 27)) is False


def test_a_make_up_saturday_counts_in_a_working_day_period(vn):
    # Friday 25/4/2025 + 1 working day: the make-up Saturday, not Monday.
    assert vn.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 26)
    # 26/4 (Sat, worked) then 28/4, 29/4; 30/4, 1/5, 2/5 off; weekend; 5/5.
    assert vn.add_working_days(date(2025, 4, 25), 4) == date(2025, 5, 5)


# --- deadlines ------------------------------------------------------------------------------


def test_worked_example_decision_due_60_working_days_after_the_cell_resolution(vn):
    # The rules brief: a cell resolution dated 04/01/2027 is due a decision by 05/04/2027.
    assert vn.add_working_days(date(2027, 1, 4), 60) == date(2027, 4, 5)


def test_worked_example_agrees_with_an_independent_count_of_days_off(vn):
    assert count_working_days_by_hand(date(2027, 1, 4), 60, WEEKDAYS_OFF_JAN_APR_2027) == date(2027, 4, 5)
    assert vn.working_days_between(date(2027, 1, 4), date(2027, 4, 5)) == 60


@pytest.mark.parametrize("count", [5, 10, 30])
def test_a_working_day_deadline_across_tet_skips_the_tet_days(vn, count):
    start = date(2027, 1, 29)                               # a Friday, a week before Tết
    expected = count_working_days_by_hand(start, count, WEEKDAYS_OFF_JAN_APR_2027)
    assert vn.add_working_days(start, count) == expected


def test_ten_working_days_from_29_january_2027_end_on_19_february(vn):
    # 1, 2, 3 Feb (3); Tết 4-10; 11, 12 (5); 15-19 (10).
    assert vn.add_working_days(date(2027, 1, 29), 10) == date(2027, 2, 19)


def test_the_day_of_the_event_is_not_counted(vn):
    # Friday + 1 working day is the next Monday (Civil Code Art. 147: the period starts the next day).
    assert vn.add_working_days(date(2027, 1, 8), 1) == date(2027, 1, 11)
    assert vn.add_working_days(date(2027, 1, 11), 1) == date(2027, 1, 12)


@pytest.mark.parametrize("day", [date(2027, 1, 4), date(2027, 1, 2), date(2027, 2, 5)], ids=str)
def test_zero_working_days_is_the_day_itself(vn, day):
    assert vn.add_working_days(day, 0) == day


def test_a_negative_count_of_working_days_is_refused(vn):
    with pytest.raises(ValueError, match="negative"):
        vn.add_working_days(date(2027, 1, 4), -1)


def test_working_days_between_counts_after_the_start_up_to_the_end(vn):
    assert vn.working_days_between(date(2027, 1, 8), date(2027, 1, 11)) == 1     # Fri -> Mon
    assert vn.working_days_between(date(2027, 1, 4), date(2027, 1, 4)) == 0
    assert vn.working_days_between(date(2027, 2, 3), date(2027, 2, 11)) == 1     # across Tết
    assert vn.working_days_between(date(2027, 1, 11), date(2027, 1, 8)) == -1


def test_next_working_day_is_the_day_itself_on_a_working_day(vn):
    assert vn.next_working_day(date(2027, 1, 4)) == date(2027, 1, 4)


def test_next_working_day_skips_a_holiday_and_a_weekend(vn):
    # Friday 1/1/2027 is New Year, then the weekend.
    assert vn.next_working_day(date(2027, 1, 1)) == date(2027, 1, 4)


def test_next_working_day_skips_all_of_tet(vn):
    assert vn.next_working_day(date(2027, 2, 4)) == date(2027, 2, 11)


def test_a_period_in_months_ending_in_tet_rolls_to_the_next_working_day(vn):
    start = date(2026, 2, 7)
    assert vn.add_months(start, 12, roll_to_working_day=False) == date(2027, 2, 7)
    assert vn.add_months(start, 12, roll_to_working_day=True) == date(2027, 2, 11)


def test_a_period_in_months_ending_on_a_working_day_does_not_move(vn):
    # 28/02/2025 is a Friday.
    assert vn.add_months(date(2024, 2, 29), 12, roll_to_working_day=True) == date(2025, 2, 28)


def test_a_period_in_months_ending_on_a_saturday_rolls_to_monday_only_when_asked(vn):
    # 2027-01-09 is a Saturday.
    assert vn.add_months(date(2026, 12, 9), 1, roll_to_working_day=False) == date(2027, 1, 9)
    assert vn.add_months(date(2026, 12, 9), 1, roll_to_working_day=True) == date(2027, 1, 11)


# --- the calendar's years -------------------------------------------------------------------


@pytest.mark.parametrize("day", [date(2014, 12, 31), date(2041, 1, 2)], ids=str)
def test_a_date_outside_the_shipped_calendar_is_refused(vn, day):
    with pytest.raises(ValueError, match="outside the calendar's years 2015-2040"):
        vn.is_working_day(day)


def test_a_deadline_running_past_the_calendar_end_is_refused():
    cal = build_calendar(2027, 2027, [])
    with pytest.raises(ValueError, match="outside the calendar's years"):
        cal.add_working_days(date(2027, 12, 28), 10)


# --- corrections ----------------------------------------------------------------------------


def test_an_added_day_off_moves_a_due_date_by_one_working_day():
    base = build_calendar(2027, 2027, [])
    corrected = build_calendar(2027, 2027, [corrections(2027, days_off={date(2027, 3, 10): "Nghỉ đột xuất"})])
    # Monday 1/3/2027 + 10 working days: no holiday in the window.
    assert base.add_working_days(date(2027, 3, 1), 10) == date(2027, 3, 15)
    assert corrected.add_working_days(date(2027, 3, 1), 10) == date(2027, 3, 16)
    assert corrected.is_working_day(date(2027, 3, 10)) is False
    assert corrected.holiday_name(date(2027, 3, 10)) == "Nghỉ đột xuất"


def test_an_added_day_off_after_the_due_date_changes_nothing():
    base = build_calendar(2027, 2027, [])
    corrected = build_calendar(2027, 2027, [corrections(2027, days_off={date(2027, 3, 17): "Nghỉ"})])
    assert corrected.add_working_days(date(2027, 3, 1), 10) == base.add_working_days(date(2027, 3, 1), 10)


def test_not_days_off_withdraws_a_library_holiday():
    victory_day = date(2027, 4, 30)                          # a Friday, a public holiday
    base = build_calendar(2027, 2027, [])
    assert base.is_working_day(victory_day) is False
    corrected = build_calendar(2027, 2027, [corrections(2027, not_days_off={victory_day: "withdrawn"})])
    assert corrected.is_working_day(victory_day) is True
    assert corrected.holiday_name(victory_day) is None


def test_an_added_working_saturday_counts_in_a_deadline():
    saturday = date(2027, 3, 6)
    corrected = build_calendar(2027, 2027, [corrections(2027, working_days={saturday: "Làm bù"})])
    assert corrected.is_working_day(saturday) is True
    assert corrected.add_working_days(date(2027, 3, 5), 1) == saturday


def test_a_correction_can_cancel_a_make_up_saturday_the_library_knows():
    # If the government drops the make-up Saturday 26/4/2025, a corrections file must be able
    # to say so: a day off it lists is not a working day.
    saturday = date(2025, 4, 26)
    corrected = build_calendar(2025, 2025, [corrections(2025, days_off={saturday: "Hủy làm bù"})])
    assert corrected.is_working_day(saturday) is False


def test_the_version_names_the_library_release_and_each_corrections_file():
    cal = build_calendar(2027, 2027, [corrections(2027, revision=3)])
    assert f"holidays-{holidays.__version__}" in cal.version
    assert "vn2027r3" in cal.version


def test_the_shipped_calendar_version_names_the_shipped_correction_files(vn):
    for year in (2025, 2026, 2027):
        assert f"vn{year}r" in vn.version


def test_the_version_changes_when_the_days_change_under_the_same_revision():
    a = build_calendar(2027, 2027, [corrections(2027, days_off={date(2027, 3, 10): "x"})])
    b = build_calendar(2027, 2027, [corrections(2027, days_off={date(2027, 3, 11): "x"})])
    assert a.version != b.version


def test_the_version_changes_when_a_revision_is_bumped():
    a = build_calendar(2027, 2027, [corrections(2027, revision=1)])
    b = build_calendar(2027, 2027, [corrections(2027, revision=2)])
    assert a.version != b.version


def test_the_version_changes_when_corrections_are_added():
    plain = build_calendar(2027, 2027, [])
    corrected = build_calendar(2027, 2027, [corrections(2027, days_off={date(2027, 3, 10): "x"})])
    assert plain.version != corrected.version


def test_the_same_corrections_give_the_same_version():
    a = build_calendar(2027, 2027, [corrections(2027, days_off={date(2027, 3, 10): "x"})])
    b = build_calendar(2027, 2027, [corrections(2027, days_off={date(2027, 3, 10): "x"})])
    assert a.version == b.version


@pytest.mark.parametrize("field", ["days_off", "working_days", "not_days_off"])
def test_check_year_refuses_a_day_of_another_year(field):
    wrong = corrections(2027, **{field: {date(2026, 12, 31): "x"}})
    with pytest.raises(ValueError, match=f"{field}: 2026-12-31 is not in 2027"):
        wrong.check_year()


def test_check_year_accepts_days_of_its_own_year():
    corrections(2027, days_off={date(2027, 1, 2): "x"}, working_days={date(2027, 12, 31): "y"}).check_year()


def test_year_corrections_refuse_unknown_keys_and_a_zero_revision():
    with pytest.raises(ValidationError):
        YearCorrections(year=2027, revision=1, source="x", holidays={})
    with pytest.raises(ValidationError):
        YearCorrections(year=2027, revision=0, source="x")


# --- properties -----------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2015, 1, 1), max_value=date(2039, 6, 30))


@given(DAYS, st.integers(min_value=1, max_value=260))
@settings(deadline=None)  # no timing assertions
def test_a_working_day_deadline_always_ends_on_a_working_day(start, n):
    vn = vietnam_calendar()
    assert vn.is_working_day(vn.add_working_days(start, n))


@given(DAYS, st.integers(min_value=0, max_value=260))
@settings(deadline=None)  # no timing assertions
def test_working_days_between_undoes_add_working_days(start, n):
    vn = vietnam_calendar()
    assert vn.working_days_between(start, vn.add_working_days(start, n)) == n


@given(DAYS, st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=200))
@settings(deadline=None)  # no timing assertions
def test_add_working_days_is_strictly_monotone(start, n1, n2):
    vn = vietnam_calendar()
    if n1 < n2:
        assert vn.add_working_days(start, n1) < vn.add_working_days(start, n2)
    elif n1 == n2:
        assert vn.add_working_days(start, n1) == vn.add_working_days(start, n2)


@given(DAYS)
@settings(deadline=None)  # no timing assertions
def test_next_working_day_is_a_working_day_with_none_in_between(day):
    vn = vietnam_calendar()
    nxt = vn.next_working_day(day)
    assert nxt >= day and vn.is_working_day(nxt)
    assert all(not vn.is_working_day(day + timedelta(k)) for k in range((nxt - day).days))


def test_build_calendar_refuses_a_correction_dated_in_another_year():
    from datetime import date

    import pytest

    from models.calendar.working_days import YearCorrections, build_calendar

    wrong = YearCorrections(year=2026, revision=1, source="test", days_off={date(2027, 1, 5): "x"})
    with pytest.raises(ValueError, match="not in 2026"):
        build_calendar(2026, 2027, [wrong])
