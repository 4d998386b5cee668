"""The organisation department's yearly statistics for a subtree: admissions against targets, who was admitted,
coverage of villages, membership, courses and the pipeline. Pure reads (SQLAlchemy Core, SQLite and PostgreSQL):
every figure comes from one GROUP BY query; Python only folds the grouped rows (cells, stages, years), never
candidates one by one.

Definitions (the rules the figures follow):

- **Admitted in a year**: candidates of the subtree whose admission decision (`decision_on`) is dated in the
  year, up to the end of the period, and whose file did not end as *withdrawn* or *not admitted*: a decision
  followed by withdrawal before the ceremony admitted nobody. Someone removed (xóa tên) or transferred during
  probation was admitted in the year of the decision and stays counted.
- **Period end**: 31/12 of the year, or `today` when the year is not over. Figures "at the end of the year"
  (membership, coverage, people still at a stage) are taken on that day.
- **Targets**: the unit's target of the year; its term target is the term (nhiệm kỳ) that contains the year
  (the later one when two share a boundary year); the term's achievement counts admissions from 1/1 of the
  term's first year to the period end. Percentages are rounded half up to one decimal.
- **Ranking** of the direct subordinate units: by the share of the year's target reached, then by the number
  admitted; units without a target come after those with one; equal keys share a rank.
- **Age 18–30**: age at the decision counted by month (Civil Code, as the guards count it): from 216 to 371
  whole months.
- **Religious**: a religion recorded and not "Không" (none). **Ethnic minority**: any group but Kinh.
- **Members at the period end**: admitted on or before it, not left (`left_on` after it, or none; a member
  marked left or died without a date counts as gone); full when recognised on or before it, else probationary.
- **Village without a member** (bản trắng đảng viên): a village or residential group that no cell covers, or
  whose covering cell has no member at the period end (the register places members in cells, not villages).
- **Courses**: sessions whose area is in the subtree and which start in the year; learners are their
  enrolments; "attended" counts attended or certified. Certificates are the candidates' awareness and
  new-member certificates dated in the year.
- **Time at a stage**: from the effective date of the step entering the stage to that of the step leaving it,
  in calendar days, for stays that ended in the year, plus stays still running at the period end (counted to
  it). Median (mean of the two middle values for an even count) and maximum, per stage and per subordinate
  unit; a unit's **bottleneck** is its stage with the largest median.
- **People at a stage** and **overdue deadlines** are taken as they stand today (open statutory deadlines,
  not periods, due before today).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from sqlalchemy import Date, Engine, Integer, String, and_, case, cast, extract, func, literal, not_, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from models.database import reading
from models.organisation import COVERAGE, PARTY_CELLS
from models.people import OCCUPATIONS
from models.procedure.engine import InputError, InputProblem
from models.procedure.loader import all_rulesets, in_force_on
from models.scope import whole_tree
from models.tables import AdmissionTarget, AuditEvent, Candidate, CourseEnrolment, CourseSession, Deadline, Member, OrgUnit
from models.tables.targets import LIFECYCLE_KINDS
from models.transitions import local_today
from models.vietnamese import fold, name_sort_key

UNIT = OrgUnit.__table__
CANDIDATE = Candidate.__table__
MEMBER = Member.__table__
AUDIT = AuditEvent.__table__
DEADLINE = Deadline.__table__
SESSION = CourseSession.__table__
ENROLMENT = CourseEnrolment.__table__
TARGET = AdmissionTarget.__table__

NOT_ADMITTED_STAGES = ("withdrawn", "not_admitted")     # a decision followed by these admitted nobody
NO_RELIGION = ("Không", "không", "KHÔNG", "Không có", "không có", "Không tôn giáo", "không tôn giáo")
YOUTH_MIN_MONTHS, YOUTH_MAX_MONTHS = 18 * 12, 31 * 12 - 1
MIN_FULL_MEMBERS = 3                                   # a cell needs three full members to vote
GONE = ("left", "died")
FIRST_YEAR = 2000
UNVERIFIED_TITLE = "Hồ sơ giấy chưa xác minh"           # a sheet title: at most 31 characters


# --- SQL helpers ------------------------------------------------------------------------------------

class day_span(FunctionElement):  # noqa: N801 - an SQL function
    """Calendar days from the second date to the first: (end - start)."""

    type = Integer()
    inherit_cache = True
    name = "day_span"


@compiles(day_span)
def _day_span_default(element: day_span, compiler: Any, **kw: Any) -> str:
    end, start = list(element.clauses)
    return f"({compiler.process(end, **kw)} - {compiler.process(start, **kw)})"


@compiles(day_span, "sqlite")
def _day_span_sqlite(element: day_span, compiler: Any, **kw: Any) -> str:
    end, start = list(element.clauses)
    return f"CAST(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}) AS INTEGER)"


def _day(value: date) -> Any:
    return literal(value, Date)


def _days_in_month(year: Any, month: Any) -> Any:
    leap = or_(and_(year % 4 == 0, year % 100 != 0), year % 400 == 0)
    return case((month.in_((4, 6, 9, 11)), 30), (month == 2, case((leap, 29), else_=28)), else_=31)


def age_in_months(birth: Any, on: Any) -> Any:
    """Whole months from `birth` to `on`, as models.calendar.periods.months_between counts them (in SQL).

    One month is lost when the day of `on` is before the birth day, unless `on` is the last day of its month
    (a period ending on a day the month does not have ends on the month's last day).
    """
    by, bm, bd = (cast(extract(p, birth), Integer) for p in ("year", "month", "day"))
    oy, om, od = (cast(extract(p, on), Integer) for p in ("year", "month", "day"))
    short = and_(od < bd, od != _days_in_month(oy, om))
    return (oy - by) * 12 + (om - bm) - case((short, 1), else_=0)


def _subtree(root_id: str) -> Any:
    """CTE (unit_id, branch_id): every unit of the subtree and the direct child of the root it sits under
    (the root itself for the root)."""
    seed = select(UNIT.c.id.label("unit_id"), UNIT.c.id.label("branch_id")).where(UNIT.c.id == root_id)
    sub = seed.cte("subtree", recursive=True)
    child = UNIT.alias("child")
    branch = cast(case((sub.c.unit_id == root_id, child.c.id), else_=sub.c.branch_id), String(64))
    return sub.union_all(select(child.c.id, branch).where(child.c.parent_id == sub.c.unit_id))


def _admitted_between(start: date, end: date) -> Any:
    return and_(CANDIDATE.c.decision_on >= _day(start), CANDIDATE.c.decision_on <= _day(end),
                CANDIDATE.c.stage.not_in(NOT_ADMITTED_STAGES))


# --- numbers -------------------------------------------------------------------------------------------

class Percent(float):
    """A percentage (176.7 means 176,7 %), rounded to one decimal."""


def percent(part: int, whole: int | None) -> Percent | None:
    if not whole:
        return None
    value = (Decimal(part * 1000) / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 10
    return Percent(value)


def _median(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def vn_number(value: Any) -> str:
    """A cell as the page and the summary print it: 1.234 · 176,7% · 12,5 · — for nothing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, Percent):
        return f"{float(value):,.1f}%".replace(",", " ").replace(".", ",").replace(" ", ".")
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float):
        return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return str(value)


# --- the report ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Share:
    key: str
    label: str
    count: int
    percent: Percent | None


@dataclass(frozen=True)
class TermFigures:
    start_year: int
    end_year: int
    target: int
    admitted: int
    percent: Percent | None


@dataclass(frozen=True)
class CommitteeFigures:
    unit_id: str
    name: str
    kind: str
    admitted: int
    admitted_previous: int
    target_year: int | None
    percent_year: Percent | None
    term: TermFigures | None
    members_full: int
    members_probationary: int
    rank: int


@dataclass(frozen=True)
class Coverage:
    villages: int
    villages_with_cell: int
    villages_without_cell: int
    villages_without_member: int
    cells: int
    grassroots_cells: int
    cells_without_member: int
    cells_below_three_full: int
    without_member: tuple[tuple[str, str, str], ...]      # (id, name, the commune's name) of the villages


@dataclass(frozen=True)
class Membership:
    total: int
    full: int
    probationary: int


@dataclass(frozen=True)
class CourseFigures:
    kind: str
    label: str
    sessions: int
    enrolled: int
    attended: int
    certificates: int


@dataclass(frozen=True)
class StageFigures:
    stage: str
    letter: str | None
    label: str
    people: int
    stays: int
    median_days: float | None
    max_days: int | None


@dataclass(frozen=True)
class Bottleneck:
    unit_id: str
    name: str
    open_files: int
    stage: str | None
    label: str | None
    median_days: float | None
    people_at_stage: int
    overdue: int


@dataclass(frozen=True)
class OverdueClock:
    clock: str
    label: str
    count: int


@dataclass(frozen=True)
class UnverifiedFigures:
    """Files imported from paper with a rule break accepted and not yet verified: how many of the year's
    admissions and of the files now in progress rest on them."""

    admitted: int = 0
    in_progress: int = 0


class Table(NamedTuple):
    """A table of the report: its title (the sheet's name), its header row and its rows; a plain 3-tuple."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @property
    def key(self) -> str:
        return "-".join("".join(ch if ch.isalnum() else " " for ch in fold(self.title)).split())

    @property
    def numeric(self) -> tuple[bool, ...]:
        """Per column: only numbers (or blanks), to be aligned to the right."""
        return tuple(any(isinstance(r[i], int | float) for r in self.rows)
                     and all(r[i] is None or (isinstance(r[i], int | float) and not isinstance(r[i], bool)) for r in self.rows)
                     for i in range(len(self.header)))


@dataclass(frozen=True)
class StatisticsReport:
    unit_id: str
    unit_name: str
    unit_kind: str
    year: int
    today: date
    period_end: date
    admitted: int
    admitted_previous: int
    target_year: int | None
    percent_year: Percent | None
    target_previous: int | None
    percent_previous: Percent | None
    term: TermFigures | None
    committees: tuple[CommitteeFigures, ...]
    composition: tuple[Share, ...]
    education: tuple[Share, ...]
    qualification: tuple[Share, ...]
    occupations: tuple[Share, ...]
    coverage: Coverage
    membership: Membership
    courses: tuple[CourseFigures, ...]
    stages: tuple[StageFigures, ...]
    bottlenecks: tuple[Bottleneck, ...]
    overdue: tuple[OverdueClock, ...]
    definitions: tuple[str, ...] = field(default=())
    unverified: UnverifiedFigures = field(default_factory=UnverifiedFigures)

    @property
    def overdue_total(self) -> int:
        return sum(o.count for o in self.overdue)

    def summary(self) -> str:
        """One sentence as the press reports it: 'Kết nạp 265 đảng viên, đạt 176,7% chỉ tiêu năm; nữ 77, …'."""
        parts = [f"Năm {self.year} kết nạp {vn_number(self.admitted)} đảng viên"]
        if self.percent_year is not None:
            parts[0] += f", đạt {vn_number(self.percent_year)} chỉ tiêu năm"
        if self.term is not None and self.term.percent is not None:
            parts[0] += f" và {vn_number(self.term.percent)} chỉ tiêu nhiệm kỳ {self.term.start_year}–{self.term.end_year}"
        shares = {s.key: s.count for s in self.composition}
        details = [f"{label} {vn_number(shares[key])}" for key, label in (
            ("women", "nữ"), ("ethnic_minority", "dân tộc thiểu số"), ("youth_union", "đoàn viên"),
            ("religious", "có đạo"), ("age_18_30", "tuổi 18–30"), ("high_school", "học sinh"),
            ("university", "sinh viên")) if shares.get(key)]
        out = parts[0] + (": " + ", ".join(details) if details else "") + "."
        if self.unverified.admitted or self.unverified.in_progress:
            out += (f" Trong đó hồ sơ đã nhập từ hồ sơ giấy, chưa xác minh: {vn_number(self.unverified.admitted)} người "
                    f"được kết nạp, {vn_number(self.unverified.in_progress)} người trong quy trình.")
        return out

    def as_dict(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            if isinstance(value, date):
                return value.isoformat()
            if isinstance(value, Percent):
                return float(value)
            return value

        out = plain(asdict(self))
        out["overdue_total"] = self.overdue_total
        out["summary"] = self.summary()
        return out

    def tables(self) -> list[Table]:
        """The report as ordered tables (sheet title, header, rows): the page, the .xlsx and the .csv all print these."""
        y, prev = self.year, self.year - 1
        out: list[Table] = []
        rows: list[tuple[Any, ...]] = [
            (f"Kết nạp năm {y}" + ("" if self.period_end.year > y or self.period_end == date(y, 12, 31)
                                   else f" (đến {self.period_end:%d/%m/%Y})"),
             self.admitted, self.target_year, self.percent_year),
            (f"Kết nạp năm {prev}", self.admitted_previous, self.target_previous, self.percent_previous),
            (f"Tăng, giảm so với năm {prev}", self.admitted - self.admitted_previous, None, None),
        ]
        if self.term is not None:
            rows.append((f"Nhiệm kỳ {self.term.start_year}–{self.term.end_year} (đến hết kỳ báo cáo)",
                         self.term.admitted, self.term.target, self.term.percent))
        out.append(Table("Kết nạp và chỉ tiêu", ("Nội dung", "Số đảng viên", "Chỉ tiêu", "Đạt (%)"), tuple(rows)))
        out.append(Table("Theo đơn vị trực thuộc", (
            "Đơn vị", "Xếp hạng", f"Kết nạp {y}", "Chỉ tiêu năm", "Đạt (%)", f"Kết nạp {prev}",
            "Chỉ tiêu nhiệm kỳ", "Kết nạp trong nhiệm kỳ", "Đạt nhiệm kỳ (%)", "Đảng viên chính thức",
            "Đảng viên dự bị"), tuple(
            (c.name, c.rank, c.admitted, c.target_year, c.percent_year, c.admitted_previous,
             c.term.target if c.term else None, c.term.admitted if c.term else None, c.term.percent if c.term else None,
             c.members_full, c.members_probationary) for c in self.committees)))
        out.append(Table(UNVERIFIED_TITLE, ("Trong đó hồ sơ đã nhập từ hồ sơ giấy, chưa xác minh", "Số người"), (
            (f"Người được kết nạp năm {y}", self.unverified.admitted),
            ("Người đang trong quy trình (hiện nay)", self.unverified.in_progress))))
        share_header = ("Chỉ số", "Số người", "Tỷ lệ (%)")
        out.append(Table("Cơ cấu người được kết nạp", share_header,
                         (("Tổng số được kết nạp", self.admitted, percent(self.admitted, self.admitted)),
                          *((s.label, s.count, s.percent) for s in self.composition))))
        out.append(Table("Trình độ học vấn", ("Trình độ học vấn", "Số người", "Tỷ lệ (%)"),
                         tuple((s.label, s.count, s.percent) for s in self.education)))
        out.append(Table("Trình độ chuyên môn", ("Trình độ chuyên môn", "Số người", "Tỷ lệ (%)"),
                         tuple((s.label, s.count, s.percent) for s in self.qualification)))
        out.append(Table("Nghề nghiệp", ("Nghề nghiệp", "Số người", "Tỷ lệ (%)"),
                         tuple((s.label, s.count, s.percent) for s in self.occupations)))
        cov, mem = self.coverage, self.membership
        out.append(Table("Tổ chức đảng và đảng viên", ("Chỉ số", "Số lượng"), (
            ("Thôn, bản, tổ dân phố", cov.villages),
            ("Có chi bộ riêng", cov.villages_with_cell),
            ("Chưa có chi bộ riêng", cov.villages_without_cell),
            ("Chưa có đảng viên", cov.villages_without_member),
            ("Chi bộ (kể cả chi bộ cơ sở)", cov.cells),
            ("Trong đó chi bộ cơ sở", cov.grassroots_cells),
            ("Chi bộ chưa có đảng viên", cov.cells_without_member),
            (f"Chi bộ có dưới {MIN_FULL_MEMBERS} đảng viên chính thức", cov.cells_below_three_full),
            (f"Đảng viên đến {self.period_end:%d/%m/%Y}", mem.total),
            ("Đảng viên chính thức", mem.full),
            ("Đảng viên dự bị", mem.probationary),
        )))
        out.append(Table("Thôn, tổ chưa có đảng viên", ("Thôn, bản, tổ dân phố", "Thuộc"),
                         tuple((name, parent) for _, name, parent in cov.without_member)))
        out.append(Table("Lớp bồi dưỡng", ("Loại lớp", "Số lớp", "Học viên", "Dự học", "Được cấp giấy chứng nhận"),
                         tuple((c.label, c.sessions, c.enrolled, c.attended, c.certificates) for c in self.courses)))
        out.append(Table("Người vào Đảng theo bước", (
            "Bước", "Nội dung", "Số người hiện nay", "Số lượt tính thời gian", "Trung vị (ngày)", "Lâu nhất (ngày)"),
            tuple((s.letter or "", s.label, s.people, s.stays, s.median_days, s.max_days) for s in self.stages)))
        out.append(Table("Điểm nghẽn theo đơn vị", (
            "Đơn vị", "Hồ sơ đang xử lý", "Bước chậm nhất", "Trung vị (ngày)", "Số người ở bước đó", "Thời hạn quá hạn"),
            tuple((b.name, b.open_files, b.label, b.median_days, b.people_at_stage, b.overdue) for b in self.bottlenecks)))
        out.append(Table("Thời hạn quá hạn", ("Thời hạn", "Số hồ sơ quá hạn"),
                         (*((o.label, o.count) for o in self.overdue), ("Cộng", self.overdue_total))))
        return out


# --- the queries ---------------------------------------------------------------------------------------

EDUCATION_GROUPS = (
    ("upper_secondary", "Trung học phổ thông (12/12)", 12, 12),
    ("lower_secondary", "Trung học cơ sở (9/12 – 11/12)", 9, 11),
    ("primary", "Dưới trung học cơ sở (được vận dụng)", 0, 8),
)
QUALIFICATION_GROUPS = (
    ("postgraduate", "Sau đại học", ("tien si", "thac si", "sau dai hoc", "chuyen khoa")),
    ("university", "Đại học", ("dai hoc", "cu nhan", "ky su", "bac si", "duoc si")),
    ("college", "Cao đẳng", ("cao dang",)),
    ("vocational", "Trung cấp", ("trung cap",)),
    ("elementary", "Sơ cấp", ("so cap",)),
)


def unit_sort_key(name: str) -> tuple[tuple[int, ...], ...]:
    """Units in Vietnamese alphabetical order of their whole name (people sort by given name instead)."""
    return tuple(name_sort_key(word)[0] for word in name.split())


def qualification_group(text: str | None) -> str:
    """The level of a professional qualification written freely ('Đại học sư phạm' → university)."""
    if not text or not text.strip():
        return "none"
    folded = fold(text)
    for key, _, words in QUALIFICATION_GROUPS:
        if any(w in folded for w in words):
            return key
    return "other"


def check_year(year: int, today: date) -> None:
    """InputError naming `year` unless it is between 2000 and this year."""
    if not FIRST_YEAR <= year <= today.year:
        raise InputError([InputProblem("year", "year_out_of_range", f"{year} is not between {FIRST_YEAR} and {today.year}",
                                       f"Năm {year} không hợp lệ (từ {FIRST_YEAR} đến {today.year}).")])


def yearly_report(engine: Engine, root_unit_id: str, year: int, *, today: date | None = None) -> StatisticsReport:
    """The statistics of `year` for the subtree of `root_unit_id` (see the module's definitions)."""
    today = today or local_today(datetime.now(UTC))
    check_year(year, today)
    y0, y_end = date(year, 1, 1), date(year, 12, 31)
    period_end = min(y_end, today)
    # The time-per-stage query reads the audit trail and costs about as much as all the others together: it runs
    # on a connection of its own in a second thread (both databases release the GIL while a query runs), so the
    # report takes the longer of the two instead of their sum. The two connections may see writes committed in
    # between; for yearly figures that is immaterial.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ketnap-statistics") as pool, reading(engine) as conn:
        pending_durations = pool.submit(_on_own_connection, engine, _durations, root_unit_id, y0, period_end)
        tree = whole_tree(conn)
        if root_unit_id not in tree.units:
            raise LookupError(f"no unit {root_unit_id!r}")
        root = tree.units[root_unit_id]
        ids = tree.subtree_ids(root_unit_id)
        branches = [u for u in tree.units.values() if u.parent_id == root_unit_id and u.kind not in COVERAGE]
        targets = _targets(conn, [root_unit_id, *(b.id for b in branches)], year)
        first_year = min([year - 1, *(t[0] for t in targets["term"].values())])
        by_year, unverified_by_year = _admitted_by_branch_and_year(conn, root_unit_id, first_year, year, period_end)
        composition = _composition(conn, root_unit_id, y0, period_end)
        grades = _grouped(conn, root_unit_id, y0, period_end, CANDIDATE.c.general_education_grade)
        qualifications = _grouped(conn, root_unit_id, y0, period_end, CANDIDATE.c.qualification)
        occupations = _grouped(conn, root_unit_id, y0, period_end, CANDIDATE.c.occupation)
        members = _members_by_cell(conn, root_unit_id, period_end, _branch_map(tree, root_unit_id, ids))
        stages_now, certificates, unverified_open = _files(conn, root_unit_id, y0, period_end)
        courses = _courses(conn, root_unit_id, y0, period_end, certificates)
        overdue = _overdue(conn, root_unit_id, today)
        durations = pending_durations.result()

    def admitted_in(branch: str | None, first: int, last: int) -> int:
        return sum(n for (b, yr), n in by_year.items() if first <= yr <= last and (branch is None or b == branch))

    admitted = admitted_in(None, year, year)
    total = admitted

    def term_of(unit_id: str, branch: str | None) -> TermFigures | None:
        t = targets["term"].get(unit_id)
        if t is None:
            return None
        got = admitted_in(branch, t[0], min(t[1], year))
        return TermFigures(t[0], t[1], t[2], got, percent(got, t[2]))

    full_by_branch: dict[str, int] = {}
    prob_by_branch: dict[str, int] = {}
    for (_cell, branch), (full, prob) in members.items():
        full_by_branch[branch] = full_by_branch.get(branch, 0) + full
        prob_by_branch[branch] = prob_by_branch.get(branch, 0) + prob
    committees = []
    for b in branches:
        got = admitted_in(b.id, year, year)
        target = targets["year"].get((b.id, year))
        committees.append(dict(unit_id=b.id, name=b.name, kind=b.kind, admitted=got,
                               admitted_previous=admitted_in(b.id, year - 1, year - 1), target_year=target,
                               percent_year=percent(got, target), term=term_of(b.id, b.id),
                               members_full=full_by_branch.get(b.id, 0), members_probationary=prob_by_branch.get(b.id, 0)))

    def rank_key(c: dict[str, Any]) -> tuple[float, int]:
        return (float(c["percent_year"]) if c["percent_year"] is not None else -1.0, c["admitted"])

    ranked = tuple(sorted(
        (CommitteeFigures(**c, rank=1 + sum(rank_key(o) > rank_key(c) for o in committees)) for c in committees),
        key=lambda c: (c.rank, unit_sort_key(c.name))))

    target_year = targets["year"].get((root_unit_id, year))
    target_previous = targets["year"].get((root_unit_id, year - 1))
    previous = admitted_in(None, year - 1, year - 1)

    shares = tuple(Share(key, label, composition[key], percent(composition[key], total)) for key, label in (
        ("women", "Nữ"), ("youth_union", "Đoàn viên Đoàn TNCS Hồ Chí Minh"), ("ethnic_minority", "Người dân tộc thiểu số"),
        ("religious", "Người có đạo (theo tôn giáo)"), ("age_18_30", "Tuổi từ 18 đến 30"),
        ("high_school", "Học sinh trung học phổ thông"), ("university", "Sinh viên")))
    education = tuple(
        Share(key, label, n, percent(n, total)) for key, label, lo, hi in EDUCATION_GROUPS
        for n in [sum(c for grade, c in grades.items() if grade is not None and lo <= grade <= hi)])
    by_level: dict[str, int] = {}
    for written, n in qualifications.items():
        level = qualification_group(written)
        by_level[level] = by_level.get(level, 0) + n
    qualification = tuple(Share(key, label, by_level.get(key, 0), percent(by_level.get(key, 0), total))
                          for key, label in (*((k, lbl) for k, lbl, _ in QUALIFICATION_GROUPS),
                                             ("other", "Khác"), ("none", "Chưa qua đào tạo chuyên môn")))
    jobs = tuple(Share(code, label, occupations.get(code, 0), percent(occupations.get(code, 0), total))
                 for code, label in OCCUPATIONS.items())

    coverage = _coverage(tree, ids, members)
    membership = Membership(sum(f + p for f, p in members.values()), sum(f for f, _ in members.values()),
                            sum(p for _, p in members.values()))
    stages, bottlenecks, overdue_rows = _pipeline(tree, branches, stages_now, durations, overdue, today)
    return StatisticsReport(
        unit_id=root.id, unit_name=root.name, unit_kind=root.kind, year=year, today=today, period_end=period_end,
        admitted=admitted, admitted_previous=previous, target_year=target_year, percent_year=percent(admitted, target_year),
        target_previous=target_previous, percent_previous=percent(previous, target_previous),
        term=term_of(root_unit_id, None), committees=ranked, composition=shares, education=education,
        qualification=qualification, occupations=jobs, coverage=coverage, membership=membership,
        courses=courses, stages=stages, bottlenecks=bottlenecks, overdue=overdue_rows, definitions=DEFINITIONS,
        unverified=UnverifiedFigures(sum(n for (_, yr), n in unverified_by_year.items() if yr == year), unverified_open),
    )


def _targets(conn: Any, unit_ids: list[str], year: int) -> dict[str, dict[Any, Any]]:
    """{'year': {(unit, year): count}, 'term': {unit: (start, end, count)}} for the year, the year before and
    the term containing the year (the later term when two share the year)."""
    out: dict[str, dict[Any, Any]] = {"year": {}, "term": {}}
    rows = conn.execute(select(TARGET.c.unit_id, TARGET.c.period_kind, TARGET.c.start_year, TARGET.c.end_year,
                               TARGET.c.count.label("n")).where(TARGET.c.unit_id.in_(unit_ids), TARGET.c.start_year <= year,
                                                     TARGET.c.end_year >= year - 1))
    for r in rows:
        if r.period_kind == "year":
            out["year"][(r.unit_id, r.start_year)] = r.n
        elif r.start_year <= year <= r.end_year:
            best = out["term"].get(r.unit_id)
            if best is None or r.start_year > best[0]:
                out["term"][r.unit_id] = (r.start_year, r.end_year, r.n)
    return out


def _from_subtree(root_id: str) -> tuple[Any, Any]:
    sub = _subtree(root_id)
    return sub, CANDIDATE.join(sub, sub.c.unit_id == CANDIDATE.c.cell_id)


def _unverified_count() -> Any:
    """SUM(CASE imported_unverified): folded into a query that already reads the rows, never a scan of its own."""
    return func.coalesce(func.sum(case((CANDIDATE.c.imported_unverified.is_(True), 1), else_=0)), 0)


def _admitted_by_branch_and_year(conn: Any, root_id: str, first_year: int, year: int, period_end: date,
                                 ) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    """{(branch, year): admitted} and, from the same rows, {(branch, year): of them imported, not verified}."""
    sub, joined = _from_subtree(root_id)
    decided = cast(extract("year", CANDIDATE.c.decision_on), Integer)
    rows = conn.execute(select(sub.c.branch_id, decided, func.count(), _unverified_count()).select_from(joined)
                        .where(_admitted_between(date(first_year, 1, 1), period_end))
                        .group_by(sub.c.branch_id, decided)).all()
    return ({(r[0], int(r[1])): int(r[2]) for r in rows}, {(r[0], int(r[1])): int(r[3]) for r in rows})


def _composition(conn: Any, root_id: str, start: date, end: date) -> dict[str, int]:
    sub, joined = _from_subtree(root_id)
    age = age_in_months(CANDIDATE.c.birth_date, CANDIDATE.c.decision_on)
    religion = CANDIDATE.c.religion
    flags = {
        "women": CANDIDATE.c.gender == "nu",
        "youth_union": CANDIDATE.c.youth_union_member.is_(True),
        "ethnic_minority": CANDIDATE.c.ethnicity != "Kinh",
        "religious": and_(religion.is_not(None), func.trim(religion) != "", religion.not_in(NO_RELIGION)),
        "age_18_30": age.between(YOUTH_MIN_MONTHS, YOUTH_MAX_MONTHS),
        "high_school": CANDIDATE.c.occupation == "high_school_student",
        "university": CANDIDATE.c.occupation == "university_student",
    }
    row = conn.execute(select(*(func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(k) for k, cond in flags.items()))
                       .select_from(joined).where(_admitted_between(start, end))).mappings().one()
    return {k: int(v) for k, v in row.items()}


def _grouped(conn: Any, root_id: str, start: date, end: date, column: Any) -> dict[Any, int]:
    sub, joined = _from_subtree(root_id)
    rows = conn.execute(select(column, func.count()).select_from(joined).where(_admitted_between(start, end))
                        .group_by(column))
    return {r[0]: int(r[1]) for r in rows}


def _members_by_cell(conn: Any, root_id: str, on: date, branch_of: dict[str, str]) -> dict[tuple[str, str], tuple[int, int]]:
    """{(cell, branch): (full, probationary)} of members at `on`.

    Grouped by cell alone, the cells of the subtree taken as an IN list: the scan follows the (cell, dates) index in
    cell order, so a million members are counted from the index without sorting them.
    """
    sub = _subtree(root_id)
    day = _day(on)
    active = and_(MEMBER.c.admitted_on <= day, or_(MEMBER.c.left_on.is_(None), MEMBER.c.left_on > day),
                  not_(and_(MEMBER.c.left_on.is_(None), MEMBER.c.standing.in_(GONE))))
    full = and_(MEMBER.c.recognised_on.is_not(None), MEMBER.c.recognised_on <= day)
    rows = conn.execute(
        select(MEMBER.c.cell_id, func.sum(case((full, 1), else_=0)), func.sum(case((full, 0), else_=1)))
        .where(MEMBER.c.cell_id.in_(select(sub.c.unit_id)), active)
        .group_by(MEMBER.c.cell_id))
    return {(r[0], branch_of[r[0]]): (int(r[1]), int(r[2])) for r in rows}


def _branch_map(tree: Any, root_id: str, ids: set[str]) -> dict[str, str]:
    """Each unit of the subtree → the direct child of the root it sits under (the root for itself)."""
    out = {root_id: root_id}
    for uid in ids:
        path, unit = [], uid
        while unit not in out:
            path.append(unit)
            unit = tree.units[unit].parent_id
        for below in reversed(path):                  # from just under a known unit down to `uid`
            parent = tree.units[below].parent_id
            out[below] = below if parent == root_id else out[parent]
    return out


def _coverage(tree: Any, ids: set[str], members: dict[tuple[str, str], tuple[int, int]]) -> Coverage:
    per_cell = {cell: full + prob for (cell, _), (full, prob) in members.items()}
    full_of = {cell: full for (cell, _), (full, _p) in members.items()}
    units = [tree.units[i] for i in ids]
    villages = [u for u in units if u.kind in COVERAGE]
    cells = [u for u in units if u.kind in PARTY_CELLS]
    covered = [v for v in villages if v.covered_by_cell_id and v.covered_by_cell_id in tree.units]
    empty = sorted((v for v in villages if not (v.covered_by_cell_id and per_cell.get(v.covered_by_cell_id, 0))),
                   key=lambda v: (unit_sort_key(tree.units[v.parent_id].name) if v.parent_id else (), unit_sort_key(v.name)))
    return Coverage(
        villages=len(villages), villages_with_cell=len(covered), villages_without_cell=len(villages) - len(covered),
        villages_without_member=len(empty), cells=len(cells), grassroots_cells=sum(c.kind == "grassroots_cell" for c in cells),
        cells_without_member=sum(not per_cell.get(c.id) for c in cells),
        cells_below_three_full=sum(full_of.get(c.id, 0) < MIN_FULL_MEMBERS for c in cells),
        without_member=tuple((v.id, v.name, tree.units[v.parent_id].name if v.parent_id else "") for v in empty),
    )


COURSE_LABELS = {"awareness": "Bồi dưỡng nhận thức về Đảng", "new_member": "Bồi dưỡng đảng viên mới"}


def _courses(conn: Any, root_id: str, start: date, end: date, certificates: dict[str, int]) -> tuple[CourseFigures, ...]:
    sub = _subtree(root_id)
    attended = ENROLMENT.c.status.in_(("attended", "certified"))
    rows = conn.execute(
        select(SESSION.c.kind, func.count(func.distinct(SESSION.c.id)), func.count(ENROLMENT.c.id),
               func.coalesce(func.sum(case((attended, 1), else_=0)), 0))
        .select_from(SESSION.join(sub, sub.c.unit_id == SESSION.c.area_unit_id)
                     .outerjoin(ENROLMENT, ENROLMENT.c.session_id == SESSION.c.id))
        .where(SESSION.c.starts_on >= _day(start), SESSION.c.starts_on <= _day(end))
        .group_by(SESSION.c.kind))
    held = {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}
    return tuple(CourseFigures(kind, label, *held.get(kind, (0, 0, 0)), certificates.get(kind, 0))
                 for kind, label in COURSE_LABELS.items())


def _files(conn: Any, root_id: str, start: date, end: date) -> tuple[dict[tuple[str, str], int], dict[str, int], int]:
    """One pass over the subtree's files: {(branch, stage): people} of the open files as they stand, the
    awareness and new-member certificates dated in the period, and how many open files are imported, not verified."""
    sub, joined = _from_subtree(root_id)
    day0, day1 = _day(start), _day(end)

    def certified(col: Any) -> Any:
        return func.coalesce(func.sum(case((and_(col >= day0, col <= day1), 1), else_=0)), 0)

    rows = conn.execute(select(sub.c.branch_id, CANDIDATE.c.stage, func.count(),
                               certified(CANDIDATE.c.awareness_certificate_on),
                               certified(CANDIDATE.c.new_member_certificate_on), _unverified_count())
                        .select_from(joined).group_by(sub.c.branch_id, CANDIDATE.c.stage))
    terminal = set(_terminal_stages())
    people: dict[tuple[str, str], int] = {}
    certificates = {"awareness": 0, "new_member": 0}
    unverified = 0
    for branch, stage, n, awareness, new_member, unverified_here in rows:
        if stage not in terminal:
            people[(branch, stage)] = int(n)
            unverified += int(unverified_here)
        certificates["awareness"] += int(awareness)
        certificates["new_member"] += int(new_member)
    return people, certificates, unverified


def _terminal_stages() -> tuple[str, ...]:
    return tuple(sorted({s.id for rs in all_rulesets().values() for s in rs.stages if s.kind == "terminal"}))


Durations = dict[tuple[str | None, str], tuple[int, float | None, int | None]]


def _durations(conn: Any, root_id: str, start: date, end: date) -> Durations:
    """{(branch or None for all, stage): (stays, median days, max days)} of the stays counted for the period."""
    sub, joined = _from_subtree(root_id)
    day0, day1 = _day(start), _day(end)
    moved = and_(text(f"audit_event.{LIFECYCLE_KINDS}"), AUDIT.c.stage_after.is_not(None),   # as the partial index says
                 or_(AUDIT.c.stage_before.is_(None), AUDIT.c.stage_before != AUDIT.c.stage_after))
    stays = (
        select(AUDIT.c.stage_after.label("stage"), sub.c.branch_id.label("branch"),
               AUDIT.c.effective_on.label("entered_on"),
               func.lead(AUDIT.c.effective_on).over(partition_by=AUDIT.c.candidate_id, order_by=AUDIT.c.seq).label("left_on"))
        .select_from(joined.join(AUDIT, AUDIT.c.candidate_id == CANDIDATE.c.id))
        .where(moved, or_(CANDIDATE.c.last_event_on >= day0, CANDIDATE.c.closed_on.is_(None)))
        .cte("stays")
    )
    ended = and_(stays.c.left_on >= day0, stays.c.left_on <= day1)
    running = and_(stays.c.entered_on <= day1, or_(stays.c.left_on.is_(None), stays.c.left_on > day1))
    counted = (
        select(stays.c.stage, stays.c.branch,
               case((ended, day_span(stays.c.left_on, stays.c.entered_on)), else_=day_span(day1, stays.c.entered_on))
               .label("days"))
        .where(stays.c.stage.not_in(_terminal_stages()), or_(ended, running))
        .cte("counted")
    )
    # One row per (unit, stage, number of days) with how many stays lasted that long: medians and maxima are read
    # off these counts (a few thousand rows), not off the stays themselves.
    rows = conn.execute(select(counted.c.branch, counted.c.stage, counted.c.days, func.count())
                        .group_by(counted.c.branch, counted.c.stage, counted.c.days)
                        .order_by(counted.c.branch, counted.c.stage, counted.c.days))
    per_branch: dict[tuple[str | None, str], list[tuple[int, int]]] = {}
    overall: dict[str, dict[int, int]] = {}
    for branch, stage, days, n in rows:
        per_branch.setdefault((branch, stage), []).append((int(days), int(n)))
        by_days = overall.setdefault(stage, {})
        by_days[int(days)] = by_days.get(int(days), 0) + int(n)
    for stage, by_days in overall.items():
        per_branch[(None, stage)] = sorted(by_days.items())
    return {key: _median_of_counts(counts) for key, counts in per_branch.items()}


def _median_of_counts(counts: list[tuple[int, int]]) -> tuple[int, float | None, int | None]:
    """(how many, median, maximum) of values given as sorted (value, how many times) pairs."""
    total = sum(n for _, n in counts)
    if not total:
        return 0, None, None
    wanted = ((total + 1) // 2, (total + 2) // 2)          # the middle one, or the middle two (1-based)
    found: list[int] = []
    seen = 0
    for value, n in counts:
        seen += n
        found += [value for position in wanted if seen - n < position <= seen]
        if len(found) == 2:
            break
    return total, _median(sum(found) / 2), counts[-1][0]


def _overdue(conn: Any, root_id: str, today: date) -> dict[tuple[str, str, str], int]:
    """{(branch, ruleset, clock): open deadlines due before today}."""
    sub, joined = _from_subtree(root_id)
    rows = conn.execute(
        select(sub.c.branch_id, DEADLINE.c.ruleset_version, DEADLINE.c.clock, func.count())
        .select_from(joined.join(DEADLINE, DEADLINE.c.candidate_id == CANDIDATE.c.id))
        .where(DEADLINE.c.status == "open", DEADLINE.c.kind == "deadline", DEADLINE.c.due_on < _day(today))
        .group_by(sub.c.branch_id, DEADLINE.c.ruleset_version, DEADLINE.c.clock))
    return {(r[0], r[1], r[2]): int(r[3]) for r in rows}


def _stage_catalogue(today: date) -> tuple[dict[str, int], dict[str, tuple[str | None, str]]]:
    """Order and (letter, label) of every active stage: the rule set in force today first, then the others."""
    sets = list(all_rulesets().values())
    try:
        current = in_force_on(today)
        sets = [current, *(rs for rs in sets if rs.version != current.version)]
    except LookupError:
        pass
    order: dict[str, int] = {}
    labels: dict[str, tuple[str | None, str]] = {}
    for rs in sets:
        for s in rs.stages:
            if s.kind != "terminal" and s.id not in order:
                order[s.id] = len(order)
                labels[s.id] = (s.letter, s.label)
    return order, labels


def _clock_labels() -> dict[str, str]:
    out: dict[str, str] = {}
    for rs in all_rulesets().values():
        for c in rs.clocks:
            out.setdefault(c.id, c.label)
    return out


def _pipeline(tree: Any, branches: list[Any], now: dict[tuple[str, str], int],
              durations: dict[tuple[str | None, str], tuple[int, float | None, int | None]],
              overdue: dict[tuple[str, str, str], int], today: date,
              ) -> tuple[tuple[StageFigures, ...], tuple[Bottleneck, ...], tuple[OverdueClock, ...]]:
    order, labels = _stage_catalogue(today)
    people: dict[str, int] = {}
    for (_, stage), n in now.items():
        people[stage] = people.get(stage, 0) + n
    seen = set(people) | {stage for (_, stage) in durations}
    for stage in sorted(seen - set(order)):            # a stage no rule set knows any more: shown by its id
        order[stage], labels[stage] = len(order), (None, stage)
    stages = tuple(
        StageFigures(stage, labels[stage][0], labels[stage][1], people.get(stage, 0),
                     *(durations.get((None, stage)) or (0, None, None)))
        for stage in sorted(order, key=order.__getitem__))
    overdue_by_branch: dict[str, int] = {}
    by_clock: dict[str, int] = {}
    for (branch, _rs, clock), n in overdue.items():
        overdue_by_branch[branch] = overdue_by_branch.get(branch, 0) + n
        by_clock[clock] = by_clock.get(clock, 0) + n
    bottlenecks = []
    for b in sorted(branches, key=lambda u: unit_sort_key(u.name)):
        mine = [(stage, d) for (branch, stage), d in durations.items() if branch == b.id and d[1] is not None]
        worst = max(mine, key=lambda x: (x[1][1], x[1][0], -order.get(x[0], 0)), default=None)
        open_files = sum(n for (branch, _), n in now.items() if branch == b.id)
        bottlenecks.append(Bottleneck(
            b.id, b.name, open_files, worst[0] if worst else None, labels[worst[0]][1] if worst else None,
            worst[1][1] if worst else None, now.get((b.id, worst[0]), 0) if worst else 0, overdue_by_branch.get(b.id, 0)))
    clock_labels = _clock_labels()
    overdue_rows = tuple(OverdueClock(clock, clock_labels.get(clock, clock), n)
                         for clock, n in sorted(by_clock.items(), key=lambda kv: (-kv[1], kv[0])))
    return stages, tuple(bottlenecks), overdue_rows


DEFINITIONS = (
    "Kết nạp trong năm: người có quyết định kết nạp ghi ngày trong năm (đến ngày cuối kỳ báo cáo), trừ người rút "
    "đơn trước lễ kết nạp; người bị xóa tên hoặc chuyển đi trong thời gian dự bị vẫn được tính vào năm có quyết định.",
    "Chỉ tiêu nhiệm kỳ: tính từ ngày 1/1 của năm đầu nhiệm kỳ đến ngày cuối kỳ báo cáo. Tỷ lệ làm tròn một chữ số thập phân.",
    "Xếp hạng: theo tỷ lệ đạt chỉ tiêu năm, rồi số kết nạp; đơn vị chưa giao chỉ tiêu xếp sau.",
    "Tuổi 18–30: tuổi tại ngày quyết định kết nạp, tính theo tháng (từ đủ 216 đến 371 tháng).",
    "Đảng viên: có mặt đến ngày cuối kỳ báo cáo (chưa ra khỏi Đảng, chưa từ trần); chính thức nếu đã được công nhận đến ngày đó.",
    "Thôn, tổ chưa có đảng viên: không có chi bộ phụ trách, hoặc chi bộ phụ trách không còn đảng viên "
    "(sổ đảng viên ghi chi bộ, không ghi nơi cư trú).",
    "Lớp bồi dưỡng: lớp khai giảng trong năm của các đơn vị trong phạm vi; giấy chứng nhận: ngày cấp trong năm.",
    "Thời gian ở mỗi bước: số ngày từ bước vào đến bước rời đi, với các lượt rời bước trong năm và những người "
    "còn ở bước đó đến ngày cuối kỳ; điểm nghẽn là bước có trung vị lớn nhất của đơn vị.",
    "Số người ở mỗi bước và thời hạn quá hạn: tính theo hồ sơ hiện nay.",
    "Hồ sơ giấy chưa xác minh: hồ sơ nhập vào ketnap từ hồ sơ giấy có bước không đúng quy định, được chấp nhận với "
    "dấu “chưa xác minh” và chưa được xác minh lại; các số liệu trên đã tính cả những hồ sơ này.",
)


def _on_own_connection(engine: Engine, query: Any, *args: Any) -> Any:
    with reading(engine) as conn:
        return query(conn, *args)
