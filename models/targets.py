"""Admission targets (chỉ tiêu kết nạp đảng viên): per committee, for a year or for a congress term.

A target belongs to a unit with a party committee (not a plain cell, not a village). Setting a
target that exists for the same unit and period replaces its count; every change is one event on
the "org" audit chain, naming the previous count. A term (nhiệm kỳ) is given by its first and last
years (2025–2030); two terms of the same unit may share their boundary year, no more.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, select

from models.actors import Actor
from models.audit.trail import append_to_chain
from models.database import reading
from models.organisation import KIND_LABELS
from models.procedure.engine import InputError, InputProblem
from models.tables import AdmissionTarget, OrgUnit
from models.transitions import local_today

TARGET = AdmissionTarget.__table__
UNIT = OrgUnit.__table__
PeriodKind = Literal["year", "term"]
PERIOD_KINDS = ("year", "term")
# Units with a party committee of their own: the ones a target is given to.
TARGET_KINDS = frozenset({"province_committee", "commune_committee", "agency_committee", "grassroots_committee",
                          "grassroots_cell", "intermediate_committee"})
FIRST_YEAR = 2000                 # nothing older is ever entered
YEARS_AHEAD = 10                  # a target may be set this many years ahead
MAX_TERM_YEARS = 5                # a congress term: five years (2025–2030)
MAX_COUNT = 1_000_000


@dataclass(frozen=True)
class Target:
    unit_id: str
    period_kind: str
    start_year: int
    end_year: int
    count: int
    set_by: str
    set_at: datetime
    previous_count: int | None = None

    @property
    def period(self) -> str:
        return str(self.start_year) if self.period_kind == "year" else f"{self.start_year}–{self.end_year}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"set_at": self.set_at.isoformat(), "period": self.period}


def parse_term(text: str) -> tuple[int, int]:
    """'2025-2030' (or with an en dash) → (2025, 2030); InputError naming `term` otherwise."""
    parts = text.replace("–", "-").replace("—", "-").split("-")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise InputError([InputProblem("term", "not_a_term", f"{text!r} is not a term such as 2025-2030",
                                       f"Nhiệm kỳ “{text}” không đúng dạng, ví dụ 2025-2030.")])
    return int(parts[0]), int(parts[1])


def _year_problems(field: str, year: int, today_year: int) -> list[InputProblem]:
    last = today_year + YEARS_AHEAD
    if FIRST_YEAR <= year <= last:
        return []
    return [InputProblem(field, "year_out_of_range", f"{year} is not between {FIRST_YEAR} and {last}",
                         f"Năm {year} không hợp lệ (từ {FIRST_YEAR} đến {last}).")]


def set_target(engine: Engine, unit_id: str, period_kind: str, start_year: int, end_year: int | None, count: int,
               actor: Actor, *, now: datetime | None = None) -> Target:
    """Set (or replace) a unit's target for a year (end_year None or equal) or a term; audited on the org chain.

    Every invalid field is named with its rule (InputError): the unit must exist and have a committee, the
    years be sane (a term of 1 to 5 years, not overlapping another term of the unit beyond a shared boundary
    year), the count a whole number from 0.
    """
    now = now or datetime.now(UTC)
    today_year = local_today(now).year
    problems: list[InputProblem] = []
    if period_kind not in PERIOD_KINDS:
        problems.append(InputProblem("period_kind", "unknown_period", f"{period_kind!r} is not one of year, term",
                                     f"Kỳ chỉ tiêu “{period_kind}” không hợp lệ (năm hoặc nhiệm kỳ)."))
    if period_kind == "year":
        if end_year is not None and end_year != start_year:
            problems.append(InputProblem("end_year", "year_has_one_year", "a yearly target has end_year = start_year",
                                         "Chỉ tiêu năm chỉ có một năm."))
        end_year = start_year
        problems += _year_problems("year", start_year, today_year)
    elif period_kind == "term":
        if end_year is None:
            end_year = start_year + MAX_TERM_YEARS
        problems += _year_problems("term", start_year, today_year)
        if not problems and not (start_year < end_year <= start_year + MAX_TERM_YEARS):
            problems.append(InputProblem(
                "term", "bad_term", f"a term runs from one year to a later one, at most {MAX_TERM_YEARS} years: "
                f"{start_year}-{end_year}",
                f"Nhiệm kỳ {start_year}–{end_year} không hợp lệ: năm cuối phải sau năm đầu, nhiều nhất {MAX_TERM_YEARS} năm."))
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
        problems.append(InputProblem("count", "not_a_count", f"count must be a whole number from 0 to {MAX_COUNT}, got {count!r}",
                                     f"Chỉ tiêu phải là số nguyên từ 0 đến {MAX_COUNT:,}".replace(",", ".")
                                     + f" (đã nhập {count})."))
    with reading(engine) as conn:
        kind = conn.execute(select(UNIT.c.kind).where(UNIT.c.id == unit_id)).scalar()
    if kind is None:
        problems.append(InputProblem("unit", "unknown_unit", f"no unit {unit_id!r}", f"Không có đơn vị “{unit_id}”."))
    elif kind not in TARGET_KINDS:
        problems.append(InputProblem(
            "unit", "not_a_committee", f"{unit_id!r} is a {kind}; targets are set for units with a party committee "
            f"({', '.join(sorted(TARGET_KINDS))})",
            f"“{unit_id}” là {KIND_LABELS.get(kind, kind).lower()}; chỉ tiêu kết nạp giao cho đảng bộ, chi bộ cơ sở "
            "hoặc đảng bộ bộ phận (đơn vị có cấp ủy)."))
    if problems:
        raise InputError(problems)
    assert end_year is not None
    with engine.begin() as conn:
        if period_kind == "term":
            clash = conn.execute(select(TARGET.c.start_year, TARGET.c.end_year).where(
                TARGET.c.unit_id == unit_id, TARGET.c.period_kind == "term",
                TARGET.c.start_year < end_year, TARGET.c.end_year > start_year,
                ~((TARGET.c.start_year == start_year) & (TARGET.c.end_year == end_year)))).first()
            if clash is not None:
                raise InputError([InputProblem(
                    "term", "overlapping_term",
                    f"{unit_id!r} already has a target for the term {clash.start_year}-{clash.end_year}",
                    f"Đơn vị đã có chỉ tiêu nhiệm kỳ {clash.start_year}–{clash.end_year}, trùng với {start_year}–{end_year}.")])
        key = (TARGET.c.unit_id == unit_id, TARGET.c.period_kind == period_kind, TARGET.c.start_year == start_year,
               TARGET.c.end_year == end_year)
        previous = conn.execute(select(TARGET.c.id, TARGET.c.count.label("n")).where(*key).with_for_update()).first()
        values = {"count": count, "set_by": actor.name, "set_at": now}
        if previous is None:
            conn.execute(TARGET.insert().values(unit_id=unit_id, period_kind=period_kind, start_year=start_year,
                                                end_year=end_year, **values))
        else:
            conn.execute(TARGET.update().where(TARGET.c.id == previous.id).values(**values))
        append_to_chain(
            conn, "org", kind="target_set", actor=actor, event="set_admission_target", effective_on=local_today(now),
            now=now, payload={"unit_id": unit_id, "period_kind": period_kind, "start_year": start_year,
                              "end_year": end_year, "count": count,
                              "previous_count": previous.n if previous else None},
        )
    return Target(unit_id, period_kind, start_year, end_year, count, actor.name, now,
                  previous.n if previous else None)


def list_targets(engine: Engine, unit_ids: list[str] | None = None) -> list[Target]:
    with reading(engine) as conn:
        query = (select(TARGET.c.unit_id, TARGET.c.period_kind, TARGET.c.start_year, TARGET.c.end_year,
                        TARGET.c.count.label("n"), TARGET.c.set_by, TARGET.c.set_at)
                 .order_by(TARGET.c.unit_id, TARGET.c.period_kind, TARGET.c.start_year))
        if unit_ids is not None:
            query = query.where(TARGET.c.unit_id.in_(unit_ids))
        return [Target(r.unit_id, r.period_kind, r.start_year, r.end_year, r.n, r.set_by, r.set_at)
                for r in conn.execute(query)]
