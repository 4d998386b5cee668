"""Moving in-flight candidates from one rule-set version to the next, as its transitional provisions say.

A new version (`ketnap procedure add`) declares which versions it replaces, which stages finish under the
version they started with (`stay_on_previous`) and where a renamed or merged stage goes (`stage_map`). For each
candidate not yet at a terminal stage of the old version, `plan_migration` says what would happen:

- stayed: a transitional provision keeps the file on its version (the provision and its citation are named);
- moved: the same stage exists in the new version;  mapped: it moves with the stage mapping old → new;
- blocked: it cannot move (its stage has no counterpart, a deadline runs on a clock the new version lacks…),
  with a Vietnamese message saying why.

with the deadlines recomputed under the new version (models/deadline_recompute.py, `Clock.due`) and warnings:
guards of the candidate's next steps that the new rules fail while the old ones pass (a certificate the new
validity makes too old), evaluated by the pure engine on the situation models/transitions.py builds.

`apply_migration` re-plans every candidate under its row lock and stores it; `revert_migration` undoes it
candidate by candidate while nothing has happened on the file since. Both are audited in each candidate's
chain and in the organisation's. Candidates are read and written in batches of `batch` per transaction, each
candidate inside its own savepoint: one candidate failing rolls back only its own changes, and the commit (an
fsync on SQLite, a WAL flush on PostgreSQL) is paid once per batch rather than once per candidate; a batch holds
its candidates' locks for a few tens of milliseconds, which a concurrent step simply waits out.

A run killed between batches (process killed, database restarted) leaves its committed batches whole and its row
"running". Each batch therefore also writes a heartbeat and the counts so far into the row's summary, in the same
transaction: a "running" row whose last batch is older than `STALE_AFTER` is shown as interrupted, with what it had
done. Running the same migration again continues with the files still on the old version (the only ones it reads)
and closes the interrupted row (status "interrupted", an org-chain event naming what it had moved and the run that
continues it). A revert keeps the same kind of heartbeat and is continued by reverting again.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update

from models.actors import SYSTEM, Actor
from models.audit.trail import AUDIT, append_for_candidate, append_to_chain, candidate_chain
from models.calendar.working_days import WorkingCalendar
from models.calendar_in_force import current_calendar
from models.database import chunks, reading
from models.deadline_recompute import DEADLINE, DeadlineChange, plan_deadlines, store_deadline_changes
from models.procedure.definition import Event, RuleSet
from models.procedure.engine import InputError, StageConflict, precheck
from models.procedure.facts import ClockState
from models.procedure.loader import get_ruleset
from models.scope import whole_tree
from models.snapshot import CANDIDATE, decode_facts, encode_facts
from models.tables import PROMOTED_FACTS, RulesetMigration, RulesetMigrationItem
from models.transitions import LOCAL_TZ, TransitionRequest, UnitCache, load_situation, local_today

MIGRATION = RulesetMigration.__table__
ITEM = RulesetMigrationItem.__table__
MOVING = ("moved", "mapped")
OUTCOMES = ("moved", "mapped", "stayed", "blocked", "failed")
OUTCOME_LABELS = {"moved": "Chuyển sang quy định mới", "mapped": "Chuyển, đổi giai đoạn",
                  "stayed": "Giữ quy định cũ (điều khoản chuyển tiếp)", "blocked": "Không chuyển được",
                  "failed": "Lỗi khi chuyển"}
ORG_CHAIN = "org"
BATCH = 200
# A batch takes well under a second; a run whose last batch is older than this is no longer running.
STALE_AFTER = timedelta(minutes=5)
STATE_LABELS = {"running": "Đang chạy", "interrupted": "Bị gián đoạn", "done": "Hoàn tất"}


# Every write of a locked candidate here (a move, a revert): its version, stage, audit head and all date facts.
UPDATE_MOVED = (CANDIDATE.update()
                .where(CANDIDATE.c.id == bindparam("b_id"), CANDIDATE.c.version == bindparam("b_version"))
                .values(ruleset_version=bindparam("ruleset_version"), stage=bindparam("stage"),
                        version=bindparam("version"), audit_seq=bindparam("audit_seq"), audit_head=bindparam("audit_head"),
                        facts=bindparam("facts", type_=CANDIDATE.c.facts.type), **{f: bindparam(f) for f in PROMOTED_FACTS}))


class MigrationNotAllowed(ValueError):
    """The two versions cannot be migrated between (not replaced by the new one, same version, not in force)."""

    def __init__(self, message: str, message_vi: str, code: str = "migration_not_allowed"):
        self.code, self.message, self.message_vi = code, message, message_vi
        super().__init__(message)


@dataclass(frozen=True)
class GuardWarning:
    """A guard of a next step that fails under the new rules and passed under the old ones."""

    event: str
    event_label: str
    rule: str
    code: str
    message: str
    cite: str
    confidence: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CandidatePlan:
    candidate_id: int
    cell_id: str
    version: int
    outcome: str                                   # moved | mapped | stayed | blocked
    stage_before: str
    stage_after: str
    code: str | None = None                        # why it stays / is blocked (machine code)
    message: str | None = None                     # … in Vietnamese
    cite: str | None = None
    confidence: str | None = None
    deadlines: tuple[DeadlineChange, ...] = ()
    moved_facts: Mapping[str, date] = field(default_factory=dict)
    warnings: tuple[GuardWarning, ...] = ()

    @property
    def moves(self) -> bool:
        return self.outcome in MOVING

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate_id": self.candidate_id, "cell_id": self.cell_id, "version": self.version,
            "outcome": self.outcome, "stage_before": self.stage_before, "stage_after": self.stage_after,
            "code": self.code, "message": self.message, "cite": self.cite, "confidence": self.confidence,
            "deadlines": [d.as_dict() | {"moved": d.moved} for d in self.deadlines],
            "moved_facts": {k: v.isoformat() for k, v in self.moved_facts.items()},
            "warnings": [w.as_dict() for w in self.warnings],
        }


def _totals(outcomes: Iterable[str]) -> dict[str, int]:
    counts = Counter(outcomes)
    return {o: counts.get(o, 0) for o in OUTCOMES}


@dataclass(frozen=True)
class MigrationPlan:
    from_version: str
    to_version: str
    unit_id: str | None
    today: date
    calendar_version: str
    items: tuple[CandidatePlan, ...]
    notes: tuple[str, ...] = ()

    def totals(self) -> dict[str, int]:
        return _totals(i.outcome for i in self.items) | {
            "deadlines_moved": sum(1 for i in self.items if i.moves for d in i.deadlines if d.moved),
            "warnings": sum(len(i.warnings) for i in self.items)}

    def as_dict(self) -> dict[str, Any]:
        return {"from_version": self.from_version, "to_version": self.to_version, "unit_id": self.unit_id,
                "today": self.today.isoformat(), "calendar_version": self.calendar_version, "notes": list(self.notes),
                "totals": self.totals(), "candidates": [i.as_dict() for i in self.items]}


@dataclass(frozen=True)
class MigrationResult:
    migration_id: int | None
    from_version: str
    to_version: str
    totals: Mapping[str, int]
    items: tuple[dict[str, Any], ...]              # per candidate: id, outcome, stages, reason (failed/blocked)
    message: str                                   # Vietnamese summary

    def as_dict(self) -> dict[str, Any]:
        return {"migration_id": self.migration_id, "from_version": self.from_version, "to_version": self.to_version,
                "totals": dict(self.totals), "message": self.message, "candidates": list(self.items)}


@dataclass(frozen=True)
class RevertResult:
    migration_id: int
    reverted: tuple[int, ...]
    refused: tuple[dict[str, Any], ...]            # candidate_id, reason (Vietnamese), later_event
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"migration_id": self.migration_id, "reverted": list(self.reverted), "refused": list(self.refused),
                "message": self.message}


# --- the versions ---------------------------------------------------------------------------------------------

def versions(from_version: str, to_version: str) -> tuple[RuleSet, RuleSet]:
    """The two rule sets, or MigrationNotAllowed saying why they cannot be migrated between."""
    try:
        old, new = get_ruleset(from_version), get_ruleset(to_version)
    except KeyError as exc:
        raise MigrationNotAllowed(str(exc.args[0]), f"Không có quy trình (bộ quy định) phiên bản này: {exc.args[0]}",
                                  "unknown_version") from None
    if old.version == new.version:
        raise MigrationNotAllowed("from and to are the same version", "Phiên bản cũ và mới trùng nhau.")
    if new.transitional is None or old.version not in new.transitional.replaces:
        replaces = ", ".join(new.transitional.replaces) if new.transitional else "không có"
        raise MigrationNotAllowed(
            f"{new.version} does not replace {old.version} (its transitional provisions replace: {replaces})",
            f"Quy định {new.version} không thay thế {old.version} (điều khoản chuyển tiếp thay thế: {replaces}).",
            "not_replaced")
    return old, new


# --- judging one candidate (pure) -----------------------------------------------------------------------------

def judge(cand: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], old: RuleSet, new: RuleSet,
          calendar: WorkingCalendar) -> CandidatePlan:
    """Where one candidate goes, with its open deadlines `rows` recomputed under `new` (no warnings yet)."""
    assert new.transitional is not None
    tr = new.transitional
    stage = cand["stage"]
    base = dict(candidate_id=cand["id"], cell_id=cand["cell_id"], version=cand["version"], stage_before=stage)
    stage_label = _stage_label(old, stage)

    def blocked(code: str, message: str) -> CandidatePlan:
        return CandidatePlan(outcome="blocked", stage_after=stage, code=code, message=message, **base)

    if stage not in {s.id for s in old.stages}:
        return blocked("unknown_stage", f"Giai đoạn “{stage}” không có trong quy trình {old.version}.")
    provision = tr.stays(stage)
    if provision is not None:
        return CandidatePlan(
            outcome="stayed", stage_after=stage, code="stay_on_previous", cite=provision.cite,
            confidence=provision.confidence,
            message=f"Hồ sơ ở giai đoạn “{stage_label}” tiếp tục theo {old.title} đến khi kết thúc.", **base)
    target = tr.stage_map.get(stage, stage)
    new_stages = {s.id: s for s in new.stages}
    if target not in new_stages:
        return blocked("stage_missing", f"Giai đoạn “{stage_label}” không có trong quy trình {new.version} và điều "
                                        "khoản chuyển tiếp không chỉ định giai đoạn tương ứng.")
    if new_stages[target].kind != "active":
        return blocked("stage_terminal", f"Giai đoạn “{stage_label}” là giai đoạn kết thúc trong quy trình "
                                         f"{new.version}: hồ sơ đang xử lý không thể chuyển vào đó.")
    clocks = {c.id for c in new.clocks}
    for row in rows:
        if row["clock"] not in clocks:
            label = next((c.label for c in old.clocks if c.id == row["clock"]), row["clock"])
            return blocked("clock_missing", f"Thời hạn “{label}” (đến {row['due_on']:%d/%m/%Y}) đang tính nhưng quy "
                                            f"trình {new.version} không có thời hạn này.")
    changes, moved_facts = plan_deadlines(list(rows), decode_facts(cand), new, calendar)
    mapped = target != stage
    return CandidatePlan(
        outcome="mapped" if mapped else "moved", stage_after=target,
        code="stage_map" if mapped else None, cite=tr.cite, confidence=tr.confidence,
        message=(f"Giai đoạn “{stage_label}” chuyển thành “{new_stages[target].label}”." if mapped else None),
        deadlines=tuple(changes), moved_facts=moved_facts, **base)


def _stage_label(rs: RuleSet, stage: str) -> str:
    return next((s.label for s in rs.stages if s.id == stage), stage)


def _guard_key(event: Event | None) -> Any:
    if event is None:
        return None
    return [(g.rule, json.dumps(g.params, sort_keys=True, default=str), g.when) for g in event.guards]


def events_to_check(old: RuleSet, new: RuleSet, stage_before: str, stage_after: str) -> list[tuple[Event | None, Event]]:
    """The candidate's next steps under the new rules whose guards differ from the old ones (the others cannot
    fail differently)."""
    out = []
    old_next = {e.id: e for e in old.events_from(stage_before)}
    for ev in new.events_from(stage_after):
        before = old_next.get(ev.id)
        if _guard_key(before) != _guard_key(ev):
            out.append((before, ev))
    return out


def warnings_for(conn: Connection, cand: Mapping[str, Any], plan: CandidatePlan, old: RuleSet, new: RuleSet,
                 on: date, calendar: WorkingCalendar, units: UnitCache | None = None,
                 open_rows: list[Mapping[str, Any]] | None = None) -> tuple[GuardWarning, ...]:
    """Guards of the next steps failing under `new` and passing under `old`, on `on` (or the last step's date).
    `units` shares the unit paths and facts across the files of a plan; `open_rows` are the file's open deadlines
    when the caller has them."""
    pairs = events_to_check(old, new, plan.stage_before, plan.stage_after)
    if not pairs:
        return ()
    first_old = next(iter(old.events_from(plan.stage_before)), None)
    if first_old is None:
        return ()
    day = max(on, cand["last_event_on"] or on)
    now = datetime.combine(day, time(12), tzinfo=LOCAL_TZ)
    request = TransitionRequest(cand["id"], first_old.id, day, SYSTEM)
    try:
        # The situation exactly as a transition (and the pages' precheck) would see it on that day.
        _, situation, _ = load_situation(conn, cand, request, now, calendar, lenient=True, units=units,
                                         open_rows=open_rows)
    except (InputError, StageConflict):
        return ()
    due = {d.clock: date.fromisoformat(d.due_after) for d in plan.deadlines}
    after = dataclasses.replace(
        situation, candidate=dataclasses.replace(situation.candidate, stage=plan.stage_after,
                                                 facts={**situation.candidate.facts, **plan.moved_facts}),
        clocks={k: ClockState(k, due.get(k, v.due_on), v.extended_days) for k, v in situation.clocks.items()})
    found = []
    for before, ev in pairs:
        passed_before = set()
        if before is not None:
            passed_before = {(f.rule, f.code) for f in precheck(old, before.id, situation)}
        for f in precheck(new, ev.id, after):
            if (f.rule, f.code) not in passed_before:
                found.append(GuardWarning(ev.id, ev.label, f.rule, f.code, f.message, f.cite, f.confidence))
    return tuple(found)


# --- reading in batches ---------------------------------------------------------------------------------------

def in_flight_ids(conn: Connection, old: RuleSet, *, unit_id: str | None = None,
                  only: Iterable[int] | None = None) -> list[int]:
    """Candidates on `old` not at one of its terminal stages (within `unit_id`'s subtree, among `only`)."""
    terminal = [s.id for s in old.stages if s.kind == "terminal"]
    rows = conn.execute(select(CANDIDATE.c.id, CANDIDATE.c.cell_id)
                        .where(CANDIDATE.c.ruleset_version == old.version, CANDIDATE.c.stage.not_in(terminal))
                        .order_by(CANDIDATE.c.id)).all()
    if unit_id is not None:
        tree = whole_tree(conn)
        if unit_id not in tree.units:
            raise MigrationNotAllowed(f"no unit {unit_id!r}", f"Không có tổ chức “{unit_id}”.", "unknown_unit")
        cells = tree.subtree_ids(unit_id)
        rows = [r for r in rows if r.cell_id in cells]
    wanted = set(only) if only is not None else None
    return [r.id for r in rows if wanted is None or r.id in wanted]


def _batch(conn: Connection, ids: Sequence[int], old: RuleSet, *, lock: bool
           ) -> tuple[list[Mapping[str, Any]], dict[int, list[Mapping[str, Any]]]]:
    """The candidates among `ids` still in flight on `old` (locked if asked) and their open deadlines."""
    terminal = [s.id for s in old.stages if s.kind == "terminal"]
    query = (select(CANDIDATE).where(CANDIDATE.c.id.in_(ids), CANDIDATE.c.ruleset_version == old.version,
                                     CANDIDATE.c.stage.not_in(terminal)).order_by(CANDIDATE.c.id))
    cands = list(conn.execute(query.with_for_update() if lock else query).mappings().all())
    deadlines: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for row in conn.execute(select(DEADLINE).where(DEADLINE.c.candidate_id.in_([c["id"] for c in cands]),
                                                   DEADLINE.c.status == "open").order_by(DEADLINE.c.id)).mappings():
        deadlines[row["candidate_id"]].append(row)
    return cands, deadlines


def plan_migration(engine: Engine, from_version: str, to_version: str, *, unit_id: str | None = None,
                   today: date, calendar: WorkingCalendar | None = None, only: Iterable[int] | None = None,
                   batch: int = 1000) -> MigrationPlan:
    """The dry run: what `apply_migration` would do to each in-flight candidate today. Stores nothing."""
    old, new = versions(from_version, to_version)
    notes = []
    if today < new.effective_from:
        notes.append(f"Quy định {new.version} có hiệu lực từ {new.effective_from:%d/%m/%Y}: chỉ áp dụng được từ ngày đó.")
    items: list[CandidatePlan] = []
    with reading(engine) as conn:
        calendar = calendar or current_calendar(conn)
        ids = in_flight_ids(conn, old, unit_id=unit_id, only=only)
        units = UnitCache()                 # one read-only snapshot: the same for every file of a cell on a day
        for chunk in chunks(ids, batch):
            cands, deadlines = _batch(conn, chunk, old, lock=False)
            for cand in cands:
                items.append(_full_plan(conn, cand, deadlines.get(cand["id"], []), old, new, today, calendar, units))
    if not ids:
        notes.append(f"Không có hồ sơ nào đang xử lý theo {old.version}" + (f" trong “{unit_id}”." if unit_id else "."))
    return MigrationPlan(old.version, new.version, unit_id, today, calendar.version, tuple(items), tuple(notes))


def _full_plan(conn: Connection, cand: Mapping[str, Any], rows: list[Mapping[str, Any]], old: RuleSet, new: RuleSet,
               today: date, calendar: WorkingCalendar, units: UnitCache | None = None) -> CandidatePlan:
    plan = judge(cand, rows, old, new, calendar)
    if plan.moves:
        warnings = warnings_for(conn, cand, plan, old, new, today, calendar, units, rows)
        if warnings:
            plan = dataclasses.replace(plan, warnings=warnings)
    return plan


# --- applying -------------------------------------------------------------------------------------------------

def apply_migration(engine: Engine, from_version: str, to_version: str, actor: Actor, *, unit_id: str | None = None,
                    only: Iterable[int] | None = None, now: datetime | None = None,
                    batch: int = BATCH) -> MigrationResult:
    """Move every in-flight candidate of `from_version` (in `unit_id`, among `only`) as planned under its lock.

    An earlier run of the same migration that was interrupted is continued (its files already moved are no longer
    on `from_version`) and closed; one still running refuses this one."""
    now = now or datetime.now(UTC)
    today = local_today(now)
    old, new = versions(from_version, to_version)
    if today < new.effective_from:
        raise MigrationNotAllowed(
            f"{new.version} takes effect on {new.effective_from.isoformat()}",
            f"Quy định {new.version} có hiệu lực từ {new.effective_from:%d/%m/%Y}: chưa thể chuyển hồ sơ.", "not_in_force")
    with reading(engine) as conn:
        calendar = current_calendar(conn)
        interrupted = _earlier_runs(conn, old.version, new.version, unit_id)
        ids = in_flight_ids(conn, old, unit_id=unit_id, only=only)
    if not ids:
        closed = _close_interrupted(engine, interrupted, None, actor, now)
        message = (f"Không còn hồ sơ nào đang xử lý theo {old.version}"
                   + (f" trong “{unit_id}”" if unit_id else "") + ": không có gì để chuyển." + _closed_note(closed))
        return MigrationResult(None, old.version, new.version, _totals(()), (), message)
    with engine.begin() as conn:
        migration_id = conn.execute(insert(MIGRATION).returning(MIGRATION.c.id), {
            "from_version": old.version, "to_version": new.version, "actor": actor.name, "role": actor.role,
            "applied_at": now, "calendar_version": calendar.version,
            "summary": _progress(unit_id, len(ids), [], 0)}).scalar_one()
    done: list[dict[str, Any]] = []
    withdrawn = 0
    why = f"ruleset migration {migration_id}: {old.version} -> {new.version}"
    for chunk in chunks(ids, batch):
        with engine.begin() as conn:
            cands, deadlines = _batch(conn, chunk, old, lock=True)
            units = UnitCache()             # per batch: read under the batch's own transaction
            planned = [(cand, _plan_or_error(conn, cand, deadlines.get(cand["id"], []), old, new, today, calendar, units))
                       for cand in cands]
            reports, count = _store_batch(conn, migration_id, planned, old, new, actor, now, today, why)
            done += reports
            withdrawn += count
            # The heartbeat commits with the batch: the counts shown for an interrupted run are what it committed.
            conn.execute(update(MIGRATION).where(MIGRATION.c.id == migration_id).values(
                summary=_progress(unit_id, len(ids), done, withdrawn)))
    totals = _totals(d["outcome"] for d in done)
    totals["gone"] = len(ids) - len(done)           # closed or moved by someone else between listing and locking
    totals["reminders_withdrawn"] = withdrawn
    if not any(totals[o] for o in (*MOVING, "failed")):
        # Only files that stay or are blocked (e.g. applied again): nothing happened, so nothing is recorded.
        with engine.begin() as conn:
            conn.execute(ITEM.delete().where(ITEM.c.migration_id == migration_id))
            conn.execute(MIGRATION.delete().where(MIGRATION.c.id == migration_id))
        closed = _close_interrupted(engine, interrupted, None, actor, now)
        message = (f"Không có hồ sơ nào được chuyển sang {new.version}: giữ quy định cũ {totals['stayed']}, "
                   f"không chuyển được {totals['blocked']}." + _closed_note(closed))
        return MigrationResult(None, old.version, new.version, totals, tuple(done), message)
    closed = _close_interrupted(engine, interrupted, migration_id, actor, now)
    with engine.begin() as conn:
        org = append_to_chain(conn, ORG_CHAIN, kind="ruleset_migration", actor=actor, reason=why,
                              ruleset_version=new.version, now=now,
                              payload={"migration_id": migration_id, "from_version": old.version,
                                       "to_version": new.version, "unit_id": unit_id, "totals": totals,
                                       "calendar_version": calendar.version, "continues": closed})
        conn.execute(update(MIGRATION).where(MIGRATION.c.id == migration_id).values(summary={
            "status": "done", "unit_id": unit_id, "candidates": len(ids), "totals": totals, "org_event_id": org.id,
            "updated_at": _heartbeat(), "continues": closed}))
    message = (f"Đã chuyển {totals['moved'] + totals['mapped']} hồ sơ từ {old.version} sang {new.version} "
               f"({totals['mapped']} đổi giai đoạn); giữ quy định cũ {totals['stayed']}, không chuyển được "
               f"{totals['blocked']}, lỗi {totals['failed']}." + _closed_note(closed))
    return MigrationResult(migration_id, old.version, new.version, totals, tuple(done), message)


# --- interrupted runs -----------------------------------------------------------------------------------------

def _heartbeat() -> str:
    """The machine's time, not the domain clock `now` (which a test or a back-dated run fixes): a heartbeat says
    whether a process is still alive, which only the wall clock can tell."""
    return datetime.now(UTC).isoformat()


def _stale(part: Mapping[str, Any], at: datetime | None = None) -> bool:
    beat = part.get("updated_at")
    return beat is None or (at or datetime.now(UTC)) - datetime.fromisoformat(beat) > STALE_AFTER


def _state(part: Mapping[str, Any], at: datetime | None) -> str:
    status = str(part.get("status", "done"))
    return "interrupted" if status == "running" and _stale(part, at) else status


def state_of(row: Mapping[str, Any], at: datetime | None = None) -> str:
    """done | running | interrupted: a run still "running" whose last batch is older than STALE_AFTER died
    (or one already closed as interrupted)."""
    return _state(row["summary"] or {}, at)


def revert_state_of(row: Mapping[str, Any], at: datetime | None = None) -> str | None:
    """None (never reverted) | done | running | interrupted, for the latest revert of a migration."""
    revert = (row["summary"] or {}).get("revert")
    return _state(revert, at) if revert else None


def _progress(unit_id: str | None, candidates: int, done: Sequence[Mapping[str, Any]], withdrawn: int
              ) -> dict[str, Any]:
    return {"status": "running", "unit_id": unit_id, "candidates": candidates, "updated_at": _heartbeat(),
            "done": _totals(d["outcome"] for d in done) | {"reminders_withdrawn": withdrawn}}


def _earlier_runs(conn: Connection, from_version: str, to_version: str, unit_id: str | None) -> list[int]:
    """Earlier runs of this migration left "running": the interrupted ones this run continues (same unit, or any
    unit when this run covers the whole organisation). Refuses while one is still alive."""
    rows = conn.execute(select(MIGRATION).where(MIGRATION.c.from_version == from_version,
                                                MIGRATION.c.to_version == to_version)).mappings().all()
    running = [r for r in rows if (r["summary"] or {}).get("status") == "running"]
    alive = [r for r in running if state_of(r) == "running"]
    if alive:
        row = alive[0]
        minutes = int(STALE_AFTER.total_seconds() // 60)
        raise MigrationNotAllowed(
            f"migration {row['id']} {from_version} -> {to_version} is still running",
            f"Lần chuyển #{row['id']} từ {from_version} sang {to_version} đang chạy. Chờ lần đó kết thúc; nếu tiến "
            f"trình đã dừng, sau {minutes} phút không có tiến triển nó được coi là bị gián đoạn và có thể chạy lại.",
            "migration_running")
    return sorted(r["id"] for r in running if unit_id is None or (r["summary"] or {}).get("unit_id") == unit_id)


def _close_interrupted(engine: Engine, migration_ids: Sequence[int], continued_by: int | None, actor: Actor,
                       now: datetime) -> list[dict[str, Any]]:
    """Close interrupted runs: status "interrupted", totals from the items they committed, an org-chain event."""
    closed = []
    for mid in migration_ids:
        with engine.begin() as conn:
            row = conn.execute(select(MIGRATION).where(MIGRATION.c.id == mid).with_for_update()).mappings().first()
            if row is None or (row["summary"] or {}).get("status") != "running":
                continue                                    # closed meanwhile by another run
            counts = dict(conn.execute(select(ITEM.c.outcome, func.count()).where(ITEM.c.migration_id == mid)
                                       .group_by(ITEM.c.outcome)).all())
            totals = _totals(Counter({str(k): int(v) for k, v in counts.items()}).elements())
            moved = totals["moved"] + totals["mapped"]
            summary = dict(row["summary"])
            org = append_to_chain(
                conn, ORG_CHAIN, kind="migration_interrupted", actor=actor, now=now,
                ruleset_version=row["to_version"],
                reason=f"ruleset migration {mid} interrupted after moving {moved} file(s); continued by "
                       + (f"migration {continued_by}" if continued_by else "no new run (nothing left to move)"),
                payload={"migration_id": mid, "from_version": row["from_version"], "to_version": row["to_version"],
                         "moved": moved, "totals": totals, "last_batch_at": summary.get("updated_at"),
                         "continued_by": continued_by})
            summary |= {"status": "interrupted", "totals": totals, "continued_by": continued_by,
                        "org_event_id": org.id, "closed_at": now.isoformat()}
            conn.execute(update(MIGRATION).where(MIGRATION.c.id == mid).values(summary=summary))
            closed.append({"migration_id": mid, "moved": moved})
    return closed


def _closed_note(closed: Sequence[Mapping[str, Any]]) -> str:
    return "".join(f" Lần chuyển #{c['migration_id']} bị gián đoạn (đã chuyển {c['moved']} hồ sơ) đã được đóng."
                   for c in closed)


def _plan_or_error(conn: Connection, cand: Mapping[str, Any], rows: list[Mapping[str, Any]], old: RuleSet,
                   new: RuleSet, today: date, calendar: WorkingCalendar, units: UnitCache | None = None
                   ) -> CandidatePlan | Exception:
    try:
        return _full_plan(conn, cand, rows, old, new, today, calendar, units)
    except Exception as exc:  # noqa: BLE001 - reported as this candidate's failure, the others go on
        return exc


def _store_batch(conn: Connection, migration_id: int, planned: list[tuple[Mapping[str, Any], CandidatePlan | Exception]],
                 old: RuleSet, new: RuleSet, actor: Actor, now: datetime, today: date, why: str
                 ) -> tuple[list[dict[str, Any]], int]:
    """Write a locked batch in a few statements; if anything in it fails, write it again candidate by candidate,
    each in its own savepoint, so that only the failing candidate is left out."""
    if all(isinstance(p, CandidatePlan) for _, p in planned):
        savepoint = conn.begin_nested()
        try:
            items, withdrawn = _write_batch(conn, migration_id, planned, old, new, actor, now, today,  # type: ignore[arg-type]
                                            why)
            savepoint.commit()
            return [_reported(i) for i in items], withdrawn
        except Exception:  # noqa: BLE001 - retried one by one below, where the failing candidate is named
            savepoint.rollback()
    one_by_one = [_apply_one(conn, migration_id, cand, plan, old, new, actor, now, today, why) for cand, plan in planned]
    return [r for r, _ in one_by_one], sum(n for _, n in one_by_one)


def _write_batch(conn: Connection, migration_id: int, planned: list[tuple[Mapping[str, Any], CandidatePlan]],
                 old: RuleSet, new: RuleSet, actor: Actor, now: datetime, today: date, why: str
                 ) -> tuple[list[dict[str, Any]], int]:
    moving = [plan for _, plan in planned if plan.moves]
    withdrawn = store_deadline_changes(conn, [d for plan in moving for d in plan.deadlines], why=why)
    items, updates = [], []
    for cand, plan in planned:
        item: dict[str, Any] = {"migration_id": migration_id, "candidate_id": cand["id"], "stage_before": cand["stage"],
                                "outcome": plan.outcome, "stage_after": plan.stage_after, "version_after": None,
                                "audit_event_id": None}
        if plan.moves:
            appended, detail = _audit_move(conn, cand, plan, migration_id, old, new, actor, now, today)
            updates.append(_candidate_row(cand, new.version, plan.stage_after, appended, plan.moved_facts))
            item |= {"version_after": cand["version"] + 1, "audit_event_id": appended.id, "detail": detail}
        else:
            item["detail"] = {"code": plan.code, "message": plan.message, "cite": plan.cite}
        items.append(item)
    _update_candidates(conn, updates)
    conn.execute(insert(ITEM), items)
    return items, withdrawn


def _candidate_row(cand: Mapping[str, Any], ruleset_version: str, stage: str, appended: Any,
                   facts: Mapping[str, date | None]) -> dict[str, Any]:
    """UPDATE_MOVED's parameters for a locked candidate put on `ruleset_version` at `stage`, its audit head moved to
    the event just `appended`, its date `facts` changed."""
    values = {f: cand[f] for f in PROMOTED_FACTS} | {"facts": dict(cand["facts"] or {})} | _facts_update(cand, facts)
    return values | {"b_id": cand["id"], "b_version": cand["version"], "ruleset_version": ruleset_version,
                     "stage": stage, "version": cand["version"] + 1, "audit_seq": appended.seq,
                     "audit_head": appended.hash}


def _update_candidates(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        count = conn.execute(UPDATE_MOVED, rows).rowcount
        if count not in (len(rows), -1):
            raise RuntimeError(f"{len(rows) - count} locked candidate(s) changed while locked")


def _reported(item: Mapping[str, Any]) -> dict[str, Any]:
    detail = item["detail"]
    return {"candidate_id": item["candidate_id"], "outcome": item["outcome"], "stage_before": item["stage_before"],
            "stage_after": item["stage_after"], "version_after": item.get("version_after"),
            "code": detail.get("code"), "message": detail.get("message"), "warnings": len(detail.get("warnings", ()))}


def _apply_one(conn: Connection, migration_id: int, cand: Mapping[str, Any], plan: CandidatePlan | Exception,
               old: RuleSet, new: RuleSet, actor: Actor, now: datetime, today: date, why: str
               ) -> tuple[dict[str, Any], int]:
    """One candidate of a batch that failed as a whole, in its own savepoint: written as the batch would have written
    it, or recorded as failed with the reason."""
    savepoint = conn.begin_nested()
    try:
        if isinstance(plan, Exception):
            raise plan
        items, withdrawn = _write_batch(conn, migration_id, [(cand, plan)], old, new, actor, now, today, why)
        savepoint.commit()
        return _reported(items[0]), withdrawn
    except Exception as exc:  # noqa: BLE001 - one candidate failing must not undo the others; reported per candidate
        savepoint.rollback()
        reason = f"{type(exc).__name__}: {exc}"[:500]
    item = {"migration_id": migration_id, "candidate_id": cand["id"], "stage_before": cand["stage"],
            "outcome": "failed", "stage_after": cand["stage"], "version_after": None,
            "detail": {"code": "failed", "message": f"Lỗi khi chuyển hồ sơ: {reason}"}}
    conn.execute(insert(ITEM), item)
    return _reported(item), 0


def move_candidate(conn: Connection, cand: Mapping[str, Any], plan: CandidatePlan, old: RuleSet, new: RuleSet,
                   actor: Actor, *, now: datetime, on: date, why: str) -> None:
    """Store one locked candidate's move as `judge` planned it, as a migration stores it (deadlines, audit event
    naming both versions, the candidate row) but outside any migration: an import's step replayed from the sheet
    that crosses into a new version (`on` is that step's date)."""
    store_deadline_changes(conn, list(plan.deadlines), why=why)
    appended, _ = _audit_move(conn, cand, plan, None, old, new, actor, now, on)
    _update_candidates(conn, [_candidate_row(cand, new.version, plan.stage_after, appended, plan.moved_facts)])


def _fact_values(cand: Mapping[str, Any], names: Iterable[str]) -> dict[str, str | None]:
    facts = decode_facts(cand)
    return {n: (facts[n].isoformat() if isinstance(facts.get(n), date) else facts.get(n)) for n in names}


def _audit_move(conn: Connection, cand: Mapping[str, Any], plan: CandidatePlan, migration_id: int | None, old: RuleSet,
                new: RuleSet, actor: Actor, now: datetime, today: date) -> tuple[Any, dict[str, Any]]:
    """The candidate's audit event of the move (both versions, the stage mapping, every deadline change) and the
    item detail kept to revert it."""
    changes = [d.as_dict() for d in plan.deadlines]
    facts_before = _fact_values(cand, plan.moved_facts)
    facts_after = {k: v.isoformat() for k, v in plan.moved_facts.items()}
    stage_map = {plan.stage_before: plan.stage_after} if plan.outcome == "mapped" else {}
    warnings = [w.as_dict() for w in plan.warnings]
    appended = append_for_candidate(
        conn, cand["id"], (cand["audit_seq"], cand["audit_head"]), move_head=False, kind="migration", actor=actor,
        event="migrate_ruleset", effective_on=today, stage_before=plan.stage_before, stage_after=plan.stage_after,
        reason=f"Chuyển từ {old.version} sang {new.version}", ruleset_version=new.version, now=now,
        payload={"migration_id": migration_id, "from_version": old.version, "to_version": new.version,
                 "stage_map": stage_map, "deadlines": changes, "facts": facts_after, "facts_before": facts_before,
                 "warnings": warnings, "cite": plan.cite})
    return appended, {"version_before": cand["version"], "deadlines": changes, "facts_before": facts_before,
                      "facts_after": facts_after, "stage_map": stage_map, "warnings": warnings, "code": plan.code,
                      "message": plan.message}


def _facts_update(cand: Mapping[str, Any], facts: Mapping[str, Any]) -> dict[str, Any]:
    """Column values writing `facts` (dates or None) onto the candidate row: promoted columns and the JSON."""
    if not facts:
        return {}
    json_facts = dict(cand["facts"] or {})
    new_json, columns = encode_facts(facts)
    json_facts.update(new_json)
    for name, value in facts.items():
        if value is None and name not in PROMOTED_FACTS:
            json_facts.pop(name, None)
    return {"facts": json_facts, **{k: v for k, v in columns.items() if k in PROMOTED_FACTS}}


# --- reverting ------------------------------------------------------------------------------------------------

def revert_migration(engine: Engine, migration_id: int, actor: Actor, *, candidate_ids: Iterable[int] | None = None,
                     now: datetime | None = None, batch: int = BATCH) -> RevertResult:
    """Undo a migration for each of its moved candidates on which nothing has happened since."""
    now = now or datetime.now(UTC)
    with reading(engine) as conn:
        migration = conn.execute(select(MIGRATION).where(MIGRATION.c.id == migration_id)).mappings().first()
        if migration is None:
            raise MigrationNotAllowed(f"no migration {migration_id}", f"Không có lần chuyển quy định số {migration_id}.",
                                      "not_found")
        query = select(ITEM).where(ITEM.c.migration_id == migration_id, ITEM.c.outcome.in_(MOVING),
                                   ITEM.c.reverted_at.is_(None)).order_by(ITEM.c.candidate_id)
        items = list(conn.execute(query).mappings().all())
    wanted = set(candidate_ids) if candidate_ids is not None else None
    refused: list[dict[str, Any]] = []
    if wanted is not None:
        known = {i["candidate_id"] for i in items}
        refused += [{"candidate_id": c, "reason": "Hồ sơ này không được chuyển trong lần này hoặc đã được hoàn tác.",
                     "later_event": None} for c in sorted(wanted - known)]
        items = [i for i in items if i["candidate_id"] in wanted]
    old_version, new_version = migration["from_version"], migration["to_version"]
    reverted: list[int] = []
    why = f"revert of ruleset migration {migration_id}: {new_version} -> {old_version}"
    _close_interrupted_revert(engine, migration_id, actor, now)
    for chunk in chunks(items, batch):
        with engine.begin() as conn:
            before = len(reverted)
            ids = [i["candidate_id"] for i in chunk]
            cands = {c["id"]: c for c in conn.execute(
                select(CANDIDATE).where(CANDIDATE.c.id.in_(ids)).with_for_update()).mappings()}
            rows, marks = [], []
            for item in chunk:
                cand = cands[item["candidate_id"]]
                if cand["version"] != item["version_after"] or cand["ruleset_version"] != new_version:
                    refused.append(_refusal(conn, cand, item))
                    continue
                row, event_id = _revert_one(conn, cand, item, migration_id, old_version, new_version, actor, now, why)
                rows.append(row)
                marks.append({"b_id": item["id"], "reverted_at": now, "revert_event_id": event_id})
                reverted.append(cand["id"])
            _update_candidates(conn, rows)
            if marks:
                conn.execute(MARK_REVERTED, marks)
            # Committed with the batch: the count of reverted files is always what is stored, and a revert killed
            # between batches shows as interrupted (continued by reverting again: only unreverted items are read).
            _revert_progress(conn, migration_id, len(reverted) - before, {"status": "running", "updated_at": _heartbeat(),
                                                           "actor": actor.name, "reverted": len(reverted)})
    if reverted:
        with engine.begin() as conn:
            append_to_chain(conn, ORG_CHAIN, kind="ruleset_reverted", actor=actor, reason=why,
                            ruleset_version=old_version, now=now,
                            payload={"migration_id": migration_id, "from_version": old_version,
                                     "to_version": new_version, "reverted": len(reverted), "refused": len(refused)})
    with engine.begin() as conn:
        _revert_progress(conn, migration_id, 0, {"status": "done", "updated_at": _heartbeat(), "actor": actor.name,
                                                 "reverted": len(reverted)})
    message = (f"Đã hoàn tác {len(reverted)} hồ sơ về {old_version}; {len(refused)} hồ sơ không hoàn tác được "
               "(đã có bước mới sau khi chuyển).") if refused else f"Đã hoàn tác {len(reverted)} hồ sơ về {old_version}."
    return RevertResult(migration_id, tuple(reverted), tuple(refused), message)


def _revert_progress(conn: Connection, migration_id: int, newly_reverted: int, revert: dict[str, Any]) -> None:
    row = conn.execute(select(MIGRATION.c.summary).where(MIGRATION.c.id == migration_id).with_for_update()).scalar_one()
    summary = dict(row or {})
    summary["reverted"] = int(summary.get("reverted", 0)) + newly_reverted
    summary["revert"] = revert
    conn.execute(update(MIGRATION).where(MIGRATION.c.id == migration_id).values(summary=summary))


def _close_interrupted_revert(engine: Engine, migration_id: int, actor: Actor, now: datetime) -> None:
    """A revert of this migration left "running" died (a live one refuses this one): close it with an org-chain
    event naming how many files it had reverted; this revert continues with the items still unreverted."""
    with engine.begin() as conn:
        row = conn.execute(select(MIGRATION).where(MIGRATION.c.id == migration_id).with_for_update()).mappings().one()
        if revert_state_of(row) == "running":
            raise MigrationNotAllowed(
                f"a revert of migration {migration_id} is still running",
                f"Đang hoàn tác lần chuyển #{migration_id}. Chờ việc đó kết thúc; nếu tiến trình đã dừng, sau "
                f"{int(STALE_AFTER.total_seconds() // 60)} phút nó được coi là bị gián đoạn và có thể chạy lại.",
                "revert_running")
        if revert_state_of(row) != "interrupted":
            return
        summary = dict(row["summary"])
        revert = dict(summary["revert"])
        org = append_to_chain(conn, ORG_CHAIN, kind="revert_interrupted", actor=actor, now=now,
                              ruleset_version=row["from_version"],
                              reason=f"revert of ruleset migration {migration_id} interrupted after reverting "
                                     f"{revert.get('reverted', 0)} file(s); continued by a new revert",
                              payload={"migration_id": migration_id, "reverted": int(revert.get("reverted", 0)),
                                       "last_batch_at": revert.get("updated_at")})
        summary["revert"] = revert | {"status": "interrupted", "org_event_id": org.id, "closed_at": now.isoformat()}
        conn.execute(update(MIGRATION).where(MIGRATION.c.id == migration_id).values(summary=summary))


def _refusal(conn: Connection, cand: Mapping[str, Any], item: Mapping[str, Any]) -> dict[str, Any]:
    """Why a candidate cannot be reverted: the first event of its chain after the migration's."""
    seq = conn.execute(select(AUDIT.c.seq).where(AUDIT.c.id == item["audit_event_id"])).scalar() or 0
    later = conn.execute(select(AUDIT.c.id, AUDIT.c.seq, AUDIT.c.kind, AUDIT.c.event, AUDIT.c.effective_on,
                                AUDIT.c.recorded_at, AUDIT.c.ruleset_version)
                         .where(AUDIT.c.chain_key == candidate_chain(cand["id"]), AUDIT.c.seq > seq)
                         .order_by(AUDIT.c.seq).limit(1)).mappings().first()
    if later is None:
        return {"candidate_id": cand["id"], "later_event": None,
                "reason": f"Hồ sơ đã thay đổi sau khi chuyển (phiên bản {cand['version']}, khi chuyển {item['version_after']})."}
    label = _event_label(later["ruleset_version"], later["kind"], later["event"])
    when = later["effective_on"] or later["recorded_at"].date()
    return {"candidate_id": cand["id"],
            "later_event": {"id": later["id"], "seq": later["seq"], "kind": later["kind"], "event": later["event"],
                            "on": when.isoformat()},
            "reason": f"Đã có bước “{label}” ngày {when:%d/%m/%Y} sau khi chuyển quy định: không hoàn tác được."}


def _event_label(version: str | None, kind: str, event: str | None) -> str:
    if kind == "migration":
        return "Chuyển sang quy định mới"
    if kind == "migration_reverted":
        return "Hoàn tác chuyển quy định"
    if event and version:
        try:
            return get_ruleset(version).event(event).label
        except KeyError:
            pass
    return event or kind


MARK_REVERTED = (ITEM.update().where(ITEM.c.id == bindparam("b_id"))
                 .values(reverted_at=bindparam("reverted_at"), revert_event_id=bindparam("revert_event_id")))


def _revert_one(conn: Connection, cand: Mapping[str, Any], item: Mapping[str, Any], migration_id: int,
                old_version: str, new_version: str, actor: Actor, now: datetime, why: str) -> tuple[dict[str, Any], int]:
    """Restore one locked candidate's deadlines and audit the revert; returns its row for UPDATE_MOVED and the
    audit event's id (the batch writes the candidates and marks the items in one statement each)."""
    detail = item["detail"] or {}
    back = [DeadlineChange(**(_swap(d))) for d in detail.get("deadlines", ())]
    withdrawn = store_deadline_changes(conn, back, why=why)
    # Only date facts move (a period's end), so every stored value is an ISO date or None.
    facts_before = {k: (date.fromisoformat(v) if isinstance(v, str) else v)
                    for k, v in (detail.get("facts_before") or {}).items()}
    appended = append_for_candidate(
        conn, cand["id"], (cand["audit_seq"], cand["audit_head"]), move_head=False, kind="migration_reverted",
        actor=actor, event="revert_ruleset_migration", effective_on=local_today(now), stage_before=cand["stage"],
        stage_after=item["stage_before"], reason=f"Hoàn tác chuyển từ {old_version} sang {new_version}",
        ruleset_version=old_version, now=now,
        payload={"migration_id": migration_id, "from_version": old_version, "to_version": new_version,
                 "restored_version": old_version, "deadlines": [d.as_dict() for d in back],
                 "facts": detail.get("facts_before") or {}, "reminders_withdrawn": withdrawn})
    return _candidate_row(cand, old_version, item["stage_before"], appended, facts_before), appended.id


def _swap(change: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in change.items() if k in {f.name for f in dataclasses.fields(DeadlineChange)}}
    for name in ("starts", "due", "status", "ruleset", "calendar"):
        out[f"{name}_before"], out[f"{name}_after"] = change[f"{name}_after"], change[f"{name}_before"]
    return out


# --- listing --------------------------------------------------------------------------------------------------

def list_migrations(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        rows = conn.execute(select(MIGRATION).order_by(MIGRATION.c.id.desc())).mappings().all()
        return [_with_state(r) for r in rows]


def _with_state(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with its state (done | running | interrupted), its revert's state and the counts done so far."""
    summary = row["summary"] or {}
    return dict(row) | {"state": state_of(row), "revert_state": revert_state_of(row),
                        "counts": summary.get("totals") or summary.get("done") or {}}


def migration_detail(engine: Engine, migration_id: int) -> dict[str, Any] | None:
    with reading(engine) as conn:
        row = conn.execute(select(MIGRATION).where(MIGRATION.c.id == migration_id)).mappings().first()
        if row is None:
            return None
        items = conn.execute(select(ITEM).where(ITEM.c.migration_id == migration_id)
                             .order_by(ITEM.c.candidate_id)).mappings().all()
        return _with_state(row) | {"items": [dict(i) for i in items]}
