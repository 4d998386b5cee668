"""The shape of a procedure definition (one YAML file per rule-set version) and its validation.

A definition lists stages, events (with their guards, inputs, recorded facts and forms),
clocks (statutory deadlines and periods) and the forms catalogue, each rule with the
citation of the regulation and how sure we are of it. `RuleSet.model_validate` checks the
shape; `check_references` checks that everything named exists and that the stage graph is
sound. A definition that fails either refuses to load, naming where.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models.guards import GUARDS
from models.procedure.conditions import CONDITION_PARAMS, CONDITIONS
from models.procedure.facts import PROCEDURE_FACTS

Confidence = Literal["H", "M", "L"]
Actor = Literal[
    "cell", "cell_committee", "intermediate_committee", "grassroots_committee",
    "competent_committee", "candidate", "political_centre", "system",
]
# How an event writes a fact: the event date, a counter, a constant, `$<input>` or `$fact:<name>`.
RECORD_VALUES = {"$on", "$increment", "$clear", "$true"}
STAY = "$stay"          # a target meaning "the stage the event started from"
UNIT_DEFAULTS = {"full_members", "grassroots_committee_size"}   # `$unit.<name>` input defaults


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Form(Strict):
    id: str
    title: str
    signed_by: str
    handwritten: bool = False
    cite: str
    confidence: Confidence = "H"


class Stage(Strict):
    id: str
    letter: str | None = None
    label: str
    kind: Literal["active", "terminal"] = "active"
    phase: Literal["source", "admission", "probation", "recognition", "closed"]
    collects: tuple[str, ...] = ()            # forms gathered while in this stage (dossier checklist)


class InputSpec(Strict):
    type: Literal["int", "text", "date", "bool", "member"]
    label: str
    required: bool = True
    default: str | None = None                # "$on", "$unit.<attribute>" or a literal
    min: int | None = None
    max: int | None = None
    not_after_event: bool = False             # a date input may not be after the event's date
    not_before_event: bool = False            # … or may not be before it (a decision received)


class GuardUse(Strict):
    rule: str
    params: dict[str, Any] = Field(default_factory=dict)
    when: str | None = None                   # a condition name; the guard applies only when it holds
    cite: str
    confidence: Confidence


class Target(Strict):
    stage: str
    when: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Event(Strict):
    id: str
    label: str
    actor: Actor
    from_: tuple[str, ...] = Field(alias="from")
    to: tuple[Target, ...]
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    records: dict[str, str] = Field(default_factory=dict)
    guards: tuple[GuardUse, ...] = ()
    forms: tuple[str, ...] = ()               # documents this event produces
    extends: str | None = None                # a clock this event extends by `working_days`
    cite: str | None = None

    @field_validator("to", mode="before")
    @classmethod
    def _single_target(cls, value: Any) -> Any:
        return [{"stage": value}] if isinstance(value, str) else value


class Limit(Strict):
    working_days: int | None = Field(default=None, gt=0)
    months: int | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Limit:
        if (self.working_days is None) == (self.months is None):
            raise ValueError("give exactly one of working_days or months")
        return self

    def describe(self) -> str:
        return f"{self.working_days} ngày làm việc" if self.working_days else f"{self.months} tháng"


class Clock(Strict):
    id: str
    label: str
    kind: Literal["deadline", "period"]
    limit: Limit
    starts_on: tuple[str, ...]                # events that start it
    counts_from: str = "$on"                  # "$on" or a date fact
    stops_on: tuple[str, ...] = ()            # events that meet it
    ends_as: str | None = None                # fact recording the end date (periods)
    roll_to_working_day: bool = True          # Civil Code Art. 148: a period ending on a day off ends next working day
    who_acts: Actor
    cite: str
    confidence: Confidence

    def due(self, starts_on: date, calendar: Any, extended_days: int = 0) -> date:
        """The last day of this clock started on `starts_on` (the day itself not counted), with any extension.

        The one place a due date is computed: when a clock starts, and when a rule-set migration or a calendar
        correction recomputes it. `calendar` is a models.calendar.working_days.WorkingCalendar."""
        if self.limit.working_days is not None:
            return calendar.add_working_days(starts_on, self.limit.working_days + extended_days)
        assert self.limit.months is not None
        end = calendar.add_months(starts_on, self.limit.months, roll_to_working_day=self.roll_to_working_day)
        return calendar.add_working_days(end, extended_days) if extended_days else end


class StayOnPrevious(Strict):
    """Files at these stages (of the replaced version) finish under the version they started with."""

    stages: tuple[str, ...] = Field(min_length=1)
    cite: str = Field(min_length=1)
    confidence: Confidence


class Transitional(Strict):
    """The transitional provisions (điều khoản chuyển tiếp): which versions' in-flight files this one takes over,
    which of them stay on their version, and where a renamed or merged stage goes (old stage id -> new one)."""

    replaces: tuple[str, ...] = Field(min_length=1)
    cite: str = Field(min_length=1)
    confidence: Confidence = "M"
    stay_on_previous: tuple[StayOnPrevious, ...] = ()
    stage_map: dict[str, str] = Field(default_factory=dict)

    def stays(self, stage: str) -> StayOnPrevious | None:
        return next((p for p in self.stay_on_previous if stage in p.stages), None)


class RuleSet(Strict):
    version: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]*$")
    title: str
    effective_from: date
    sources: tuple[str, ...]
    initial_stage: str
    forms: tuple[Form, ...]
    stages: tuple[Stage, ...]
    events: tuple[Event, ...]
    clocks: tuple[Clock, ...] = ()
    transitional: Transitional | None = None

    # Lookups, built once per (immutable) rule set.
    @cached_property
    def _stages(self) -> dict[str, Stage]:
        return _index(self.stages)

    @cached_property
    def _events(self) -> dict[str, Event]:
        return _index(self.events)

    def stage(self, stage_id: str) -> Stage:
        return self._stages[stage_id]

    def event(self, event_id: str) -> Event:
        return self._events[event_id]

    def form(self, form_id: str) -> Form:
        return _index(self.forms)[form_id]

    def events_from(self, stage_id: str) -> list[Event]:
        return [e for e in self.events if stage_id in e.from_]

    def clocks_started_by(self, event_id: str) -> list[Clock]:
        return [c for c in self.clocks if event_id in c.starts_on]

    def clocks_stopped_by(self, event_id: str) -> list[Clock]:
        return [c for c in self.clocks if event_id in c.stops_on]


def _index(items: tuple[Any, ...]) -> dict[str, Any]:
    return {item.id: item for item in items}


class DefinitionError(ValueError):
    """A definition that does not validate; `problems` are (where, what) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {where}: {what}" for where, what in problems)
        super().__init__(f"{source}: the procedure definition does not validate:\n{lines}")


def parse_ruleset(data: Any, source: str) -> RuleSet:
    """Validate a loaded YAML document into a RuleSet, or raise DefinitionError naming every problem."""
    try:
        ruleset = RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = [(_where(data, err["loc"]), err["msg"]) for err in exc.errors()]
        raise DefinitionError(source, problems) from None
    problems = check_references(ruleset)
    if problems:
        raise DefinitionError(source, problems)
    return ruleset


def _where(data: Any, loc: tuple[Any, ...]) -> str:
    """'events[cell_approves].guards[1].params' rather than 'events.4.guards.1.params'."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int) and isinstance(node, list):
            item = node[key] if key < len(node) else None
            label = item.get("id") if isinstance(item, dict) else None
            parts[-1] += f"[{label}]" if label else f"[{key}]"
            node = item
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts)


def check_references(rs: RuleSet) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    stage_ids = [s.id for s in rs.stages]
    event_ids = [e.id for e in rs.events]
    form_ids = [f.id for f in rs.forms]
    clock_ids = [c.id for c in rs.clocks]
    for name, ids in (("stages", stage_ids), ("events", event_ids), ("forms", form_ids), ("clocks", clock_ids)):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            problems.append((name, f"duplicate ids {dupes}"))
    stages, clocks = set(stage_ids), set(clock_ids)
    if rs.initial_stage not in stages:
        problems.append(("initial_stage", f"unknown stage {rs.initial_stage!r}"))
    for st in rs.stages:
        for f in st.collects:
            if f not in form_ids:
                problems.append((f"stages[{st.id}].collects", f"unknown form {f!r}"))
    for ev in rs.events:
        problems += _check_event(rs, ev, stages, set(form_ids), clocks)
    for ck in rs.clocks:
        where = f"clocks[{ck.id}]"
        for ev_id in (*ck.starts_on, *ck.stops_on):
            if ev_id not in event_ids:
                problems.append((where, f"unknown event {ev_id!r}"))
        if ck.counts_from != "$on" and PROCEDURE_FACTS.get(ck.counts_from) != "date":
            problems.append((f"{where}.counts_from", f"{ck.counts_from!r} is not a date fact"))
        if ck.ends_as is not None and PROCEDURE_FACTS.get(ck.ends_as) != "date":
            problems.append((f"{where}.ends_as", f"{ck.ends_as!r} is not a date fact"))
    problems += _check_graph(rs)
    if rs.transitional is not None:
        problems += _check_transitional(rs, rs.transitional)
    return problems


def _check_transitional(rs: RuleSet, tr: Transitional) -> list[tuple[str, str]]:
    """What one file can check of its transitional provisions (the replaced versions' stages are checked by
    `check_transitional_against` once every version is loaded)."""
    problems: list[tuple[str, str]] = []
    where = "transitional"
    if rs.version in tr.replaces:
        problems.append((f"{where}.replaces", f"{rs.version!r} cannot replace itself"))
    stages = {s.id: s for s in rs.stages}
    staying: set[str] = set()
    for i, provision in enumerate(tr.stay_on_previous):
        staying.update(provision.stages)
        dupes = sorted({s for s in provision.stages if provision.stages.count(s) > 1})
        if dupes:
            problems.append((f"{where}.stay_on_previous[{i}].stages", f"duplicate stages {dupes}"))
    for old, new in tr.stage_map.items():
        at = f"{where}.stage_map.{old}"
        if new not in stages:
            problems.append((at, f"unknown stage {new!r} in {rs.version}"))
        elif stages[new].kind != "active":
            problems.append((at, f"stage {new!r} is terminal: a file in flight cannot be mapped to it"))
        if old in stages:
            problems.append((at, f"{old!r} is still a stage of {rs.version}: files there move without a map"))
        if old in staying:
            problems.append((at, f"{old!r} is also listed in stay_on_previous"))
    return problems


def check_transitional_against(rs: RuleSet, known: dict[str, RuleSet]) -> list[tuple[str, str]]:
    """The transitional provisions of `rs` against the versions it replaces: they exist, are older, and name
    their stages."""
    tr = rs.transitional
    if tr is None:
        return []
    problems: list[tuple[str, str]] = []
    replaced = []
    for version in tr.replaces:
        old = known.get(version)
        if old is None:
            problems.append(("transitional.replaces", f"unknown rule-set version {version!r}; known: {sorted(known)}"))
        elif old.effective_from >= rs.effective_from:
            problems.append(("transitional.replaces",
                             f"{version!r} takes effect on {old.effective_from}, not before {rs.effective_from}"))
        else:
            replaced.append(old)
    if not replaced:
        return problems
    old_stages = {s.id for old in replaced for s in old.stages}
    for i, provision in enumerate(tr.stay_on_previous):
        for stage in provision.stages:
            if stage not in old_stages:
                problems.append((f"transitional.stay_on_previous[{i}].stages",
                                 f"{stage!r} is not a stage of {', '.join(tr.replaces)}"))
    for old_stage in tr.stage_map:
        if old_stage not in old_stages:
            problems.append((f"transitional.stage_map.{old_stage}", f"not a stage of {', '.join(tr.replaces)}"))
    return problems


def _check_event(rs: RuleSet, ev: Event, stages: set[str], forms: set[str], clocks: set[str]) -> list[tuple[str, str]]:
    where = f"events[{ev.id}]"
    problems: list[tuple[str, str]] = []
    for s in ev.from_:
        if s not in stages:
            problems.append((f"{where}.from", f"unknown stage {s!r}"))
        elif rs.stage(s).kind == "terminal":
            problems.append((f"{where}.from", f"stage {s!r} is terminal: nothing leaves it"))
    for i, t in enumerate(ev.to):
        if t.stage not in stages and t.stage != STAY:
            problems.append((f"{where}.to[{i}]", f"unknown stage {t.stage!r}"))
        problems += _check_condition(f"{where}.to[{i}]", t.when, t.params)
    if ev.to and ev.to[-1].when is not None:
        problems.append((f"{where}.to", "the last target must have no `when` (the default route)"))
    for i, g in enumerate(ev.guards):
        gw = f"{where}.guards[{i}]"
        spec = GUARDS.get(g.rule)
        if spec is None:
            problems.append((f"{gw}.rule", f"unknown guard {g.rule!r}; known: {sorted(GUARDS)}"))
        else:
            try:
                spec.params_model.model_validate(g.params)
            except ValidationError as exc:
                for err in exc.errors():
                    loc = ".".join(str(p) for p in err["loc"])
                    problems.append((f"{gw}.params{'.' + loc if loc else ''}", err["msg"]))
        problems += _check_condition(gw, g.when, {})
    for name, value in ev.records.items():
        if name not in PROCEDURE_FACTS:
            problems.append((f"{where}.records.{name}", "not a known procedure fact"))
        elif value.startswith("$fact:"):
            if value[6:] not in PROCEDURE_FACTS:
                problems.append((f"{where}.records.{name}", f"{value[6:]!r} is not a known procedure fact"))
        elif value not in RECORD_VALUES and not (value.startswith("$") and value[1:] in ev.inputs):
            problems.append((f"{where}.records.{name}", f"{value!r} is none of {sorted(RECORD_VALUES)}, $<input>, $fact:<name>"))
    for name, input_spec in ev.inputs.items():
        d = input_spec.default
        if d is not None and d.startswith("$") and d != "$on" and not (d.startswith("$unit.") and d[6:] in UNIT_DEFAULTS):
            units = "|".join(sorted(UNIT_DEFAULTS))
            problems.append((f"{where}.inputs.{name}.default", f"{d!r}: use $on, $unit.<{units}> or a literal"))
    for f in ev.forms:
        if f not in forms:
            problems.append((f"{where}.forms", f"unknown form {f!r}"))
    if ev.extends is not None:
        if ev.extends not in clocks:
            problems.append((f"{where}.extends", f"unknown clock {ev.extends!r}"))
        if "working_days" not in ev.inputs:
            problems.append((f"{where}.inputs", "an extending event needs a `working_days` input"))
    return problems


def _check_condition(where: str, name: str | None, params: dict[str, Any]) -> list[tuple[str, str]]:
    if name is None:
        return []
    if name not in CONDITIONS:
        return [(f"{where}.when", f"unknown condition {name!r}; known: {sorted(CONDITIONS)}")]
    missing = CONDITION_PARAMS.get(name, set()) - set(params)
    return [(f"{where}.params", f"condition {name!r} needs {sorted(missing)}")] if missing else []


def _check_graph(rs: RuleSet) -> list[tuple[str, str]]:
    """Every stage is reachable from the initial one; every active stage can leave and reach an end."""
    problems: list[tuple[str, str]] = []
    edges: dict[str, set[str]] = {s.id: set() for s in rs.stages}
    for ev in rs.events:
        for s in ev.from_:
            edges.setdefault(s, set()).update(s if t.stage == STAY else t.stage for t in ev.to)
    seen, todo = set(), [rs.initial_stage]
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo.extend(edges.get(s, ()))
    terminals = {s.id for s in rs.stages if s.kind == "terminal"}
    for st in rs.stages:
        if st.id not in seen:
            problems.append((f"stages[{st.id}]", "unreachable from the initial stage"))
        if st.kind == "active":
            if not edges.get(st.id):
                problems.append((f"stages[{st.id}]", "an active stage with no event leaving it"))
            elif not _reaches(st.id, terminals, edges):
                problems.append((f"stages[{st.id}]", "no path to a terminal stage"))
    return problems


def _reaches(start: str, goals: set[str], edges: dict[str, set[str]]) -> bool:
    seen, todo = set(), [start]
    while todo:
        s = todo.pop()
        if s in goals:
            return True
        if s not in seen:
            seen.add(s)
            todo.extend(edges.get(s, ()))
    return False
