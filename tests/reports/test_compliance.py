"""The compliance report over a small province: it finds exactly the breaches seeded into it.

The province: the demo commune (Mường Bú, authorised to admit, with a school's committee, a tea
company with an intermediate committee and a health-station grassroots cell) plus a second commune
(Chiềng An, not authorised: its files are decided by the province's standing committee). About
thirty files are walked with the real import and transition functions over 2024-2026, each step
recorded on its effective day unless a late entry is seeded. Seeded: deadlines closed late, cancelled
late and still open past due, deadlines at risk, late entries, refusals, a file missing a form, a
removal and a proposal to remove, a re-admission; on-time files, including some met on their last
day or within an extension, around them.

Working days are counted by hand in this file: weekdays minus the days off below, plus the make-up
Saturdays, written down from the government's announcements (not read from the calendar under test).
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from models.compliance import NO_OVERRIDES, compliance_report
from models.compliance_export import to_csv
from models.imports.organisation import import_organisation
from models.procedure.engine import InputError
from models.snapshot import CANDIDATE
from models.transitions import TransitionRequest, TransitionResult, apply_transition
from tests.support import MAKE_UP_SATURDAYS, SECRETARY, WEEKDAYS_OFF, add, count_working_days_by_hand, import_demo_org
from tests.web import conftest as web

# the web app over the demo commune (tests/web/conftest.py)
_web_settings, demo_template, demo, client = web._web_settings, web.demo_template, web.demo, web.client

TODAY = date(2026, 12, 15)                     # a Tuesday
YEAR_2026 = (date(2026, 1, 1), date(2026, 12, 31))
YEAR_2025 = (date(2025, 1, 1), date(2025, 12, 31))

# Weekdays off: 2024's from the government's announcements, 2025-2027's from tests/support.py (both by hand).
DAYS_OFF = WEEKDAYS_OFF | {
    date(2024, 1, 1), *(date(2024, 2, d) for d in (8, 9, 12, 13, 14)), date(2024, 4, 18), date(2024, 4, 29),
    date(2024, 4, 30), date(2024, 5, 1), date(2024, 9, 2), date(2024, 9, 3),
}


def working(day: date) -> bool:
    return day in MAKE_UP_SATURDAYS or (day.weekday() < 5 and day not in DAYS_OFF)


def nth(start: date, n: int) -> date:
    """The n-th working day after `start` (the start day not counted)."""
    return count_working_days_by_hand(start, n, DAYS_OFF, MAKE_UP_SATURDAYS)


def days_between(a: date, b: date) -> int:
    """Working days after `a` up to and including `b`."""
    return sum(working(a + timedelta(days=k)) for k in range(1, (b - a).days + 1))


def at(day: date) -> datetime:
    """10:00 in Hà Nội on `day`."""
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)


def do(engine: Engine, cid: int, event: str, on: date, *, recorded: date | None = None, **inputs: Any) -> TransitionResult:
    result = apply_transition(engine, TransitionRequest(cid, event, on, SECRETARY, inputs=inputs), now=at(recorded or on))
    assert result.applied, f"#{cid} {event} on {on}: {[f.message for f in result.failures]}"
    return result


def refuse(engine: Engine, cid: int, event: str, on: date, **inputs: Any) -> None:
    result = apply_transition(engine, TransitionRequest(cid, event, on, SECRETARY, inputs=inputs), now=at(on))
    assert result.status == "refused", f"#{cid} {event} on {on} was applied"


# --- the province ----------------------------------------------------------------------------------------

CHIENG_AN = """
units:
  - {id: xa-chieng-an, parent: son-la, kind: commune_committee, name: "Đảng bộ xã Chiềng An", committee_size: 11}
  - {id: cb-ban-hua-la, parent: xa-chieng-an, kind: cell, name: "Chi bộ bản Hua La"}
  - {id: cb-ban-co-ke, parent: xa-chieng-an, kind: cell, name: "Chi bộ bản Co Ke"}
  - {id: cb-ban-moi, parent: xa-chieng-an, kind: cell, name: "Chi bộ bản Mới"}
members:
""" + "".join(
    f'  - {{code: {p}{i:02d}, full_name: "Lò Văn {p}{i}", gender: nam, cell: {cell}, admitted_on: 2000-0{i}-10, '
    f'recognised_on: 2001-0{i}-10}}\n'
    for p, cell in (("HL", "cb-ban-hua-la"), ("CK", "cb-ban-co-ke"), ("BM", "cb-ban-moi")) for i in range(1, 5))

# After every step: the cell of bản Mới is placed under a new intermediate committee, so its files past
# the appraisal stage now need the appraisal report (7-KNĐ) that nobody wrote.
BAN_MOI_MOVED = """
units:
  - {id: dbbp-ban-moi, parent: xa-chieng-an, kind: intermediate_committee, name: "Đảng bộ bộ phận Bản Mới"}
  - {id: cb-ban-moi, parent: dbbp-ban-moi, kind: cell, name: "Chi bộ bản Mới"}
"""


@dataclass(frozen=True)
class Cell:
    id: str
    name: str
    sponsors: tuple[str, str]
    helper: str
    approve: int                                    # every full member who may vote
    to_decision: tuple[tuple[str, dict[str, Any]], ...]
    to_recognition_decision: tuple[tuple[str, dict[str, Any]], ...]
    competent: str                                  # who decides, named by hand


MB, MB_BTV, TINH_BTV = "Đảng ủy xã Mường Bú", "Ban Thường vụ Đảng ủy xã Mường Bú", "Ban Thường vụ Đảng ủy tỉnh Sơn La"
NA_LA = Cell("cb-ban-na-la", "Chi bộ bản Nà La", ("NL01", "NL02"), "NL03", 4,
             (("grassroots_approves", {"approve": 10}),), (("grassroots_recognises", {"approve": 10}),), MB)
GV_TN = Cell("cb-giao-vien-tn", "Chi bộ Giáo viên Tự nhiên", ("TN01", "TN02"), "TN03", 4,
             (("grassroots_approves", {"approve": 5}),), (("grassroots_recognises", {"approve": 5}),), MB_BTV)
DOI_CHE = Cell("cb-doi-che-1", "Chi bộ Đội chè số 1", ("DC01", "DC02"), "DC03", 4,
               (("appraise", {}), ("grassroots_approves", {"approve": 6})),
               (("recognition_appraise", {}), ("grassroots_recognises", {"approve": 6})), MB_BTV)
TRAM_Y_TE = Cell("cbcs-tram-y-te", "Chi bộ Trạm Y tế xã Mường Bú", ("YT01", "YT02"), "YT03", 3, (), (), MB_BTV)
HUA_LA, CO_KE, BAN_MOI = (
    Cell(cid, name, (f"{p}01", f"{p}02"), f"{p}03", 4, (("grassroots_approves", {"approve": 8}),),
         (("grassroots_recognises", {"approve": 8}),), TINH_BTV)
    for cid, name, p in (("cb-ban-hua-la", "Chi bộ bản Hua La", "HL"), ("cb-ban-co-ke", "Chi bộ bản Co Ke", "CK"),
                         ("cb-ban-moi", "Chi bộ bản Mới", "BM")))

GIVEN = itertools.cycle(f"{a} {b}" for a in ("An", "Bình", "Cường", "Dung", "Giang", "Hà", "Khánh", "Lâm", "Minh", "Nga",
                                      "Phúc", "Quang", "Sơn", "Thảo", "Uyên", "Vân") for b in ("Anh", "Bảo", "Chi"))


def candidate(engine: Engine, cell: Cell, vote_on: date, **extra: Any) -> int:
    """A 38-year-old farmer listed by the cell, through the course, the file and the opinions before `vote_on`."""
    listed = date(2025, 9, 1) if vote_on.year >= 2026 else date(2024, 9, 2)
    cid = add(engine, full_name=f"Lò Văn {next(GIVEN)}", birth_date=date(1988, 3, 10), cell=cell.id,
              residence_village=None, listed_on=listed,
              sponsors=[{"member": m, "together_since": date(2015, 1, 1), "relation": "residence"} for m in cell.sponsors],
              **extra)
    filed = vote_on - timedelta(days=30)
    do(engine, cid, "nominate_for_course", listed + timedelta(days=14))
    do(engine, cid, "record_awareness_certificate", listed + timedelta(days=60), certificate_number=f"CN-{cid}")
    do(engine, cid, "complete_file", filed, application_on=filed - timedelta(days=20),
       cv_certified_on=filed - timedelta(days=10), background_verified_on=filed - timedelta(days=5))
    do(engine, cid, "summarise_opinions", vote_on - timedelta(days=14))
    return cid


def vote(engine: Engine, cid: int, cell: Cell, on: date) -> date:
    """The cell's vote and the appraisal / grassroots resolution after it (5 working days apart)."""
    do(engine, cid, "cell_approves", on, approve=cell.approve)
    return up_the_tree(engine, cid, cell.to_decision, on, 5)


def up_the_tree(engine: Engine, cid: int, steps: tuple[tuple[str, dict[str, Any]], ...], start: date, gap: int) -> date:
    """The committees' steps above a cell's vote, each `gap` working days after the one before; the last one's day."""
    day = start
    for event, inputs in steps:
        day = nth(day, gap)
        do(engine, cid, event, day, **inputs)
    return day


def admit(engine: Engine, cid: int, on: date, *, received: date | None = None, recorded: date | None = None) -> None:
    do(engine, cid, "admit", on, recorded=recorded or received, decision_number=f"{cid}-QĐ/ĐU",
       received_on=received or on)


def ceremony(engine: Engine, cid: int, cell: Cell, on: date, *, recorded: date | None = None) -> None:
    do(engine, cid, "hold_ceremony", on, recorded=recorded, helper=cell.helper)


def one_year_on(day: date) -> date:
    return day.replace(year=day.year + 1)


def recognition_file(engine: Engine, cid: int, ends: date, *, documents: dict[str, date] | None = None) -> None:
    do(engine, cid, "open_recognition", ends)
    docs = documents if documents is not None else {"self_review_on": ends, "helper_review_on": ends,
                                                    "recognition_opinions_on": ends}
    do(engine, cid, "record_recognition_documents", ends, **docs)


def recognise(engine: Engine, cid: int, cell: Cell, vote_on: date) -> None:
    do(engine, cid, "cell_recognises", vote_on, approve=cell.approve)
    up_the_tree(engine, cid, cell.to_recognition_decision, vote_on, 3)
    do(engine, cid, "recognise", nth(vote_on, 15), decision_number=f"{cid}-QĐ/CN")


def admitted_2025(engine: Engine, cell: Cell, vote_on: date, *, decision_wd: int = 20,
                  ceremony_recorded_wd: int = 0) -> tuple[int, date]:
    """A file under the 2021 rules, admitted in 2025; its new-member course certificate in December. (id, ceremony)"""
    cid = candidate(engine, cell, vote_on)
    vote(engine, cid, cell, vote_on)
    decided = nth(vote_on, decision_wd)
    admit(engine, cid, decided)
    held = nth(decided, 10)
    ceremony(engine, cid, cell, held, recorded=nth(held, ceremony_recorded_wd) if ceremony_recorded_wd else None)
    do(engine, cid, "record_new_member_certificate", date(2025, 12, 1), certificate_number=f"BD-{cid}")
    return cid, held


def due_on_vote(target: date) -> date:
    """The working day whose 60-working-day decision deadline ends on `target`."""
    day = target - timedelta(days=60)
    while not (working(day) and nth(day, 60) == target):
        day -= timedelta(days=1)
    return day


@dataclass(frozen=True)
class Breach:
    committee: str
    candidate_id: int
    clock: str
    status: str
    due_on: date
    closed_on: date | None
    working_days_late: int


@dataclass
class Province:
    breaches_2026: list[Breach]
    breaches_2025: list[Breach]
    at_risk: list[tuple[str, int, date, int]]                 # (committee, candidate, due, working days left)
    near: tuple[str, int, date, int]                          # due in 8 working days: at risk only with N >= 8
    late_2026: list[tuple[int, str, date, date, int]]         # (candidate, event, effective, recorded, working days)
    late_2025: list[tuple[int, str, date, date, int]]
    late_by_ten: tuple[int, str, date, date, int]             # late only when the threshold is below 10
    refusals_2026: list[tuple[str, int, str]]                 # (committee, candidate, event)
    refusals_2025: list[tuple[str, int, str]]
    missing: list[tuple[int, str]]
    removals: list[tuple[str, int, str, bool, str | None]]    # (committee, candidate, event, decided, number)
    readmissions: list[tuple[int, date, bool, date]]          # (candidate, left on, consent recorded, decision)
    by_commune: dict[str, set[int]]                           # candidates of each commune


def build_province(engine: Engine, tmp_path: Path) -> Province:
    import_demo_org(engine)
    org = tmp_path / "chieng-an.yaml"
    org.write_text(CHIENG_AN, encoding="utf-8")
    import_organisation(engine, org, SECRETARY, now=at(date(2024, 1, 2)))
    b26: list[Breach] = []
    b25: list[Breach] = []
    late26: list[tuple[int, str, date, date, int]] = []
    late25: list[tuple[int, str, date, date, int]] = []
    ref26: list[tuple[str, int, str]] = []
    ref25: list[tuple[str, int, str]] = []

    # B1: the decision 70 working days after the cell's resolution (10 late). F1: the first vote was refused.
    v = date(2026, 3, 2)
    b1 = candidate(engine, NA_LA, v)
    refuse(engine, b1, "cell_approves", v, approve=2)
    ref26.append((NA_LA.name, b1, "cell_approves"))
    vote(engine, b1, NA_LA, v)
    admit(engine, b1, nth(v, 70))
    ceremony(engine, b1, NA_LA, nth(nth(v, 70), 10))
    b26.append(Breach(MB, b1, "admission_decision", "late", nth(v, 60), nth(v, 70), 10))

    # B2: the ceremony 35 working days after the decision was received (5 late). L1: the grassroots resolution
    # of 19/01/2026 was recorded on 23/02/2026, across Tết.
    v = date(2026, 1, 12)
    b2 = candidate(engine, GV_TN, v)
    do(engine, b2, "cell_approves", v, approve=4)
    do(engine, b2, "grassroots_approves", nth(v, 5), recorded=date(2026, 2, 23), approve=5)
    late26.append((b2, "grassroots_approves", nth(v, 5), date(2026, 2, 23), days_between(nth(v, 5), date(2026, 2, 23))))
    decided = nth(v, 25)
    admit(engine, b2, decided)
    ceremony(engine, b2, GV_TN, nth(decided, 35))
    b26.append(Breach(GV_TN.name, b2, "ceremony", "late", nth(decided, 30), nth(decided, 35), 5))

    # B3: a decision still not taken at TODAY (Chiềng An: the province's standing committee decides).
    v = date(2026, 8, 3)
    b3 = candidate(engine, HUA_LA, v)
    vote(engine, b3, HUA_LA, v)
    b26.append(Breach(TINH_BTV, b3, "admission_decision", "open", nth(v, 60), None, days_between(nth(v, 60), TODAY)))

    # B4: decided, the decision received a day later, the ceremony still not held at TODAY.
    v = date(2026, 9, 7)
    b4 = candidate(engine, TRAM_Y_TE, v)
    vote(engine, b4, TRAM_Y_TE, v)
    admit(engine, b4, date(2026, 10, 5), received=date(2026, 10, 6))
    due = nth(date(2026, 10, 6), 30)
    b26.append(Breach(TRAM_Y_TE.name, b4, "ceremony", "open", due, None, days_between(due, TODAY)))

    # B5: admitted in 2025 under the 2021 rules; the recognition vote 33 working days after probation ended.
    b5, held = admitted_2025(engine, DOI_CHE, date(2025, 4, 1))
    ends = one_year_on(held)
    recognition_file(engine, b5, ends)
    recognise(engine, b5, DOI_CHE, nth(ends, 33))
    b26.append(Breach(DOI_CHE.name, b5, "recognition_vote", "late", nth(ends, 30), nth(ends, 33), 3))

    # B6: a decision 65 working days after the vote, in 2025 (not a 2026 breach); F2: a refused vote in 2025;
    # L4: the 2025 ceremony recorded 15 working days late. Its recognition in 2026 is on time.
    v = date(2025, 3, 3)
    b6 = candidate(engine, NA_LA, v)
    refuse(engine, b6, "cell_approves", v, approve=1)
    ref25.append((NA_LA.name, b6, "cell_approves"))
    vote(engine, b6, NA_LA, v)
    admit(engine, b6, nth(v, 65))
    held = nth(nth(v, 65), 5)
    ceremony(engine, b6, NA_LA, held, recorded=nth(held, 15))
    late25.append((b6, "hold_ceremony", held, nth(held, 15), 15))
    b25.append(Breach(MB, b6, "admission_decision", "late", nth(v, 60), nth(v, 65), 5))
    do(engine, b6, "record_new_member_certificate", date(2025, 12, 1), certificate_number="BD-6")
    ends = one_year_on(held)
    recognition_file(engine, b6, ends)
    recognise(engine, b6, NA_LA, nth(ends, 10))

    # B7: the candidate withdrew 63 working days after the vote: the decision deadline had passed (3 late).
    v = date(2026, 4, 1)
    b7 = candidate(engine, NA_LA, v)
    vote(engine, b7, NA_LA, v)
    do(engine, b7, "withdraw", nth(v, 63), reason="Chuyển công tác")
    b26.append(Breach(MB, b7, "admission_decision", "cancelled", nth(v, 60), nth(v, 63), 3))

    # --- on time, around the breaches ----------------------------------------------------------------------
    # N1: extended by 20 working days (a further 15 refused: F3), decided after the original last day.
    v = date(2026, 5, 4)
    n1 = candidate(engine, GV_TN, v)
    vote(engine, n1, GV_TN, v)
    do(engine, n1, "extend_decision_deadline", nth(v, 40), working_days=20, reason="Chờ thẩm tra lý lịch")
    refuse(engine, n1, "extend_decision_deadline", nth(v, 41), working_days=15, reason="Chờ thêm")
    ref26.append((MB_BTV, n1, "extend_decision_deadline"))
    admit(engine, n1, nth(v, 70))
    ceremony(engine, n1, GV_TN, nth(nth(v, 70), 20))
    # N2: withdrew before the decision's last day.
    v = date(2026, 6, 1)
    n2 = candidate(engine, CO_KE, v)
    vote(engine, n2, CO_KE, v)
    do(engine, n2, "withdraw", nth(v, 20))
    # N3: on time; its decision recorded exactly 10 working days late (not "more than 10"), its ceremony 11 (L3).
    v = date(2026, 1, 5)
    n3 = candidate(engine, NA_LA, v)
    vote(engine, n3, NA_LA, v)
    n3_decided = decided = nth(v, 30)
    admit(engine, n3, decided, recorded=nth(decided, 10))
    held = nth(decided, 15)
    ceremony(engine, n3, NA_LA, held, recorded=nth(held, 11))
    late26.append((n3, "hold_ceremony", held, nth(held, 11), 11))
    # N4: decided and held on the last day of each deadline (met).
    v = date(2026, 3, 9)
    n4 = candidate(engine, CO_KE, v)
    vote(engine, n4, CO_KE, v)
    admit(engine, n4, nth(v, 60))
    ceremony(engine, n4, CO_KE, nth(nth(v, 60), 30))
    # N5-N7: plain on-time files in other committees.
    for cell, v, decision_wd in ((HUA_LA, date(2026, 2, 2), 40), (DOI_CHE, date(2026, 6, 15), 45),
                                 (TRAM_Y_TE, date(2026, 7, 6), 20)):
        cid = candidate(engine, cell, v)
        vote(engine, cid, cell, v)
        admit(engine, cid, nth(v, decision_wd))
        ceremony(engine, cid, cell, nth(nth(v, decision_wd), 10))
    # N8, N9: waiting for decisions due well after TODAY.
    for cell, v in ((GV_TN, date(2026, 10, 19)), (HUA_LA, date(2026, 11, 2))):
        vote(engine, candidate(engine, cell, v), cell, v)

    # --- at risk at TODAY: due in 3 working days, due today; and one due in 8 (at risk only with N >= 8) ---------
    at_risk = []
    for cell, left in ((CO_KE, 3), (GV_TN, 0)):
        target = nth(TODAY, left)
        v = due_on_vote(target)
        cid = candidate(engine, cell, v)
        vote(engine, cid, cell, v)
        at_risk.append((cell.competent, cid, target, left))
    v = due_on_vote(nth(TODAY, 8))
    near = candidate(engine, NA_LA, v)
    vote(engine, near, NA_LA, v)

    # --- M1: a file of bản Mới, on time, then its cell moved under a new intermediate committee (below) -----
    v = date(2026, 7, 6)
    m1 = candidate(engine, BAN_MOI, v)
    vote(engine, m1, BAN_MOI, v)
    admit(engine, m1, nth(v, 20))
    ceremony(engine, m1, BAN_MOI, nth(nth(v, 20), 10))

    # --- X1: removed during probation; X2: proposed for removal after probation, with only a self-review --------
    x1, _ = admitted_2025(engine, GV_TN, date(2025, 4, 7))
    do(engine, x1, "remove", date(2026, 3, 16), decision_number="25-QĐ/ĐU", reason="Vi phạm tư cách")
    x2, held = admitted_2025(engine, NA_LA, date(2025, 5, 5))
    ends = one_year_on(held)
    recognition_file(engine, x2, ends, documents={"self_review_on": ends})
    do(engine, x2, "propose_removal", nth(ends, 10), reason="Không đủ tư cách")

    # --- A1: a former member re-admitted (left in 2020 for family hardship, provincial consent recorded) -------
    v = date(2026, 4, 6)
    a1 = candidate(engine, HUA_LA, v, prior_membership={"left_on": date(2020, 3, 2), "leave_reason": "resigned_hardship"},
                   readmission_request_on=date(2025, 8, 20), readmission_consent_ref="312-CV/TU")
    vote(engine, a1, HUA_LA, v)
    admit(engine, a1, nth(v, 30))
    ceremony(engine, a1, HUA_LA, nth(nth(v, 30), 10))

    moved = tmp_path / "ban-moi.yaml"
    moved.write_text(BAN_MOI_MOVED, encoding="utf-8")
    import_organisation(engine, moved, SECRETARY, now=at(TODAY))

    with engine.connect() as conn:
        owner = {r.id: r.cell_id for r in conn.execute(select(CANDIDATE.c.id, CANDIDATE.c.cell_id))}
    chieng_an = {c for c, cell in owner.items() if cell in (HUA_LA.id, CO_KE.id, BAN_MOI.id)}
    return Province(
        breaches_2026=b26, breaches_2025=b25, at_risk=at_risk, near=(NA_LA.competent, near, nth(TODAY, 8), 8),
        late_2026=late26, late_2025=late25, late_by_ten=(n3, "admit", n3_decided, nth(n3_decided, 10), 10),
        refusals_2026=ref26, refusals_2025=ref25, missing=[(m1, "7-KNĐ")],
        removals=[(MB_BTV, x1, "remove", True, "25-QĐ/ĐU"), (NA_LA.name, x2, "propose_removal", False, None)],
        readmissions=[(a1, date(2020, 3, 2), True, nth(date(2026, 4, 6), 30))],
        by_commune={"xa-chieng-an": chieng_an, "xa-muong-bu": set(owner) - chieng_an},
    )


@pytest.fixture
def province(engine: Engine, tmp_path: Path) -> Province:
    return build_province(engine, tmp_path)


def _breaches(report: Any) -> set[Breach]:
    return {Breach(b.committee.name, b.candidate_id, b.clock, b.status, b.due_on, b.closed_on, b.working_days_late)
            for b in report.missed}


def test_the_report_finds_exactly_the_seeded_breaches(engine: Engine, province: Province) -> None:
    report = compliance_report(engine, "son-la", *YEAR_2026, today=TODAY)

    assert _breaches(report) == set(province.breaches_2026)
    assert len(report.missed) == len(province.breaches_2026) == 6
    assert {(a.committee.name, a.candidate_id, a.due_on, a.working_days_left) for a in report.at_risk} == set(province.at_risk)
    assert {(e.candidate_id, e.event, e.effective_on, e.recorded_on, e.working_days_after)
            for e in report.late_entries} == set(province.late_2026)
    assert {(r.committee.name, r.candidate_id, r.event) for r in report.refusals} == set(province.refusals_2026)
    assert all(r.reasons for r in report.refusals)
    assert {(m.candidate_id, m.form_id) for m in report.missing_forms} == set(province.missing)
    assert {(r.committee.name, r.candidate_id, r.event, r.decided, r.decision_number)
            for r in report.removals} == set(province.removals)
    assert {(r.candidate_id, r.prior_left_on, r.consent_recorded, r.decision_on)
            for r in report.readmissions} == set(province.readmissions)
    assert report.overrides_possible is False and report.overrides == []

    # per committee: counted here from the seeds
    expected: dict[str, dict[str, int]] = {}
    for b in province.breaches_2026:
        t = expected.setdefault(b.committee, {"missed": 0, "days": 0, "worst": 0, "at_risk": 0, "refusals": 0})
        t["missed"] += 1
        t["days"] += b.working_days_late
        t["worst"] = max(t["worst"], b.working_days_late)
    for committee, *_ in province.at_risk:
        expected.setdefault(committee, {"missed": 0, "days": 0, "worst": 0, "at_risk": 0, "refusals": 0})["at_risk"] += 1
    for committee, *_ in province.refusals_2026:
        expected.setdefault(committee, {"missed": 0, "days": 0, "worst": 0, "at_risk": 0, "refusals": 0})["refusals"] += 1
    assert {c.committee.name: {"missed": c.missed, "days": c.working_days_late, "worst": c.worst, "at_risk": c.at_risk,
                               "refusals": c.refusals} for c in report.committees} == expected
    assert expected[MB] == {"missed": 2, "days": 13, "worst": 10, "at_risk": 0, "refusals": 0}
    days = [c.working_days_late for c in report.committees]
    assert days == sorted(days, reverse=True)                   # the committees with the most days late first

    # the tables say it in Vietnamese, one row per finding
    tables = {title: rows for title, _, rows in report.tables()}
    late_rows = tables["Thời hạn bị trễ"]
    assert len(late_rows) == 6
    assert {r[-2] for r in late_rows} == {"đóng trễ hạn", "đang mở, quá hạn", "hủy khi đã quá hạn"}
    assert tables["Bỏ qua điều kiện"] == [[NO_OVERRIDES]]
    assert NO_OVERRIDES == "ketnap không cho phép bỏ qua điều kiện: không có trường hợp nào"

    # the CSV export: every table, with a BOM for Excel
    data = to_csv(report)
    assert data.startswith(b"\xef\xbb\xbf")
    sections = csv_sections(data)
    assert list(sections) == [title for title, _, _ in report.tables()]
    for title, header, rows in report.tables():
        assert sections[title] == [header, *rows]
    assert len(sections["Thời hạn bị trễ"]) == 1 + len(province.breaches_2026)


def test_another_year_other_thresholds_and_a_commune(engine: Engine, province: Province) -> None:
    report = compliance_report(engine, "son-la", *YEAR_2025, today=TODAY)
    assert _breaches(report) == set(province.breaches_2025)
    assert report.at_risk == []                                  # nothing of 2025 is still to come
    assert {(e.candidate_id, e.event, e.effective_on, e.recorded_on, e.working_days_after)
            for e in report.late_entries} == set(province.late_2025)
    assert {(r.committee.name, r.candidate_id, r.event) for r in report.refusals} == set(province.refusals_2025)
    assert {(m.candidate_id, m.form_id) for m in report.missing_forms} == set(province.missing)   # listed in 2025
    assert report.removals == []
    # bản Mới's file had no step in 2024: a file is checked for missing forms only when it had a step in the period
    assert compliance_report(engine, "son-la", date(2024, 1, 1), date(2024, 12, 31), today=TODAY).missing_forms == []
    # the re-admitted candidate was put on the list in 2025
    assert [r.candidate_id for r in report.readmissions] == [r[0] for r in province.readmissions]

    wider = compliance_report(engine, "son-la", *YEAR_2026, today=TODAY, at_risk_working_days=8,
                              late_entry_working_days=9)
    assert {(a.committee.name, a.candidate_id, a.due_on, a.working_days_left)
            for a in wider.at_risk} == set(province.at_risk) | {province.near}
    # with 9 working days, the decision recorded exactly 10 working days late is late too
    assert {(e.candidate_id, e.event, e.effective_on, e.recorded_on, e.working_days_after)
            for e in wider.late_entries} == set(province.late_2026) | {province.late_by_ten}

    # a commune's report holds its own cells only
    for commune in ("xa-chieng-an", "xa-muong-bu"):
        report = compliance_report(engine, commune, *YEAR_2026, today=TODAY)
        mine = province.by_commune[commune]
        assert _breaches(report) == {b for b in province.breaches_2026 if b.candidate_id in mine}
        assert {a.candidate_id for a in report.at_risk} == {a[1] for a in province.at_risk if a[1] in mine}
        assert {m.candidate_id for m in report.missing_forms} == {m[0] for m in province.missing if m[0] in mine}
    assert {c.committee.name for c in compliance_report(engine, "xa-chieng-an", *YEAR_2026, today=TODAY).committees} == {
        TINH_BTV}


def test_bad_periods_name_the_field(engine: Engine) -> None:
    import_demo_org(engine)
    with pytest.raises(InputError) as err:
        compliance_report(engine, "son-la", date(2026, 12, 31), date(2026, 1, 1), today=TODAY)
    assert [p.field for p in err.value.problems] == ["from"] and "“to”" in err.value.problems[0].message_vi
    with pytest.raises(InputError) as err:
        compliance_report(engine, "son-la", date(2026, 1, 1), date(2099, 1, 1), today=TODAY)
    assert [p.field for p in err.value.problems] == ["to"]
    with pytest.raises(InputError) as err:
        compliance_report(engine, "son-la", *YEAR_2026, today=TODAY, late_entry_working_days=-1)
    assert [p.field for p in err.value.problems] == ["late_days"]
    with pytest.raises(LookupError):
        compliance_report(engine, "no-such-unit", *YEAR_2026, today=TODAY)


def csv_sections(data: bytes) -> dict[str, list[list[str]]]:
    """{title: [header, rows…]} of the CSV export (the heading lines before the first empty line skipped)."""
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    blocks: list[list[list[str]]] = [[]]
    for line in lines:
        if line:
            blocks[-1].append(line)
        else:
            blocks.append([])
    return {block[0][0]: block[1:] for block in blocks[1:] if block}


# --- the page, the CSV download and the API over the demo commune ----------------------------------------------


class Tables(HTMLParser):
    """{data-title: [[cell text…]…]} of the page's tables (body rows only)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._title: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._title = dict(attrs).get("data-title")
            if self._title:
                self.tables[self._title] = []
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._title:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._title:
            self.tables[self._title].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._title = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_the_page_shows_the_breaches_and_the_csv_matches_it(client: Any, demo: Engine) -> None:
    from models.snapshot import DEADLINE
    from tests.web.conftest import ORG_DEPARTMENT, WEB_NOW, session_for

    today = WEB_NOW.date()                                    # 23/11/2026 in Hà Nội too
    with demo.connect() as conn:
        overdue = conn.execute(select(CANDIDATE.c.full_name, DEADLINE.c.due_on)
                               .join(CANDIDATE, CANDIDATE.c.id == DEADLINE.c.candidate_id)
                               .where(DEADLINE.c.status == "open", DEADLINE.c.kind == "deadline",
                                      DEADLINE.c.due_on < today)).all()
    assert overdue, "the demo has an overdue deadline"
    session_for(client, demo, ORG_DEPARTMENT)
    page = client.get("/units/xa-muong-bu/compliance?from=2026-01-01&to=2026-12-31")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "Kiểm tra việc chấp hành quy trình kết nạp" in html and "Thời hạn bị trễ" in html
    assert "ngày làm việc" in html and NO_OVERRIDES in html and "<script" not in html
    parsed = Tables()
    parsed.feed(html)
    late = parsed.tables["Thời hạn bị trễ"]
    assert sorted((r[2], r[6], r[-1]) for r in late) == sorted(
        (name, due.strftime("%d/%m/%Y"), str(days_between(due, today))) for name, due in overdue)
    assert all(r[-2] == "đang mở, quá hạn" for r in late)

    download = client.get("/units/xa-muong-bu/compliance.csv?from=2026-01-01&to=2026-12-31")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    sections = csv_sections(download.content)
    for title, rows in parsed.tables.items():
        assert sections[title][1:] == rows, title
    assert sections["Thời hạn bị trễ"][1:] == late and late

    pdf = client.get("/units/xa-muong-bu/compliance.pdf?from=2026-01-01&to=2026-12-31")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_bad_dates_and_scope_on_the_page_and_the_api(client: Any, demo: Engine) -> None:
    from tests.web.conftest import ORG_DEPARTMENT, SECRETARY_NA_LA, bearer, session_for, token_for

    session_for(client, demo, ORG_DEPARTMENT)
    page = client.get("/units/xa-muong-bu/compliance?from=2026-13-01&to=2026-12-31")
    assert page.status_code == 422 and "“from”" in page.text and "không phải là ngày" in page.text
    page = client.get("/units/xa-muong-bu/compliance?from=2026-12-01&to=2026-01-31")
    assert page.status_code == 422 and "phải trước hoặc bằng" in page.text
    assert client.get("/units/son-la/compliance").status_code == 404          # above the department's unit
    assert client.get("/units/xa-muong-bu/compliance.xlsx").status_code == 404

    headers = bearer(token_for(demo, ORG_DEPARTMENT))
    answer = client.get("/api/v1/units/xa-muong-bu/compliance?from=2026-12-01&to=2026-01-31", headers=headers)
    assert answer.status_code == 422
    assert [(f["field"], f["code"]) for f in answer.json()["error"]["fields"]] == [("from", "after_to")]
    answer = client.get("/api/v1/units/xa-muong-bu/compliance?from=2026-01-01&to=2026-12-31&risk_days=x", headers=headers)
    assert answer.status_code == 422 and answer.json()["error"]["fields"][0]["field"] == "risk_days"
    body = client.get("/api/v1/units/xa-muong-bu/compliance?from=2026-01-01&to=2026-12-31", headers=headers).json()
    assert body["start"] == "2026-01-01" and body["overrides_possible"] is False and body["missed"]
    assert body["missed"][0]["committee"]["name"] and isinstance(body["missed"][0]["working_days_late"], int)
    other = client.get("/api/v1/units/xa-muong-bu/compliance", headers=bearer(token_for(demo, SECRETARY_NA_LA)))
    assert other.status_code == 403


def test_the_command_line(engine: Engine, province: Province, tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from ketnap.cli.app import app
    from ketnap.context import use_engine

    out = tmp_path / "kiem-tra.csv"
    with use_engine(engine):
        result = CliRunner().invoke(app, ["report", "compliance", "son-la", "--from", "2026-01-01", "--to", "2026-12-31",
                                          "--as-of", TODAY.isoformat(), "--json", "--csv", str(out)])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert {(b["candidate_id"], b["clock"], b["working_days_late"]) for b in data["missed"]} == {
            (b.candidate_id, b.clock, b.working_days_late) for b in province.breaches_2026}
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")
        bad = CliRunner().invoke(app, ["report", "compliance", "son-la", "--from", "2026-02-30", "--json"])
        assert bad.exit_code == 2 and json.loads(bad.output)["error"]["problems"][0]["field"] == "from"
        human = CliRunner().invoke(app, ["report", "compliance", "xa-chieng-an", "--from", "2026-01-01", "--to",
                                         "2026-12-31", "--as-of", TODAY.isoformat()])
        assert human.exit_code == 0 and "Thời hạn bị trễ (1)" in human.output and TINH_BTV in human.output
