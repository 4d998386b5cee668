"""The Vietnamese working-day calendar (ngày làm việc).

Public holidays, Tết, substituted days off and make-up working Saturdays come from the
maintained `holidays` library. The government announces each year's arrangement late and
sometimes corrects it, so a per-year data file (models/calendar/vn/<year>.yaml) can add
days off, add working days or withdraw a library holiday. The calendar's version string
names the library release and every data file it used: a deadline stores the version it
was computed under and is recomputed when the calendar is corrected.

Counting follows the Civil Code: the day of the event is not counted; the N-th working
day after it is the last day of an N-working-day period.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from importlib import resources
from importlib.metadata import version as package_version

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field

from models.calendar.periods import add_months


class YearCorrections(BaseModel):
    """One year's corrections on top of the holidays library, as published by the government."""

    model_config = ConfigDict(extra="forbid")

    year: int
    revision: int = Field(ge=1, description="Bumped each time the file is corrected")
    source: str = Field(min_length=1, description="The announcement the corrections come from")
    days_off: dict[date, str] = Field(default_factory=dict)
    working_days: dict[date, str] = Field(default_factory=dict)
    not_days_off: dict[date, str] = Field(default_factory=dict)

    def check_year(self) -> None:
        for name in ("days_off", "working_days", "not_days_off"):
            for day in getattr(self, name):
                if day.year != self.year:
                    raise ValueError(f"{name}: {day} is not in {self.year}")


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days, and period arithmetic over them. Immutable and pure."""

    days_off: Mapping[date, str]
    extra_working_days: frozenset[date]
    version: str
    years: tuple[int, int]
    _cache: dict[date, bool] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def is_working_day(self, day: date) -> bool:
        cached = self._cache.get(day)
        if cached is None:
            if not self.years[0] <= day.year <= self.years[1]:
                raise ValueError(f"{day} is outside the calendar's years {self.years[0]}-{self.years[1]}")
            cached = day in self.extra_working_days or (day.weekday() < 5 and day not in self.days_off)
            self._cache[day] = cached
        return cached

    def holiday_name(self, day: date) -> str | None:
        return self.days_off.get(day)

    def add_working_days(self, start: date, count: int) -> date:
        """The last day of a period of `count` working days counted from the day after `start`."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        remaining = count
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (negative when end < start)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(n)))

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the next one (Civil Code Art. 148)."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_months(self, start: date, months: int, *, roll_to_working_day: bool) -> date:
        end = add_months(start, months)
        return self.next_working_day(end) if roll_to_working_day else end


def _load_corrections(years: Iterable[int]) -> list[YearCorrections]:
    found = []
    package = resources.files("models.calendar.vn")
    for year in years:
        path = package / f"{year}.yaml"
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            corrections = YearCorrections.model_validate(data)
            corrections.check_year()
            found.append(corrections)
    return found


def build_calendar(first_year: int, last_year: int, corrections: Iterable[YearCorrections]) -> WorkingCalendar:
    library = holidays.country_holidays("VN", years=range(first_year, last_year + 1), language="vi")
    days_off: dict[date, str] = dict(library.items())
    extra_working: set[date] = {
        day
        for year in range(first_year, last_year + 1)
        for day in _library_weekend_workdays(library, year)
    }
    parts = [f"holidays-{package_version('holidays')}"]
    for c in corrections:
        c.check_year()
        days_off.update(c.days_off)
        extra_working.difference_update(c.days_off)
        for day in c.not_days_off:
            days_off.pop(day, None)
        extra_working.update(c.working_days)
        for day in c.working_days:
            days_off.pop(day, None)
        parts.append(f"vn{c.year}r{c.revision}")
    digest = hashlib.sha256(repr(sorted(days_off)).encode() + repr(sorted(extra_working)).encode())
    version = "+".join(parts) + "#" + digest.hexdigest()[:8]
    return WorkingCalendar(days_off, frozenset(extra_working), version, (first_year, last_year))


def _library_weekend_workdays(library: holidays.HolidayBase, year: int) -> set[date]:
    """Make-up working Saturdays the library knows (e.g. 26/04/2025)."""
    day, end = date(year, 1, 1), date(year, 12, 31)
    found = set()
    while day <= end:
        if day.weekday() >= 5 and library.is_working_day(day):
            found.add(day)
        day += timedelta(days=1)
    return found


FIRST_YEAR, LAST_YEAR = 2015, 2040


@lru_cache(maxsize=1)
def vietnam_calendar() -> WorkingCalendar:
    """The calendar with the shipped corrections, 2015-2040 (built once per process)."""
    return build_calendar(FIRST_YEAR, LAST_YEAR, _load_corrections(range(FIRST_YEAR, LAST_YEAR + 1)))
