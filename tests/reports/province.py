"""A generated province for the statistics tests: committees, grassroots organisations, cells, villages, members
and a few hundred candidates walked over three years, every file at some stage, with varied CV facts.

Everything enters through the real paths: the organisation file through `import_organisation`, candidates
through `add_candidates`, each step through `apply_transition` (guards, deadlines and audit events as in
production), course sessions through `add_session`, targets through `set_target`. Only course enrolments are
inserted directly (the enrolment planner picks nominees by itself, which a generator cannot steer).

The generator keeps its own Python records of what it did: the units and members it wrote, and for every
candidate the CV facts and the stages entered with their dates, computed from its own model of the procedure
(not read back from the database). The tests compute every expected figure from these records.

Overdue deadlines are made unambiguous without a working-day calendar: a file left waiting at a stage with a
statutory deadline either started that clock long enough ago to be overdue whatever the holidays (60 working
days < 130 calendar days, 30 working days < 70) or recently enough not to be (60 working days > 60 calendar
days, 30 > 30); a walk that would end in between is cut one step shorter.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from models.actors import Actor

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)          # 10:00 in Hà Nội
ACTOR = Actor("test:province", "organisation_department")
ROOT = "tinh-thu"

# The procedure as this generator understands it: which stage each event leads to.
SIMPLE_MOVES = {
    "nominate_for_course": "awareness_course", "fail_course": "source", "record_awareness_certificate": "file_preparation",
    "complete_file": "opinions", "summarise_opinions": "cell_review", "cell_rejects": "not_admitted",
    "appraise": "grassroots_review", "grassroots_approves": "awaiting_decision", "grassroots_rejects": "not_admitted",
    "admit": "awaiting_ceremony", "refuse_admission": "not_admitted", "hold_ceremony": "probation",
    "withdraw": "withdrawn", "open_recognition": "recognition_review", "recognition_appraise": "recognition_grassroots_review",
    "grassroots_recognises": "awaiting_recognition_decision", "recognise": "full_member", "remove": "removed",
    "transfer_out": "transferred_out", "leave_source_list": "left_source_list",
    "propose_removal": "awaiting_recognition_decision",
}
STAYS = {"record_new_member_certificate", "record_recognition_documents"}
TERMINAL = {"full_member", "removed", "not_admitted", "withdrawn", "left_source_list", "transferred_out"}
RELIGIONS = [None, None, None, None, "Không", "Không", "không", "Phật giáo", "Phật giáo", "Công giáo", "Tin Lành", "Cao Đài"]
ETHNICITIES = ["Kinh", "Kinh", "Kinh", "Thái", "Thái", "Mông", "Tày", "Mường", "Dao", "Khơ Mú"]
QUALIFICATIONS = [None, None, None, "Đại học sư phạm", "Cử nhân Luật", "Kỹ sư nông nghiệp", "Thạc sĩ Kinh tế",
                  "Cao đẳng điều dưỡng", "Trung cấp y", "Sơ cấp nghề", "Chứng chỉ tin học"]
OCCUPATION_CODES = ["farmer", "farmer", "farmer", "worker", "civil_servant", "teacher", "village_cadre", "high_school_student",
                    "university_student", "university_student", "soldier", "private_enterprise_staff",
                    "foreign_enterprise_staff", "business_owner", "self_employed", "other"]


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


@dataclass
class UnitRec:
    id: str
    parent: str | None
    kind: str
    name: str
    authorised_to_admit: bool = False
    committee_size: int | None = None
    covered_by_cell: str | None = None


@dataclass
class MemberRec:
    code: str
    cell: str
    gender: str
    admitted_on: date
    recognised_on: date | None
    standing: str = "active"
    left_on: date | None = None

    def is_full_on(self, day: date) -> bool:
        return self.recognised_on is not None and self.recognised_on <= day and (self.left_on is None or self.left_on > day)


@dataclass
class CandidateRec:
    key: int                                   # the generator's number; `id` once inserted
    cell: str
    listed_on: date
    birth_date: date
    gender: str
    ethnicity: str
    religion: str | None
    grade: int
    exemption: str | None
    qualification: str | None
    occupation: str
    youth_union_member: bool
    sponsors: tuple[str, str]
    steps: list[tuple[str, date, dict[str, Any]]] = field(default_factory=list)
    id: int | None = None

    def entries(self, route: dict[str, str]) -> list[tuple[str, date]]:
        """(stage, entered on) for every change of stage, from the listing on."""
        out = [("source", self.listed_on)]
        for event, day, _ in self.steps:
            if event in STAYS:
                continue
            stage = route[event] if event in route else SIMPLE_MOVES[event]
            out.append((stage, day))
        return out

    def date_of(self, event: str) -> date | None:
        found = [d for e, d, _ in self.steps if e == event]
        return found[-1] if found else None


@dataclass
class SessionRec:
    kind: str
    area: str
    starts_on: date
    ends_on: date
    enrolments: list[tuple[int, str]] = field(default_factory=list)     # (candidate key, status)
    id: int | None = None


@dataclass
class TargetRec:
    unit: str
    period_kind: str
    start_year: int
    end_year: int
    count: int


@dataclass
class Province:
    units: dict[str, UnitRec]
    members: list[MemberRec]
    candidates: list[CandidateRec]
    sessions: list[SessionRec]
    targets: list[TargetRec]

    def children(self, unit_id: str) -> list[UnitRec]:
        return [u for u in self.units.values() if u.parent == unit_id]

    def subtree(self, unit_id: str) -> set[str]:
        out, todo = set(), [unit_id]
        while todo:
            uid = todo.pop()
            out.add(uid)
            todo += [u.id for u in self.children(uid)]
        return out

    def route(self, cell: str) -> dict[str, str]:
        """Where a cell's votes lead: through an intermediate committee, a grassroots committee, or straight up."""
        unit = self.units[cell]
        if unit.kind == "grassroots_cell":
            nxt = "awaiting_decision"
            rec = "awaiting_recognition_decision"
        elif self.units[unit.parent].kind == "intermediate_committee":  # type: ignore[index]
            nxt, rec = "intermediate_appraisal", "recognition_appraisal"
        else:
            nxt, rec = "grassroots_review", "recognition_grassroots_review"
        return {"cell_approves": nxt, "cell_recognises": rec}

    def grassroots_size(self, cell: str) -> int:
        unit = self.units[cell]
        while unit.kind not in ("grassroots_committee", "commune_committee", "grassroots_cell"):
            unit = self.units[unit.parent]  # type: ignore[index]
        assert unit.committee_size
        return unit.committee_size

    def full_members(self, cell: str, day: date) -> int:
        return sum(m.cell == cell and m.is_full_on(day) for m in self.members)


# --- building the tree and the register ------------------------------------------------------------------

def _tree() -> dict[str, UnitRec]:
    units: list[UnitRec] = [UnitRec(ROOT, None, "province_committee", "Đảng bộ tỉnh Thử Nghiệm")]
    communes = [("xa-an-phu", "Đảng bộ xã An Phú", 13), ("xa-binh-minh", "Đảng bộ xã Bình Minh", 11),
                ("phuong-cau-may", "Đảng bộ phường Cầu Mây", 15)]
    for cid, name, size in communes:
        short = cid.split("-", 1)[1]
        units.append(UnitRec(cid, ROOT, "commune_committee", name, authorised_to_admit=True, committee_size=size))
        for k, village in enumerate(("Bản Nà", "Bản Pú", "Bản Co")):
            cell = f"cb-{short}-{k}"
            units.append(UnitRec(cell, cid, "cell", f"Chi bộ {village} ({name[8:]})"))
            units.append(UnitRec(f"ban-{short}-{k}", cid, "village", f"{village} ({name[8:]})", covered_by_cell=cell))
        units.append(UnitRec(f"cb-{short}-moi", cid, "cell", f"Chi bộ Bản Mới ({name[8:]})"))            # no member yet
        units.append(UnitRec(f"ban-{short}-moi", cid, "village", f"Bản Mới ({name[8:]})", covered_by_cell=f"cb-{short}-moi"))
        units.append(UnitRec(f"ban-{short}-xa", cid, "village", f"Bản Xa ({name[8:]})"))                 # no cell
        units.append(UnitRec(f"to-{short}-1", cid, "residential_group", f"Tổ dân phố 1 ({name[8:]})",
                             covered_by_cell=f"cb-{short}-0"))
        units.append(UnitRec(f"thpt-{short}", cid, "grassroots_committee", f"Đảng bộ Trường THPT {name[8:]}", committee_size=7))
        units.append(UnitRec(f"cb-{short}-gv-tn", f"thpt-{short}", "cell", f"Chi bộ Giáo viên Tự nhiên ({name[8:]})"))
        units.append(UnitRec(f"cb-{short}-gv-xh", f"thpt-{short}", "cell", f"Chi bộ Giáo viên Xã hội ({name[8:]})"))
        units.append(UnitRec(f"cbcs-{short}-yte", cid, "grassroots_cell", f"Chi bộ Trạm Y tế {name[8:]}"))
    units += [
        UnitRec("cty-an-phu", "xa-an-phu", "grassroots_committee", "Đảng bộ Công ty Chè An Phú", committee_size=9),
        UnitRec("dbbp-san-xuat", "cty-an-phu", "intermediate_committee", "Đảng bộ bộ phận Khối sản xuất"),
        UnitRec("cb-doi-che-1", "dbbp-san-xuat", "cell", "Chi bộ Đội chè số 1"),
        UnitRec("cb-doi-che-2", "dbbp-san-xuat", "cell", "Chi bộ Đội chè số 2"),
        UnitRec("khoi-co-quan", ROOT, "agency_committee", "Đảng bộ Khối các cơ quan tỉnh"),
        UnitRec("so-giao-duc", "khoi-co-quan", "grassroots_committee", "Đảng bộ Sở Giáo dục", committee_size=7),
        UnitRec("cb-sgd-1", "so-giao-duc", "cell", "Chi bộ Phòng Giáo dục trung học"),
        UnitRec("cb-sgd-2", "so-giao-duc", "cell", "Chi bộ Văn phòng Sở"),
        UnitRec("cbcs-bao-tinh", ROOT, "grassroots_cell", "Chi bộ Báo tỉnh"),
    ]
    return {u.id: u for u in units}


EXTRA_KINDS = ("probationary", "recognised_2026", "left_2024", "left_2025", "left_2026", "died_2026", "exempted", "transferred",
               "recent_full")


def _members(rng: random.Random, units: dict[str, UnitRec]) -> list[MemberRec]:
    members: list[MemberRec] = []
    cells = [u for u in units.values() if u.kind in ("cell", "grassroots_cell")]
    n = extra = 0

    def add(cell: str, admitted: date, recognised: date | None, standing: str = "active", left: date | None = None) -> None:
        nonlocal n
        n += 1
        members.append(MemberRec(f"M{n:04d}", cell, rng.choice(["nam", "nu"]), admitted, recognised, standing, left))

    for cell in cells:
        if cell.id.endswith("-moi"):
            continue                                            # a cell with no member (its village is "bản trắng")
        if cell.id == "cb-binh-minh-2":                          # two full members only: cannot vote, no candidates
            for _ in range(2):
                d = date(rng.randint(1995, 2012), rng.randint(1, 12), rng.randint(1, 28))
                add(cell.id, d, add_months(d, 12))
            continue
        for _ in range(rng.randint(4, 8)):                       # stalwarts: full for decades, never leave
            d = date(rng.randint(1985, 2012), rng.randint(1, 12), rng.randint(1, 28))
            add(cell.id, d, add_months(d, 12))
        for _ in range(rng.randint(1, 5)):                       # the rest of the register, every kind in turn
            kind = EXTRA_KINDS[extra % len(EXTRA_KINDS)]
            extra += 1
            if kind == "probationary":
                add(cell.id, date(2026, rng.randint(1, 10), rng.randint(1, 28)), None)
            elif kind == "recognised_2026":
                d = date(2025, rng.randint(1, 10), rng.randint(1, 28))
                add(cell.id, d, add_months(d, 12))
            elif kind.startswith(("left", "died")):
                d = date(rng.randint(1990, 2015), rng.randint(1, 12), rng.randint(1, 28))
                year = int(kind[-4:])
                add(cell.id, d, add_months(d, 12), "left" if kind.startswith("left") else "died",
                    date(year, rng.randint(1, 10), rng.randint(1, 28)))
            elif kind in ("exempted", "transferred"):
                d = date(rng.randint(1980, 2000), rng.randint(1, 12), rng.randint(1, 28))
                add(cell.id, d, add_months(d, 12), "exempted" if kind == "exempted" else "temporarily_transferred")
            else:
                d = date(2024, rng.randint(1, 12), rng.randint(1, 28))
                add(cell.id, d, add_months(d, 12))
    return members


def _organisation_file(units: dict[str, UnitRec], members: list[MemberRec], path: Path) -> Path:
    data = {
        "units": [{k: v for k, v in {
            "id": u.id, "parent": u.parent, "kind": u.kind, "name": u.name, "authorised_to_admit": u.authorised_to_admit or None,
            "committee_size": u.committee_size, "covered_by_cell": u.covered_by_cell}.items() if v is not None}
            for u in units.values()],
        "members": [{k: v for k, v in {
            "code": m.code, "full_name": f"Đảng Viên {m.code}", "gender": m.gender, "cell": m.cell,
            "admitted_on": m.admitted_on, "recognised_on": m.recognised_on, "standing": m.standing,
            "left_on": m.left_on}.items() if v is not None} for m in members],
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- planning the candidates' walks ---------------------------------------------------------------------

def _plan(rng: random.Random, p: Province, c: CandidateRec, stalwarts: list[str]) -> None:
    """Steps from the listing on, each a few weeks after the one before, until the file ends or time runs out."""
    route = p.route(c.cell)
    day = c.listed_on
    stage = "source"
    steps = c.steps
    n = c.key

    def go(event: str, gap: tuple[int, int], inputs: dict[str, Any] | None = None, at: date | None = None,
           stall: float = 0.05) -> bool:
        nonlocal day, stage
        nxt = at or day + timedelta(days=rng.randint(*gap))
        if nxt > TODAY or rng.random() < stall:                 # time ran out, or the file simply waits here
            return False
        day = nxt
        steps.append((event, day, inputs or {}))
        if event not in STAYS:
            stage = route.get(event, SIMPLE_MOVES.get(event, stage))
        return True

    if rng.random() < 0.05:
        go("leave_source_list", (20, 200), {"reason": "Không còn đủ điều kiện"})
        return
    if not go("nominate_for_course", (10, 60)):
        return
    if rng.random() < 0.1 and not (go("fail_course", (20, 60)) and go("nominate_for_course", (20, 120))):
        return
    if not go("record_awareness_certificate", (20, 70), {"certificate_number": f"CN-{n}"}):
        return
    if rng.random() < 0.04:
        go("withdraw", (10, 90), {"reason": "Xin rút"})
        return
    gap = rng.randint(30, 150)
    filed = day + timedelta(days=gap)
    if not go("complete_file", (gap, gap), {"application_on": (filed - timedelta(days=20)).isoformat(),
                                             "cv_certified_on": (filed - timedelta(days=10)).isoformat(),
                                             "background_verified_on": (filed - timedelta(days=5)).isoformat()}):
        return
    if not go("summarise_opinions", (10, 40)):
        return
    vote_on = day + timedelta(days=rng.randint(10, 40))
    if rng.random() < 0.06:
        go("cell_rejects", (0, 0), {"approve": 0}, at=vote_on)
        return
    if not go("cell_approves", (0, 0), {"approve": p.full_members(c.cell, vote_on)}, at=vote_on):
        return
    if stage == "intermediate_appraisal" and not go("appraise", (7, 30)):
        return
    if stage == "grassroots_review":
        if rng.random() < 0.04:
            go("grassroots_rejects", (10, 40), {"approve": 0})
            return
        if not go("grassroots_approves", (10, 40), {"approve": p.grassroots_size(c.cell)}):
            return
    if rng.random() < 0.04:
        go("refuse_admission", (10, 60), {"reason": "Chưa đủ tiêu chuẩn"})
        return
    if not go("admit", (7, 75), {"decision_number": f"{n}-QĐ/ĐU"}):
        return
    if rng.random() < 0.06:
        go("withdraw", (5, 25), {"reason": "Chuyển công tác ra nước ngoài"})
        return
    if not go("hold_ceremony", (7, 40), {"helper": rng.choice(stalwarts)}):
        return
    ceremony = day
    probation_ends = add_months(ceremony, 12)
    if rng.random() < 0.05:
        go("remove", (60, 300), {"decision_number": f"X{n}", "reason": "Vi phạm tư cách"})
        return
    if rng.random() < 0.03:
        go("transfer_out", (30, 300), {"reason": "Chuyển sinh hoạt về tỉnh khác"})
        return
    if not go("record_new_member_certificate", (60, 200), {"certificate_number": f"BD-{n}"}):
        return
    if not go("open_recognition", (0, 0), at=max(day, probation_ends)):
        return
    docs_on = day + timedelta(days=rng.randint(3, 15))
    reviewed = (docs_on - timedelta(days=2)).isoformat()
    if not go("record_recognition_documents", (0, 0), {
            "self_review_on": reviewed, "helper_review_on": reviewed,
            "recognition_opinions_on": (docs_on - timedelta(days=1)).isoformat()}, at=docs_on):
        return
    if not go("cell_recognises", (3, 25), {"approve": 0}):
        return
    steps[-1][2]["approve"] = p.full_members(c.cell, day)
    if stage == "recognition_appraisal" and not go("recognition_appraise", (5, 20)):
        return
    if stage == "recognition_grassroots_review" and not go("grassroots_recognises", (5, 20),
                                                           {"approve": p.grassroots_size(c.cell)}):
        return
    go("recognise", (5, 25), {"decision_number": f"CN{n}-QĐ/ĐU"}, stall=0.3)   # committees are slow to decide


def clock_start(p: Province, c: CandidateRec) -> tuple[str, date] | None:
    """The statutory deadline open on the file as planned, with the date it counts from (None when there is none)."""
    route = p.route(c.cell)
    stage = c.entries(route)[-1][0]
    if stage in ("intermediate_appraisal", "grassroots_review", "awaiting_decision"):
        return "admission_decision", c.date_of("cell_approves")  # type: ignore[return-value]
    if stage == "awaiting_ceremony":
        return "ceremony", c.date_of("admit")  # type: ignore[return-value]
    if stage in ("probation", "recognition_review"):
        return "recognition_vote", add_months(c.date_of("hold_ceremony"), 12)  # type: ignore[arg-type]
    if stage in ("recognition_appraisal", "recognition_grassroots_review", "awaiting_recognition_decision"):
        if c.date_of("cell_recognises") is None:                # removal proposed: no recognition clock running
            return None
        return "recognition_decision", c.date_of("cell_recognises")  # type: ignore[return-value]
    return None


LIMITS = {"admission_decision": (60, 130), "ceremony": (30, 70), "recognition_vote": (30, 70), "recognition_decision": (30, 70)}


def overdue_clock(p: Province, c: CandidateRec) -> str | None:
    """The clock overdue today, or None; raises when the file sits in the window where only a calendar could tell."""
    found = clock_start(p, c)
    if found is None:
        return None
    clock, start = found
    surely_not, surely = LIMITS[clock]
    if start <= TODAY - timedelta(days=surely):
        return clock
    if start >= TODAY - timedelta(days=surely_not):
        return None
    raise ValueError("ambiguous")


def _unambiguous(p: Province, c: CandidateRec) -> None:
    while True:
        try:
            overdue_clock(p, c)
            return
        except ValueError:
            c.steps.pop()


# --- the whole province ------------------------------------------------------------------------------------

def generate(seed: int = 2026, candidates_count: int = 320) -> Province:
    rng = random.Random(seed)
    units = _tree()
    members = _members(rng, units)
    p = Province(units, members, [], [], [])
    eligible_cells = [u.id for u in units.values() if u.kind in ("cell", "grassroots_cell")
                      and sum(m.cell == u.id and m.standing == "active" and m.left_on is None and m.admitted_on.year <= 2012
                              for m in members) >= 4]
    for key in range(1, candidates_count + 1):
        cell = rng.choice(eligible_cells)
        stalwarts = [m.code for m in members if m.cell == cell and m.admitted_on.year <= 2012 and m.left_on is None
                     and m.standing == "active"]
        listed = date(2023, 3, 1) + timedelta(days=rng.randint(0, (date(2026, 9, 30) - date(2023, 3, 1)).days))
        grade = rng.choice([12, 12, 12, 12, 11, 10, 9, 7, 6])
        c = CandidateRec(
            key=key, cell=cell, listed_on=listed, birth_date=date(2000, 1, 1), gender=rng.choice(["nam", "nu", "nu"]),
            ethnicity=rng.choice(ETHNICITIES), religion=rng.choice(RELIGIONS), grade=grade,
            exemption="ethnic_minority_area" if grade < 9 else None, qualification=rng.choice(QUALIFICATIONS),
            occupation=rng.choice(OCCUPATION_CODES), youth_union_member=rng.random() < 0.6,
            sponsors=tuple(rng.sample(stalwarts, 2)),  # type: ignore[arg-type]
        )
        _plan(rng, p, c, stalwarts)
        _unambiguous(p, c)
        _choose_birth(rng, c, key)
        p.candidates.append(c)
    p.sessions = _sessions(rng, p)
    p.targets = [
        TargetRec(ROOT, "year", 2025, 2025, 60), TargetRec(ROOT, "year", 2026, 2026, 45),
        TargetRec(ROOT, "term", 2025, 2030, 300), TargetRec(ROOT, "term", 2020, 2025, 250),
        TargetRec("xa-an-phu", "year", 2026, 2026, 12), TargetRec("xa-an-phu", "year", 2025, 2025, 10),
        TargetRec("xa-binh-minh", "year", 2026, 2026, 7), TargetRec("phuong-cau-may", "year", 2026, 2026, 30),
        TargetRec("xa-an-phu", "term", 2025, 2030, 50), TargetRec("khoi-co-quan", "term", 2025, 2030, 9),
        TargetRec("thpt-an-phu", "year", 2026, 2026, 3), TargetRec("cty-an-phu", "year", 2026, 2026, 2),
    ]
    return p


def _choose_birth(rng: random.Random, c: CandidateRec, key: int) -> None:
    """A birth date giving an age of 18 to 55 at the cell's vote; some exactly on the 31st birthday at the decision."""
    vote = c.date_of("cell_approves") or c.date_of("cell_rejects")
    decided = c.date_of("admit")
    if decided is not None and key % 17 == 0 and (decided.month, decided.day) != (2, 29):
        c.birth_date = date(decided.year - 31, decided.month, decided.day)              # 31 on the decision day …
        if key % 34 == 0:
            c.birth_date += timedelta(days=1)                                            # … or 30 until tomorrow
        return
    anchor = vote or c.listed_on + timedelta(days=200)
    years = rng.choice([18, 19, 20, 22, 25, 28, 29, 30, 31, 33, 38, 45, 52])
    c.birth_date = anchor - timedelta(days=years * 365 + rng.randint(40, 300))


def _sessions(rng: random.Random, p: Province) -> list[SessionRec]:
    sessions = []
    plan = [("awareness", "xa-an-phu", date(2025, 3, 10)), ("awareness", "xa-an-phu", date(2026, 4, 6)),
            ("awareness", "xa-binh-minh", date(2026, 5, 11)), ("new_member", "phuong-cau-may", date(2026, 9, 14)),
            ("awareness", "phuong-cau-may", date(2024, 10, 7)), ("awareness", ROOT, date(2026, 6, 1)),
            ("new_member", "khoi-co-quan", date(2025, 11, 3)), ("awareness", "xa-binh-minh", date(2026, 12, 7)),
            ("new_member", "thpt-an-phu", date(2026, 2, 2))]
    statuses = ["enrolled", "attended", "absent", "certified"]
    for kind, area, start in plan:
        s = SessionRec(kind, area, start, start + timedelta(days=5))
        for c in rng.sample(p.candidates, rng.randint(0, 12)):
            s.enrolments.append((c.key, rng.choice(statuses)))
        sessions.append(s)
    return sessions


def build(engine: Engine, p: Province, workdir: Path) -> None:
    """Write the province into a migrated, empty database through the real functions."""
    from models.courses import add_session
    from models.imports.candidates import CandidateIn, add_candidates
    from models.imports.organisation import import_organisation
    from models.tables import CourseEnrolment
    from models.targets import set_target
    from models.transitions import TransitionRequest, apply_transition

    import_organisation(engine, _organisation_file(p.units, p.members, workdir / "province.yaml"), ACTOR, now=NOW)
    items = [(c.key, CandidateIn.model_validate({
        "full_name": f"Người Thứ {c.key}", "birth_date": c.birth_date, "gender": c.gender, "ethnicity": c.ethnicity,
        "religion": c.religion, "general_education_grade": c.grade, "education_exemption": c.exemption,
        "qualification": c.qualification, "occupation": c.occupation, "youth_union_member": c.youth_union_member,
        "cell": c.cell, "listed_on": c.listed_on,
        "sponsors": [{"member": code, "together_since": c.listed_on - timedelta(days=5 * 365), "relation": "residence"}
                     for code in c.sponsors]})) for c in p.candidates]
    for c, cid in zip(p.candidates, add_candidates(engine, items, ACTOR, now=NOW), strict=True):
        c.id = cid
    for c in p.candidates:
        for event, day, inputs in c.steps:
            result = apply_transition(engine, TransitionRequest(c.id, event, day, ACTOR, inputs=inputs), now=NOW)  # type: ignore[arg-type]
            assert result.applied, f"#{c.key} ({c.cell}): {event} on {day} refused: {[f.message for f in result.failures]}"
    by_key = {c.key: c for c in p.candidates}
    for s in p.sessions:
        s.id = add_session(engine, s.kind, "Trung tâm Chính trị", s.starts_on, s.ends_on, "Hội trường", 40, s.area)
        with engine.begin() as conn:
            for key, status in s.enrolments:
                conn.execute(CourseEnrolment.__table__.insert().values(
                    session_id=s.id, candidate_id=by_key[key].id, status=status, enrolled_on=s.starts_on - timedelta(days=7)))
    for t in p.targets:
        set_target(engine, t.unit, t.period_kind, t.start_year, t.end_year, t.count, ACTOR, now=NOW)


# --- databases holding it (for the tests' fixtures) ------------------------------------------------------

def fast_commits(engine: Engine) -> Engine:
    """Commits without waiting for the disk while the province is written (durability is not under test here)."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_sync(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=OFF" if engine.dialect.name == "sqlite" else "SET synchronous_commit TO off")
        cur.close()
    return engine


def sqlite_province(template: Path, workdir: Path, p: Province) -> Engine:
    """A copy of the migrated template database with the province written into it."""
    import sqlite3
    from contextlib import closing

    from models.database import make_engine

    path = workdir / "province.db"
    with closing(sqlite3.connect(template)) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    engine = fast_commits(make_engine(f"sqlite:///{path}"))
    build(engine, p, workdir)
    return engine


def postgres_province(template: str, workdir: Path, p: Province) -> tuple[Engine, Any]:
    """A database created from the migrated PostgreSQL template, the province written into it; and its dropper."""
    import os

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from models.database import make_engine
    from tests.conftest import PG_ADMIN_URL, _counter, _pg_admin

    name = f"ketnap_prov_{os.getpid()}_{next(_counter)}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine = fast_commits(make_engine(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)))
    build(engine, p, workdir)

    def drop() -> None:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return engine, drop
