"""The one transition function: every stage change of every candidate goes through `apply_transition`.

In one database transaction it loads the candidate (locked), builds the situation on the
event's effective date, lets the pure engine decide, and stores the outcome: the new stage,
the recorded facts, the deadlines opened, met, extended or cancelled, and one audit event.
A refusal stores only its audit event. An idempotency key makes a replay return the first
result; an expected version turns a lost race into a clear conflict. A Prefect flow calls
this function and passes its flow-run id, which the audit event keeps.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, bindparam, literal, select
from sqlalchemy.exc import IntegrityError

from models.actors import SYSTEM, Actor
from models.audit.chain import canonical_json, digest
from models.audit.trail import AUDIT, append_for_candidate
from models.calendar.working_days import WorkingCalendar
from models.calendar_in_force import current_calendar
from models.database import reading
from models.organisation import Tree
from models.procedure.definition import RuleSet
from models.procedure.engine import (
    Accepted,
    Failure,
    InputError,
    InputProblem,
    Refused,
    decide,
    event_for,
    parse_inputs,
    precheck,
)
from models.procedure.facts import ClockState, MemberFacts, Situation, UnitFacts
from models.procedure.loader import get_ruleset
from models.snapshot import (
    CANDIDATE,
    DEADLINE,
    candidate_facts,
    encode_facts,
    load_member,
    sponsors,
    unit_facts,
    unit_path,
)
from models.tables import PROMOTED_FACTS

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class CandidateNotFound(LookupError):
    def __init__(self, candidate_id: int):
        self.candidate_id = candidate_id
        super().__init__(f"no candidate with id {candidate_id}")


class VersionConflict(Exception):
    """Someone changed the candidate since the caller read it."""

    def __init__(self, candidate_id: int, expected: int, actual: int):
        self.candidate_id, self.expected, self.actual = candidate_id, expected, actual
        super().__init__(f"candidate {candidate_id} is at version {actual}, not {expected}: someone acted first")


class IdempotencyKeyReused(Exception):
    def __init__(self, key: str):
        self.key = key
        super().__init__(f"idempotency key {key!r} was already used for a different request")


@dataclass(frozen=True)
class TransitionRequest:
    candidate_id: int
    event: str
    on: date                                  # effective date: the meeting or decision date
    actor: Actor
    inputs: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    expected_version: int | None = None
    reason: str | None = None
    flow_run_id: str | None = None

    def digest(self) -> str:
        """What makes two requests the same request (for idempotency)."""
        return digest(canonical_json({
            "candidate_id": self.candidate_id, "event": self.event, "on": self.on,
            "inputs": {k: str(v) for k, v in sorted(self.inputs.items()) if v not in (None, "")},
        }))


@dataclass(frozen=True)
class TransitionResult:
    status: str                               # applied | refused
    candidate_id: int
    event: str
    stage_before: str
    stage_after: str
    version: int
    audit_event_id: int
    ruleset_version: str
    failures: tuple[Failure, ...] = ()
    deadlines: tuple[dict[str, Any], ...] = ()
    forms: tuple[str, ...] = ()
    replayed: bool = False

    @property
    def applied(self) -> bool:
        return self.status == "applied"

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["failures"] = [f.as_dict() for f in self.failures]
        return out


@dataclass(frozen=True)
class Imported:
    """A step that already happened on paper before ketnap, replayed by an import (models/imports/files_in_progress.py).

    It is judged by the candidate's rule set (the import first moves the file to the version in force on the
    step's date when that version's transitional provisions take it), keeps the audit kind "transition" with an
    `imported` payload, and, when `accept_unverified`, is applied even if guards fail: the failures are kept and
    the candidate is flagged `imported_unverified`."""

    batch_id: int
    authority: str
    accept_unverified: bool = False

    def payload(self, failures: list[dict[str, Any]]) -> dict[str, Any]:
        return {"batch": self.batch_id, "authority": self.authority, "before_ketnap": True, "failures": failures}


def local_today(now: datetime) -> date:
    return now.astimezone(LOCAL_TZ).date()


def apply_transition(
    engine: Engine,
    request: TransitionRequest,
    *,
    now: datetime | None = None,
    calendar: WorkingCalendar | None = None,
) -> TransitionResult:
    now = now or datetime.now(UTC)
    try:
        with engine.begin() as conn:
            return apply_in(conn, request, now=now, calendar=calendar)
    except IntegrityError:
        # A concurrent request with the same idempotency key committed first: return its result.
        if request.idempotency_key:
            with engine.begin() as conn:
                replay = _replay(conn, request, request.digest())
                if replay is not None:
                    return replay
        raise


def apply_in(conn: Connection, request: TransitionRequest, *, now: datetime, calendar: WorkingCalendar | None = None,
             imported: Imported | None = None) -> TransitionResult:
    """`apply_transition` inside the caller's transaction (an import replays a whole file in one transaction)."""
    request_digest = request.digest()
    # Lock first, then look the key up: a concurrent replay waits here and then finds the
    # first request's result (and an old expected version does not turn a replay into a conflict).
    cand = _candidate_row(conn, request.candidate_id, lock=True)
    if request.idempotency_key:
        replay = _replay(conn, request, request_digest)
        if replay is not None:
            return replay
    return _transition(conn, cand, request, request_digest, now, calendar or current_calendar(conn), imported)


CANDIDATE_BY_ID = select(CANDIDATE).where(CANDIDATE.c.id == bindparam("id"))
CANDIDATE_FOR_UPDATE = CANDIDATE_BY_ID.with_for_update()
OPEN_DEADLINES = select(DEADLINE).where(DEADLINE.c.candidate_id == bindparam("candidate_id"),
                                        DEADLINE.c.status == literal("open"))
INSERT_DEADLINE = DEADLINE.insert()
UPDATE_DEADLINE = DEADLINE.update().where(DEADLINE.c.id == bindparam("b_id"))
EVENT_BY_KEY = select(AUDIT).where(AUDIT.c.idempotency_key == bindparam("key"))
# One statement moves the stage, the facts, the version and the audit head together.
UPDATE_CANDIDATE = (
    CANDIDATE.update()
    .where(CANDIDATE.c.id == bindparam("b_id"), CANDIDATE.c.version == bindparam("b_version"))
    .values(stage=bindparam("stage"), version=bindparam("version"), facts=bindparam("facts", type_=CANDIDATE.c.facts.type),
            last_event_on=bindparam("last_event_on"), audit_seq=bindparam("audit_seq"),
            audit_head=bindparam("audit_head"), **{f: bindparam(f) for f in PROMOTED_FACTS})
)


def _candidate_row(conn: Connection, candidate_id: int, *, lock: bool) -> Mapping[str, Any]:
    cand = conn.execute(CANDIDATE_FOR_UPDATE if lock else CANDIDATE_BY_ID, {"id": candidate_id}).mappings().first()
    if cand is None:
        raise CandidateNotFound(candidate_id)
    return cand


@dataclass
class UnitCache:
    """The unit path and the unit facts of a cell on a day, read once for many files of a read-only pass (a
    migration's dry run judges tens of thousands of files of a handful of cells on the same day). Valid only while
    the organisation and its members do not change: a transition never uses it."""

    paths: dict[str, Tree] = field(default_factory=dict)
    facts: dict[tuple[str, date], UnitFacts] = field(default_factory=dict)

    def unit(self, conn: Connection, cell_id: str, on: date) -> tuple[Tree, UnitFacts]:
        tree = self.paths.get(cell_id)
        if tree is None:
            tree = self.paths[cell_id] = unit_path(conn, cell_id)
        unit = self.facts.get((cell_id, on))
        if unit is None:
            unit = self.facts[cell_id, on] = unit_facts(conn, cell_id, on, tree)
        return tree, unit


def load_situation(conn: Connection, cand: Mapping[str, Any], req: TransitionRequest, now: datetime,
                   calendar: WorkingCalendar, *, lenient: bool = False,
                   units: UnitCache | None = None, open_rows: list[Mapping[str, Any]] | None = None,
                   ) -> tuple[RuleSet, Situation, list[Mapping[str, Any]]]:
    """The candidate's rule set, its situation on the event date and its open deadlines (read here,
    or `open_rows` when the caller has just read them; the unit's path and facts from `units` when given)."""
    if req.expected_version is not None and cand["version"] != req.expected_version:
        raise VersionConflict(req.candidate_id, req.expected_version, cand["version"])
    _check_date(req.on, cand["last_event_on"], now)
    rs = get_ruleset(cand["ruleset_version"])
    event = event_for(rs, req.event, cand["stage"])
    if units is not None:
        tree, unit = units.unit(conn, cand["cell_id"], req.on)
    else:
        tree = unit_path(conn, cand["cell_id"])
        unit = unit_facts(conn, cand["cell_id"], req.on, tree)
    inputs = parse_inputs(event, req.inputs, on=req.on, unit=unit, resolve_member=lambda i: load_member(conn, i),
                          lenient=lenient)
    if open_rows is None:
        open_rows = conn.execute(OPEN_DEADLINES, {"candidate_id": req.candidate_id}).mappings().all()  # type: ignore[assignment]
    situation = Situation(
        on=req.on,
        candidate=candidate_facts(cand),
        unit=unit,
        sponsors=sponsors(conn, req.candidate_id, req.on, tree, cand["cell_id"]),
        inputs=inputs,
        calendar=calendar,
        clocks={r["clock"]: ClockState(r["clock"], r["due_on"], r["extended_days"]) for r in open_rows},
    )
    return rs, situation, open_rows


def preview_transition(engine: Engine, request: TransitionRequest, *, now: datetime | None = None,
                       calendar: WorkingCalendar | None = None) -> Accepted | Refused:
    """What `apply_transition` would decide, without storing anything (a dry run)."""
    with reading(engine) as conn:
        cand = _candidate_row(conn, request.candidate_id, lock=False)
        rs, situation, _ = load_situation(conn, cand, request, now or datetime.now(UTC),
                                          calendar or current_calendar(conn))
        return decide(rs, request.event, situation)


@dataclass(frozen=True)
class Precheck:
    failures: tuple[Failure, ...]          # guards that already fail, whatever is entered
    defaults: Mapping[str, Any]            # each input's default on that date (None: none)


def precheck_transition(engine: Engine, candidate_id: int, event: str, on: date, *, now: datetime | None = None,
                        calendar: WorkingCalendar | None = None) -> Precheck:
    """The guards of `event` that already fail on `on`, before any input is entered, and the inputs'
    defaults (for the pages and the API's list of actions)."""
    with reading(engine) as conn:
        cand = _candidate_row(conn, candidate_id, lock=False)
        request = TransitionRequest(candidate_id, event, on, SYSTEM)
        rs, situation, _ = load_situation(conn, cand, request, now or datetime.now(UTC),
                                          calendar or current_calendar(conn), lenient=True)
        defaults = {k: (v.id if isinstance(v, MemberFacts) else v) for k, v in situation.inputs.items()}
        return Precheck(tuple(precheck(rs, event, situation)), defaults)


def _transition(conn: Connection, cand: Mapping[str, Any], req: TransitionRequest, request_digest: str,
                now: datetime, calendar: WorkingCalendar, imported: Imported | None = None) -> TransitionResult:
    rs, situation, open_rows = load_situation(conn, cand, req, now, calendar)
    inputs = situation.inputs
    decision = decide(rs, req.event, situation, enforce_guards=not (imported and imported.accept_unverified))
    head = (cand["audit_seq"], cand["audit_head"])
    common = dict(
        actor=req.actor, event=req.event, effective_on=req.on, stage_before=cand["stage"],
        reason=req.reason, ruleset_version=rs.version, flow_run_id=req.flow_run_id,
        idempotency_key=req.idempotency_key, request_digest=request_digest, now=now,
    )
    request_json = {k: (v.id if isinstance(v, MemberFacts) else v) for k, v in inputs.items() if v is not None}
    if isinstance(decision, Refused):
        failures = [f.as_dict() for f in decision.failures]
        appended = append_for_candidate(
            conn, req.candidate_id, head, kind="refusal", stage_after=cand["stage"],
            payload={"inputs": request_json, "failures": failures}, **common,
        )
        return TransitionResult("refused", req.candidate_id, req.event, cand["stage"], cand["stage"],
                                cand["version"], appended.id, rs.version, failures=decision.failures)
    return _store_accepted(conn, req, cand, decision, request_json, head, common, rs, calendar, open_rows, imported)


def _store_accepted(conn: Connection, req: TransitionRequest, cand: Mapping[str, Any], decision: Accepted,
                    request_json: dict[str, Any], head: tuple[int, str], common: dict[str, Any],
                    rs: RuleSet, calendar: WorkingCalendar, open_rows: list[Mapping[str, Any]],
                    imported: Imported | None = None) -> TransitionResult:
    json_facts = dict(cand["facts"] or {})
    new_json, columns = encode_facts(decision.records)
    json_facts.update(new_json)
    for name, value in decision.records.items():
        if value is None:
            json_facts.pop(name, None)
    deadline_changes = _update_deadlines(conn, req, decision, calendar, open_rows)
    clocks = {c.id: c for c in rs.clocks}
    payload = {
        "inputs": request_json,
        "records": dict(decision.records),
        "deadlines": deadline_changes,
        "forms": list(decision.forms),
    }
    if imported:
        payload["imported"] = imported.payload([f.as_dict() for f in decision.failures])
    appended = append_for_candidate(
        conn, req.candidate_id, head, kind="transition", stage_after=decision.stage_after, payload=payload,
        move_head=False, **common,
    )
    updated = conn.execute(UPDATE_CANDIDATE, {
        "b_id": req.candidate_id, "b_version": cand["version"], "stage": decision.stage_after,
        "version": cand["version"] + 1, "facts": json_facts, "last_event_on": req.on,
        "audit_seq": appended.seq, "audit_head": appended.hash,
        **{f: columns.get(f, cand[f]) for f in PROMOTED_FACTS},
    })
    if updated.rowcount != 1:
        raise VersionConflict(req.candidate_id, cand["version"], cand["version"] + 1)
    if imported and decision.failures:
        conn.execute(CANDIDATE.update().where(CANDIDATE.c.id == req.candidate_id).values(imported_unverified=True))
    for start in decision.clocks_started:
        conn.execute(INSERT_DEADLINE, dict(
            candidate_id=req.candidate_id, clock=start.clock, kind=start.kind, who_acts=clocks[start.clock].who_acts,
            starts_on=start.starts_on, due_on=start.due_on, extended_days=0, status="open", ruleset_version=rs.version,
            calendar_version=calendar.version, opened_by_event_id=appended.id,
        ))
    return TransitionResult("applied", req.candidate_id, req.event, decision.stage_before, decision.stage_after,
                            cand["version"] + 1, appended.id, rs.version, deadlines=tuple(deadline_changes),
                            forms=decision.forms)


def _update_deadlines(conn: Connection, req: TransitionRequest, decision: Accepted, calendar: WorkingCalendar,
                      open_rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Meet, extend or cancel open deadlines; describe every change (the new ones included)."""
    changes: list[dict[str, Any]] = []
    for row in open_rows:
        if row["clock"] in decision.clocks_stopped:
            status = "met" if req.on <= row["due_on"] else "late"
            values: dict[str, Any] = {"status": status, "closed_on": req.on}
        elif decision.extension and row["clock"] == decision.extension[0]:
            days = decision.extension[1]
            values = {"due_on": calendar.add_working_days(row["due_on"], days),
                      "extended_days": row["extended_days"] + days}
            status = "extended"
        elif row["kind"] == "period" and row["due_on"] <= req.on:
            status = "elapsed"
            values = {"status": status, "closed_on": row["due_on"]}
        elif decision.closes_file:
            status = "cancelled"
            values = {"status": status, "closed_on": req.on}
        else:
            continue
        conn.execute(UPDATE_DEADLINE, {"b_id": row["id"], **values})
        due = values.get("due_on", row["due_on"])
        changes.append({"clock": row["clock"], "change": status, "due_on": due.isoformat()})
    for start in decision.clocks_started:
        changes.append({"clock": start.clock, "change": "opened", "starts_on": start.starts_on.isoformat(),
                        "due_on": start.due_on.isoformat()})
    return changes


def _check_date(on: date, last_event_on: date | None, now: datetime) -> None:
    today = local_today(now)
    if on > today:
        raise InputError([InputProblem("on", "in_future", f"{on.isoformat()} is after today ({today.isoformat()})",
                                       f"Ngày {on:%d/%m/%Y} chưa đến (hôm nay là {today:%d/%m/%Y}).")])
    if last_event_on is not None and on < last_event_on:
        raise InputError([InputProblem(
            "on", "before_previous_step",
            f"{on.isoformat()} is before the candidate's latest recorded step ({last_event_on.isoformat()})",
            f"Ngày {on:%d/%m/%Y} trước ngày của bước gần nhất đã ghi ({last_event_on:%d/%m/%Y}).",
        )])


def recorded_result(engine: Engine, request: TransitionRequest) -> TransitionResult | None:
    """The stored result of a request already made with this idempotency key, or None (nothing recorded)."""
    if not request.idempotency_key:
        return None
    with reading(engine) as conn:
        return _replay(conn, request, request.digest())


def _replay(conn: Connection, req: TransitionRequest, request_digest: str) -> TransitionResult | None:
    row = conn.execute(EVENT_BY_KEY, {"key": req.idempotency_key}).mappings().first()
    if row is None:
        return None
    if row["request_digest"] != request_digest or row["candidate_id"] != req.candidate_id:
        raise IdempotencyKeyReused(req.idempotency_key or "")
    payload = json.loads(row["payload"])
    version = conn.execute(select(CANDIDATE.c.version).where(CANDIDATE.c.id == req.candidate_id)).scalar_one()
    failures = tuple(Failure(**f) for f in payload.get("failures", ()))
    return TransitionResult(
        status="refused" if row["kind"] == "refusal" else "applied",
        candidate_id=req.candidate_id, event=row["event"], stage_before=row["stage_before"],
        stage_after=row["stage_after"], version=version, audit_event_id=row["id"],
        ruleset_version=row["ruleset_version"], failures=failures,
        deadlines=tuple(payload.get("deadlines", ())), forms=tuple(payload.get("forms", ())), replayed=True,
    )
