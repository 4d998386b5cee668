"""The state machine step, pure: given a rule set, an event and a Situation, decide what happens.

`decide` evaluates *every* guard of the event and either refuses with all the failures, or
accepts with the new stage, the facts to record, the clocks to start, stop or extend, and
the forms the step produces. It reads no database and no clock; models/transitions.py
stores what it decides, in one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from models.guards import GUARDS
from models.procedure.conditions import CONDITIONS
from models.procedure.definition import STAY, Clock, Event, GuardUse, InputSpec, RuleSet
from models.procedure.facts import MemberFacts, Situation, UnitFacts
from models.vietnamese import clean_name


@dataclass(frozen=True)
class Failure:
    """One failing guard: machine code, Vietnamese message, the rule and its citation."""

    rule: str
    code: str
    message: str
    cite: str
    confidence: str
    details: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"details": dict(self.details)}


@dataclass(frozen=True)
class ClockStart:
    clock: str
    kind: str
    starts_on: date
    due_on: date


@dataclass(frozen=True)
class Refused:
    event: str
    stage: str
    failures: tuple[Failure, ...]


@dataclass(frozen=True)
class Accepted:
    event: str
    stage_before: str
    stage_after: str
    records: Mapping[str, Any]
    clocks_started: tuple[ClockStart, ...]
    clocks_stopped: tuple[str, ...]
    extension: tuple[str, int] | None          # (clock, working days)
    closes_file: bool                           # reached a terminal stage: every open clock is cancelled
    forms: tuple[str, ...]
    failures: tuple[Failure, ...] = ()          # guards that failed but were not enforced (an unverified import)


@dataclass(frozen=True)
class InputProblem:
    field: str
    code: str
    message: str        # English, for logs and the API's machine-readable part
    message_vi: str     # for the secretary


class InputError(ValueError):
    """The request itself is malformed: unknown or missing fields, values of the wrong type or range."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


class StageConflict(Exception):
    """The event does not apply to the candidate's current stage (often: someone acted first)."""

    def __init__(self, event: str, stage: str, allowed_from: tuple[str, ...]):
        self.event, self.stage, self.allowed_from = event, stage, allowed_from
        super().__init__(f"event {event!r} applies to stages {list(allowed_from)}, the candidate is at {stage!r}")


def event_for(rs: RuleSet, event_id: str, stage: str) -> Event:
    try:
        event = rs.event(event_id)
    except KeyError:
        known = ", ".join(e.id for e in rs.events_from(stage)) or "none"
        raise InputError([InputProblem(
            "event", "unknown_event",
            f"unknown event {event_id!r} in rule set {rs.version}; from stage {stage!r}: {known}",
            f"Không có bước “{event_id}” trong quy trình {rs.version}.",
        )]) from None
    if stage not in event.from_:
        raise StageConflict(event_id, stage, event.from_)
    return event


def parse_inputs(
    event: Event,
    raw: Mapping[str, Any],
    *,
    on: date,
    unit: UnitFacts,
    resolve_member: Callable[[str], MemberFacts | None],
    lenient: bool = False,
) -> dict[str, Any]:
    """Typed inputs from raw values (strings from the CLI, JSON values from the API).

    lenient: a value missing or not valid is left as None instead of refused (for a check made
    before the form is filled in)."""
    problems: list[InputProblem] = []
    for name in raw:
        if name not in event.inputs:
            takes = ", ".join(event.inputs) or "nothing"
            problems.append(InputProblem(name, "unknown_field", f"not an input of {event.id} (it takes: {takes})",
                                         f"Bước này không có trường “{name}”."))
    values: dict[str, Any] = {}
    for name, spec in event.inputs.items():
        value = raw.get(name)
        if value is None or value == "":
            value = _default(spec, on, unit)
        if value is None:
            if spec.required:
                problems.append(InputProblem(name, "required", "is required", f"Chưa nhập “{spec.label}”."))
            values[name] = None
            continue
        try:
            values[name] = _convert(spec, value, resolve_member)
        except ValueError as exc:
            en, vi = exc.args if len(exc.args) == 2 else (str(exc), str(exc))
            problems.append(InputProblem(name, "invalid", en, f"“{spec.label}”: {vi}"))
            continue
        problems += _date_order(name, spec, values[name], on)
    if lenient:
        return {name: (None if any(p.field == name for p in problems) else v) for name, v in values.items()}
    if problems:
        raise InputError(problems)
    return values


def _date_order(name: str, spec: InputSpec, value: Any, on: date) -> list[InputProblem]:
    if not isinstance(value, date):
        return []
    if spec.not_after_event and value > on:
        return [InputProblem(name, "after_event_date", f"{value.isoformat()} is after the step's date {on.isoformat()}",
                             f"“{spec.label}” ({value:%d/%m/%Y}) không được sau ngày của bước này ({on:%d/%m/%Y}).")]
    if spec.not_before_event and value < on:
        return [InputProblem(name, "before_event_date", f"{value.isoformat()} is before the step's date {on.isoformat()}",
                             f"“{spec.label}” ({value:%d/%m/%Y}) không được trước ngày của bước này ({on:%d/%m/%Y}).")]
    return []


def _default(spec: InputSpec, on: date, unit: UnitFacts) -> Any:
    d = spec.default
    if d is None:
        return None
    if d == "$on":
        return on
    if d.startswith("$unit."):
        value = getattr(unit, d[6:])
        return value or None
    return d


def _convert(spec: InputSpec, value: Any, resolve_member: Callable[[str], MemberFacts | None]) -> Any:
    kind = spec.type
    if kind == "date":
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)", f"“{value}” không phải ngày (YYYY-MM-DD).") from None
    if kind == "member":
        if isinstance(value, MemberFacts):
            return value
        member = resolve_member(str(value).strip())
        if member is None:
            raise ValueError(f"no party member {value!r} (give the member's id or code)",
                             f"không có đảng viên “{value}” (nhập mã số hoặc số thẻ).")
        return member
    if kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"{value!r} is not a whole number", f"“{value}” không phải số nguyên.")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a whole number", f"“{value}” không phải số nguyên.") from None
        if spec.min is not None and number < spec.min:
            raise ValueError(f"must be at least {spec.min}", f"phải từ {spec.min} trở lên.")
        if spec.max is not None and number > spec.max:
            raise ValueError(f"must be at most {spec.max}", f"không được quá {spec.max}.")
        return number
    if kind == "bool":
        text = str(value).lower()
        if text in ("true", "1", "yes", "có"):
            return True
        if text in ("false", "0", "no", "không"):
            return False
        raise ValueError(f"{value!r} is not true/false", f"“{value}” phải là có/không.")
    text = clean_name(str(value))
    if not text:
        raise ValueError("must not be blank", "không được để trống.")
    return text


def check(rs: RuleSet, event: Event, s: Situation, *, before_inputs: bool = False) -> list[Failure]:
    """Every failing guard of `event` in situation `s` (an empty list means it may proceed).

    before_inputs: only the guards that judge the file and the unit, not what the user enters."""
    failures: list[Failure] = []
    for use in event.guards:
        if use.when is not None and not CONDITIONS[use.when](s, {}):
            continue
        spec = GUARDS[use.rule]
        if before_inputs and spec.reads_inputs:
            continue
        for problem in spec.check(s, _params(use)):
            failures.append(Failure(use.rule, problem.code, problem.message, use.cite, use.confidence, problem.details))
    return failures


_PARSED: dict[int, tuple[GuardUse, Any]] = {}


def _params(use: GuardUse) -> Any:
    """A guard's parameters, validated once per definition object (definitions are immutable)."""
    hit = _PARSED.get(id(use))
    if hit is None or hit[0] is not use:
        hit = _PARSED[id(use)] = (use, GUARDS[use.rule].params_model.model_validate(use.params))
    return hit[1]


def precheck(rs: RuleSet, event_id: str, s: Situation) -> list[Failure]:
    """What already stands in the way of `event_id` before its form is filled in."""
    return check(rs, event_for(rs, event_id, s.candidate.stage), s, before_inputs=True)


def decide(rs: RuleSet, event_id: str, s: Situation, *, enforce_guards: bool = True) -> Accepted | Refused:
    """enforce_guards=False: a step that already happened on paper and is imported "not verified": it is
    accepted whatever its guards say, and the failures travel with the Accepted for the record."""
    stage = s.candidate.stage
    event = event_for(rs, event_id, stage)
    failures = check(rs, event, s)
    if failures and enforce_guards:
        return Refused(event.id, stage, tuple(failures))

    records = _records(event, s)
    facts = {**s.candidate.facts, **records}
    started = []
    for clock in rs.clocks_started_by(event.id):
        start = _clock_start(clock, s.on, facts)
        due = _due(clock, start, s)
        started.append(ClockStart(clock.id, clock.kind, start, due))
        if clock.ends_as:
            records[clock.ends_as] = facts[clock.ends_as] = due
    after = dataclasses.replace(s, candidate=dataclasses.replace(s.candidate, facts=facts))
    target = next(t for t in event.to if t.when is None or CONDITIONS[t.when](after, t.params))
    stage_after = stage if target.stage == STAY else target.stage
    extension = (event.extends, s.inputs["working_days"]) if event.extends else None
    return Accepted(
        event=event.id,
        stage_before=stage,
        stage_after=stage_after,
        records=records,
        clocks_started=tuple(started),
        clocks_stopped=tuple(c.id for c in rs.clocks_stopped_by(event.id)),
        extension=extension,
        closes_file=rs.stage(stage_after).kind == "terminal",
        forms=event.forms,
        failures=tuple(failures),
    )


def _records(event: Event, s: Situation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fact, how in event.records.items():
        if how == "$on":
            out[fact] = s.on
        elif how == "$increment":
            out[fact] = (s.fact(fact) or 0) + 1
        elif how == "$clear":
            out[fact] = None
        elif how == "$true":
            out[fact] = True
        elif how.startswith("$fact:"):
            out[fact] = s.fact(how[6:])
        else:
            value = s.inputs.get(how[1:])
            if value is not None:
                out[fact] = value.id if isinstance(value, MemberFacts) else value
    return out


def _clock_start(clock: Clock, on: date, facts: Mapping[str, Any]) -> date:
    if clock.counts_from == "$on":
        return on
    start = facts.get(clock.counts_from)
    if not isinstance(start, date):
        raise ValueError(f"clock {clock.id} counts from {clock.counts_from}, which is not recorded")
    return start


def _due(clock: Clock, start: date, s: Situation) -> date:
    return clock.due(start, s.calendar)
