"""Periods counted in calendar months, the way the Civil Code counts them (Art. 147-148).

A period in months ends on the corresponding day of the last month, or on that month's
last day when it has no such day: a ceremony on 29/02/2024 ends a 12-month probation on
28/02/2025. Ages "counted by month" use the same rule, so that one definition of a month
serves ages, probation and certificate validity alike.
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(start: date, months: int) -> date:
    """The date `months` calendar months after `start` (negative goes back)."""
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(start.day, last_day))


def months_between(start: date, end: date) -> int:
    """Whole months elapsed from `start` to `end`: the largest n with add_months(start, n) <= end.

    Negative when `end` is before `start`. `months_between(birth, on)` is an age in months.
    """
    if end < start:
        return -months_between(end, start)
    guess = (end.year - start.year) * 12 + (end.month - start.month)
    while guess > 0 and add_months(start, guess) > end:
        guess -= 1
    return guess


def years_and_months(months: int) -> tuple[int, int]:
    """Split a month count into (years, months) for messages such as '17 tuổi 11 tháng'."""
    return divmod(months, 12)
