"""The yearly statistics of a generated province, figure by figure, against counts computed here from the
generator's own records (the units and members it wrote, the CV facts and the stages it walked each
candidate through), on SQLite and on PostgreSQL. Then the Excel file against the page, the CSV, the JSON
API, the CLI, and the targets' validation.

Nothing here reads the expected figures from the database or calls the code under test to compute them:
ages, percentages, medians and rankings are counted again in plain Python.
"""

from __future__ import annotations

import csv
import io
import json
import statistics as stats
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from models.statistics import yearly_report
from tests.reports.province import (
    NOW,
    ROOT,
    TERMINAL,
    TODAY,
    CandidateRec,
    MemberRec,
    Province,
    add_months,
    generate,
    overdue_clock,
    postgres_province,
    sqlite_province,
)

COVERAGE_KINDS = {"village", "residential_group"}
PARTY_CELL_KINDS = {"cell", "grassroots_cell"}
STAGE_ORDER = ["source", "awareness_course", "file_preparation", "opinions", "cell_review", "intermediate_appraisal",
               "grassroots_review", "awaiting_decision", "awaiting_ceremony", "probation", "recognition_review",
               "recognition_appraisal", "recognition_grassroots_review", "awaiting_recognition_decision"]
QUALIFICATION_LEVEL = {None: "none", "Đại học sư phạm": "university", "Cử nhân Luật": "university",
                       "Kỹ sư nông nghiệp": "university", "Thạc sĩ Kinh tế": "postgraduate", "Cao đẳng điều dưỡng": "college",
                       "Trung cấp y": "vocational", "Sơ cấp nghề": "elementary", "Chứng chỉ tin học": "other"}
OCCUPATION_CODES = ["farmer", "worker", "civil_servant", "teacher", "village_cadre", "high_school_student",
                    "university_student", "soldier", "private_enterprise_staff", "foreign_enterprise_staff", "business_owner",
                    "self_employed", "other"]
CASES = [(ROOT, 2026), (ROOT, 2025), ("xa-an-phu", 2026), ("xa-an-phu", 2024)]


# --- the province, once per module and database -------------------------------------------------------------

@pytest.fixture(scope="module")
def plan() -> Province:
    return generate()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def province(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, plan: Province) -> Iterator[Engine]:
    workdir = tmp_path_factory.mktemp("province")
    if request.param == "sqlite":
        engine = sqlite_province(request.getfixturevalue("sqlite_template"), workdir, plan)
        yield engine
        engine.dispose()
    else:
        engine, drop = postgres_province(request.getfixturevalue("pg_template"), workdir, plan)
        yield engine
        drop()


# --- the expected figures, counted from the records -----------------------------------------------------------

def pct(part: int, whole: int | None) -> float | None:
    """part / whole in percent, rounded half up to one decimal, in integers."""
    if not whole:
        return None
    return (2 * 1000 * part + whole) // (2 * whole) / 10


def leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def age_years(birth: date, on: date) -> int:
    """Whole years by month: a birthday on 29/2 falls on 28/2 in other years."""
    birthday = (2, 28) if (birth.month, birth.day) == (2, 29) and not leap(on.year) else (birth.month, birth.day)
    return on.year - birth.year - ((on.month, on.day) < birthday)


class Expect:
    """Everything the report of (root, year) should say, from the generator's records."""

    def __init__(self, p: Province, root: str, year: int) -> None:
        self.p, self.root, self.year = p, root, year
        self.y0, self.pe = date(year, 1, 1), min(date(year, 12, 31), TODAY)
        self.sub = p.subtree(root)
        self.branches = [u.id for u in p.children(root) if u.kind not in COVERAGE_KINDS]
        self.cands = [c for c in p.candidates if c.cell in self.sub]

    def branch(self, unit_id: str) -> str:
        while self.p.units[unit_id].parent != self.root:
            unit_id = self.p.units[unit_id].parent  # type: ignore[assignment]
        return unit_id

    def final(self, c: CandidateRec) -> str:
        return c.entries(self.p.route(c.cell))[-1][0]

    def admitted(self, c: CandidateRec, first: date, last: date) -> bool:
        decided = c.date_of("admit")
        return decided is not None and first <= decided <= last and self.final(c) not in ("withdrawn", "not_admitted")

    def admitted_in_year(self, year: int, branch: str | None = None) -> int:
        last = min(date(year, 12, 31), self.pe)
        return sum(self.admitted(c, date(year, 1, 1), last) for c in self.cands
                   if branch is None or self.branch(c.cell) == branch)

    def target(self, unit: str, kind: str, year: int) -> tuple[int, int, int] | None:
        found = [(t.start_year, t.end_year, t.count) for t in self.p.targets
                 if t.unit == unit and t.period_kind == kind and t.start_year <= year <= t.end_year]
        return max(found) if found else None

    def term(self, unit: str, branch: str | None) -> dict[str, Any] | None:
        t = self.target(unit, "term", self.year)
        if t is None:
            return None
        got = sum(self.admitted(c, date(t[0], 1, 1), min(date(t[1], 12, 31), self.pe)) for c in self.cands
                  if branch is None or self.branch(c.cell) == branch)
        return {"start_year": t[0], "end_year": t[1], "target": t[2], "admitted": got, "percent": pct(got, t[2])}

    def members_at_end(self) -> list[MemberRec]:
        return [m for m in self.p.members if m.cell in self.sub and m.admitted_on <= self.pe
                and (m.left_on is None or m.left_on > self.pe)]

    def is_full(self, m: MemberRec) -> bool:
        return m.recognised_on is not None and m.recognised_on <= self.pe

    def committees(self) -> dict[str, dict[str, Any]]:
        out = {}
        for b in self.branches:
            got = self.admitted_in_year(self.year, b)
            year_target = self.target(b, "year", self.year)
            members = [m for m in self.members_at_end() if self.branch(m.cell) == b]
            out[b] = {"admitted": got, "admitted_previous": self.admitted_in_year(self.year - 1, b),
                      "target_year": year_target[2] if year_target else None,
                      "percent_year": pct(got, year_target[2]) if year_target else None, "term": self.term(b, b),
                      "members_full": sum(self.is_full(m) for m in members),
                      "members_probationary": sum(not self.is_full(m) for m in members)}

        def key(b: str) -> tuple[float, int]:
            return (out[b]["percent_year"] if out[b]["percent_year"] is not None else -1.0, out[b]["admitted"])
        for b in out:
            out[b]["rank"] = 1 + sum(key(o) > key(b) for o in out)
        return out

    def admitted_list(self) -> list[CandidateRec]:
        return [c for c in self.cands if self.admitted(c, self.y0, self.pe)]

    def composition(self) -> dict[str, int]:
        adm = self.admitted_list()
        return {
            "women": sum(c.gender == "nu" for c in adm),
            "youth_union": sum(c.youth_union_member for c in adm),
            "ethnic_minority": sum(c.ethnicity != "Kinh" for c in adm),
            "religious": sum(c.religion not in (None, "Không", "không") for c in adm),
            "age_18_30": sum(18 <= age_years(c.birth_date, c.date_of("admit")) <= 30 for c in adm),  # type: ignore[arg-type]
            "high_school": sum(c.occupation == "high_school_student" for c in adm),
            "university": sum(c.occupation == "university_student" for c in adm),
        }

    def education(self) -> dict[str, int]:
        adm = self.admitted_list()
        return {"upper_secondary": sum(c.grade == 12 for c in adm), "lower_secondary": sum(9 <= c.grade <= 11 for c in adm),
                "primary": sum(c.grade < 9 for c in adm)}

    def qualification(self) -> dict[str, int]:
        levels = [QUALIFICATION_LEVEL[c.qualification] for c in self.admitted_list()]
        keys = ("postgraduate", "university", "college", "vocational", "elementary", "other", "none")
        return {k: levels.count(k) for k in keys}

    def occupations(self) -> dict[str, int]:
        jobs = [c.occupation for c in self.admitted_list()]
        return {k: jobs.count(k) for k in OCCUPATION_CODES}

    def coverage(self) -> dict[str, Any]:
        units = [self.p.units[i] for i in self.sub]
        villages = [u for u in units if u.kind in COVERAGE_KINDS]
        cells = [u for u in units if u.kind in PARTY_CELL_KINDS]
        present = self.members_at_end()
        people = {c.id: sum(m.cell == c.id for m in present) for c in cells}
        full = {c.id: sum(m.cell == c.id and self.is_full(m) for m in present) for c in cells}
        empty = {v.id for v in villages if not (v.covered_by_cell and people.get(v.covered_by_cell, 0))}
        return {"villages": len(villages), "villages_with_cell": sum(v.covered_by_cell is not None for v in villages),
                "villages_without_cell": sum(v.covered_by_cell is None for v in villages),
                "villages_without_member": len(empty), "cells": len(cells),
                "grassroots_cells": sum(c.kind == "grassroots_cell" for c in cells),
                "cells_without_member": sum(people[c.id] == 0 for c in cells),
                "cells_below_three_full": sum(full[c.id] < 3 for c in cells), "without_member": empty}

    def membership(self) -> dict[str, int]:
        present = self.members_at_end()
        return {"total": len(present), "full": sum(self.is_full(m) for m in present),
                "probationary": sum(not self.is_full(m) for m in present)}

    def courses(self) -> dict[str, tuple[int, int, int, int]]:
        out = {}
        for kind, cert_event in (("awareness", "record_awareness_certificate"), ("new_member", "record_new_member_certificate")):
            held = [s for s in self.p.sessions if s.kind == kind and s.area in self.sub and self.y0 <= s.starts_on <= self.pe]
            enrolments = [status for s in held for _, status in s.enrolments]
            certified = sum(1 for c in self.cands
                            if (d := c.date_of(cert_event)) is not None and self.y0 <= d <= self.pe)
            out[kind] = (len(held), len(enrolments), sum(s in ("attended", "certified") for s in enrolments), certified)
        return out

    def stays(self) -> list[tuple[str, str, int]]:
        """(branch, stage, days) of every stay counted for the period."""
        out = []
        for c in self.cands:
            entries = c.entries(self.p.route(c.cell))
            for i, (stage, entered) in enumerate(entries):
                left = entries[i + 1][1] if i + 1 < len(entries) else None
                if stage in TERMINAL:
                    continue
                if left is not None and self.y0 <= left <= self.pe:
                    out.append((self.branch(c.cell), stage, (left - entered).days))
                elif entered <= self.pe and (left is None or left > self.pe):
                    out.append((self.branch(c.cell), stage, (self.pe - entered).days))
        return out

    def now_at(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for c in self.cands:
            stage = self.final(c)
            if stage not in TERMINAL:
                key = (self.branch(c.cell), stage)
                out[key] = out.get(key, 0) + 1
        return out

    def stages(self) -> list[tuple[str, int, int, float | None, int | None]]:
        stays, now = self.stays(), self.now_at()
        out = []
        for stage in STAGE_ORDER:
            days = [d for _, s, d in stays if s == stage]
            out.append((stage, sum(n for (_, s), n in now.items() if s == stage), len(days),
                        round(float(stats.median(days)), 1) if days else None, max(days) if days else None))
        return out

    def overdue(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for c in self.cands:
            clock = overdue_clock(self.p, c)
            if clock:
                key = (self.branch(c.cell), clock)
                out[key] = out.get(key, 0) + 1
        return out

    def bottlenecks(self) -> dict[str, tuple[int, str | None, float | None, int, int]]:
        stays, now, late = self.stays(), self.now_at(), self.overdue()
        out = {}
        for b in self.branches:
            medians = []
            for stage in STAGE_ORDER:
                days = [d for br, s, d in stays if br == b and s == stage]
                if days:
                    medians.append((round(float(stats.median(days)), 1), len(days), -STAGE_ORDER.index(stage), stage))
            worst = max(medians) if medians else None
            out[b] = (sum(n for (br, _), n in now.items() if br == b), worst[3] if worst else None,
                      worst[0] if worst else None, now.get((b, worst[3]), 0) if worst else 0,
                      sum(n for (br, _), n in late.items() if br == b))
        return out


# --- the figures ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("root", "year"), CASES)
def test_every_figure_matches_the_records(province: Engine, plan: Province, root: str, year: int) -> None:
    e = Expect(plan, root, year)
    r = yearly_report(province, root, year, today=TODAY)
    d = r.as_dict()
    json.dumps(d)                                                    # JSON-able as it is

    assert (r.year, r.period_end, r.unit_id) == (year, e.pe, root)
    assert r.admitted == e.admitted_in_year(year)
    assert r.admitted_previous == e.admitted_in_year(year - 1)
    year_target, prev_target = e.target(root, "year", year), e.target(root, "year", year - 1)
    assert r.target_year == (year_target[2] if year_target else None)
    assert d["percent_year"] == (pct(r.admitted, year_target[2]) if year_target else None)
    assert r.target_previous == (prev_target[2] if prev_target else None)
    assert d["percent_previous"] == (pct(r.admitted_previous, prev_target[2]) if prev_target else None)
    assert d["term"] == e.term(root, None)

    committees = e.committees()
    got = {c["unit_id"]: {k: v for k, v in c.items() if k not in ("unit_id", "name", "kind")} for c in d["committees"]}
    assert got == committees
    ranks = [c["rank"] for c in d["committees"]]
    assert ranks == sorted(ranks), "the subordinate units are listed by rank"

    assert {s["key"]: s["count"] for s in d["composition"]} == e.composition()
    assert all(s["percent"] == pct(s["count"], r.admitted) for s in d["composition"])
    assert {s["key"]: s["count"] for s in d["education"]} == e.education()
    assert {s["key"]: s["count"] for s in d["qualification"]} == e.qualification()
    assert {s["key"]: s["count"] for s in d["occupations"]} == e.occupations()
    assert sum(s["count"] for s in d["occupations"]) == r.admitted

    coverage = e.coverage()
    assert {k: v for k, v in d["coverage"].items() if k != "without_member"} == \
        {k: v for k, v in coverage.items() if k != "without_member"}
    assert {v[0] for v in d["coverage"]["without_member"]} == coverage["without_member"]
    assert d["membership"] == e.membership()

    courses = e.courses()
    assert {c["kind"]: (c["sessions"], c["enrolled"], c["attended"], c["certificates"]) for c in d["courses"]} == courses

    assert [(s["stage"], s["people"], s["stays"], s["median_days"], s["max_days"]) for s in d["stages"]] == e.stages()
    bottlenecks = e.bottlenecks()
    assert {b["unit_id"]: (b["open_files"], b["stage"], b["median_days"], b["people_at_stage"], b["overdue"])
            for b in d["bottlenecks"]} == bottlenecks
    overdue = e.overdue()
    by_clock: dict[str, int] = {}
    for (_, clock), n in overdue.items():
        by_clock[clock] = by_clock.get(clock, 0) + n
    assert {o["clock"]: o["count"] for o in d["overdue"]} == by_clock
    assert d["overdue_total"] == sum(overdue.values())


def test_the_province_has_something_in_every_figure(plan: Province) -> None:
    """The generated data exercises every rule (a figure that is always 0 would test nothing)."""
    e = Expect(plan, ROOT, 2026)
    assert e.admitted_in_year(2026) > 20 and e.admitted_in_year(2025) > 20
    assert all(v > 0 for v in e.composition().values()), e.composition()
    assert all(v > 0 for v in e.qualification().values()), e.qualification()
    assert all(v > 0 for v in e.education().values())
    assert sum(e.final(c) == "withdrawn" and c.date_of("admit") is not None for c in plan.candidates) > 0, \
        "someone withdrew after the decision (not counted)"
    turned = [c for c in e.admitted_list() + Expect(plan, ROOT, 2025).admitted_list() if c.key % 17 == 0]
    assert {age_years(c.birth_date, c.date_of("admit")) for c in turned} == {30, 31}, \
        "some turn 31 on the decision day, some the day after"  # type: ignore[arg-type]
    cov = e.coverage()
    assert cov["villages_without_member"] > cov["villages_without_cell"] > 0
    assert e.membership()["probationary"] > 0 and Expect(plan, ROOT, 2025).membership()["total"] != e.membership()["total"]
    assert len({clock for (_, clock) in e.overdue()}) == 4, "every kind of deadline is overdue somewhere"
    assert all(s[2] > 0 for s in e.stages()), "every stage has stays"
    assert any(s.starts_on > TODAY and s.starts_on.year == 2026 for s in plan.sessions), "a session not started yet"
    ranks = [v["rank"] for v in e.committees().values()]
    assert len(set(ranks)) > 2


def test_the_database_holds_what_the_generator_planned(province: Engine, plan: Province) -> None:
    from models.tables import Candidate

    table = Candidate.__table__
    with province.connect() as conn:
        stages = dict(conn.execute(select(table.c.id, table.c.stage)).all())
    assert {c.id: c.entries(plan.route(c.cell))[-1][0] for c in plan.candidates} == stages


def test_the_tables_carry_the_figures(province: Engine, plan: Province) -> None:
    r = yearly_report(province, ROOT, 2026, today=TODAY)
    tables = r.tables()
    assert len({t.title for t in tables}) == len(tables) and all(len(t.title) <= 31 for t in tables)
    assert all(len(row) == len(t.header) for t in tables for row in t.rows)
    first = tables[0].rows
    assert first[0][1:] == (r.admitted, 45, pct(r.admitted, 45))
    assert tables[1].rows[0][1] == 1
    assert [row[0] for row in tables[1].rows] == [c.name for c in r.committees]
    assert tables[1].numeric == (False, *[True] * 10)
    assert "kết nạp" in r.summary() and (f"{r.admitted} đảng viên" in r.summary())


def test_a_bad_year_or_unit_is_refused(province: Engine) -> None:
    from models.procedure.engine import InputError

    with pytest.raises(InputError) as err:
        yearly_report(province, ROOT, 2027, today=TODAY)
    assert err.value.problems[0].field == "year"
    with pytest.raises(InputError):
        yearly_report(province, ROOT, 1999, today=TODAY)
    with pytest.raises(LookupError):
        yearly_report(province, "khong-co", 2026, today=TODAY)


# --- targets -------------------------------------------------------------------------------------------------

def test_targets_are_validated_replaced_and_audited(engine: Engine) -> None:
    from models.audit.trail import verify
    from models.procedure.engine import InputError
    from models.tables import AuditEvent
    from models.targets import list_targets, parse_term, set_target
    from tests.reports.province import ACTOR
    from tests.support import import_demo_org

    import_demo_org(engine)
    with pytest.raises(InputError) as err:
        set_target(engine, "cb-ban-na-la", "year", 2026, None, -3, ACTOR, now=NOW)
    assert {p.field for p in err.value.problems} == {"unit", "count"}
    assert any("chi bộ" in p.message_vi for p in err.value.problems)
    with pytest.raises(InputError) as err:
        set_target(engine, "khong-co", "year", 1990, None, 5, ACTOR, now=NOW)
    assert {p.field for p in err.value.problems} == {"unit", "year"}
    with pytest.raises(InputError) as err:
        set_target(engine, "xa-muong-bu", "term", 2025, 2024, 5, ACTOR, now=NOW)
    assert [p.field for p in err.value.problems] == ["term"]
    with pytest.raises(InputError):
        parse_term("2025")

    set_target(engine, "xa-muong-bu", "year", 2026, None, 40, ACTOR, now=NOW)
    replaced = set_target(engine, "xa-muong-bu", "year", 2026, None, 42, ACTOR, now=NOW)
    assert replaced.previous_count == 40
    set_target(engine, "xa-muong-bu", "term", *parse_term("2025–2030"), 150, ACTOR, now=NOW)
    set_target(engine, "xa-muong-bu", "term", 2020, 2025, 120, ACTOR, now=NOW)          # shares 2025 only: allowed
    with pytest.raises(InputError) as err:
        set_target(engine, "xa-muong-bu", "term", 2027, 2031, 9, ACTOR, now=NOW)
    assert err.value.problems[0].code == "overlapping_term"
    assert [(t.period_kind, t.start_year, t.end_year, t.count) for t in list_targets(engine, ["xa-muong-bu"])] == [
        ("term", 2020, 2025, 120), ("term", 2025, 2030, 150), ("year", 2026, 2026, 42)]
    table = AuditEvent.__table__
    with engine.connect() as conn:
        events = conn.execute(select(table.c.kind, table.c.payload).where(table.c.chain_key == "org",
                                                                          table.c.kind == "target_set")).all()
    assert len(events) == 4 and json.loads(events[1].payload)["previous_count"] == 40
    assert verify(engine).ok


# --- exports and the page ---------------------------------------------------------------------------------------

class Tables(HTMLParser):
    """The page's tables: each (title of the h2 before it, header cells, body rows of cell texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[str], list[list[str]]]] = []
        self._h2: str | None = None
        self._title = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self._h2 = ""
        elif tag == "table":
            self.tables.append((self._title, [], []))
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._h2 is not None:
            self._title, self._h2 = self._h2.strip(), None
        elif tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._in_head:
                self.tables[-1][1].extend(self._row)
            else:
                self.tables[-1][2].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._h2 is not None:
            self._h2 += data


def shown(value: Any, number_format: str) -> str:
    """How the page prints an Excel cell: 1.234 · 176,7% · 12,5 · — (written here, not imported)."""
    if value is None:
        return "—"
    if number_format.endswith("%"):
        return f"{value * 100:.1f}".replace(".", ",") + "%"
    if isinstance(value, float) or number_format == "0.0":          # Excel shows 46 as 46,0 under "0.0"
        return f"{value:.1f}".replace(".", ",")
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return str(value)


@pytest.fixture
def web(province: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[TestClient]:
    """The app on the province, with an organisation department account for the whole province signed in."""
    from ketnap.context import use_clock, use_engine
    from ketnap.settings import get_settings
    from models.access import Grant
    from models.accounts import ACCOUNT, NewAccount, create_account, load_principal, open_session
    from tests.reports.province import ACTOR
    from web.app import create_app
    from web.security import SESSION_COOKIE

    monkeypatch.setenv("KETNAP_ORCHESTRATION", "off")
    monkeypatch.setenv("KETNAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KETNAP_SECRET_KEY", "test-secret-key-for-signed-links-0123456789")
    get_settings.cache_clear()
    with province.connect() as conn:
        account_id = conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.username == "btc.tinh")).scalar()
    if account_id is None:
        account_id = create_account(province, NewAccount("btc.tinh", "Ban Tổ chức Tỉnh ủy", "mat-khau-thong-ke-2026",
                                                         (Grant("organisation_department", ROOT),)), ACTOR, now=NOW)
    with province.connect() as conn:
        principal = load_principal(conn, account_id)
    assert principal is not None
    with use_engine(province), use_clock(NOW), TestClient(create_app(), base_url="http://testserver") as client:
        client.cookies.set(SESSION_COOKIE, open_session(province, principal, now=NOW).cookie)
        yield client
    get_settings.cache_clear()


def test_the_excel_sheets_are_the_page_tables(web: TestClient) -> None:
    from openpyxl import load_workbook

    page = web.get(f"/units/{ROOT}/statistics?year=2026")
    assert page.status_code == 200, page.text[:500]
    parsed = Tables()
    parsed.feed(page.text)
    download = web.get(f"/units/{ROOT}/statistics.xlsx?year=2026")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    book = load_workbook(io.BytesIO(download.content))
    assert len(book.worksheets) == len(parsed.tables) >= 12
    for sheet, (title, header, rows) in zip(book.worksheets, parsed.tables, strict=True):
        assert sheet.title == title
        cells = list(sheet.iter_rows())
        assert [c.value for c in cells[0]] == header, title
        assert all(c.font.bold for c in cells[0])
        body = [[shown(c.value, c.number_format) for c in row] for row in cells[1:]]
        assert body == rows, title
        for row in cells[1:]:                     # numbers are numbers
            for c in row:
                if c.value is not None and shown(c.value, c.number_format)[:1].isdigit():
                    assert isinstance(c.value, int | float), (title, c.coordinate, c.value)
        assert sheet.column_dimensions["B"].width and sheet.freeze_panes == "A2"
    assert "<script" not in page.text
    assert page.text.count("<svg") >= 3


def test_the_csv_matches_the_excel_file(web: TestClient) -> None:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(web.get(f"/units/{ROOT}/statistics.xlsx?year=2025").content))
    raw = web.get(f"/units/{ROOT}/statistics.csv?year=2025")
    assert raw.status_code == 200 and raw.content.startswith(b"\xef\xbb\xbf")
    sections = [s.split("\r\n") for s in raw.content.decode("utf-8-sig").split("\r\n\r\n")]
    assert len(sections) == len(book.worksheets)
    for sheet, lines in zip(book.worksheets, sections, strict=True):
        rows = list(csv.reader([line for line in lines if line]))
        assert rows[0] == [sheet.title]
        expected = [["" if c.value is None else (f"{c.value * 100:.1f}" if c.number_format.endswith("%") else
                     f"{c.value:.1f}" if c.number_format == "0.0" else str(c.value)) for c in row]
                    for row in sheet.iter_rows()]
        assert rows[1:] == expected, sheet.title
    one = web.get(f"/units/{ROOT}/statistics.csv?year=2025&table=nghe-nghiep")
    assert one.status_code == 200 and one.content.decode("utf-8-sig").splitlines()[0] == "Nghề nghiệp,Số người,Tỷ lệ (%)"
    assert web.get(f"/units/{ROOT}/statistics.csv?year=2025&table=khong-co").status_code == 422
    bad = web.get(f"/units/{ROOT}/statistics?year=20x6")
    assert bad.status_code == 422 and "Năm" in bad.text
    assert web.get(f"/units/{ROOT}/statistics?year=2031").status_code == 422
    assert web.get("/units/khong-co/statistics").status_code == 404


def test_the_api_gives_the_same_figures(web: TestClient, province: Engine) -> None:
    from models.accounts import ACCOUNT, issue_token
    from tests.reports.province import ACTOR

    with province.connect() as conn:
        account_id = conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.username == "btc.tinh")).scalar_one()
    _, token = issue_token(province, account_id, "tests", ACTOR, now=NOW)
    answer = web.get("/api/v1/units/xa-an-phu/statistics?year=2026", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    body = answer.json()
    expected = yearly_report(province, "xa-an-phu", 2026, today=TODAY).as_dict()
    assert {k: v for k, v in body.items() if k != "tables"} == json.loads(json.dumps(expected))
    assert [t["title"] for t in body["tables"]][:2] == ["Kết nạp và chỉ tiêu", "Theo đơn vị trực thuộc"]
    assert web.get("/api/v1/units/xa-an-phu/statistics?year=1999",
                   headers={"Authorization": f"Bearer {token}"}).json()["error"]["fields"][0]["field"] == "year"


def test_the_cli_prints_and_writes_the_report(province: Engine, plan: Province, tmp_path: Path) -> None:
    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from ketnap.cli.app import app
    from ketnap.context import use_clock, use_engine

    runner = CliRunner()
    with use_engine(province), use_clock(NOW):
        done = runner.invoke(app, ["report", "stats", "xa-binh-minh", "--year", "2026", "--json",
                                   "--xlsx", str(tmp_path / "s.xlsx"), "--csv", str(tmp_path / "s.csv")])
        assert done.exit_code == 0, done.output
        data = json.loads(done.output)
        e = Expect(plan, "xa-binh-minh", 2026)
        assert data["admitted"] == e.admitted_in_year(2026) and data["membership"] == e.membership()
        assert load_workbook(tmp_path / "s.xlsx").sheetnames[0] == "Kết nạp và chỉ tiêu"
        assert (tmp_path / "s.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        text = runner.invoke(app, ["report", "stats", "xa-binh-minh", "--year", "2026"])
        assert text.exit_code == 0 and "Đảng bộ xã Bình Minh" in text.output and "Nghề nghiệp" in text.output
        refused = runner.invoke(app, ["report", "stats", "xa-binh-minh", "--year", "2040"])
        assert refused.exit_code == 2 and "year" in refused.output
        target = runner.invoke(app, ["report", "target", "cb-an-phu-0", "--year", "2026", "--count", "3"])
        assert target.exit_code == 2 and "unit" in target.output
        both = runner.invoke(app, ["report", "target", "xa-an-phu", "--count", "3"])
        assert both.exit_code == 2


# --- the register of probationary members (18-KNĐ) -------------------------------------------------------------

def expected_register(p: Province, unit: str, year: int) -> list[tuple[str, date, date | None, date | None]]:
    """(name, ceremony, recognised on, removed on) in register order, from the generator's records."""
    cells = p.subtree(unit)
    rows = []
    for c in p.candidates:
        ceremony = c.date_of("hold_ceremony")
        if c.cell not in cells or ceremony is None or ceremony.year != year:
            continue
        recognised = add_months(ceremony, 12) if c.date_of("recognise") else None   # effective at the end of probation
        rows.append((ceremony, c.id, f"Người Thứ {c.key}", recognised, c.date_of("remove")))   # the name `build` gives
    return [(name, ceremony, recognised, removed) for ceremony, _, name, recognised, removed in sorted(rows)]


@pytest.mark.parametrize(("unit", "year"), [(ROOT, 2025), ("xa-an-phu", 2025), (ROOT, 2026)])
def test_the_register_lists_the_year_s_ceremonies(province: Engine, plan: Province, unit: str, year: int) -> None:
    from models.register_book import probationary_register

    book = probationary_register(province, unit, year)
    expected = expected_register(plan, unit, year)
    assert expected, "the province has ceremonies in that year"
    got = [(e["full_name"], e["ceremony_on"], e["recognised_on"], e["removed_on"]) for e in book.entries]
    assert got == expected
    assert [e["number"] for e in book.entries] == list(range(1, len(expected) + 1))
    html = book.html()
    assert "SỔ ĐẢNG VIÊN DỰ BỊ" in html and f"Năm {year}" in html


def test_the_register_downloads_are_audited_reads(web: TestClient, province: Engine, plan: Province) -> None:
    from pypdf import PdfReader

    from models.audit.trail import AUDIT

    first = expected_register(plan, ROOT, 2025)[0][0]
    html = web.get(f"/units/{ROOT}/register.html?year=2025")
    assert html.status_code == 200 and first in html.text
    pdf = web.get(f"/units/{ROOT}/register.pdf?year=2025")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "SỔ ĐẢNG VIÊN DỰ BỊ" in text
    assert web.get(f"/units/{ROOT}/register.exe?year=2025").status_code == 422
    assert web.get(f"/units/{ROOT}/register.pdf?year=20x5").status_code == 422
    with province.connect() as conn:
        reads = conn.execute(select(AUDIT.c.actor, AUDIT.c.payload).where(
            AUDIT.c.chain_key == "org", AUDIT.c.event == "read_register")).all()
    assert [json.loads(r.payload)["purpose"] for r in reads][-2:] == ["download 18-KNĐ html", "download 18-KNĐ pdf"]
    assert all(r.actor == "user:btc.tinh" for r in reads[-2:])
