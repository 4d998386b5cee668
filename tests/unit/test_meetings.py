"""Cell meetings: the rule's day moved to the next working day, explicit dates and cancelled months."""

from __future__ import annotations

from datetime import date

from models.calendar.working_days import vietnam_calendar
from models.meetings import Meeting, meeting_on, months
from models.reminders import due_for_reminders

CAL = vietnam_calendar()


def test_a_rule_day_on_a_working_day_is_kept():
    assert meeting_on(2026, 11, 5, None, CAL) == date(2026, 11, 5)          # a Thursday


def test_a_rule_day_on_a_weekend_moves_to_monday():
    assert meeting_on(2026, 12, 5, None, CAL) == date(2026, 12, 7)          # Saturday → Monday


def test_a_rule_day_in_tet_moves_past_the_holiday():
    # 5/2/2027 is the eve of Tết; 4–10/2 are off, 6–7/2 a weekend: next working day is Thursday 11/2
    assert meeting_on(2027, 2, 5, None, CAL) == date(2027, 2, 11)


def test_a_day_past_the_end_of_a_short_month_is_its_last_day():
    assert meeting_on(2026, 2, 31, None, CAL) == date(2026, 3, 2)           # 28/2/2026 is a Saturday
    # 30/4 (Thursday) and 1/5 are holidays, 2–3/5 a weekend: Monday 4/5/2026
    assert meeting_on(2026, 4, 31, None, CAL) == date(2026, 5, 4)


def test_an_explicit_date_wins_and_none_cancels_the_month():
    assert meeting_on(2026, 11, 5, (True, date(2026, 11, 12)), CAL) == date(2026, 11, 12)
    assert meeting_on(2026, 11, 5, (True, None), CAL) is None


def test_no_rule_and_no_date_means_no_meeting():
    assert meeting_on(2026, 11, None, None, CAL) is None


def test_months_between_two_dates():
    assert months(date(2026, 11, 20), date(2027, 2, 1)) == [(2026, 11), (2026, 12), (2027, 1), (2027, 2)]


def test_reminders_are_due_from_the_lead_day_to_the_meeting_day():
    m = Meeting("cb", date(2026, 12, 7), 3, 2)
    assert due_for_reminders([m], date(2026, 12, 3)) == []
    assert due_for_reminders([m], date(2026, 12, 4)) == [m]
    assert due_for_reminders([m], date(2026, 12, 7)) == [m]
    assert due_for_reminders([m], date(2026, 12, 8)) == []
