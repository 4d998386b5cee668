"""The calendar in force: the shipped per-year files, overridden by corrections recorded in the database.

An administrator records a corrected year (`ketnap calendar correct`, the admin page) when the government
announces or changes its days off; every process then computes with it. The list of recorded revisions is
read at most every two seconds per database and the calendar built once per distinct list, so a
correction made by another process is picked up within seconds (and `reconcile` in the daily deadline
sweep sets right a step that computed with the replaced calendar meanwhile).
"""

from __future__ import annotations

import time
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, select

from models.calendar.working_days import (
    FIRST_YEAR,
    LAST_YEAR,
    WorkingCalendar,
    YearCorrections,
    _load_corrections,
    build_calendar,
    vietnam_calendar,
)
from models.tables import CalendarCorrection

CORRECTION = CalendarCorrection.__table__


_BUILT: dict[tuple[tuple[int, int, int], ...], WorkingCalendar] = {}


def _latest(conn: Connection) -> tuple[tuple[int, int, int], ...]:
    """(year, revision, row id) of the latest recorded revision of each corrected year (a handful of rows)."""
    rows = conn.execute(select(CORRECTION.c.year, CORRECTION.c.revision, CORRECTION.c.id)
                        .order_by(CORRECTION.c.year, CORRECTION.c.revision)).all()
    latest = {r.year: (r.year, r.revision, r.id) for r in rows}
    return tuple(latest[year] for year in sorted(latest))


def current_calendar(bind: Engine | Connection) -> WorkingCalendar:
    """The calendar with every recorded correction (the shipped one when there is none).

    The list of recorded revisions is read at most every `RECHECK_SECONDS` per database (it changes a few times
    a year; a transition should not pay a query for it): a correction recorded by another process is seen within
    that time, and a step that computed a deadline just before is set right by the deadline sweep's `reconcile`.
    A correction recorded by this process is seen at once (`forget_latest`)."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return current_calendar(conn)
    key = bind.engine.url.render_as_string(hide_password=True)
    seen = _SEEN.get(key)
    now = time.monotonic()
    if seen is None or now - seen[0] > RECHECK_SECONDS:
        seen = _SEEN[key] = (now, _latest(bind))
    latest = seen[1]
    if not latest:
        return vietnam_calendar()
    cal = _BUILT.get(latest)
    if cal is None:                          # a correction this process has not built yet
        cal = calendar_with(_rows(bind, latest))
        _BUILT.clear()                       # only the latest list matters; keep memory flat
        _BUILT[latest] = cal
    return cal


RECHECK_SECONDS = 2.0
_SEEN: dict[str, tuple[float, tuple[tuple[int, int, int], ...]]] = {}


def forget_latest() -> None:
    """After recording (or rolling back) a correction in this process: read the list again on the next call."""
    _SEEN.clear()


def _rows(conn: Connection, latest: tuple[tuple[int, int, int], ...]) -> tuple[YearCorrections, ...]:
    ids = [i for _, _, i in latest]
    rows = conn.execute(select(CORRECTION).where(CORRECTION.c.id.in_(ids)).order_by(CORRECTION.c.year)).mappings().all()
    return tuple(as_year_corrections(r) for r in rows)


def as_year_corrections(row: Any) -> YearCorrections:
    return YearCorrections(year=row["year"], revision=row["revision"], source=row["source"],
                           days_off={date.fromisoformat(k): v for k, v in row["days_off"].items()},
                           working_days={date.fromisoformat(k): v for k, v in row["working_days"].items()},
                           not_days_off={date.fromisoformat(k): v for k, v in row["not_days_off"].items()})


def calendar_with(recorded: tuple[YearCorrections, ...]) -> WorkingCalendar:
    """The shipped corrections, each year replaced by a recorded revision of it when there is one."""
    by_year = {c.year: c for c in shipped_corrections()}
    for c in recorded:
        by_year[c.year] = c
    return build_calendar(FIRST_YEAR, LAST_YEAR, [by_year[y] for y in sorted(by_year)])


@lru_cache(maxsize=1)
def shipped_corrections() -> tuple[YearCorrections, ...]:
    return tuple(_load_corrections(range(FIRST_YEAR, LAST_YEAR + 1)))
