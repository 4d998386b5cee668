"""Benchmark: a province's yearly report, and one candidate's timeline among millions of audit events.

The data: a generated province (1 province committee → 25 commune, ward and agency committees →
grassroots committees, intermediate committees and grassroots cells → about 2,000 cells; villages
and residential groups for coverage, some with no cell), 1,000,000 members (admitted since 1965;
some exempted, transferred, left or dead) and 50,000 candidates listed from 2019 to the day of the
report and walked through the procedure with consistent dates (nominated for the course, certified
at the end of a course session of their area, file, opinions, the cell's vote, appraisal, the
grassroots vote, decision, ceremony, twelve months of probation, the new-member course, recognition;
a few leave the list, withdraw, are refused, removed or transferred): their stage, promoted date
columns, facts, course enrolments, the statutory deadlines their steps opened (met, late, open,
flagged or cancelled, due dates in Vietnamese working days), CV facts (gender, birth date,
ethnicity, religion, Youth Union, trade union, education, qualification, occupation, residence
village), and yearly and term admission targets per committee. Every candidate has an audit chain
("candidate:<id>", seq 1..n) hash-linked exactly as models.audit.trail links it (`ketnap audit
verify` passes): its lifecycle events (created, each transition with its stages, effective date,
flow-run id and idempotency key, which the report reads for time per stage) and as many reads,
sponsors' notes, document and flow-link events as make the requested total (5,000,000 by default,
50 to 150 per candidate), recorded in time order across candidates so that one chain's rows are
scattered through the table as in production. Documents, notifications and notes are not generated.
Everything is bulk-inserted through the raw driver, not through the transition function: it runs
about a thousand steps a second, so these volumes would take hours. SQLite: sqlite3 executemany in
transactions of 100,000 rows with PRAGMA synchronous=OFF on the loading connection only (WAL as
ketnap uses it; foreign keys are not enforced by that connection, the generator keeps them
consistent). PostgreSQL: COPY, then ANALYZE (as autovacuum would soon do). SQLite is not analysed:
ketnap never does. The schema is ketnap's, migrated with models.database.migrate, on a fresh
database (PostgreSQL: one created at 127.0.0.1:5432 as user postgres, dropped at the end).

1. The yearly report: models.statistics.yearly_report(engine, province, year, today=…) for the year
   before the report date, called 1 + N times; the first call is reported apart as cold (new
   process: empty SQLAlchemy caches and connection pool; the operating system's file cache is warm
   from the load). Baseline, interleaved with the report in the same run: the plain SQL a
   hand-written report would start from, `SELECT count(*) FROM candidate WHERE decision_on BETWEEN …`
   and `SELECT count(*) FROM member`, through the raw DB-API connection. Target: p95 ≤ 2 s.
   Checked after timing: the report's admitted count and its members at the end of the year equal
   counts made from the generated rows in Python, by the report's stated definitions.
2. The timeline: models.audit.trail.timeline(conn, id) for random candidates, and the full history
   of models.history.candidate_history (events, reads, deadlines, the chain verified) for others,
   p50/p95 over 500 candidates each; baseline in the same run: a bare
   `SELECT * FROM audit_event WHERE chain_key = ? ORDER BY seq` through the raw DB-API connection,
   for yet other random candidates. Target: timeline p95 ≤ 20 ms. Checked after timing: each sampled
   chain comes back whole (seq 1..n), each sampled history verifies and holds all its events and
   deadlines.

Prints absolute figures (noisy: the machine's two cores are shared) and ratios against the baselines.
Usage: python bench/reports.py [--members 1000000] [--candidates 50000] [--events 5000000] [--runs 10]
       [--samples 500] [--db sqlite|postgres] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine  # noqa: E402

from models.audit.chain import GENESIS, canonical_json, digest, link_hash  # noqa: E402
from models.audit.trail import timeline  # noqa: E402
from models.calendar.periods import add_months  # noqa: E402
from models.calendar.working_days import vietnam_calendar  # noqa: E402
from models.database import make_engine, migrate, reading  # noqa: E402
from models.people import ETHNIC_GROUPS  # noqa: E402

TODAY = date(2026, 11, 20)                  # the day the report is made
YEAR = TODAY.year - 1                        # the year it reports on
PERIOD_END = date(YEAR, 12, 31)
FIRST_LISTED = date(2019, 1, 1)
NEW_RULES_ON = date(2025, 7, 1)              # qd294-2025 in force
SEED = 7
BATCH = 100_000
PG_URL = os.environ.get("KETNAP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Lò", "Cà", "Quàng", "Điêu", "Vì", "Tòng",
          "Lường", "Giàng", "Sùng", "Hà", "Đinh", "Mùa")
MIDDLE_M = ("Văn", "Đức", "Minh", "Thanh", "Quốc", "A")
MIDDLE_F = ("Thị", "Ngọc", "Thu", "Thanh", "Minh")
GIVEN_M = ("An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phong", "Sơn", "Tiến", "Tuấn", "Việt")
GIVEN_F = ("Anh", "Dung", "Hà", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Oanh", "Phượng", "Thảo", "Xuân")
PLACES = ("Mường Bú", "Chiềng Mai", "Nà Sản", "Phiêng Pằn", "Tà Xùa", "Mường Chiên", "Chiềng Sinh", "Hua La",
          "Bó Sinh", "Long Hẹ", "Púng Bánh", "Mường Giôn", "Chiềng Khoong", "Nặm Ét", "Pắc Ngà", "Tô Hiệu",
          "Chiềng Lề", "Quyết Thắng", "Chiềng An", "Chiềng Cơi", "Mường La", "Tạ Bú", "Ngọc Chiến", "Sốp Cộp")
AGENCIES = ("Khối các cơ quan tỉnh", "Khối doanh nghiệp tỉnh", "Quân sự tỉnh", "Công an tỉnh", "Bộ đội Biên phòng tỉnh")
WORKPLACES = ("Trường THPT", "Trường THCS", "Công ty Cổ phần Chè", "Bệnh viện Đa khoa", "Hợp tác xã Nông nghiệp",
              "Trường Tiểu học", "Công ty TNHH May", "Ban Chỉ huy Quân sự")
RELIGIONS = (("Phật giáo", 6), ("Công giáo", 4), ("Tin Lành", 2))
MINORITIES = tuple(g for g in ETHNIC_GROUPS if g not in ("Kinh", "Thái", "Mông", "Mường"))
OCCUPATION_WEIGHTS = {
    "commune": {"farmer": 30, "worker": 8, "civil_servant": 8, "teacher": 8, "village_cadre": 10, "high_school_student": 6,
                "university_student": 4, "soldier": 3, "private_enterprise_staff": 8, "foreign_enterprise_staff": 2,
                "business_owner": 2, "self_employed": 8, "other": 3},
    "agency": {"civil_servant": 45, "soldier": 30, "worker": 8, "teacher": 5, "university_student": 4,
               "private_enterprise_staff": 5, "other": 3},
}
QUALIFICATION = {"civil_servant": "Đại học", "teacher": "Đại học", "soldier": "Trung cấp", "university_student": None}
STANDINGS = (("active", 920), ("exempted", 40), ("temporarily_transferred", 20), ("left", 15), ("died", 5))


# --------------------------------------------------------------------------- the province

@dataclass
class Cell:
    id: str
    area: str                 # the commune / ward / agency committee above it (courses are organised per area)
    route: str                # intermediate | grassroots | grassroots_cell: which votes its candidates go through
    villages: list[str]       # villages of the commune, for residence
    weight: float
    first_member: int = 0     # member ids first_member .. first_member + members - 1
    members: int = 0


@dataclass
class Province:
    root: str
    units: list[dict[str, Any]] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    areas: list[tuple[str, str, str]] = field(default_factory=list)     # (id, kind, name)

    def count(self, kind: str) -> int:
        return sum(1 for u in self.units if u["kind"] == kind)


def build_province(n_cells: int, rng: random.Random) -> Province:
    """1 province committee → committees → grassroots organisations → cells, with villages under communes."""
    p = Province(root="tinh-bac-son")
    unit = p.units.append

    def add(uid: str, parent: str | None, kind: str, name: str, **extra: Any) -> str:
        unit({"id": uid, "parent_id": parent, "kind": kind, "name": name, "authorised_to_admit": False,
              "competent_unit_id": None, "committee_size": None, "has_youth_union": False, "has_trade_union": False,
              "covered_by_cell_id": None} | extra)
        return uid

    add(p.root, None, "province_committee", "Đảng bộ tỉnh Bắc Sơn", committee_size=55)
    n_areas = max(3, min(25, n_cells // 80))
    n_agencies = max(1, n_areas // 5)
    n_wards = max(1, n_areas // 5)
    shares = [rng.uniform(0.6, 1.4) for _ in range(n_areas)]
    per_area = [max(3, round(n_cells * s / sum(shares))) for s in shares]
    for a in range(n_areas):
        k = per_area[a]
        if a < n_agencies:
            kind, aid, name = "agency", f"k{a + 1:02d}", f"Đảng bộ {AGENCIES[a % len(AGENCIES)]}"
        elif a < n_agencies + n_wards:
            kind, aid, name = "ward", f"p{a + 1:02d}", f"Đảng bộ phường {PLACES[a % len(PLACES)]}"
        else:
            kind, aid, name = "commune", f"x{a + 1:02d}", f"Đảng bộ xã {PLACES[a % len(PLACES)]}"
        add(aid, p.root, "agency_committee" if kind == "agency" else "commune_committee", name,
            authorised_to_admit=kind != "agency", committee_size=15, has_youth_union=True, has_trade_union=True)
        p.areas.append((aid, kind, name))
        direct = 0 if kind == "agency" else round(k * 0.5)
        gcells = max(1, round(k * (0.3 if kind == "agency" else 0.12)))
        rest = max(0, k - direct - gcells)
        villages: list[str] = []
        place = PLACES[a % len(PLACES)] if kind != "agency" else AGENCIES[a % len(AGENCIES)]
        for i in range(direct):
            vid = f"{aid}-v{i + 1:03d}"
            cid = add(f"{aid}-cb{i + 1:03d}", aid, "cell",
                      f"Chi bộ {'tổ dân phố' if kind == 'ward' else 'bản'} {i + 1} {place}", has_youth_union=rng.random() < 0.6)
            villages.append(vid)
            p.cells.append(Cell(cid, aid, "grassroots", villages, rng.uniform(0.3, 1.7)))
        uncovered = max(1, direct // 10) if direct else 0       # villages with no cell of their own
        villages.extend(f"{aid}-v{i + 1:03d}" for i in range(direct, direct + uncovered))
        for i, vid in enumerate(villages):
            add(vid, aid, "residential_group" if kind == "ward" else "village",
                f"{'Tổ dân phố' if kind == 'ward' else 'Bản'} {i + 1} {place}",
                covered_by_cell_id=f"{aid}-cb{i + 1:03d}" if i < direct else None)
        for i in range(gcells):
            cid = add(f"{aid}-cs{i + 1:02d}", aid, "grassroots_cell", f"Chi bộ {WORKPLACES[i % len(WORKPLACES)]} {place} {i + 1}",
                      has_trade_union=True)
            p.cells.append(Cell(cid, aid, "grassroots_cell", villages, rng.uniform(0.3, 1.7)))
        g = 0
        while rest > 0:
            g += 1
            size = min(rest, rng.randint(4, 10))
            rest -= size
            gid = add(f"{aid}-g{g:02d}", aid, "grassroots_committee", f"Đảng bộ {WORKPLACES[g % len(WORKPLACES)]} {place} {g}",
                      committee_size=rng.choice((7, 9, 11)), has_youth_union=True, has_trade_union=True)
            split = size // 2 if size >= 4 and rng.random() < 1 / 3 else 0
            if split:
                bp = add(f"{gid}-bp", gid, "intermediate_committee", f"Đảng bộ bộ phận {g} {place}", committee_size=5)
            for i in range(size):
                parent, route = (bp, "intermediate") if i < split else (gid, "grassroots")
                cid = add(f"{gid}-cb{i + 1:02d}", parent, "cell", f"Chi bộ {i + 1} {WORKPLACES[g % len(WORKPLACES)]} {place}",
                          has_youth_union=rng.random() < 0.7, has_trade_union=True)
                p.cells.append(Cell(cid, aid, route, villages, rng.uniform(0.3, 1.7)))
    return p


# --------------------------------------------------------------------------- members

def person_name(rng: random.Random, woman: bool) -> str:
    middle, given = (MIDDLE_F, GIVEN_F) if woman else (MIDDLE_M, GIVEN_M)
    return f"{rng.choice(FAMILY)} {rng.choice(middle)} {rng.choice(given)}"


def ethnicity(rng: random.Random) -> str:
    x = rng.random()
    return "Kinh" if x < 0.55 else "Thái" if x < 0.75 else "Mông" if x < 0.85 else "Mường" if x < 0.9 else rng.choice(MINORITIES)


def allot_members(province: Province, n_members: int, rng: random.Random) -> None:
    """Members per cell in proportion to the cells' weights; each cell's members get consecutive ids."""
    total = sum(c.weight for c in province.cells)
    left = n_members
    for i, cell in enumerate(province.cells):
        cell.members = left if i == len(province.cells) - 1 else min(left, round(n_members * cell.weight / total))
        left -= cell.members
    first = 1
    for cell in province.cells:
        cell.first_member, first = first, first + cell.members


MEMBER_COLUMNS = ("id", "code", "full_name", "gender", "birth_date", "ethnicity", "cell_id", "admitted_on", "recognised_on",
                  "standing", "left_on")


def member_rows(province: Province, rng: random.Random, standings: Counter[str]) -> Iterator[tuple[Any, ...]]:
    """Members admitted from 1965 on (more recently, more of them). Tallies their standing today, and
    "at_period_end" / "full_at_period_end": members on 31/12 of the report's year (admitted by then, not gone by
    then; a member marked left or died counts as gone from the day recorded) and those of them recognised by then."""
    span = (TODAY - date(1965, 1, 1)).days
    kinds, weights = zip(*STANDINGS, strict=True)
    cum = list(itertools.accumulate(weights))
    for cell in province.cells:
        for mid in range(cell.first_member, cell.first_member + cell.members):
            woman = rng.random() < 0.36
            admitted = TODAY - timedelta(days=int(span * rng.random() ** 1.6))
            birth = admitted - timedelta(days=rng.randint(18 * 366, 45 * 365))
            recognised = add_months(admitted, 12) if add_months(admitted, 12) <= TODAY else None
            standing = rng.choices(kinds, cum_weights=cum)[0]
            if standing == "exempted" and birth > date(1960, 1, 1):
                standing = "active"
            standings[standing] += 1
            left = admitted + timedelta(days=rng.randint(400, 4000)) if standing in ("left", "died") else None
            if left is not None and left > TODAY:
                left = TODAY - timedelta(days=rng.randint(1, 300))
            if admitted <= PERIOD_END and (left is None or left > PERIOD_END):
                standings["at_period_end"] += 1
                standings["full_at_period_end"] += recognised is not None and recognised <= PERIOD_END
            yield (mid, f"DV{mid:08d}", person_name(rng, woman), "nu" if woman else "nam", birth, ethnicity(rng), cell.id,
                   admitted, recognised, standing, left)


# --------------------------------------------------------------------------- candidates

@dataclass
class Session:
    id: int
    kind: str
    area: str
    starts_on: date
    ends_on: date
    learners: int = 0


def course_sessions(province: Province, rng: random.Random) -> dict[tuple[str, str], list[Session]]:
    """Awareness sessions about every 45 days and new-member sessions every quarter, per area."""
    out: dict[tuple[str, str], list[Session]] = {}
    n = 0
    for aid, _, _ in province.areas:
        for kind, every in (("awareness", 45), ("new_member", 90)):
            day = FIRST_LISTED + timedelta(days=rng.randint(10, every))
            while day <= TODAY + timedelta(days=120):
                n += 1
                out.setdefault((aid, kind), []).append(Session(n, kind, aid, day, day + timedelta(days=rng.randint(5, 9))))
                day += timedelta(days=every + rng.randint(-7, 7))
    return out


def next_session(sessions: list[Session], after: date) -> Session | None:
    for s in sessions:                      # few sessions per area: a scan is fine
        if s.starts_on >= after:
            return s
    return None


@dataclass
class Walked:
    """One candidate: the columns of its row, its course enrolments and its lifecycle events."""
    row: dict[str, Any]
    enrolments: list[tuple[Any, ...]]
    events: list[tuple[str, date, str | None, str, str, str]]    # (event, on, stage before, stage after, actor, role)


CANDIDATE_COLUMNS = (
    "id", "full_name", "birth_date", "gender", "ethnicity", "religion", "general_education_grade", "education_exemption",
    "qualification", "occupation", "youth_union_member", "trade_union_member", "residence_village_id", "work_unit",
    "over_60_consent_ref", "prior_left_on", "prior_leave_reason", "prior_expunged_conviction", "prior_readmitted_before",
    "readmission_request_on", "readmission_consent_ref", "cell_id", "ruleset_version", "stage", "version", "last_event_on",
    "facts", "source_listed_on", "awareness_certificate_on", "cell_resolution_on", "decision_on", "ceremony_on",
    "probation_ends_on", "recognised_on", "closed_on", "helper_member_id", "new_member_certificate_on", "audit_seq",
    "audit_head", "created_at",
)
ENROLMENT_COLUMNS = ("session_id", "candidate_id", "status", "enrolled_on", "certificate_number", "certificate_on")


def days(rng: random.Random, lo: int, hi: int) -> timedelta:
    return timedelta(days=rng.randint(lo, hi))


def walk_candidate(cid: int, cell: Cell, area_kind: str, sessions: dict[tuple[str, str], list[Session]],
                   rng: random.Random) -> Walked:
    """A candidate listed between 2019 and today, walked step by step until the next step would fall after today."""
    listed = FIRST_LISTED + timedelta(days=rng.randint(0, (TODAY - FIRST_LISTED).days - 14))
    woman = rng.random() < 0.48
    x = rng.random()
    age_years = rng.randint(18, 22) if x < 0.4 else rng.randint(23, 30) if x < 0.8 else rng.randint(31, 45) if x < 0.97 \
        else rng.randint(46, 58)
    birth = listed - timedelta(days=age_years * 365 + rng.randint(0, 360))
    occupations = OCCUPATION_WEIGHTS["agency" if area_kind == "agency" else "commune"]
    occupation = rng.choices(list(occupations), weights=list(occupations.values()))[0]
    if occupation == "high_school_student":
        birth = listed - timedelta(days=18 * 365 + rng.randint(5, 200))
    y = rng.random()
    religion = next((r for r, cum in ((r, sum(w for _, w in RELIGIONS[:i + 1])) for i, (r, _) in enumerate(RELIGIONS))
                     if y * 100 < cum), None)
    grade, exemption = (12, None) if rng.random() < 0.86 else (9, None) if rng.random() < 0.8 else (7, "ethnic_minority_area")
    secretary, office = (f"bithu.{cell.id}", "secretary"), (f"vanphong.{cell.area}", "committee")
    row: dict[str, Any] = {
        "id": cid, "full_name": person_name(rng, woman), "birth_date": birth, "gender": "nu" if woman else "nam",
        "ethnicity": ethnicity(rng), "religion": religion, "general_education_grade": grade, "education_exemption": exemption,
        "qualification": QUALIFICATION.get(occupation, rng.choice((None, "Trung cấp", "Cao đẳng", "Đại học"))),
        "occupation": occupation, "youth_union_member": age_years <= 30 and rng.random() < 0.85,
        "trade_union_member": occupation in ("worker", "civil_servant", "teacher", "private_enterprise_staff",
                                             "foreign_enterprise_staff") and rng.random() < 0.8,
        "residence_village_id": rng.choice(cell.villages) if cell.villages else None,
        "work_unit": None if occupation in ("farmer", "self_employed") else f"{WORKPLACES[cid % len(WORKPLACES)]} {cell.area}",
        "over_60_consent_ref": None, "prior_left_on": None, "prior_leave_reason": None, "prior_expunged_conviction": False,
        "prior_readmitted_before": False, "readmission_request_on": None, "readmission_consent_ref": None,
        "cell_id": cell.id, "ruleset_version": "qd294-2025" if listed >= NEW_RULES_ON else "qd24-2021", "stage": "source",
        "version": 1, "last_event_on": listed, "source_listed_on": listed, "awareness_certificate_on": None,
        "cell_resolution_on": None, "decision_on": None, "ceremony_on": None, "probation_ends_on": None,
        "recognised_on": None, "closed_on": None, "helper_member_id": None, "new_member_certificate_on": None,
        "created_at": datetime.combine(listed, datetime.min.time()) + timedelta(hours=rng.randint(1, 9)),
    }
    facts: dict[str, Any] = {}
    enrolments: list[tuple[Any, ...]] = []
    events: list[tuple[str, date, str | None, str, str, str]] = [("created", listed, None, "source", *secretary)]
    state = {"on": listed}

    def step(event: str, on: date, after: str, actor: tuple[str, str], **recorded: Any) -> bool:
        """Apply the step when it happened by today; False stops the walk."""
        if on > TODAY or on < state["on"]:
            return False
        events.append((event, on, row["stage"], after, *actor))
        row["stage"], row["last_event_on"], row["version"] = after, on, row["version"] + 1
        for k, v in recorded.items():
            if k in row:
                row[k] = v
            else:
                facts[k] = v.isoformat() if isinstance(v, date) else v
        state["on"] = on
        return True

    def closes(event: str, on: date, after: str, actor: tuple[str, str], reason: str) -> None:
        step(event, on, after, actor, closed_on=on, closure_reason=reason)

    def ended(chance: float, event: str, after: str, actor: tuple[str, str], reason: str, lo: int, hi: int) -> bool:
        if rng.random() < chance:
            closes(event, state["on"] + days(rng, lo, hi), after, actor, reason)
            return True
        return False

    def walked() -> Walked:
        """The candidate as walked so far (every early return: the next step would fall after today, or the file ended)."""
        return Walked(row | {"facts": facts}, enrolments, events)

    route = cell.route
    nominated = listed + days(rng, 30, 240)
    if ended(0.04, "leave_source_list", "left_source_list", secretary, "không còn đủ điều kiện", 20, 300) or \
            not step("nominate_for_course", nominated, "awareness_course", secretary, course_nominated_on=nominated):
        return walked()
    session = next_session(sessions[(cell.area, "awareness")], nominated + timedelta(days=7))
    if session is None:
        return walked()
    enrolled = nominated + days(rng, 1, 5)
    certified_on = session.ends_on + days(rng, 0, 10)
    if enrolled > TODAY:
        return walked()
    session.learners += 1
    if session.ends_on <= TODAY and rng.random() < 0.02:
        enrolments.append((session.id, cid, "absent", enrolled, None, None))
        step("fail_course", session.ends_on + days(rng, 1, 5), "source", (f"ttct.{cell.area}", "committee"))
        return walked()
    number = f"CN-{session.id}-{cid}"
    if not step("record_awareness_certificate", certified_on, "file_preparation", (f"ttct.{cell.area}", "committee"),
                awareness_certificate_on=certified_on, awareness_certificate_number=number):
        enrolments.append((session.id, cid, "attended" if session.ends_on <= TODAY else "enrolled", enrolled, None, None))
        return walked()
    enrolments.append((session.id, cid, "certified", enrolled, number, certified_on))
    leaving, left_to = ("leave_source_list", "left_source_list") if rng.random() < 0.5 else ("withdraw", "withdrawn")
    if ended(0.03, leaving, left_to, secretary, "chuyển nơi ở", 10, 200):
        return walked()
    filed = certified_on + days(rng, 30, 150)
    if not step("complete_file", filed, "opinions", secretary, application_on=filed - days(rng, 20, 40),
                cv_certified_on=filed - days(rng, 3, 15), background_verified_on=filed - days(rng, 1, 10)):
        return walked()
    on = filed + days(rng, 10, 45)
    if not step("summarise_opinions", on, "cell_review", secretary, opinions_summarised_on=on):
        return walked()
    vote = state["on"] + days(rng, 7, 40)
    if rng.random() < 0.03:
        closes("cell_rejects", vote, "not_admitted", secretary, "không đủ hai phần ba")
        return walked()
    after_cell = {"intermediate": "intermediate_appraisal", "grassroots": "grassroots_review"}.get(route, "awaiting_decision")
    if not step("cell_approves", vote, after_cell, secretary, cell_resolution_on=vote, cell_approve=rng.randint(3, 30)):
        return walked()
    on = vote + days(rng, 5, 25)
    if route == "intermediate" and not step("appraise", on, "grassroots_review", office, appraisal_on=on):
        return walked()
    if route != "grassroots_cell":
        on = state["on"] + days(rng, 7, 30)
        if rng.random() < 0.02:
            closes("grassroots_rejects", on, "not_admitted", office, "không đủ hai phần ba")
            return walked()
        if not step("grassroots_approves", on, "awaiting_decision", office, grassroots_resolution_on=on):
            return walked()
    decided = state["on"] + days(rng, 20, 95)
    if rng.random() < 0.01:
        closes("refuse_admission", decided, "not_admitted", office, "chưa đủ tiêu chuẩn")
        return walked()
    received = decided + days(rng, 0, 7)
    if not step("admit", decided, "awaiting_ceremony", office, decision_on=decided, decision_number=f"{cid}-QĐ/ĐU",
                decision_received_on=received):
        return walked()
    ceremony = received + days(rng, 5, 45)
    helper = cell.first_member + rng.randrange(cell.members) if cell.members else None
    if not step("hold_ceremony", ceremony, "probation", secretary, ceremony_on=ceremony,
                probation_ends_on=add_months(ceremony, 12), helper_member_id=helper):
        return walked()
    if rng.random() < 0.01:
        closes("remove", ceremony + days(rng, 90, 330), "removed", office, "vi phạm tư cách đảng viên")
        return walked()
    if rng.random() < 0.005:
        closes("transfer_out", ceremony + days(rng, 30, 300), "transferred_out", secretary, "chuyển sinh hoạt đảng")
        return walked()
    session = next_session(sessions[(cell.area, "new_member")], ceremony + timedelta(days=14))
    if session is not None and session.starts_on <= TODAY:
        session.learners += 1
        on = session.ends_on + days(rng, 0, 10)
        if step("record_new_member_certificate", on, "probation", (f"ttct.{cell.area}", "committee"),
                new_member_certificate_on=on, new_member_certificate_number=f"ĐVM-{session.id}-{cid}"):
            enrolments.append((session.id, cid, "certified", ceremony + days(rng, 1, 10), f"ĐVM-{session.id}-{cid}", on))
        else:
            enrolments.append((session.id, cid, "attended" if session.ends_on <= TODAY else "enrolled",
                               ceremony + days(rng, 1, 10), None, None))
    ends = row["probation_ends_on"]
    if not step("open_recognition", max(ends, state["on"]), "recognition_review", ("system:deadline-sweep", "system")):
        return walked()
    if not step("record_recognition_documents", state["on"] + days(rng, 1, 10), "recognition_review", secretary,
                self_review_on=ends - days(rng, 0, 10), helper_review_on=ends - days(rng, 0, 10)):
        return walked()
    after_cell = {"intermediate": "recognition_appraisal", "grassroots": "recognition_grassroots_review"}.get(
        route, "awaiting_recognition_decision")
    on = state["on"] + days(rng, 3, 25)
    if not step("cell_recognises", on, after_cell, secretary, recognition_cell_resolution_on=on):
        return walked()
    on = state["on"] + days(rng, 5, 20)
    if route == "intermediate" and not step("recognition_appraise", on, "recognition_grassroots_review", office,
                                            recognition_appraisal_on=on):
        return walked()
    if route != "grassroots_cell":
        on = state["on"] + days(rng, 5, 25)
        if not step("grassroots_recognises", on, "awaiting_recognition_decision", office,
                    recognition_grassroots_resolution_on=on):
            return walked()
    on = state["on"] + days(rng, 7, 40)
    step("recognise", on, "full_member", office, recognition_decision_on=on, recognised_on=ends, closed_on=on)
    return walked()


# --------------------------------------------------------------------------- audit chains and deadlines

AUDIT_COLUMNS = ("id", "chain_key", "seq", "candidate_id", "kind", "event", "actor", "role", "effective_on", "recorded_at",
                 "stage_before", "stage_after", "reason", "ruleset_version", "flow_run_id", "idempotency_key",
                 "request_digest", "payload", "payload_digest", "documents", "prev_hash", "hash")
FILLERS = (("read", 55, ("web view", "api read", "history", "dossier", "cli show")),
           ("note_received", 25, None), ("documents", 8, None), ("flow_linked", 7, None), ("deadline_overdue", 5, None))
FILLER_KINDS, FILLER_WEIGHTS = zip(*((k, w) for k, w, _ in FILLERS), strict=True)
READ_PURPOSES = FILLERS[0][2]
CLOSING_STAGES = frozenset({"not_admitted", "withdrawn", "left_source_list", "removed", "full_member", "transferred_out"})
DEADLINE_COLUMNS = ("candidate_id", "clock", "kind", "who_acts", "starts_on", "due_on", "extended_days", "status", "closed_on",
                    "ruleset_version", "calendar_version", "opened_by_event_id", "flagged_on")


def chain_quotas(n_candidates: int, n_events: int, rng: random.Random) -> list[int]:
    """Events per candidate: n_events / n_candidates on average, spread ±50 %, summing to n_events."""
    base, extra = divmod(n_events, n_candidates)
    quotas = [base + (1 if i < extra else 0) for i in range(n_candidates)]
    for i in range(0, n_candidates - 1, 2):
        d = rng.randint(-base // 2, base // 2)
        quotas[i] += d
        quotas[i + 1] -= d
    return quotas


@lru_cache(maxsize=4096)
def payload_digest(payload: str) -> str:
    return digest(payload)


def chain_rows(cid: int, walked: Walked, quota: int, rng: random.Random) -> list[list[Any]]:
    """The candidate's chain, hash-linked as models.audit.trail.append links it: its lifecycle events (created, then
    each transition with its stages, flow run and idempotency key), then reads, notes received, document and flow-link
    events at random moments until `quota`, all in time order. Rows lack their id (given once interleaved)."""
    key, row = f"candidate:{cid}", walked.row
    moments: list[tuple[datetime, int, tuple[Any, ...]]] = []
    last = datetime.min
    for i, (event, on, before, after, actor, role) in enumerate(walked.events):
        at = max(datetime.combine(on, datetime.min.time()) + timedelta(days=rng.randint(0, 4), minutes=rng.randint(60, 600)),
                 last + timedelta(minutes=1))
        last = at
        if event == "created":
            moments.append((at, i, ("created", None, actor, role, on, None, after, row["ruleset_version"], None, None,
                                    canonical_json({"source": "import", "cell_id": row["cell_id"]}))))
            continue
        payload = canonical_json({"inputs": {"on": on}, "records": {}, "deadlines": [], "forms": []})
        moments.append((at, i, ("transition", event, actor, role, on, before, after, row["ruleset_version"],
                                f"{cid:08x}-0000-4000-8000-{i:012x}", f"bench-{cid}-{i}", payload)))
    end = min(datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=9),
              max(last, datetime.combine(row["last_event_on"] + timedelta(days=400), datetime.min.time())))
    start = moments[0][0]
    span = max(60.0, (end - start).total_seconds())
    readers = ((f"bithu.{row['cell_id']}", "secretary"), ("bantochuc.tinh", "organisation_department"),
               (f"vanphong.{row['cell_id'].split('-')[0]}", "committee"))
    for j in range(max(0, quota - len(moments))):
        at = start + timedelta(seconds=int(rng.random() * span))
        kind = rng.choices(FILLER_KINDS, weights=FILLER_WEIGHTS)[0]
        if kind == "read":
            actor, role = readers[j % 3]
            payload = canonical_json({"purpose": READ_PURPOSES[j % len(READ_PURPOSES)]})
        elif kind == "note_received":
            actor, role = (f"member:{row['helper_member_id'] or 0}", "sponsor")
            payload = canonical_json({"meeting_on": at.date(), "member_id": row["helper_member_id"]})
        else:
            actor, role = readers[0] if kind == "documents" else (f"system:{kind}", "system")
            payload = canonical_json({"kind": kind})
        moments.append((at, len(walked.events) + j, (kind, None, actor, role, None, None, None, None, None, None, payload)))
    moments.sort()
    out: list[list[Any]] = []
    prev = GENESIS
    for seq, (at, _, (kind, event, actor, role, on, before, after, rules, run, idem, payload)) in enumerate(moments, 1):
        fields = [key, seq, cid, kind, event, actor, role, on, at, before, after, None, rules, run, idem, None,
                  payload_digest(payload), "[]", prev]                       # HASHED_FIELDS, in order
        prev = link_hash(fields)
        out.append([None, *fields[:16], payload, *fields[16:], prev])
    return out


@lru_cache(maxsize=65536)
def working_days_after(start: date, count: int) -> date:
    return CALENDAR.add_working_days(start, count)


def deadline_rows(walked: Walked) -> list[list[Any]]:
    """The statutory clocks the candidate's steps opened, met, missed, let elapse or cancelled, as the transition
    function and the daily sweep leave them. The last field is the lifecycle index of the opening event (its audit
    id once known)."""
    row, facts = walked.row, walked.row["facts"]
    open_: dict[str, list[Any]] = {}
    out: list[list[Any]] = []

    def start(i: int, clock: str, kind: str, who: str, starts: date, due: date) -> None:
        d = [row["id"], clock, kind, who, starts, due, 0, "open", None, row["ruleset_version"], CALENDAR.version, i, None]
        open_[clock] = d
        out.append(d)

    def close(clock: str, status: str, on: date) -> None:
        d = open_.pop(clock)
        d[7], d[8] = status, on

    for i, (event, on, _, after, _, _) in enumerate(walked.events):
        for clock in [c for c in open_ if event in DEADLINE_STOPS[c]]:
            close(clock, "met" if on <= open_[clock][5] else "late", on)
        for clock in [c for c, d in open_.items() if d[2] == "period" and d[5] <= on]:
            close(clock, "elapsed", open_[clock][5])
        if after in CLOSING_STAGES:
            for clock in list(open_):
                close(clock, "cancelled", on)
        if event == "cell_approves":
            start(i, "admission_decision", "deadline", "competent_committee", on, working_days_after(on, 60))
        elif event == "admit":
            received = date.fromisoformat(facts["decision_received_on"])
            start(i, "ceremony", "deadline", "cell", received, working_days_after(received, 30))
        elif event == "hold_ceremony":
            ends = row["probation_ends_on"]
            start(i, "probation", "period", "cell", on, ends)
            start(i, "recognition_vote", "deadline", "cell", ends, working_days_after(ends, 30))
        elif event == "cell_recognises":
            start(i, "recognition_decision", "deadline", "competent_committee", on, working_days_after(on, 30))
    for d in out:                                  # the daily sweep flags a deadline still open after its last day
        flagged = CALENDAR.next_working_day(d[5] + timedelta(days=1))
        if d[2] == "deadline" and flagged <= TODAY and (d[7] == "open" or (d[7] == "late" and flagged < d[8])):
            d[12] = flagged
    return out


DEADLINE_STOPS = {"admission_decision": ("admit", "refuse_admission"), "ceremony": ("hold_ceremony",),
                  "probation": (), "recognition_vote": ("cell_recognises", "cell_recognition_vote_fails", "propose_removal"),
                  "recognition_decision": ("recognise", "remove")}
CALENDAR = vietnam_calendar()

def target_rows(province: Province, candidates: list[dict[str, Any]], rng: random.Random) -> list[tuple[Any, ...]]:
    """Yearly targets (the year before, the year, the year after) and the 2020–2025 and 2025–2030 terms for the
    province and each committee under it, within ±30 % of what the generated files achieve."""
    decided = Counter((c["area"], c["decision_on"].year) for c in candidates if c["decision_on"] is not None)
    set_at = datetime(YEAR - 1, 12, 15, 2, 0)
    out = []
    for unit, areas in ((province.root, [a for a, _, _ in province.areas]), *((a, [a]) for a, _, _ in province.areas)):
        def got(first: int, last: int, areas: list[str] = areas) -> int:
            return sum(n for (area, year), n in decided.items() if area in areas and first <= year <= last)

        for year in (YEAR - 1, YEAR, YEAR + 1):
            out.append((unit, "year", year, year, max(1, round(got(year, year) * rng.uniform(0.7, 1.3))), "bantochuc.tinh",
                        set_at))
        for first, last in ((2020, 2025), (2025, 2030)):
            out.append((unit, "term", first, last, max(1, round(got(2020, 2024) * rng.uniform(1.0, 1.4))), "bantochuc.tinh",
                        set_at))
    return out


# --------------------------------------------------------------------------- bulk loading

class Bulk:
    """Bulk insertion through the raw driver: sqlite3 executemany, or psycopg COPY, in transactions of BATCH rows."""

    def __init__(self, url: str):
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")          # the bulk load only; ketnap's connections use FULL
            self.conn.execute("PRAGMA cache_size=-1000000")      # 1 GB page cache for the indexes being filled
        else:
            import psycopg

            self.conn = psycopg.connect(url)
            self.conn.execute("SET synchronous_commit = off")

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        n, it = 0, iter(rows)
        while chunk := list(itertools.islice(it, BATCH)):
            if self.sqlite:
                self.conn.execute("BEGIN")
                self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                                      chunk)
                self.conn.execute("COMMIT")
            else:
                with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
                self.conn.commit()
            n += len(chunk)
        return n

    def finish(self, tables: Sequence[str]) -> None:
        if self.sqlite:
            self.conn.close()
            return
        with self.conn.cursor() as cur:
            for table in tables:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            self.conn.commit()
            self.conn.autocommit = True
            cur.execute("ANALYZE")
        self.conn.close()


sqlite3.register_adapter(date, date.isoformat)                                        # SQLAlchemy's storage formats
sqlite3.register_adapter(datetime, lambda v: v.strftime("%Y-%m-%d %H:%M:%S.%f"))


@dataclass
class Generated:
    province: Province
    standings: Counter[str]
    candidates: list[dict[str, Any]]
    chain_lengths: dict[int, int]
    deadline_counts: dict[int, int]
    events: int
    deadlines: int
    enrolments: int
    sessions: int
    seconds: float


def generate(url: str, n_members: int, n_candidates: int, n_events: int, n_cells: int, rng: random.Random) -> Generated:
    start = time.perf_counter()
    province = build_province(n_cells, rng)
    allot_members(province, n_members, rng)
    bulk = Bulk(url)
    bulk.insert("org_unit", tuple(province.units[0]), (tuple(u.values()) for u in province.units))
    standings: Counter[str] = Counter()
    bulk.insert("member", MEMBER_COLUMNS, member_rows(province, rng, standings))
    sessions = course_sessions(province, rng)
    area_kind = {aid: kind for aid, kind, _ in province.areas}
    weights = list(itertools.accumulate(c.weight for c in province.cells))
    quotas = chain_quotas(n_candidates, n_events, rng)
    candidates: list[dict[str, Any]] = []
    chain_lengths: dict[int, int] = {}
    deadline_counts: dict[int, int] = {}
    enrolments: list[tuple[Any, ...]] = []
    events = deadlines = 0
    group = 2_500                      # candidates whose events are interleaved in time order: memory stays bounded
    for first in range(1, n_candidates + 1, group):
        rows: list[tuple[Any, ...]] = []
        audit: list[list[Any]] = []
        clocks: list[list[Any]] = []
        for cid in range(first, min(n_candidates, first + group - 1) + 1):
            cell = rng.choices(province.cells, cum_weights=weights)[0]
            w = walk_candidate(cid, cell, area_kind[cell.area], sessions, rng)
            chain = chain_rows(cid, w, quotas[cid - 1], rng)
            opened = deadline_rows(w)
            deadline_counts[cid] = len(opened)
            clocks.extend(opened)
            w.row["audit_seq"], w.row["audit_head"] = len(chain), chain[-1][-1]
            w.row["facts"] = json.dumps(w.row["facts"], ensure_ascii=False, sort_keys=True)
            rows.append(tuple(w.row[c] for c in CANDIDATE_COLUMNS))
            candidates.append({"id": cid, "area": cell.area, "stage": w.row["stage"], "decision_on": w.row["decision_on"]})
            chain_lengths[cid] = len(chain)
            enrolments.extend(w.enrolments)
            audit.extend(chain)
        audit.sort(key=lambda r: r[9])                                     # recorded_at: chains interleave
        opened: dict[str, int] = {}
        for n, r in enumerate(audit, events + 1):
            r[0] = n
            if r[15] is not None:                                          # idempotency key bench-<cid>-<index>
                opened[r[15]] = n
        for d in clocks:
            d[11] = opened[f"bench-{d[0]}-{d[11]}"]
        bulk.insert("candidate", CANDIDATE_COLUMNS, rows)
        events += bulk.insert("audit_event", AUDIT_COLUMNS, audit)
        deadlines += bulk.insert("deadline", DEADLINE_COLUMNS, clocks)
        del rows, audit, clocks
    session_rows = [(s.id, s.kind, "Trung tâm Chính trị" if s.kind == "awareness" else "Trường Chính trị tỉnh Bắc Sơn",
                     s.starts_on, s.ends_on, f"Hội trường {s.area}", max(60, s.learners), s.area)
                    for per_area in sessions.values() for s in per_area]
    bulk.insert("course_session", ("id", "kind", "provider", "starts_on", "ends_on", "place", "capacity", "area_unit_id"),
                session_rows)
    bulk.insert("course_enrolment", ENROLMENT_COLUMNS, enrolments)
    bulk.insert("admission_target", ("unit_id", "period_kind", "start_year", "end_year", "count", "set_by", "set_at"),
                target_rows(province, candidates, rng))
    bulk.finish(("member", "candidate", "course_session", "course_enrolment", "audit_event", "deadline", "admission_target"))
    return Generated(province, standings, candidates, chain_lengths, deadline_counts, events, deadlines, len(enrolments),
                     len(session_rows), time.perf_counter() - start)


# --------------------------------------------------------------------------- timing

def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def raw_query(engine: Engine) -> tuple[Any, Callable[[str], str]]:
    """A raw DB-API connection and a function turning '?' placeholders into the driver's."""
    raw = engine.raw_connection()
    return raw, (lambda sql: sql) if engine.dialect.name == "sqlite" else (lambda sql: sql.replace("?", "%s"))


@contextlib.contextmanager
def database(kind: str, keep: Path | None = None) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file in a temporary directory, or a PostgreSQL database dropped afterwards.

    With `keep`, the SQLite file is written there and left for profiling the report on the same data."""
    if kind == "sqlite" and keep is not None:
        keep.unlink(missing_ok=True)
        url = f"sqlite:///{keep}"
        migrate(url)
        yield url
        return
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ketnap-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'province.db'}"
            migrate(url)
            yield url
        return
    from sqlalchemy import create_engine, make_url, text

    base = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"ketnap_bench_reports_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def history_function() -> Callable[[Engine, int], dict[str, Any]] | None:
    """models.history.candidate_history as the organisation department calls it, when that module exists."""
    try:
        from models.history import candidate_history
    except ImportError:
        return None
    return lambda engine, cid: candidate_history(engine, cid, reader_role="organisation_department", today=TODAY,
                                                 calendar=CALENDAR)


def bench_report(engine: Engine, gen: Generated, runs: int) -> bool:
    try:
        from models.statistics import yearly_report
    except ImportError as exc:
        print(f"yearly report: models.statistics is not available ({exc}); skipped")
        return False
    raw, q = raw_query(engine)
    first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)

    def baseline() -> tuple[int, int]:
        cur = raw.cursor()
        cur.execute(q("SELECT count(*) FROM candidate WHERE decision_on BETWEEN ? AND ?"), (first, last))
        admitted = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM member")
        members = cur.fetchone()[0]
        cur.close()
        raw.rollback()
        return admitted, members

    def report() -> Any:
        return yearly_report(engine, gen.province.root, YEAR, today=TODAY)

    cold_base, _ = timed(baseline)
    cold, result = timed(report)
    base_t, report_t = [], []
    for _ in range(runs):
        base_t.append(timed(baseline)[0])
        report_t.append(timed(report)[0])
    raw.close()
    p50, p95, b50, b95 = (percentile(report_t, 0.5), percentile(report_t, 0.95), percentile(base_t, 0.5),
                          percentile(base_t, 0.95))
    print(f"yearly report {YEAR} for the province (models.statistics.yearly_report), {engine.dialect.name}:")
    print(f"  cold (first call in the process):    {cold:8.3f} s")
    print(f"  p50 / p95 of {runs} runs:               {p50:8.3f} s / {p95:.3f} s   = {p50 / b50:,.1f} × / {p95 / b95:,.1f} × "
          "the SQL count baseline")
    print(f"  baseline (count of {YEAR} decisions + count of members, raw DB-API): cold {cold_base * 1000:.1f} ms, "
          f"p50 {b50 * 1000:.1f} ms / p95 {b95 * 1000:.1f} ms")
    print(f"  target p95 ≤ 2 s: {'met' if p95 <= 2 else 'NOT met'}")
    return check_report(result, gen)


def check_report(result: Any, gen: Generated) -> bool:
    """The report's admitted count and total membership against counts made from the generated rows."""
    data = result.as_dict()
    admitted = sum(1 for c in gen.candidates if c["decision_on"] is not None and c["decision_on"].year == YEAR
                   and c["stage"] not in ("withdrawn", "not_admitted"))
    members = gen.standings["at_period_end"]
    got_admitted, got_members = data["admitted"], data["membership"]["total"]
    ok = got_admitted == admitted and got_members == members
    print(f"  check: admitted in {YEAR}: {got_admitted:,} (report) vs {admitted:,} (generated); members on "
          f"{PERIOD_END:%d/%m/%Y}: {got_members:,} vs {members:,}: {'ok' if ok else 'MISMATCH'}")
    return ok


def bench_timeline(engine: Engine, gen: Generated, samples: int, rng: random.Random) -> bool:
    ids = rng.sample(sorted(gen.chain_lengths), min(len(gen.chain_lengths), 3 * samples))
    base_ids, timeline_ids, history_ids = ids[0::3], ids[1::3], ids[2::3]
    raw, q = raw_query(engine)
    sql = q("SELECT * FROM audit_event WHERE chain_key = ? ORDER BY seq")
    history = history_function()

    def bare(cid: int) -> list[Any]:
        cur = raw.cursor()
        cur.execute(sql, (f"candidate:{cid}",))
        rows = cur.fetchall()
        cur.close()
        raw.rollback()
        return rows

    base_t, line_t, hist_t = [], [], []
    lengths_ok = history_ok = True
    with reading(engine) as conn:
        for b, t, h in zip(base_ids, timeline_ids, history_ids, strict=False):
            elapsed, rows = timed(lambda b=b: bare(b))
            base_t.append(elapsed)
            lengths_ok &= len(rows) == gen.chain_lengths[b]
            elapsed, events = timed(lambda t=t: timeline(conn, t))
            conn.rollback()
            line_t.append(elapsed)
            lengths_ok &= [e["seq"] for e in events] == list(range(1, gen.chain_lengths[t] + 1))
            if history is not None:
                elapsed, whole = timed(lambda h=h: history(engine, h))
                hist_t.append(elapsed)
                history_ok &= whole["verification"]["ok"] and \
                    len(whole["events"]) + len(whole["reads"]) == gen.chain_lengths[h] and len(whole["deadlines"]) == \
                    gen.deadline_counts.get(h, 0)
    raw.close()
    b50, b95 = percentile(base_t, 0.5), percentile(base_t, 0.95)
    t50, t95 = percentile(line_t, 0.5), percentile(line_t, 0.95)
    mean_len = sum(gen.chain_lengths.values()) / len(gen.chain_lengths)
    print(f"one candidate's timeline with {gen.events:,} audit events stored ({mean_len:.0f} per chain on average), "
          f"{engine.dialect.name}, {len(line_t)} random candidates:")
    print(f"  models.audit.trail.timeline, p50 / p95:  {t50 * 1000:7.2f} ms / {t95 * 1000:.2f} ms   "
          f"= {t50 / b50:.1f} × / {t95 / b95:.1f} × the bare query")
    if history is not None:
        h50, h95 = percentile(hist_t, 0.5), percentile(hist_t, 0.95)
        print(f"  models.history.candidate_history (chain verified, deadlines in working days), p50 / p95: "
              f"{h50 * 1000:.2f} ms / {h95 * 1000:.2f} ms = {h50 / b50:.1f} × / {h95 / b95:.1f} × the bare query")
    else:
        print("  models.history: not present; full history not timed")
    print(f"  baseline, bare SELECT … WHERE chain_key = ? ORDER BY seq (raw DB-API), p50 / p95: {b50 * 1000:.2f} ms / "
          f"{b95 * 1000:.2f} ms")
    print(f"  target timeline p95 ≤ 20 ms: {'met' if t95 <= 0.020 else 'NOT met'}")
    print(f"  check: every sampled chain read back whole, seq 1..n: {'ok' if lengths_ok else 'MISMATCH'}")
    if history is not None:
        print(f"  check: every sampled history verifies, with all its events and deadlines: {'ok' if history_ok else 'MISMATCH'}")
    return lengths_ok and history_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--candidates", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=5_000_000, help="audit events stored in all (default 5,000,000)")
    parser.add_argument("--runs", type=int, default=10, help="timed report runs after the cold one (default 10)")
    parser.add_argument("--samples", type=int, default=500, help="random candidates whose timeline is read (default 500)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                        help="sqlite (default) or a fresh PostgreSQL database at 127.0.0.1:5432 "
                             "(KETNAP_BENCH_POSTGRES_URL), created and dropped by the bench")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--keep", type=Path, help="SQLite only: write the database to this file and keep it")
    args = parser.parse_args()
    if args.quick:
        args.members, args.candidates, args.events, args.runs, args.samples = 20_000, 1_000, 60_000, 3, 40
    rng = random.Random(SEED)
    cells = max(40, min(2_000, args.members // 500))
    with database(args.db, args.keep) as url:
        gen = generate(url, args.members, args.candidates, args.events, cells, rng)
        p = gen.province
        stages = Counter(c["stage"] for c in gen.candidates)
        print(f"province ({args.db}): 1 province committee, {p.count('commune_committee') + p.count('agency_committee')} "
              f"committees, {p.count('grassroots_committee')} grassroots committees, {p.count('intermediate_committee')} "
              f"intermediate, {len(p.cells):,} cells ({p.count('grassroots_cell')} grassroots cells), "
              f"{p.count('village') + p.count('residential_group'):,} villages and residential groups")
        members = sum(n for k, n in gen.standings.items() if k in dict(STANDINGS))
        print(f"  {members:,} members, {len(gen.candidates):,} candidates in {len(stages)} stages, "
              f"{gen.sessions:,} course sessions, {gen.enrolments:,} enrolments, {gen.deadlines:,} deadlines, "
              f"{gen.events:,} audit events: "
              f"bulk-loaded in {gen.seconds:.0f} s")
        engine = make_engine(url)
        ok = bench_report(engine, gen, args.runs)
        ok = bench_timeline(engine, gen, args.samples, rng) and ok
        engine.dispose()
    print(f"correctness check: {'passed' if ok else 'FAILED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
