"""Day one: importing the files a committee already has in progress on paper, with their real dates.

Each row of the spreadsheet (XLSX or CSV, Vietnamese headers: models/imports/sheet_columns.py) becomes a
candidate (as `add_candidates` makes one), its introducers, and then the steps already taken, replayed in
date order through the real transition code (`models.transitions.apply_in`), each judged by the rule set in
force on its own date. Which event comes next is read from the rule set: from the current stage, the forward
event whose recorded facts the row fills in. Deadlines (admission decision, ceremony, probation, recognition
vote) therefore come out with the real dates, and an overdue one is simply overdue.

A step whose guards fail is a row error (mode "refuse": the rule, its Vietnamese message and citation), or is
applied anyway with the failures kept in the audit payload and the candidate flagged "imported, not verified"
(mode "unverified"). The whole file is one transaction: any bad row and nothing is written (every bad row is
reported, by line number: the admin has the sheet; CV fields are never echoed). A dry run is the same code,
rolled back, returning what would be created. Imported steps render no documents (the paper originals exist)
and start no Prefect flow runs (one import replays many steps in one transaction).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, select

from models.actors import Actor
from models.audit.trail import append_for_candidate, append_to_chain
from models.calendar.working_days import WorkingCalendar
from models.calendar_in_force import current_calendar
from models.imports.candidates import CandidateIn, insert_candidates
from models.imports.rows import ImportRejected, RowError
from models.imports.sheet_columns import BY_HEADER, BY_KEY, COLUMNS, STAGE, STEPS, Column, header_key
from models.organisation import PARTY_CELLS
from models.people import GENDERS, OCCUPATIONS, ethnic_group
from models.procedure.definition import STAY, Event, RuleSet
from models.procedure.engine import InputError, StageConflict
from models.procedure.loader import all_rulesets, get_ruleset, in_force_on
from models.ruleset_migration import judge, move_candidate
from models.tables import AuditEvent, Candidate, Deadline, ImportBatch, Member, OrgUnit
from models.transitions import Imported, TransitionRequest, TransitionResult, apply_in, local_today

AUDIT = AuditEvent.__table__
CANDIDATE = Candidate.__table__
BATCH = ImportBatch.__table__
DEADLINE = Deadline.__table__
MODES = ("refuse", "unverified")
MAX_ROWS = 5000
# Longer than any legitimate cell (a name, a decision number, a member code): a bigger one is refused before it
# reaches the database or a page.
MAX_CELL = 1000
STEPS_PER_EVENT = 3


@dataclass(frozen=True)
class StepError(RowError):
    """A row error from a rule of the procedure: which rule, and where it is written."""

    rule_id: str = ""
    cite: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.rule} [{self.rule_id}; {self.cite}]"

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {"rule_id": self.rule_id, "cite": self.cite}


class DuplicateImport(ImportRejected):
    """The very same file (same bytes) was imported before."""

    def __init__(self, source: str, batch_id: int):
        self.batch_id = batch_id
        super().__init__(source, [RowError(0, "Tệp", f"Tệp này đã được nhập (lô số {batch_id}); không nhập lại.")])


@dataclass
class LineReport:
    """What one row creates (no CV fields: the admin has the sheet)."""

    line: int
    stage: str
    stage_label: str
    ruleset_version: str
    steps: list[dict[str, Any]] = field(default_factory=list)       # event, on, ruleset_version
    deadlines: list[dict[str, Any]] = field(default_factory=list)   # open: clock, label, due_on
    unverified: list[dict[str, Any]] = field(default_factory=list)  # failures accepted: event, rule, message, cite
    candidate_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "stage": self.stage, "stage_label": self.stage_label,
                "ruleset_version": self.ruleset_version, "steps": self.steps, "deadlines": self.deadlines,
                "unverified": self.unverified, "candidate_id": self.candidate_id}


@dataclass
class ImportReport:
    source: str
    digest: str
    mode: str
    dry_run: bool
    lines: list[LineReport]
    batch_id: int | None = None

    @property
    def unverified(self) -> int:
        return sum(1 for r in self.lines if r.unverified)

    def counts(self) -> dict[str, int]:
        stages: dict[str, int] = {}
        for r in self.lines:
            stages[r.stage] = stages.get(r.stage, 0) + 1
        return dict(sorted(stages.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "digest": self.digest, "mode": self.mode, "dry_run": self.dry_run,
                "batch_id": self.batch_id, "rows": len(self.lines), "unverified": self.unverified,
                "stages": self.counts(), "lines": [r.as_dict() for r in self.lines]}


# --- reading the sheet -------------------------------------------------------------------------------------

def read_sheet(data: bytes, source: str) -> list[tuple[int, dict[str, Any]]]:
    """(line, {column key: raw value}) per non-empty row; unknown headers are ignored, missing required ones refused."""
    table = _csv_rows(data, source) if source.lower().endswith(".csv") else _xlsx_rows(data, source)
    try:
        header_line, headers = next(table)
    except StopIteration:
        raise ImportRejected(source, [RowError(1, "Tệp", "Tệp không có dòng tiêu đề.")]) from None
    columns: list[Column | None] = [BY_HEADER.get(header_key(str(h))) if h is not None else None for h in headers]
    missing = [c.header for c in COLUMNS if c.required and c not in columns]
    if missing:
        raise ImportRejected(source, [RowError(header_line, c, "Thiếu cột bắt buộc.") for c in missing])
    rows = []
    for line, values in table:
        row = {col.key: _blank(v) for col, v in zip(columns, values, strict=False) if col is not None and col.kind != "ignore"}
        if any(v is not None for v in row.values()):
            rows.append((line, row))
            if len(rows) > MAX_ROWS:
                raise ImportRejected(source, [RowError(line, "Tệp", f"Quá {MAX_ROWS} dòng: chia thành nhiều tệp.")])
    return rows


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return value


# What openpyxl may raise on bytes that are not a well-formed workbook: not a zip, a zip without the workbook's
# parts, a truncated or corrupt part (zlib, XML syntax errors are SyntaxError subclasses), odd values in it.
UNREADABLE_XLSX = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, IndexError, OSError, ValueError, TypeError,
                   AttributeError, SyntaxError)


def _xlsx_rows(data: bytes, source: str) -> Iterator[tuple[int, list[Any]]]:
    """Rows of the workbook's "Hồ sơ" sheet (else its first). The rows are read lazily, so a part of the file that
    turns out unreadable while iterating is reported the same way as one that cannot be opened."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # Not data_only: a formula cell is seen as one (and refused), never replaced by the value Excel cached for
        # it (absent when another program wrote the file) nor evaluated here.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = book["Hồ sơ"] if "Hồ sơ" in book.sheetnames else book.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(), start=1):
            yield number, [Formula() if getattr(c, "data_type", None) == "f" else c.value for c in cells]
    except (*UNREADABLE_XLSX, InvalidFileException):
        raise ImportRejected(source, [RowError(0, "Tệp", "Không đọc được tệp Excel (.xlsx): tệp hỏng hoặc không phải "
                                                          "tệp Excel. Hãy mở bằng Excel và lưu lại dạng .xlsx.")]) from None


def _csv_rows(data: bytes, source: str) -> Iterator[tuple[int, list[Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected(source, [RowError(0, "Tệp", "Tệp CSV phải được lưu với mã UTF-8.")]) from None
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    try:
        for values in reader:
            yield reader.line_num, list(values)
    except csv.Error:
        # A field longer than the csv module's limit (128 KB), a NUL byte, …: the line it was read up to.
        raise ImportRejected(source, [RowError(reader.line_num, "Tệp", "Không đọc được dòng này của tệp CSV (ô quá dài "
                                                                       "hoặc ký tự không hợp lệ).")]) from None


class Formula:
    """An XLSX cell holding a formula: ketnap does not evaluate formulas, the row is refused naming the column."""

    def __str__(self) -> str:
        return "=…"


# --- parsing values ------------------------------------------------------------------------------------------

class BadValue(ValueError):
    """A cell that cannot be read: the text read, and what was expected (in Vietnamese)."""

    def __init__(self, text: str, expected: str):
        self.text, self.expected = text, expected
        super().__init__(f"“{text}” {expected}")


# The candidate's CV facts: a bad value there is reported by its column and expected format only, never echoed
# (the admin reads no personal file; the admin has the sheet). Dates of steps, member codes, votes are echoed.
CV_KEYS = frozenset({"full_name", "birth_date", "gender", "ethnicity", "religion", "general_education_grade",
                     "occupation", "youth_union_member", "trade_union_member"})


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_YES = {"có", "co", "x", "yes", "true", "1", "đúng"}
_NO = {"không", "khong", "no", "false", "0"}


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    m = _DMY.match(text)
    try:
        if m:
            return date(int(m[3]), int(m[2]), int(m[1]))
        return date.fromisoformat(text)
    except ValueError:
        raise BadValue(text, "không phải ngày hợp lệ (dạng dd/mm/yyyy).") from None


def _parse(col: Column, value: Any, stage_labels: dict[str, str]) -> Any:
    text = str(value).strip()
    folded = header_key(text)
    match col.kind:
        case "date":
            return parse_date(value)
        case "int":
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if text.isdigit():
                return int(text)
            raise BadValue(text, "không phải số nguyên.")
        case "bool":
            if isinstance(value, bool):
                return value
            if folded in _YES:
                return True
            if folded in _NO:
                return False
            raise BadValue(text, "phải là Có hoặc Không.")
        case "gender":
            for code, label in GENDERS.items():
                if folded in (code, header_key(label)):
                    return code
            raise BadValue(text, "phải là Nam hoặc Nữ.")
        case "grade":
            m = re.match(r"^(\d{1,2})(?:\s*/\s*(10|12))?$", text.removesuffix(".0"))
            if not m or int(m[1]) > int(m[2] or 12):
                raise BadValue(text, "không phải trình độ học vấn (ví dụ 12/12, 9/12).")
            grade = int(m[1])
            return grade + 2 if m[2] == "10" else grade        # the old 10-year system: 10/10 = 12/12
        case "occupation":
            for code, label in OCCUPATIONS.items():
                if folded in (code, header_key(label)):
                    return code
            raise BadValue(text, "không có trong danh mục nghề nghiệp.")
        case "stage":
            if folded in stage_labels:
                return stage_labels[folded]
            raise BadValue(text, "không phải tên giai đoạn của quy trình (xem trang Danh mục).")
        case _:
            return text


def stage_labels() -> dict[str, str]:
    """Folded stage label -> stage id, for every known rule set (the labels of the newest win)."""
    out: dict[str, str] = {}
    for rs in sorted(all_rulesets().values(), key=lambda r: r.effective_from):
        out.update({header_key(s.label): s.id for s in rs.stages})
        out.update({s.id: s.id for s in rs.stages})
    return out


@dataclass
class Row:
    line: int
    candidate: CandidateIn
    stage: str
    steps: dict[str, Any]                     # procedure fact -> typed value


def parse_rows(raw: list[tuple[int, dict[str, Any]]]) -> tuple[list[Row], list[RowError]]:
    labels = stage_labels()
    rows: list[Row] = []
    errors: list[RowError] = []
    for line, values in raw:
        typed: dict[str, Any] = {}
        bad = False
        for key, value in values.items():
            col = BY_KEY[key]
            if value is None:
                continue
            if isinstance(value, Formula):
                errors.append(RowError(line, col.header, "Ô chứa công thức: ketnap không tính công thức; hãy nhập giá trị "
                                                         "(sao chép rồi dán đặc biệt → chỉ giá trị)."))
                bad = True
                continue
            if len(str(value)) > MAX_CELL:
                errors.append(RowError(line, col.header, f"Ô dài quá {MAX_CELL} ký tự."))
                bad = True
                continue
            try:
                typed[key] = _parse(col, value, labels)
            except BadValue as exc:
                errors.append(RowError(line, col.header, f"Ô này {exc.expected}" if key in CV_KEYS
                                       else str(exc)))
                bad = True
        for col in COLUMNS:
            if col.required and values.get(col.key) is None:
                errors.append(RowError(line, col.header, "Chưa điền (cột bắt buộc)."))
                bad = True
        if bad:
            continue
        if typed.get("religion") and header_key(typed["religion"]) in ("không", "khong"):
            typed.pop("religion")
        if typed.get("ethnicity") and ethnic_group(typed["ethnicity"]) is None:
            errors.append(RowError(line, BY_KEY["ethnicity"].header,
                                   "Ô này không phải một trong 54 dân tộc Việt Nam (ví dụ: Kinh, Thái, Mông)."))
            continue
        sponsors = []
        for n in (1, 2):
            member, since = typed.get(f"sponsor{n}_member"), typed.get(f"sponsor{n}_since")
            if member is None and since is None:
                continue
            if member is None or since is None:
                which = BY_KEY[f"sponsor{n}_member" if member is None else f"sponsor{n}_since"].header
                errors.append(RowError(line, which, "Cần cả mã đảng viên giới thiệu và ngày cùng công tác/sinh sống."))
                bad = True
                continue
            sponsors.append({"member": member, "together_since": since})
        if bad:
            continue
        person = {k: v for k, v in typed.items() if k in CandidateIn.model_fields}
        try:
            candidate = CandidateIn.model_validate(person | {"sponsors": sponsors})
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else "row"
                errors.append(RowError(line, BY_KEY[key].header if key in BY_KEY else key, _vi_validation(err)))
            continue
        rows.append(Row(line, candidate, typed["stage"], {c.key: typed[c.key] for c in STEPS if c.key in typed}))
    return rows, errors


def _vi_validation(err: Any) -> str:
    if "birth_date must be before listed_on" in err["msg"]:
        return "Ngày sinh phải trước ngày vào danh sách cảm tình Đảng."
    if "together_since is before" in err["msg"]:
        return "Ngày cùng công tác/sinh sống với người giới thiệu trước ngày sinh."
    if err["type"] in ("string_too_short", "string_too_long"):
        return "Độ dài không hợp lệ."
    return f"Giá trị không hợp lệ ({err['type']})."


# --- the steps, read from the rule set ----------------------------------------------------------------------

STEP_KEYS = {c.key for c in STEPS}


@dataclass(frozen=True)
class PlannedStep:
    event: str
    on: date
    inputs: dict[str, Any]
    facts: tuple[str, ...]                    # the row's columns this step consumes (its date column first)
    input_facts: dict[str, str] = field(default_factory=dict)   # input name -> the column feeding it

    def header(self, input_name: str | None = None) -> str:
        """The column a problem with this step (or with one of its inputs) is reported on."""
        if input_name in self.input_facts:
            return BY_KEY[self.input_facts[input_name]].header
        return BY_KEY[self.facts[0]].header if self.facts else STAGE.header


def step_for(event: Event, row: Row) -> PlannedStep | None:
    """The event as this row describes it, or None when the row has nothing for it.

    The event's date is the fact it records as `$on`, else the latest of its date inputs; its inputs are
    the facts it records from them (`fact: $input`)."""
    on_fact = next((f for f, how in event.records.items() if how == "$on" and f in STEP_KEYS), None)
    from_input = {how[1:]: f for f, how in event.records.items()
                  if how.startswith("$") and how[1:] in event.inputs and f in STEP_KEYS}
    used = tuple(f for f in (on_fact, *from_input.values()) if f is not None and f in row.steps)
    if not used:
        return None
    inputs = {name: row.steps[f] for name, f in from_input.items() if f in row.steps}
    dates = [v for name, v in inputs.items() if event.inputs[name].type == "date" and not event.inputs[name].not_before_event]
    on = row.steps.get(on_fact) if on_fact else (max(dates) if dates else None)
    if on_fact is None and dates:
        latest = next(from_input[name] for name, v in inputs.items() if v == on and name in from_input)
        used = (latest, *(f for f in used if f != latest))
    return PlannedStep(event.id, on or date.min, inputs, used, from_input)


def forward_events(rs: RuleSet, stage: str) -> list[Event]:
    """Events that move a file forward from `stage` (not to a closing stage, not staying)."""
    out = []
    for e in rs.events_from(stage):
        targets = [t.stage for t in e.to]
        if any(t in (STAY, stage) for t in targets):
            continue
        if all(rs.stage(t).kind == "terminal" for t in targets):
            continue
        out.append(e)
    return out


# --- the import ----------------------------------------------------------------------------------------------

class _RowFailed(Exception):
    def __init__(self, errors: list[RowError]):
        self.errors = errors


def import_files(engine: Engine, data: bytes, source: str, actor: Actor, *, authority: str, mode: str = "refuse",
                 dry_run: bool = False, now: datetime | None = None) -> ImportReport:
    """Import a sheet of files in progress, all or nothing; a dry run rolls back and reports what it would create."""
    now = now or datetime.now(UTC)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    authority = " ".join(authority.split())
    if not authority:
        raise ImportRejected(source, [RowError(0, "Căn cứ", "Cần ghi căn cứ (theo văn bản, ý kiến của ai) để nhập hồ sơ.")])
    digest = hashlib.sha256(data).hexdigest()
    rows, errors = parse_rows(read_sheet(data, source))
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            report = _import(conn, rows, errors, source, digest, actor, authority, mode, now)
            report.dry_run = dry_run
            if dry_run:
                tx.rollback()
                report.batch_id = None
                for r in report.lines:
                    r.candidate_id = None
            else:
                tx.commit()
        finally:
            if tx.is_active:
                tx.rollback()
    return report


def _import(conn: Connection, rows: list[Row], errors: list[RowError], source: str, digest: str, actor: Actor,
            authority: str, mode: str, now: datetime) -> ImportReport:
    earlier = conn.execute(select(BATCH.c.id).where(BATCH.c.source_digest == digest)).scalar()
    if earlier is not None:
        raise DuplicateImport(source, earlier)
    batch_id = conn.execute(BATCH.insert().values(
        source_name=source[:200], source_digest=digest, mode=mode, authority=authority[:300], rows=len(rows),
        candidates=0, unverified=0, actor=actor.name, role=actor.role, recorded_at=now, summary={},
    ).returning(BATCH.c.id)).scalar_one()
    imported = Imported(batch_id, authority, accept_unverified=mode == "unverified")
    calendar = current_calendar(conn)
    errors = errors + _check_references(conn, rows, local_today(now))
    bad_lines = {e.line for e in errors}
    good = [row for row in rows if row.line not in bad_lines]
    ids = insert_candidates(conn, [(row.line, row.candidate) for row in good], actor, now=now, source=source,
                            import_batch_id=batch_id)
    lines = []
    for row, cid in zip(good, ids, strict=True):
        savepoint = conn.begin_nested()
        try:
            lines.append(_import_row(conn, row, cid, actor, imported, calendar, now))
            savepoint.commit()
        except _RowFailed as failed:
            savepoint.rollback()
            errors += failed.errors
    if errors:
        raise ImportRejected(source, errors)
    report = ImportReport(source, digest, mode, False, lines, batch_id)
    summary = {"stages": report.counts(), "lines": {str(r.line): r.candidate_id for r in lines}}
    conn.execute(BATCH.update().where(BATCH.c.id == batch_id).values(
        candidates=len(lines), unverified=report.unverified, summary=summary))
    append_to_chain(conn, "org", kind="import_batch", actor=actor, now=now, reason=authority, payload={
        "batch": batch_id, "source_digest": digest, "mode": mode, "authority": authority, "rows": len(rows),
        "candidates": len(lines), "unverified": report.unverified, "stages": report.counts()})
    return report


def _check_references(conn: Connection, rows: list[Row], today: date) -> list[RowError]:
    """What the database must already hold: the cell, the members named; no file already in ketnap."""
    kinds = dict(conn.execute(select(OrgUnit.__table__.c.id, OrgUnit.__table__.c.kind)).tuples().all())
    codes = set(conn.execute(select(Member.__table__.c.code)).scalars())
    existing = set(conn.execute(select(CANDIDATE.c.full_name, CANDIDATE.c.birth_date, CANDIDATE.c.cell_id).where(
        CANDIDATE.c.cell_id.in_({row.candidate.cell for row in rows}))).tuples())
    errors: list[RowError] = []
    for row in rows:
        c = row.candidate
        if kinds.get(c.cell) not in PARTY_CELLS:
            errors.append(RowError(row.line, BY_KEY["cell"].header, f"Không có chi bộ mã “{c.cell}”."))
        if c.listed_on > today:
            errors.append(RowError(row.line, BY_KEY["listed_on"].header, "Ngày vào danh sách chưa đến."))
        try:
            in_force_on(c.listed_on)
        except LookupError:
            errors.append(RowError(row.line, BY_KEY["listed_on"].header, "Không có quy định nào có hiệu lực vào ngày này."))
        named = [(f"sponsor{i}_member", s.member) for i, s in enumerate(c.sponsors, 1)]
        for key, code in [*named, ("helper_member_id", row.steps.get("helper_member_id"))]:
            if code is not None and code not in codes:
                errors.append(RowError(row.line, BY_KEY[key].header, f"Không có đảng viên mã “{code}”."))
        if (c.full_name, c.birth_date, c.cell) in existing:
            errors.append(RowError(row.line, BY_KEY["full_name"].header,
                                   "Người này (cùng họ tên, ngày sinh, chi bộ) đã có hồ sơ trong ketnap."))
    return errors


def _import_row(conn: Connection, row: Row, cid: int, actor: Actor, imported: Imported, calendar: WorkingCalendar,
                now: datetime) -> LineReport:
    """Replay the steps of one row's file (its candidate just added), in date order."""
    first = in_force_on(row.candidate.listed_on)
    stage, version = first.initial_stage, first.version
    report = LineReport(row.line, stage, "", version, candidate_id=cid)
    consumed: set[str] = set()
    # A row takes each event at most a few times (steps that stay are not replayed), so more steps than that means
    # the rule sets lead it round a loop: stop with a row error rather than spin.
    limit = STEPS_PER_EVENT * max(len(rs.events) for rs in all_rulesets().values())
    while True:
        rs = get_ruleset(version)
        if len(report.steps) >= limit:
            raise _RowFailed([RowError(row.line, STAGE.header, f"Quá {limit} bước khi dựng lại hồ sơ từ các ngày đã ghi: "
                                                               "quy trình quay vòng, hãy kiểm tra các ngày của dòng này.")])
        planned = [p for e in forward_events(rs, stage) if (p := step_for(e, row)) is not None]
        if not planned:
            system = _system_step(conn, rs, stage, cid, row, local_today(now))
            if system is None:
                break
            planned = [system]
        step = planned[0]
        if step.on == date.min:
            raise _RowFailed([RowError(row.line, step.header(), f"Thiếu ngày của bước “{rs.event(step.event).label}”.")])
        in_force = in_force_on(step.on)
        if in_force.version != version and _cross(conn, cid, row.line, step, rs, in_force, actor, imported, calendar, now):
            version = in_force.version
            stage = conn.execute(select(CANDIDATE.c.stage).where(CANDIDATE.c.id == cid)).scalar_one()
            continue                  # planned again from the (possibly mapped) stage, under the new version
        result = _apply(conn, cid, row.line, step, actor, imported, calendar, now)
        consumed.update(step.facts)
        stage, version = result.stage_after, result.ruleset_version
        report.steps.append({"event": step.event, "on": step.on.isoformat(), "ruleset_version": version})
    errors = []
    rs = get_ruleset(version)
    if stage != row.stage:
        errors.append(RowError(row.line, STAGE.header,
                               f"Khai “{rs.stage(row.stage).label}” nhưng các ngày đã ghi chỉ đưa hồ sơ đến "
                               f"“{rs.stage(stage).label}”."))
    for key in sorted(set(row.steps) - consumed, key=list(BY_KEY).index):
        errors.append(RowError(row.line, BY_KEY[key].header,
                               f"Có giá trị nhưng hồ sơ không qua bước này (dừng ở “{rs.stage(stage).label}”)."))
    if errors:
        raise _RowFailed(errors)
    report.stage, report.stage_label, report.ruleset_version = stage, rs.stage(stage).label, version
    report.deadlines = _open_deadlines(conn, cid)
    report.unverified = _accepted_failures(conn, cid)
    return report


def _cross(conn: Connection, cid: int, line: int, step: PlannedStep, old: RuleSet, new: RuleSet, actor: Actor,
           imported: Imported, calendar: WorkingCalendar, now: datetime) -> bool:
    """A step dated in the time of a newer version: judged as a migration judges the file (models/ruleset_migration.py
    `judge`), then stored as a migration stores a move (the deadlines recomputed, an audit event naming both versions
    and the stage mapping). True: the file moved; False: its stage finishes under `old` (the step is judged by it).
    A file the new version cannot take is a row error saying why."""
    tr = new.transitional
    if tr is None or old.version not in tr.replaces:
        raise _RowFailed([RowError(line, step.header(), f"Ngày {step.on:%d/%m/%Y} thuộc thời gian hiệu lực của quy định "
                                                        f"{new.version}, nhưng quy định này không có điều khoản chuyển tiếp "
                                                        f"cho hồ sơ theo {old.version}.")])
    cand = conn.execute(select(CANDIDATE).where(CANDIDATE.c.id == cid)).mappings().one()
    rows = conn.execute(select(DEADLINE).where(DEADLINE.c.candidate_id == cid, DEADLINE.c.status == "open")
                        .order_by(DEADLINE.c.id)).mappings().all()
    plan = judge(cand, rows, old, new, calendar)
    if plan.outcome == "stayed":
        return False
    if plan.outcome == "blocked":
        raise _RowFailed([RowError(line, step.header(), f"Không chuyển được hồ sơ sang quy định {new.version} (có hiệu "
                                                        f"lực từ {new.effective_from:%d/%m/%Y}): {plan.message}")])
    move_candidate(conn, cand, plan, old, new, actor, now=now, on=step.on,
                   why=f"import batch {imported.batch_id}: {old.version} -> {new.version}")
    return True


def _apply(conn: Connection, cid: int, line: int, step: PlannedStep, actor: Actor, imported: Imported,
           calendar: WorkingCalendar, now: datetime) -> TransitionResult:
    request = TransitionRequest(cid, step.event, step.on, actor, inputs=step.inputs, reason=imported.authority)
    try:
        result = apply_in(conn, request, now=now, calendar=calendar, imported=imported)
    except InputError as exc:
        raise _RowFailed([RowError(line, step.header(p.field), p.message_vi) for p in exc.problems]) from None
    except StageConflict as exc:
        raise _RowFailed([RowError(line, step.header(), f"Bước “{step.event}” không áp dụng cho giai đoạn hiện tại của "
                                                        f"hồ sơ (“{exc.stage}”).")]) from None
    if not result.applied:
        raise _RowFailed([StepError(line, step.header(), f.message, rule_id=f.rule, cite=f.cite) for f in result.failures])
    return result


def _system_step(conn: Connection, rs: RuleSet, stage: str, cid: int, row: Row, today: date) -> PlannedStep | None:
    """A step the system takes by itself (opening recognition when the probation period ends), replayed on the
    day its period ended, when the declared stage lies beyond it."""
    if stage == row.stage:
        return None
    system = [e for e in forward_events(rs, stage) if e.actor == "system"]
    if len(system) != 1:
        return None
    ends = conn.execute(select(DEADLINE.c.due_on).where(
        DEADLINE.c.candidate_id == cid, DEADLINE.c.status == "open", DEADLINE.c.kind == "period")).scalars().first()
    if ends is None or ends > today:
        return None
    return PlannedStep(system[0].id, ends, {}, ())


def _open_deadlines(conn: Connection, cid: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(DEADLINE.c.clock, DEADLINE.c.kind, DEADLINE.c.due_on, DEADLINE.c.ruleset_version).where(
        DEADLINE.c.candidate_id == cid, DEADLINE.c.status == "open").order_by(DEADLINE.c.due_on, DEADLINE.c.clock)).all()
    out = []
    for r in rows:
        clock = next(c for c in get_ruleset(r.ruleset_version).clocks if c.id == r.clock)
        out.append({"clock": r.clock, "label": clock.label, "kind": r.kind, "due_on": r.due_on.isoformat()})
    return out


def _accepted_failures(conn: Connection, cid: int) -> list[dict[str, Any]]:
    out = []
    for event, payload in conn.execute(select(AUDIT.c.event, AUDIT.c.payload).where(
            AUDIT.c.candidate_id == cid, AUDIT.c.kind == "transition").order_by(AUDIT.c.seq)):
        for f in json.loads(payload).get("imported", {}).get("failures", []):
            out.append({"event": event, "rule": f["rule"], "message": f["message"], "cite": f["cite"]})
    return out


class NotUnverified(ValueError):
    pass


def verify_imported(engine: Engine, candidate_id: int, actor: Actor, reason: str, *, now: datetime | None = None) -> int:
    """Clear the "imported, not verified" flag once the paper file has been checked; audited on the candidate's chain."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("a reason is required")
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        cand = conn.execute(select(CANDIDATE).where(CANDIDATE.c.id == candidate_id).with_for_update()).mappings().first()
        if cand is None:
            raise LookupError(f"no candidate with id {candidate_id}")
        if not cand["imported_unverified"]:
            raise NotUnverified(f"candidate {candidate_id} is not marked imported-unverified")
        appended = append_for_candidate(
            conn, candidate_id, (cand["audit_seq"], cand["audit_head"]), kind="import_verified", actor=actor,
            stage_before=cand["stage"], stage_after=cand["stage"], reason=reason, ruleset_version=cand["ruleset_version"],
            payload={"batch": cand["import_batch_id"]}, now=now)
        conn.execute(CANDIDATE.update().where(CANDIDATE.c.id == candidate_id).values(imported_unverified=False))
    return appended.id


def batches(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    """The latest import batches (for the admin page and the CLI)."""
    with engine.connect() as conn:
        rows = conn.execute(select(BATCH).order_by(BATCH.c.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]
