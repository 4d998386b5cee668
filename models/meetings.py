"""Cells' monthly meetings: a day-of-month rule moved to the next working day, or an explicit date.

`meeting_on` is pure; `meetings_between` reads the rules and the per-month dates of every cell.
"""

from __future__ import annotations

import calendar as cal
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select

from models.calendar.working_days import WorkingCalendar
from models.database import reading
from models.tables import MeetingDate, MeetingRule

RULE = MeetingRule.__table__
DATES = MeetingDate.__table__


@dataclass(frozen=True)
class Meeting:
    cell_id: str
    on: date
    lead_days: int
    missing_alert_after: int


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months(start: date, end: date) -> list[tuple[int, int]]:
    out, (y, m) = [], (start.year, start.month)
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def meeting_on(year: int, month: int, day_of_month: int | None, explicit: tuple[bool, date | None] | None,
               calendar: WorkingCalendar) -> date | None:
    """The month's meeting: the explicit date if one is set (None: cancelled), else the rule's day
    (the month's last day when it is shorter) moved to the next working day."""
    if explicit is not None:
        return explicit[1]
    if day_of_month is None:
        return None
    day = date(year, month, min(day_of_month, cal.monthrange(year, month)[1]))
    return calendar.next_working_day(day)


def meetings_between(engine: Engine, start: date, end: date, calendar: WorkingCalendar,
                     cells: list[str] | None = None) -> list[Meeting]:
    """Every cell meeting from `start` to `end` (both included)."""
    with reading(engine) as conn:
        rules = {r.cell_id: r for r in conn.execute(select(RULE))}
        explicit: dict[tuple[str, str], tuple[bool, date | None]] = {
            (r.cell_id, r.month): (True, r.meets_on) for r in conn.execute(select(DATES))}
    wanted = set(cells) if cells is not None else set(rules) | {c for c, _ in explicit}
    found = []
    for cell_id in sorted(wanted):
        rule = rules.get(cell_id)
        for year, month in months(start, end):
            day = meeting_on(year, month, rule.day_of_month if rule else None,
                             explicit.get((cell_id, f"{year:04d}-{month:02d}")), calendar)
            if day is not None and start <= day <= end:
                found.append(Meeting(cell_id, day, rule.lead_days if rule else 3, rule.missing_alert_after if rule else 2))
    return sorted(found, key=lambda m: (m.on, m.cell_id))


def set_rule(engine: Engine, cell_id: str, day_of_month: int, lead_days: int = 3) -> None:
    if not 1 <= day_of_month <= 31:
        raise ValueError("day: a day of the month is between 1 and 31")
    with engine.begin() as conn:
        if conn.execute(select(RULE.c.cell_id).where(RULE.c.cell_id == cell_id)).first():
            conn.execute(RULE.update().where(RULE.c.cell_id == cell_id).values(day_of_month=day_of_month,
                                                                              lead_days=lead_days))
        else:
            conn.execute(RULE.insert().values(cell_id=cell_id, day_of_month=day_of_month, lead_days=lead_days))


def set_month(engine: Engine, cell_id: str, month: str, meets_on: date | None) -> None:
    """Override one month: an explicit date in that month, or None for no meeting."""
    if meets_on is not None and month_key(meets_on) != month:
        raise ValueError(f"on: {meets_on.isoformat()} is not in {month}")
    with engine.begin() as conn:
        where = (DATES.c.cell_id == cell_id) & (DATES.c.month == month)
        if conn.execute(select(DATES.c.id).where(where)).first():
            conn.execute(DATES.update().where(where).values(meets_on=meets_on))
        else:
            conn.execute(DATES.insert().values(cell_id=cell_id, month=month, meets_on=meets_on))
