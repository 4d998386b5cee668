"""Compliance across a subtree and a period: what the organisation department checks in how files went.

For the cells under a unit and a period [start, end] (both days included):

- statutory deadlines missed (closed late, cancelled after their last day, or still open past it) and at
  risk (open, their last day within N working days of today), by the committee that must act, with the
  days late counted in Vietnamese working days (the working-day calendar, not calendar days);
- facts entered long after their effective date: steps recorded (local date in Hà Nội) more than N working
  days after the day they took effect;
- files missing a required form: the dossier checklist of each file with a step in the period, keeping
  the forms of the stages the file is past (a stage left by another route, e.g. a proposal to remove,
  owes none of its forms);
- guards overridden: ketnap has no way to override a guard, so the report says so and lists the steps
  refused in the period instead (where someone tried a step the rules forbid), by committee;
- re-admissions (former members) with a step in the period, and removals (decided or proposed).

A breach belongs to the period when the time it was overdue meets the period: its last day is before the
period's end, and it was closed (or cancelled) on or after the period's start, or is still open today.
Events (late entries, refusals, removals) belong to the period by their effective date.

Pure queries (SQLAlchemy Core, SQLite and PostgreSQL). Names and stages only, as on a committee's board:
reading a file's CV stays an audited read of that file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, or_, select

from models.audit.trail import AUDIT
from models.calendar.working_days import WorkingCalendar
from models.calendar_in_force import current_calendar
from models.database import chunks, reading
from models.dossier.checklist import checklist
from models.dossier.data import gather
from models.dossier.forms import FORMS
from models.dossier.store import stored_documents
from models.organisation import PARTY_CELLS, Tree, committee_name
from models.procedure.definition import RuleSet
from models.procedure.engine import InputError, InputProblem
from models.procedure.loader import all_rulesets, get_ruleset
from models.scope import whole_tree
from models.snapshot import CANDIDATE, DEADLINE, SPONSOR, decode_facts
from models.transitions import LOCAL_TZ, local_today
from models.vietnamese import date_short, name_sort_key

DEFAULT_AT_RISK_WORKING_DAYS = 5
DEFAULT_LATE_ENTRY_WORKING_DAYS = 10
MAX_THRESHOLD_WORKING_DAYS = 250
CHUNK = 500

# ketnap has no override path: guards are pure functions, a refused step stores only its refusal, and no
# event, input or role lets a step through a failing guard. Were one added, it would need a reason and a
# role and be listed here.
OVERRIDES_POSSIBLE = False
NO_OVERRIDES = "ketnap không cho phép bỏ qua điều kiện: không có trường hợp nào"
REMOVAL_STAGES = frozenset({"removed"})            # xóa tên trong danh sách đảng viên dự bị
REMOVAL_PROPOSAL_FACT = "removal_proposed_on"      # the cell proposes removal (the decision is the committee's)
DEADLINE_STATUS = {"late": "đóng trễ hạn", "open": "đang mở, quá hạn", "cancelled": "hủy khi đã quá hạn"}
# Forms that apply only under an intermediate committee, or in a cell with a grassroots committee above it.
INTERMEDIATE_FORMS = frozenset({"7-KNĐ", "14-KNĐ"})
GRASSROOTS_FORMS = frozenset({"8-KNĐ", "15-KNĐ"})


# --- the report --------------------------------------------------------------------------------------


IMPORTED_MARK = '"before_ketnap":true'             # in an imported step's payload (canonical JSON, models/transitions.py)
IMPORTED_STEP = f"%{IMPORTED_MARK}%"

@dataclass(frozen=True)
class Body:
    """The committee (or cell) that must act: its unit and how it is named."""

    key: str
    name: str


@dataclass(frozen=True)
class DeadlineBreach:
    committee: Body
    candidate_id: int
    full_name: str
    cell_name: str
    clock: str
    clock_label: str
    starts_on: date
    due_on: date
    closed_on: date | None
    status: str                      # late | open | cancelled
    working_days_late: int


@dataclass(frozen=True)
class AtRisk:
    committee: Body
    candidate_id: int
    full_name: str
    cell_name: str
    clock: str
    clock_label: str
    due_on: date
    working_days_left: int


@dataclass(frozen=True)
class LateEntry:
    cell_name: str
    candidate_id: int
    full_name: str
    event: str
    event_label: str
    effective_on: date
    recorded_on: date
    working_days_after: int
    actor: str


@dataclass(frozen=True)
class MissingForm:
    cell_name: str
    candidate_id: int
    full_name: str
    stage_label: str
    form_id: str
    form_title: str
    note: str | None


@dataclass(frozen=True)
class UnverifiedImport:
    """A file imported from paper although a step broke a rule ("đã nhập, chưa xác minh")."""

    cell_name: str
    candidate_id: int
    full_name: str
    stage_label: str
    batch_id: int | None


@dataclass(frozen=True)
class Refusal:
    committee: Body
    candidate_id: int
    full_name: str
    cell_name: str
    event: str
    event_label: str
    effective_on: date
    recorded_on: date
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Readmission:
    cell_name: str
    candidate_id: int
    full_name: str
    prior_left_on: date
    consent_recorded: bool
    stage_label: str
    decision_on: date | None


@dataclass(frozen=True)
class Removal:
    committee: Body
    candidate_id: int
    full_name: str
    cell_name: str
    event: str
    event_label: str
    decided: bool                    # True: the committee's decision; False: the cell's proposal
    effective_on: date
    decision_number: str | None


@dataclass(frozen=True)
class CommitteeTotals:
    committee: Body
    missed: int = 0
    working_days_late: int = 0
    worst: int = 0
    at_risk: int = 0
    refusals: int = 0


Table = tuple[str, list[str], list[list[str]]]


@dataclass(frozen=True)
class ComplianceReport:
    unit_id: str
    unit_name: str
    start: date
    end: date
    today: date
    at_risk_working_days: int
    late_entry_working_days: int
    committees: list[CommitteeTotals]
    missed: list[DeadlineBreach]
    at_risk: list[AtRisk]
    late_entries: list[LateEntry]
    missing_forms: list[MissingForm]
    refusals: list[Refusal]
    readmissions: list[Readmission]
    removals: list[Removal]
    overrides_possible: bool = OVERRIDES_POSSIBLE
    overrides_note: str = NO_OVERRIDES
    calendar_version: str = ""
    overrides: list[Any] = field(default_factory=list)          # always empty: there is no override path
    unverified: list[UnverifiedImport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return _jsonable({f.name: getattr(self, f.name) for f in fields(self)})

    def tables(self) -> list[Table]:
        """(title, header, rows) of every table, in order: the page, the CSV and the PDF print these."""
        d = date_short
        n = self.at_risk_working_days
        return [
            ("Tổng hợp theo cấp ủy, chi bộ phải thực hiện",
             ["Cấp ủy / chi bộ", "Số việc trễ hạn", "Tổng số ngày làm việc trễ", "Trễ nhiều nhất (ngày làm việc)",
              "Sắp đến hạn", "Bước bị từ chối"],
             [[c.committee.name, str(c.missed), str(c.working_days_late), str(c.worst), str(c.at_risk), str(c.refusals)]
              for c in self.committees]),
            ("Thời hạn bị trễ",
             ["Cấp ủy / chi bộ phải thực hiện", "Hồ sơ", "Họ và tên", "Chi bộ", "Thời hạn", "Bắt đầu", "Hạn cuối",
              "Ngày đóng", "Tình trạng", "Số ngày làm việc trễ"],
             [[b.committee.name, str(b.candidate_id), b.full_name, b.cell_name, b.clock_label, d(b.starts_on),
               d(b.due_on), d(b.closed_on) if b.closed_on else "—", DEADLINE_STATUS[b.status], str(b.working_days_late)]
              for b in self.missed]),
            (f"Thời hạn sắp đến (trong {n} ngày làm việc kể từ {d(self.today)})",
             ["Cấp ủy / chi bộ phải thực hiện", "Hồ sơ", "Họ và tên", "Chi bộ", "Thời hạn", "Hạn cuối",
              "Còn (ngày làm việc)"],
             [[a.committee.name, str(a.candidate_id), a.full_name, a.cell_name, a.clock_label, d(a.due_on),
               str(a.working_days_left)] for a in self.at_risk]),
            (f"Ghi nhận muộn (ghi sau ngày có hiệu lực quá {self.late_entry_working_days} ngày làm việc)",
             ["Chi bộ", "Hồ sơ", "Họ và tên", "Bước", "Ngày có hiệu lực", "Ngày ghi", "Số ngày làm việc sau", "Người ghi"],
             [[e.cell_name, str(e.candidate_id), e.full_name, e.event_label, d(e.effective_on), d(e.recorded_on),
               str(e.working_days_after), e.actor] for e in self.late_entries]),
            ("Hồ sơ thiếu mẫu bắt buộc",
             ["Chi bộ", "Hồ sơ", "Họ và tên", "Giai đoạn", "Mẫu", "Tên mẫu", "Ghi chú"],
             [[m.cell_name, str(m.candidate_id), m.full_name, m.stage_label, m.form_id, m.form_title, m.note or "—"]
              for m in self.missing_forms]),
            ("Bỏ qua điều kiện", ["Kết luận"], [[self.overrides_note]]),
            ("Bước bị từ chối vì không đủ điều kiện",
             ["Cấp ủy / chi bộ", "Hồ sơ", "Họ và tên", "Chi bộ", "Bước", "Ngày có hiệu lực", "Ngày ghi", "Lý do"],
             [[r.committee.name, str(r.candidate_id), r.full_name, r.cell_name, r.event_label, d(r.effective_on),
               d(r.recorded_on), " | ".join(r.reasons)] for r in self.refusals]),
            ("Kết nạp lại",
             ["Chi bộ", "Hồ sơ", "Họ và tên", "Ra khỏi Đảng ngày", "Có văn bản đồng ý của BTV tỉnh ủy",
              "Giai đoạn", "Ngày quyết định kết nạp"],
             [[r.cell_name, str(r.candidate_id), r.full_name, d(r.prior_left_on), "Có" if r.consent_recorded else "Không",
               r.stage_label, d(r.decision_on) if r.decision_on else "—"] for r in self.readmissions]),
            ("Xóa tên",
             ["Cấp ủy / chi bộ", "Hồ sơ", "Họ và tên", "Chi bộ", "Bước", "Ngày", "Số quyết định"],
             [[r.committee.name, str(r.candidate_id), r.full_name, r.cell_name, r.event_label, d(r.effective_on),
               r.decision_number or "—"] for r in self.removals]),
            ("Đã nhập từ hồ sơ giấy – chưa xác minh",
             ["Chi bộ", "Hồ sơ", "Họ và tên", "Giai đoạn", "Lô nhập"],
             [[u.cell_name, str(u.candidate_id), u.full_name, u.stage_label, str(u.batch_id or "—")]
              for u in self.unverified]),
        ]


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# --- the period and the thresholds ------------------------------------------------------------------------


def _problem(name: str, code: str, en: str, vi: str) -> InputError:
    return InputError([InputProblem(name, code, en, vi)])


def parse_day(text: str | None, name: str) -> date | None:
    """A YYYY-MM-DD date from a query parameter or option, or None when absent; InputError naming `name`."""
    if text is None or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _problem(name, "not_a_date", f"{name}: {text!r} is not a date (YYYY-MM-DD)",
                       f"“{name}”: “{text}” không phải là ngày (định dạng YYYY-MM-DD, ví dụ 2026-01-31).") from None


def default_period(today: date) -> tuple[date, date]:
    """The calendar year of `today`."""
    return date(today.year, 1, 1), date(today.year, 12, 31)


def check_period(start: date, end: date, calendar: WorkingCalendar) -> None:
    """The period must run forwards and lie within the working-day calendar's years (field names: from, to)."""
    first, last = calendar.years
    for name, day in (("from", start), ("to", end)):
        if not first <= day.year <= last:
            raise _problem(name, "outside_calendar", f"{name}: {day.isoformat()} is outside the working-day calendar "
                           f"({first}-{last})", f"“{name}”: ngày {date_short(day)} nằm ngoài lịch ngày làm việc "
                           f"({first}–{last}).")
    if start > end:
        raise _problem("from", "after_to", f"from ({start.isoformat()}) is after to ({end.isoformat()})",
                       f"“from” ({date_short(start)}) phải trước hoặc bằng “to” ({date_short(end)}).")


def check_threshold(value: int, name: str) -> None:
    if not 0 <= value <= MAX_THRESHOLD_WORKING_DAYS:
        raise _problem(name, "out_of_range", f"{name}: {value} is not between 0 and {MAX_THRESHOLD_WORKING_DAYS}",
                       f"“{name}”: {value} phải từ 0 đến {MAX_THRESHOLD_WORKING_DAYS} ngày làm việc.")


# --- who acts -------------------------------------------------------------------------------------------------


def acting_body(tree: Tree, cell_id: str, actor: str) -> Body:
    """The committee (or the cell) that acts for `actor` on a file of `cell_id`."""
    cell = tree.units[cell_id]
    if actor == "competent_committee":
        body = tree.competent_body(cell_id)
        if body.unit_id in tree.units:
            key = f"{body.unit_id}:standing" if body.standing_committee else body.unit_id
            return Body(key, body.describe(tree.units))
    elif actor == "intermediate_committee":
        unit = next((u for u in tree.ancestors(cell_id) if u.kind == "intermediate_committee"), None)
        if unit is not None:
            return Body(unit.id, committee_name(unit.name))
    elif actor == "grassroots_committee":
        unit = tree.grassroots_of(cell_id)
        return Body(unit.id, committee_name(unit.name))
    elif actor == "political_centre":
        return Body("political_centre", "Trung tâm chính trị")
    return Body(cell.id, cell.name)


# --- the queries ---------------------------------------------------------------------------------------------


def _local_day(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ).date()


def _clock_label(rs: RuleSet, clock: str) -> str:
    return next((c.label for c in rs.clocks if c.id == clock), clock)


def _event_label(rs: RuleSet, event: str) -> str:
    try:
        return rs.event(event).label
    except KeyError:
        return event


def _event_actor(rs: RuleSet, event: str) -> str:
    """Who takes the step; a step the rule set no longer knows is taken as the cell's."""
    try:
        return rs.event(event).actor
    except KeyError:
        return "cell"


def _removal_proposals() -> frozenset[str]:
    return frozenset(e.id for rs in all_rulesets().values() for e in rs.events if REMOVAL_PROPOSAL_FACT in e.records)


def compliance_report(engine: Engine, root_unit_id: str, start: date, end: date, *, today: date | None = None,
                      calendar: WorkingCalendar | None = None, at_risk_working_days: int = DEFAULT_AT_RISK_WORKING_DAYS,
                      late_entry_working_days: int = DEFAULT_LATE_ENTRY_WORKING_DAYS) -> ComplianceReport:
    """The compliance report of the cells under `root_unit_id` for [start, end], as of `today` (local)."""
    calendar = calendar or current_calendar(engine)
    today = today or local_today(datetime.now(UTC))
    check_period(start, end, calendar)
    check_threshold(at_risk_working_days, "risk_days")
    check_threshold(late_entry_working_days, "late_days")
    with reading(engine) as conn:
        tree = whole_tree(conn)
        if root_unit_id not in tree.units:
            raise LookupError(f"no unit {root_unit_id!r}")
        subtree = tree.subtree_ids(root_unit_id)
        cells = sorted(u for u in subtree if tree.units[u].kind in PARTY_CELLS)
        q = _Queries(conn, tree, cells, start, end, today, calendar)
        missed = q.missed()
        at_risk = q.at_risk(at_risk_working_days)
        late = q.late_entries(late_entry_working_days)
        refusals = q.refusals()
        readmissions = q.readmissions()
        removals = q.removals()
        suspects = q.missing_form_suspects()
        unverified = q.unverified_imports()
    missing = _missing_forms(engine, suspects)
    root = tree.units[root_unit_id]
    return ComplianceReport(
        unit_id=root.id, unit_name=root.name, start=start, end=end, today=today,
        at_risk_working_days=at_risk_working_days, late_entry_working_days=late_entry_working_days,
        committees=_totals(missed, at_risk, refusals), missed=missed, at_risk=at_risk, late_entries=late,
        missing_forms=missing, refusals=refusals, readmissions=readmissions, removals=removals,
        calendar_version=calendar.version, unverified=unverified,
    )


def _by_committee(body: Body) -> tuple[Any, ...]:
    return name_sort_key(body.name), body.key


def _totals(missed: list[DeadlineBreach], at_risk: list[AtRisk], refusals: list[Refusal]) -> list[CommitteeTotals]:
    acc: dict[Body, dict[str, int]] = {}

    def of(body: Body) -> dict[str, int]:
        return acc.setdefault(body, {"missed": 0, "working_days_late": 0, "worst": 0, "at_risk": 0, "refusals": 0})

    for b in missed:
        t = of(b.committee)
        t["missed"] += 1
        t["working_days_late"] += b.working_days_late
        t["worst"] = max(t["worst"], b.working_days_late)
    for a in at_risk:
        of(a.committee)["at_risk"] += 1
    for r in refusals:
        of(r.committee)["refusals"] += 1
    rows = [CommitteeTotals(body, **t) for body, t in acc.items()]
    # the committees with the most working days late first (a ranking), then by name
    return sorted(rows, key=lambda c: (-c.working_days_late, -c.missed, -c.at_risk, -c.refusals, _by_committee(c.committee)))


class _Queries:
    """The report's queries over the cells of the subtree, chunked so that an IN list stays small."""

    def __init__(self, conn: Connection, tree: Tree, cells: list[str], start: date, end: date, today: date,
                 calendar: WorkingCalendar):
        self.conn, self.tree, self.cells = conn, tree, cells
        self.start, self.end, self.today, self.calendar = start, end, today, calendar

    def _rows(self, build: Any) -> Iterator[Any]:
        for chunk in chunks(self.cells, CHUNK):
            yield from self.conn.execute(build(chunk))

    def _cell_name(self, cell_id: str) -> str:
        return self.tree.units[cell_id].name

    def missed(self) -> list[DeadlineBreach]:
        overdue_when = [
            and_(DEADLINE.c.status == "late", DEADLINE.c.closed_on >= self.start),
            and_(DEADLINE.c.status == "cancelled", DEADLINE.c.closed_on > DEADLINE.c.due_on,
                 DEADLINE.c.closed_on >= self.start),
        ]
        if self.today >= self.start:
            overdue_when.append(and_(DEADLINE.c.status == "open", DEADLINE.c.due_on < self.today))

        def build(chunk: list[str]) -> Any:
            return (select(DEADLINE.c.candidate_id, DEADLINE.c.clock, DEADLINE.c.who_acts, DEADLINE.c.starts_on,
                           DEADLINE.c.due_on, DEADLINE.c.closed_on, DEADLINE.c.status, DEADLINE.c.ruleset_version,
                           CANDIDATE.c.full_name, CANDIDATE.c.cell_id)
                    .join(CANDIDATE, CANDIDATE.c.id == DEADLINE.c.candidate_id)
                    .where(CANDIDATE.c.cell_id.in_(chunk), DEADLINE.c.kind == "deadline",
                           DEADLINE.c.due_on < self.end, or_(*overdue_when)))

        out = []
        for r in self._rows(build):
            until = self.today if r.status == "open" else r.closed_on
            out.append(DeadlineBreach(
                acting_body(self.tree, r.cell_id, r.who_acts), r.candidate_id, r.full_name, self._cell_name(r.cell_id),
                r.clock, _clock_label(get_ruleset(r.ruleset_version), r.clock), r.starts_on, r.due_on,
                None if r.status == "open" else r.closed_on, r.status,
                self.calendar.working_days_between(r.due_on, until)))
        return sorted(out, key=lambda b: (_by_committee(b.committee), b.due_on, b.candidate_id, b.clock))

    def at_risk(self, working_days: int) -> list[AtRisk]:
        """Open deadlines of the period whose last day is today or within `working_days` working days."""
        horizon = min(self.calendar.add_working_days(self.today, working_days), self.end)
        low = max(self.today, self.start)
        if low > horizon:
            return []

        def build(chunk: list[str]) -> Any:
            return (select(DEADLINE.c.candidate_id, DEADLINE.c.clock, DEADLINE.c.who_acts, DEADLINE.c.due_on,
                           DEADLINE.c.ruleset_version, CANDIDATE.c.full_name, CANDIDATE.c.cell_id)
                    .join(CANDIDATE, CANDIDATE.c.id == DEADLINE.c.candidate_id)
                    .where(CANDIDATE.c.cell_id.in_(chunk), DEADLINE.c.kind == "deadline", DEADLINE.c.status == "open",
                           DEADLINE.c.due_on >= low, DEADLINE.c.due_on <= horizon))

        out = [AtRisk(acting_body(self.tree, r.cell_id, r.who_acts), r.candidate_id, r.full_name,
                      self._cell_name(r.cell_id), r.clock, _clock_label(get_ruleset(r.ruleset_version), r.clock),
                      r.due_on, self.calendar.working_days_between(self.today, r.due_on))
               for r in self._rows(build)]
        return sorted(out, key=lambda a: (a.due_on, _by_committee(a.committee), a.candidate_id, a.clock))

    def _events(self, *where: Any, columns: Iterable[Any] = ()) -> Iterator[Any]:
        def build(chunk: list[str]) -> Any:
            return (select(AUDIT.c.id, AUDIT.c.candidate_id, AUDIT.c.event, AUDIT.c.effective_on, AUDIT.c.recorded_at,
                           AUDIT.c.actor, AUDIT.c.ruleset_version, AUDIT.c.stage_after, *columns,
                           CANDIDATE.c.full_name, CANDIDATE.c.cell_id)
                    .join(CANDIDATE, CANDIDATE.c.id == AUDIT.c.candidate_id)
                    .where(CANDIDATE.c.cell_id.in_(chunk), AUDIT.c.effective_on >= self.start,
                           AUDIT.c.effective_on <= self.end, *where))
        return self._rows(build)

    def unverified_imports(self) -> list[UnverifiedImport]:
        """Files imported from paper with a step that broke a rule, still not verified (whatever the period)."""
        def build(chunk: list[str]) -> Any:
            return (select(CANDIDATE.c.id, CANDIDATE.c.full_name, CANDIDATE.c.cell_id, CANDIDATE.c.stage,
                           CANDIDATE.c.ruleset_version, CANDIDATE.c.import_batch_id)
                    .where(CANDIDATE.c.cell_id.in_(chunk), CANDIDATE.c.imported_unverified.is_(True)))
        out = [UnverifiedImport(self._cell_name(r.cell_id), r.id, r.full_name,
                                get_ruleset(r.ruleset_version).stage(r.stage).label, r.import_batch_id)
               for r in self._rows(build)]
        return sorted(out, key=lambda u: (name_sort_key(u.cell_name), name_sort_key(u.full_name), u.candidate_id))

    def late_entries(self, working_days: int) -> list[LateEntry]:
        out = []
        # Steps imported from paper files are entered late by nature: they are not late entries.
        for r in self._events(AUDIT.c.kind == "transition", AUDIT.c.payload.not_like(IMPORTED_STEP)):
            recorded = _local_day(r.recorded_at)
            if (recorded - r.effective_on).days <= working_days:       # N working days span at least N days
                continue
            after = self.calendar.working_days_between(r.effective_on, recorded)
            if after > working_days:
                out.append(LateEntry(self._cell_name(r.cell_id), r.candidate_id, r.full_name, r.event,
                                     _event_label(get_ruleset(r.ruleset_version), r.event), r.effective_on, recorded,
                                     after, r.actor))
        return sorted(out, key=lambda e: (name_sort_key(e.cell_name), e.effective_on, e.candidate_id, e.event))

    def refusals(self) -> list[Refusal]:
        out = []
        for r in self._events(AUDIT.c.kind == "refusal", columns=[AUDIT.c.payload]):
            rs = get_ruleset(r.ruleset_version)
            reasons = tuple(f.get("message", f.get("code", "")) for f in json.loads(r.payload).get("failures", ()))
            out.append(Refusal(acting_body(self.tree, r.cell_id, _event_actor(rs, r.event)), r.candidate_id, r.full_name,
                               self._cell_name(r.cell_id), r.event, _event_label(rs, r.event), r.effective_on,
                               _local_day(r.recorded_at), reasons))
        return sorted(out, key=lambda r: (_by_committee(r.committee), r.effective_on, r.candidate_id))

    def removals(self) -> list[Removal]:
        proposals = _removal_proposals()
        out = []
        for r in self._events(AUDIT.c.kind == "transition",
                              or_(AUDIT.c.stage_after.in_(sorted(REMOVAL_STAGES)), AUDIT.c.event.in_(sorted(proposals))),
                              columns=[AUDIT.c.payload]):
            rs = get_ruleset(r.ruleset_version)
            decided = r.stage_after in REMOVAL_STAGES
            records = json.loads(r.payload).get("records", {})
            number = records.get("removal_decision_number") if decided else None
            out.append(Removal(acting_body(self.tree, r.cell_id, _event_actor(rs, r.event)), r.candidate_id, r.full_name,
                               self._cell_name(r.cell_id), r.event, _event_label(rs, r.event), decided, r.effective_on,
                               number))
        return sorted(out, key=lambda r: (r.effective_on, r.candidate_id, r.event))

    def _stepped_in_period(self, kinds: tuple[str, ...] = ("transition",)) -> Any:
        return exists().where(AUDIT.c.candidate_id == CANDIDATE.c.id, AUDIT.c.kind.in_(kinds),
                              AUDIT.c.effective_on >= self.start, AUDIT.c.effective_on <= self.end)

    def readmissions(self) -> list[Readmission]:
        def build(chunk: list[str]) -> Any:
            return (select(CANDIDATE.c.id, CANDIDATE.c.full_name, CANDIDATE.c.cell_id, CANDIDATE.c.prior_left_on,
                           CANDIDATE.c.readmission_consent_ref, CANDIDATE.c.stage, CANDIDATE.c.ruleset_version,
                           CANDIDATE.c.decision_on)
                    .where(CANDIDATE.c.cell_id.in_(chunk), CANDIDATE.c.prior_left_on.is_not(None),
                           self._stepped_in_period(("created", "transition"))))

        out = [Readmission(self._cell_name(r.cell_id), r.id, r.full_name, r.prior_left_on,
                           bool(r.readmission_consent_ref), get_ruleset(r.ruleset_version).stage(r.stage).label,
                           r.decision_on) for r in self._rows(build)]
        return sorted(out, key=lambda r: (name_sort_key(r.cell_name), name_sort_key(r.full_name), r.candidate_id))

    def missing_form_suspects(self) -> list[int]:
        """Files with a step in the period that may lack a form of a stage they are past (checked in full later)."""
        def build(chunk: list[str]) -> Any:
            return (select(CANDIDATE)
                    .where(CANDIDATE.c.cell_id.in_(chunk), self._stepped_in_period()))

        def unions(chunk: list[str]) -> Any:
            return (select(SPONSOR.c.candidate_id).join(CANDIDATE, CANDIDATE.c.id == SPONSOR.c.candidate_id)
                    .where(CANDIDATE.c.cell_id.in_(chunk), SPONSOR.c.ended_on.is_(None),
                           SPONSOR.c.kind.in_(("youth_union", "trade_union")), SPONSOR.c.resolution_on.is_(None)))

        undated_union = {r.candidate_id for r in self._rows(unions)}
        out = []
        for row in self._rows(build):
            r = row._mapping
            rs = get_ruleset(r["ruleset_version"])
            due = {f for f in _forms_due(rs, r["stage"]) if self._may_apply(f, r["cell_id"])}
            if not due:
                continue
            facts = decode_facts(r)
            undated = any(facts.get(fact) is None for fact in (FORMS[f].date_fact for f in due if f in FORMS) if fact)
            if undated or (r["id"] in undated_union and {"4-KNĐ", "4A-KNĐ"} & due):
                out.append(r["id"])
        return sorted(out)

    def _may_apply(self, form_id: str, cell_id: str) -> bool:
        """False only when the form cannot apply to a file of this cell (as models/dossier/forms.py decides)."""
        if form_id in INTERMEDIATE_FORMS:
            return any(u.kind == "intermediate_committee" for u in self.tree.ancestors(cell_id))
        if form_id in GRASSROOTS_FORMS:
            return self.tree.units[cell_id].kind == "cell"
        return True


# --- missing forms ----------------------------------------------------------------------------------------------


def _forms_due(rs: RuleSet, stage_id: str) -> set[str]:
    """Forms collected by the stages before `stage_id` (every stage for a full member; none for other closures)."""
    stage = rs.stage(stage_id)
    ids = [s.id for s in rs.stages]
    if stage.kind == "terminal":
        if stage_id != "full_member":
            return set()
        before = [s for s in rs.stages if s.kind != "terminal"]
    else:
        before = list(rs.stages[:ids.index(stage_id)])
    return {f for s in before for f in s.collects}


def _stage_of_form(rs: RuleSet) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in rs.stages:
        for f in s.collects:
            out.setdefault(f, s.id)
    return out


def _skipped_stages(rs: RuleSet, departures: list[tuple[str, str, str]]) -> set[str]:
    """Stages a file went past by another route than the step issuing their forms: they owe no form.

    A departure (stage, next stage, event) whose event issues none of the stage's forms (a proposal to remove,
    a third failed vote sent up) skips that stage and every stage it jumps over. A departure by the issuing
    step that jumps over stages (no intermediate committee, a grassroots cell) skips nothing: whether those
    stages' forms apply is the checklist's to say, from the organisation tree.
    """
    order = [s.id for s in rs.stages]
    last: dict[str, tuple[str, str]] = {}
    for stage_before, stage_after, event in departures:
        last[stage_before] = (stage_after, event)
    skipped: set[str] = set()
    for stage_id, (stage_after, event) in last.items():
        try:
            collects = set(rs.stage(stage_id).collects)
            issued = set(rs.event(event).forms)
        except KeyError:
            continue
        if not collects or collects & issued:
            continue
        skipped.add(stage_id)
        if stage_id in order and stage_after in order:
            skipped.update(order[order.index(stage_id) + 1:order.index(stage_after)])
    return skipped


def _departures(engine: Engine, suspects: list[int]) -> dict[int, list[Any]]:
    """Every suspect's steps that left a stage, in order: one query per chunk of files, not one per file."""
    out: dict[int, list[Any]] = {cid: [] for cid in suspects}
    with reading(engine) as conn:
        for chunk in chunks(suspects, CHUNK):
            for r in conn.execute(
                    select(AUDIT.c.candidate_id, AUDIT.c.stage_before, AUDIT.c.stage_after, AUDIT.c.event, AUDIT.c.payload)
                    .where(AUDIT.c.candidate_id.in_(chunk), AUDIT.c.kind == "transition",
                           AUDIT.c.stage_after != AUDIT.c.stage_before)
                    .order_by(AUDIT.c.candidate_id, AUDIT.c.seq)):
                out[r.candidate_id].append(r)
    return out


def _missing_forms(engine: Engine, suspects: list[int]) -> list[MissingForm]:
    out: list[MissingForm] = []
    departed = _departures(engine, suspects)
    for cid in suspects:
        data = gather(engine, cid)
        rs = get_ruleset(data["ruleset"]["version"])
        due = _forms_due(rs, data["stage"])
        rows = departed[cid]
        departures = [(r.stage_before, r.stage_after, r.event) for r in rows]
        # Stages left before ketnap (an imported file): their forms exist on paper, none is missing here.
        skipped = _skipped_stages(rs, departures) | {r.stage_before for r in rows if IMPORTED_MARK in r.payload}
        where = _stage_of_form(rs)
        cell = data["org"]["cell"]
        for item in checklist(data, stored_documents(engine, cid)):
            if item.status == "missing" and item.form_id in due and where.get(item.form_id) not in skipped:
                out.append(MissingForm(cell["name"], cid, data["person"]["full_name"], rs.stage(data["stage"]).label,
                                       item.form_id if item.index == 1 else f"{item.form_id} ({item.index})",
                                       item.title, item.note))
    return sorted(out, key=lambda m: (name_sort_key(m.cell_name), name_sort_key(m.full_name), m.candidate_id))
