"""Calendar corrections: when a year's days off are announced late or corrected, every deadline they touch moves.

The government announces each year's days off (Tết, substituted days, make-up Saturdays) late and sometimes
changes them. An administrator records the corrected year (the same fields as the shipped files in
models/calendar/vn/<year>.yaml) with the announcement it comes from. In one transaction:

- the correction is checked (dates inside the year, a day not both off and worked, a revision above the one in
  force), and the calendar it makes is built;
- every deadline whose counting could cross a changed day is recomputed with the same function that computed it
  (`Clock.due`, via models/deadline_recompute.py), open ones and closed ones alike (a closed deadline keeps its
  closing date and is judged met or late again against its new due date);
- each candidate whose deadlines moved gets one audit event (`deadline_recomputed`) listing the changes, its
  version moves on (a form opened before the correction must be reloaded), and the reminders queued for an old
  due date and not sent are withdrawn (the next sweep queues them for the new one);
- the correction is stored with the list of changes and an org-chain audit event.

A dry run does all of it and rolls back, so the preview is exactly what applying would do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, and_, bindparam, select

from models.actors import Actor
from models.audit.trail import append_for_candidate, append_to_chain
from models.calendar.working_days import FIRST_YEAR, LAST_YEAR, WorkingCalendar, YearCorrections
from models.calendar_in_force import (
    CORRECTION,
    _latest,
    _rows,
    calendar_with,
    current_calendar,
    forget_latest,
    shipped_corrections,
)
from models.database import chunks
from models.deadline_recompute import DEADLINE, DeadlineChange, plan_deadlines, store_deadline_changes
from models.procedure.loader import get_ruleset
from models.snapshot import CANDIDATE, decode_facts, encode_facts
from models.tables import PROMOTED_FACTS
from models.transitions import local_today

NEXT_REVISION = 1_000_000      # a correction given without a revision: the next one, taken when it is recorded


@dataclass(frozen=True)
class CorrectionProblem:
    field: str
    message: str          # English (logs, API machine part)
    message_vi: str       # for the administrator


class CorrectionRejected(ValueError):
    def __init__(self, problems: list[CorrectionProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


@dataclass
class CorrectionReport:
    year: int
    revision: int
    source: str
    calendar_before: str
    calendar_after: str
    days_now_off: list[dict[str, str]] = field(default_factory=list)      # were working days
    days_now_working: list[dict[str, str]] = field(default_factory=list)  # were days off
    changes: list[dict[str, Any]] = field(default_factory=list)           # deadlines that moved
    candidates: int = 0
    reminders_withdrawn: int = 0
    correction_id: int | None = None
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def parse_correction(data: Any) -> YearCorrections:
    """A year's correction from a mapping (YAML file, form, API), or CorrectionRejected naming each field.

    `revision` may be left out: the next one is taken."""
    if not isinstance(data, Mapping):
        raise CorrectionRejected([CorrectionProblem("file", "must be a mapping with year, source, days_off, ...",
                                                    "Tệp phải có các mục year, source, days_off, …")])
    data = dict(data)
    data.setdefault("revision", NEXT_REVISION)
    try:
        parsed = YearCorrections.model_validate(data)
    except ValidationError as exc:
        raise CorrectionRejected([
            CorrectionProblem(".".join(str(p) for p in err["loc"]) or "file", err["msg"],
                              f"“{'.'.join(str(p) for p in err['loc'])}”: {_vi(err)}") for err in exc.errors()
        ]) from None
    problems = []
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        problems.append(CorrectionProblem("year", f"must be within {FIRST_YEAR}-{LAST_YEAR}",
                                          f"Năm phải trong khoảng {FIRST_YEAR}–{LAST_YEAR}."))
    for name in ("days_off", "working_days", "not_days_off"):
        for day in getattr(parsed, name):
            if day.year != parsed.year:
                problems.append(CorrectionProblem(name, f"{day.isoformat()} is not in {parsed.year}",
                                                  f"Ngày {day:%d/%m/%Y} không thuộc năm {parsed.year}."))
    for day in sorted(set(parsed.days_off) & set(parsed.working_days)):
        problems.append(CorrectionProblem("working_days", f"{day.isoformat()} is also listed as a day off",
                                          f"Ngày {day:%d/%m/%Y} vừa là ngày nghỉ vừa là ngày làm việc."))
    for name in ("days_off", "working_days", "not_days_off"):
        for day, label in getattr(parsed, name).items():
            if not str(label or "").strip():
                problems.append(CorrectionProblem(name, f"{day.isoformat()} needs a name or reason",
                                                  f"Ngày {day:%d/%m/%Y} cần ghi tên ngày nghỉ hoặc lý do."))
    if problems:
        raise CorrectionRejected(problems)
    return parsed


def _vi(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "chưa nhập."
    if kind.startswith("date"):
        return "không phải ngày hợp lệ (YYYY-MM-DD)."
    if kind == "extra_forbidden":
        return "không phải mục của tệp điều chỉnh (year, revision, source, days_off, working_days, not_days_off)."
    return str(err.get("msg", "không hợp lệ."))


def revision_in_force(conn: Connection, year: int) -> int:
    recorded = {y: r for y, r, _ in _latest(conn)}
    if year in recorded:
        return recorded[year]
    shipped = {c.year: c.revision for c in shipped_corrections()}
    return shipped.get(year, 0)


def correct_calendar(engine: Engine, correction: YearCorrections, actor: Actor, *, dry_run: bool = False,
                     now: datetime | None = None) -> CorrectionReport:
    """Record a corrected year and recompute every deadline it touches (see the module docstring)."""
    now = now or datetime.now(UTC)
    conn = engine.connect()
    try:
        trans = conn.begin()
        report = _correct(conn, correction, actor, now, dry_run)
        if dry_run:
            trans.rollback()
        else:
            trans.commit()
        return report
    finally:
        conn.close()
        forget_latest()                 # this process sees its own correction (or its rollback) at once


def _correct(conn: Connection, correction: YearCorrections, actor: Actor, now: datetime, dry_run: bool) -> CorrectionReport:
    if conn.dialect.name == "postgresql":       # one correction at a time: the revision check must hold
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(8808)")
    forget_latest()                             # the calendar in force now, not as last seen
    current = revision_in_force(conn, correction.year)
    revision = current + 1 if correction.revision == NEXT_REVISION else correction.revision
    if revision <= current:
        raise CorrectionRejected([CorrectionProblem(
            "revision", f"must be above {current}, the revision of {correction.year} in force",
            f"Lần điều chỉnh phải lớn hơn {current} (lần đang áp dụng của năm {correction.year}).")])
    correction = correction.model_copy(update={"revision": revision})
    before = current_calendar(conn)
    after = calendar_with(tuple(_rows(conn, _latest(conn))) + (correction,))
    now_off, now_working = _changed_days(before, after, correction.year)
    report = CorrectionReport(correction.year, revision, correction.source, before.version, after.version,
                              [{"date": d.isoformat(), "name": after.holiday_name(d) or ""} for d in now_off],
                              [{"date": d.isoformat(), "name": before.holiday_name(d) or ""} for d in now_working],
                              dry_run=dry_run)
    changed = sorted(now_off + now_working)
    why = f"calendar {correction.year} revision {revision}: {correction.source}"
    if changed:
        _recompute(conn, report, changed[0], changed[-1], after, actor, now, why)
    # Every other open deadline was checked and did not move: it now holds under the corrected calendar too.
    # A deadline opened concurrently under the previous calendar keeps its old stamp: `reconcile` finds it.
    outside = (DEADLINE.c.status == "open") & (DEADLINE.c.calendar_version == before.version)
    if changed:
        outside = outside & ~((DEADLINE.c.starts_on < changed[-1]) & (DEADLINE.c.due_on >= changed[0]))
    conn.execute(DEADLINE.update().where(outside).values(calendar_version=after.version))
    report.correction_id = conn.execute(CORRECTION.insert().values(
        year=correction.year, revision=revision, source=correction.source,
        days_off={d.isoformat(): n for d, n in sorted(correction.days_off.items())},
        working_days={d.isoformat(): n for d, n in sorted(correction.working_days.items())},
        not_days_off={d.isoformat(): n for d, n in sorted(correction.not_days_off.items())},
        calendar_before=before.version, calendar_after=after.version, actor=actor.name, role=actor.role,
        recorded_at=now, first_changed_day=changed[0] if changed else None,
        summary={"changes": report.changes, "candidates": report.candidates,
                 "reminders_withdrawn": report.reminders_withdrawn, "days_now_off": report.days_now_off,
                 "days_now_working": report.days_now_working},
    ).returning(CORRECTION.c.id)).scalar_one()
    append_to_chain(conn, "org", kind="calendar_corrected", actor=actor, event="correct_calendar",
                    effective_on=local_today(now), reason=correction.source, now=now,
                    payload={"correction_id": report.correction_id, "year": correction.year, "revision": revision,
                             "calendar_before": before.version, "calendar_after": after.version,
                             "days_now_off": [d["date"] for d in report.days_now_off],
                             "days_now_working": [d["date"] for d in report.days_now_working],
                             "deadlines_changed": len(report.changes), "candidates": report.candidates})
    return report


def _changed_days(before: WorkingCalendar, after: WorkingCalendar, year: int) -> tuple[list[date], list[date]]:
    day, end = date(year, 1, 1), date(year, 12, 31)
    now_off, now_working = [], []
    while day <= end:
        was, now = before.is_working_day(day), after.is_working_day(day)
        if was and not now:
            now_off.append(day)
        elif now and not was:
            now_working.append(day)
        day += timedelta(days=1)
    return now_off, now_working


def _recompute(conn: Connection, report: CorrectionReport, first: date, last: date, calendar: WorkingCalendar,
               actor: Actor, now: datetime, why: str) -> None:
    """Every deadline counted across [first, last]: started before the last changed day, due on or after the first.
    Those in range that do not move are stamped as checked under the corrected calendar (rows out of range cannot
    move: the caller stamps them; a row a racing step opens after our read keeps the old stamp for `reconcile`)."""
    in_range = and_(DEADLINE.c.starts_on < last, DEADLINE.c.due_on >= first, DEADLINE.c.status != "cancelled")
    candidates, rows = _locked(conn, in_range)
    _recompute_rows(conn, report, candidates, rows, calendar, actor, now, why)
    _stamp(conn, [r["id"] for r in rows if r["status"] == "open"], calendar.version)


def _locked(conn: Connection, where: Any) -> tuple[dict[int, Mapping[str, Any]], list[Mapping[str, Any]]]:
    """The candidates with a deadline matching `where`, locked (in id order: no deadlock with a migration batch,
    which locks in id order too), and then those deadlines, read after the lock so that a step cannot change
    them between our read and our write."""
    ids = sorted(set(conn.execute(select(DEADLINE.c.candidate_id).where(where).distinct()).scalars()))
    candidates: dict[int, Mapping[str, Any]] = {}
    rows: list[Mapping[str, Any]] = []
    for chunk in chunks(ids):
        candidates |= {r["id"]: r for r in conn.execute(
            select(CANDIDATE).where(CANDIDATE.c.id.in_(chunk)).order_by(CANDIDATE.c.id).with_for_update()).mappings()}
    for chunk in chunks(ids):
        rows += conn.execute(select(DEADLINE).where(where, DEADLINE.c.candidate_id.in_(chunk))
                             .order_by(DEADLINE.c.candidate_id, DEADLINE.c.id)).mappings().all()
    return candidates, rows


def _stamp(conn: Connection, deadline_ids: list[int], calendar_version: str) -> None:
    """Open deadlines checked under `calendar_version` and found unchanged (the moved ones are stamped as stored)."""
    for chunk in chunks(deadline_ids):
        conn.execute(DEADLINE.update().where(DEADLINE.c.id.in_(chunk), DEADLINE.c.status == "open",
                                             DEADLINE.c.calendar_version != calendar_version)
                     .values(calendar_version=calendar_version))


def reconcile(engine: Engine, actor: Actor, *, now: datetime | None = None) -> CorrectionReport:
    """Open deadlines computed under another calendar than the one in force (a step that raced a correction):
    recompute them like a correction would, audited; the unchanged ones are stamped with the calendar in force.
    Run by the daily deadline sweep."""
    now = now or datetime.now(UTC)
    forget_latest()                             # the calendar in force now, not as last seen
    with engine.begin() as conn:
        calendar = current_calendar(conn)
        report = CorrectionReport(0, 0, "reconcile", "", calendar.version)
        stale = and_(DEADLINE.c.status == "open", DEADLINE.c.calendar_version != calendar.version)
        candidates, rows = _locked(conn, stale)
        _recompute_rows(conn, report, candidates, rows, calendar, actor, now,
                        f"deadline computed under an earlier calendar; now {calendar.version}")
        _stamp(conn, [r["id"] for r in rows], calendar.version)
    return report


def _recompute_rows(conn: Connection, report: CorrectionReport, candidates: Mapping[int, Mapping[str, Any]],
                    rows: list[Mapping[str, Any]], calendar: WorkingCalendar, actor: Actor, now: datetime,
                    why: str) -> None:
    by_candidate: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        by_candidate[r["candidate_id"]].append(r)
    for candidate_id, own in by_candidate.items():
        cand = candidates[candidate_id]
        facts = decode_facts(cand)
        moved: list[DeadlineChange] = []
        fact_moves: dict[str, date] = {}
        by_version: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for r in own:
            by_version[r["ruleset_version"]].append(r)
        for version, version_rows in by_version.items():
            changes, moved_facts = plan_deadlines(version_rows, facts, get_ruleset(version), calendar)
            moved += [c for c in changes if c.moved]
            fact_moves.update(moved_facts)
        if not moved:
            continue
        report.reminders_withdrawn += store_deadline_changes(conn, moved, why=why)
        _store(conn, cand, moved, fact_moves, actor, now, why, report)


UPDATE_AFTER_RECOMPUTE = (CANDIDATE.update()
                          .where(CANDIDATE.c.id == bindparam("b_id"), CANDIDATE.c.version == bindparam("b_version")))


def _store(conn: Connection, cand: Mapping[str, Any], moved: list[DeadlineChange], fact_moves: dict[str, date],
           actor: Actor, now: datetime, why: str, report: CorrectionReport) -> None:
    changes = [c.as_dict() for c in moved]
    appended = append_for_candidate(
        conn, cand["id"], (cand["audit_seq"], cand["audit_head"]), move_head=False, kind="deadline_recomputed",
        actor=actor, event="correct_calendar", effective_on=local_today(now), stage_before=cand["stage"],
        stage_after=cand["stage"], reason=why, ruleset_version=cand["ruleset_version"], now=now,
        payload={"deadlines": changes, "facts": {k: v.isoformat() for k, v in fact_moves.items()},
                 "calendar_after": moved[0].calendar_after},
    )
    values: dict[str, Any] = {"version": cand["version"] + 1, "audit_seq": appended.seq, "audit_head": appended.hash}
    if fact_moves:
        json_facts = dict(cand["facts"] or {})
        new_json, columns = encode_facts(fact_moves)
        json_facts.update(new_json)
        values |= {"facts": json_facts, **{k: v for k, v in columns.items() if k in PROMOTED_FACTS}}
    conn.execute(UPDATE_AFTER_RECOMPUTE.values(**values), {"b_id": cand["id"], "b_version": cand["version"]})
    report.candidates += 1
    report.changes += [c | {"audit_event_id": appended.id} for c in changes]


def list_corrections(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(CORRECTION).order_by(CORRECTION.c.id.desc())).mappings().all()
    return [{"id": r["id"], "year": r["year"], "revision": r["revision"], "source": r["source"], "actor": r["actor"],
             "recorded_at": r["recorded_at"], "first_changed_day": r["first_changed_day"],
             "deadlines_changed": len(r["summary"].get("changes", [])), "candidates": r["summary"].get("candidates", 0),
             "calendar_after": r["calendar_after"]} for r in rows]


def correction_detail(engine: Engine, correction_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(CORRECTION).where(CORRECTION.c.id == correction_id)).mappings().first()
    return dict(row) if row else None


def years_in_force(engine: Engine) -> list[dict[str, Any]]:
    """Each year with a shipped or recorded revision: which one is in force and where it comes from."""
    with engine.connect() as conn:
        recorded = {r["year"]: r for r in conn.execute(
            select(CORRECTION).where(CORRECTION.c.id.in_([i for _, _, i in _latest(conn)]))).mappings()}
    out = {c.year: {"year": c.year, "revision": c.revision, "source": c.source, "origin": "shipped"}
           for c in shipped_corrections()}
    for year, r in recorded.items():
        out[year] = {"year": year, "revision": r["revision"], "source": r["source"], "origin": "recorded",
                     "correction_id": r["id"]}
    return [out[y] for y in sorted(out)]


def year_in_force(engine: Engine, year: int) -> dict[str, Any]:
    """The corrections of `year` in force (recorded, else shipped, else empty) in the file's shape, to edit."""
    with engine.connect() as conn:
        recorded = {c.year: c for c in _rows(conn, _latest(conn))}
    found = recorded.get(year) or next((c for c in shipped_corrections() if c.year == year), None)
    if found is None:
        return {"year": year, "revision": 0, "source": "", "days_off": {}, "working_days": {}, "not_days_off": {}}
    return {"year": year, "revision": found.revision, "source": found.source,
            **{name: {d.isoformat(): n for d, n in sorted(getattr(found, name).items())}
               for name in ("days_off", "working_days", "not_days_off")}}


def parse_day_lines(text: str, name: str) -> tuple[dict[str, str], list[CorrectionProblem]]:
    """Lines "dd/mm/yyyy Name" or "yyyy-mm-dd Name" (from the admin page's text boxes) as {ISO date: name}."""
    out: dict[str, str] = {}
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        head, _, label = line.partition(" ")
        try:
            day = (date.fromisoformat(head) if "-" in head
                   else datetime.strptime(head, "%d/%m/%Y").date())
        except ValueError:
            problems.append(CorrectionProblem(name, f"line {number}: {head!r} is not a date",
                                              f"Dòng {number}: “{head}” không phải ngày (dd/mm/yyyy)."))
            continue
        out[day.isoformat()] = label.strip().lstrip("-–: ").strip()
    return out, problems
