"""Day one: a commune committee's files in progress, imported from an XLSX written here, on SQLite and PostgreSQL.

Expected stages, due dates and reminders are worked out by hand in this file: working days are counted with
an explicit list of the 2025-2027 weekdays off, months by hand.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from models.actors import Actor
from models.calendar_in_force import current_calendar
from models.imports.files_in_progress import DuplicateImport, StepError, import_files
from models.imports.rows import ImportRejected
from models.meetings import meetings_between
from models.reminders import due_for_reminders, plan_deadline_reminders, plan_probation_notices, plan_sponsor_notes
from models.tables import AuditEvent, Candidate, Deadline, ImportBatch, Member, Notification, Recipient
from tests.support import WEEKDAYS_OFF, count_working_days_by_hand

ADMIN = Actor("test:admin", "admin")
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)          # Monday 23/11/2026, 08:00 in Hà Nội
TODAY = date(2026, 11, 23)
AUTHORITY = "Công văn số 12-CV/ĐU ngày 20/11/2026 của Đảng ủy xã Mường Bú"
def wd(start: date, n: int) -> date:
    return count_working_days_by_hand(start, n, WEEKDAYS_OFF)


def d(text: str) -> date:
    return date.fromisoformat(text)


HEADERS = [
    "STT", "Họ và tên", "Ngày sinh", "Giới tính", "Dân tộc", "Tôn giáo", "Trình độ học vấn", "Nghề nghiệp", "Đoàn viên",
    "Công đoàn viên", "Mã chi bộ", "Ngày vào danh sách cảm tình Đảng", "Người giới thiệu 1",
    "Người giới thiệu 1 cùng công tác/sinh sống từ", "Người giới thiệu 2", "Người giới thiệu 2 cùng công tác/sinh sống từ",
    "Số giấy chứng nhận nhận thức về Đảng", "Ngày giấy chứng nhận nhận thức về Đảng", "Ngày viết đơn",
    "Ngày xác nhận lý lịch", "Ngày kết luận thẩm tra lý lịch", "Ngày tổng hợp ý kiến (5-KNĐ)", "Ngày chi bộ xét",
    "Số tán thành (chi bộ)", "Tổng số đảng viên chính thức (chi bộ)", "Ngày đảng ủy bộ phận thẩm định",
    "Ngày đảng ủy cơ sở xét", "Số tán thành (đảng ủy cơ sở)", "Tổng số cấp ủy viên", "Ngày quyết định kết nạp",
    "Số quyết định kết nạp", "Ngày chi bộ nhận quyết định", "Ngày kết nạp", "Đảng viên giúp đỡ", "Giai đoạn hiện tại",
]
SHORT = {"name": "Họ và tên", "born": "Ngày sinh", "gender": "Giới tính", "eth": "Dân tộc", "grade": "Trình độ học vấn",
         "job": "Nghề nghiệp", "cell": "Mã chi bộ", "listed": "Ngày vào danh sách cảm tình Đảng",
         "s1": "Người giới thiệu 1", "s1_since": "Người giới thiệu 1 cùng công tác/sinh sống từ",
         "s2": "Người giới thiệu 2", "s2_since": "Người giới thiệu 2 cùng công tác/sinh sống từ",
         "cert_no": "Số giấy chứng nhận nhận thức về Đảng", "cert": "Ngày giấy chứng nhận nhận thức về Đảng",
         "app": "Ngày viết đơn", "cv": "Ngày xác nhận lý lịch", "bg": "Ngày kết luận thẩm tra lý lịch",
         "opinions": "Ngày tổng hợp ý kiến (5-KNĐ)", "cell_on": "Ngày chi bộ xét", "cell_yes": "Số tán thành (chi bộ)",
         "appraisal": "Ngày đảng ủy bộ phận thẩm định", "gr_on": "Ngày đảng ủy cơ sở xét",
         "gr_yes": "Số tán thành (đảng ủy cơ sở)", "decision": "Ngày quyết định kết nạp",
         "decision_no": "Số quyết định kết nạp", "received": "Ngày chi bộ nhận quyết định", "ceremony": "Ngày kết nạp",
         "helper": "Đảng viên giúp đỡ", "stage": "Giai đoạn hiện tại", "youth": "Đoàn viên", "union": "Công đoàn viên",
         "religion": "Tôn giáo"}
STAGE_VI = {
    "source": "Tạo nguồn (quần chúng cảm tình Đảng)", "file_preparation": "Lập hồ sơ xin vào Đảng",
    "opinions": "Lấy ý kiến nhận xét của đoàn thể và nơi cư trú", "cell_review": "Chi bộ xét, đề nghị kết nạp",
    "awaiting_decision": "Chờ cấp ủy có thẩm quyền quyết định kết nạp", "awaiting_ceremony": "Chờ tổ chức lễ kết nạp",
    "probation": "Đảng viên dự bị", "recognition_review": "Chi bộ xét công nhận đảng viên chính thức",
}


def person(name: str, born: str, cell: str, listed: str, **more: object) -> dict[str, object]:
    row: dict[str, object] = {"name": name, "born": born, "gender": "Nam", "eth": "Thái", "grade": "12/12",
                              "job": "Nông dân", "cell": cell, "listed": listed, "religion": "Không"}
    row.update(more)
    return row


def sponsors(a: str, a_since: str, b: str, b_since: str) -> dict[str, object]:
    return {"s1": a, "s1_since": a_since, "s2": b, "s2_since": b_since}


def to_cell_review(cert: str, app: str, cv: str, bg: str, opinions: str) -> dict[str, object]:
    return {"cert_no": f"CN-{cert[:4]}-{cert[5:7]}", "cert": cert, "app": app, "cv": cv, "bg": bg, "opinions": opinions}


# The commune's paper files on 23/11/2026 (line numbers: the header is line 1).
COMMITTEE: list[dict[str, object]] = [
    # 2: on the source list
    person("Lò Văn An", "2001-05-10", "cb-ban-huoi-hao", "2026-03-02", stage="source"),
    # 3: certificate received, preparing the file
    person("Cà Văn Bình", "1990-04-12", "cb-ban-pa-cong", "2026-01-12", cert_no="CN-2026-011", cert="10/04/2026",
           **sponsors("PC01", "2012-01-01", "PC02", "2014-06-01"), stage="file_preparation"),
    # 4: file complete, opinions being gathered
    person("Quàng Thị Chi", "1987-08-20", "cb-ban-na-la", "2025-10-06", gender="Nữ", cert_no="CN-2025-115",
           cert="2025-12-15", app="2026-09-01", cv="2026-09-15", bg="2026-09-25",
           **sponsors("NL01", "2010-01-01", "NL02", "2012-01-01"), stage="opinions"),
    # 5: opinions summarised, waiting for the cell's vote
    person("Nguyễn Văn Dũng", "1985-03-03", "cbcs-tram-y-te", "2025-11-03", eth="Kinh", job="Cán bộ, công chức, viên chức",
           union="Có", **to_cell_review("2026-01-09", "2026-06-01", "2026-06-10", "2026-06-19", "2026-07-15"),
           **sponsors("YT01", "2013-01-01", "YT02", "2014-01-01"), stage="cell_review"),
    # 6: the health station's cell (its own grassroots organisation) voted; waiting for the commune's decision
    person("Lò Thị Én", "1984-02-02", "cbcs-tram-y-te", "2025-08-04", gender="Nữ", union="Có",
           **to_cell_review("2025-10-20", "2026-03-02", "2026-03-16", "2026-03-27", "2026-04-10"),
           cell_on="2026-10-12", cell_yes=3, **sponsors("YT01", "2012-01-01", "YT03", "2018-01-01"), stage="awaiting_decision"),
    # 7: tea team cell, through the intermediate committee and the company's committee
    person("Tòng Văn Giang", "1986-07-07", "cb-doi-che-1", "2025-09-08", job="Công nhân",
           **to_cell_review("2025-11-14", "2026-07-01", "2026-07-10", "2026-07-20", "2026-08-05"),
           cell_on="2026-09-21", cell_yes=4, appraisal="2026-10-05", gr_on="2026-10-19", gr_yes=7,
           **sponsors("DC01", "2015-01-01", "DC02", "2016-01-01"), stage="awaiting_decision"),
    # 8: admitted by decision, ceremony ahead
    person("Trần Thị Hoa", "1992-09-09", "cb-giao-vien-tn", "2025-08-11", gender="Nữ", eth="Kinh", job="Giáo viên",
           union="Có", **to_cell_review("2025-10-10", "2026-03-02", "2026-03-12", "2026-03-20", "2026-04-06"),
           cell_on="2026-08-17", cell_yes=4, gr_on="2026-09-07", gr_yes=6, decision="2026-10-26",
           decision_no="318-QĐ/ĐU", received="28/10/2026", **sponsors("TN01", "2016-09-01", "TN02", "2016-09-01"),
           stage="awaiting_ceremony"),
    # 9: admitted, ceremony overdue
    person("Vì Văn Khánh", "1983-01-15", "cb-ban-na-la", "2025-07-07",
           **to_cell_review("2025-09-12", "2026-01-05", "2026-01-19", "2026-01-30", "2026-03-09"),
           cell_on="2026-03-16", cell_yes=4, gr_on="2026-03-30", gr_yes=12, decision="2026-05-11", decision_no="101-QĐ/ĐU",
           received="2026-05-14", **sponsors("NL03", "2014-01-01", "NL04", "2017-12-22"), stage="awaiting_ceremony"),
    # 10: probationary member whose year ends in December (listed under 24-QĐ/TW)
    person("Bùi Văn Long", "1991-11-11", "cb-giao-vien-xh", "2025-03-03", eth="Mường", job="Giáo viên",
           **to_cell_review("2025-05-09", "2025-08-04", "2025-08-15", "2025-08-25", "2025-09-15"),
           cell_on="2025-10-06", cell_yes=4, gr_on="2025-10-20", gr_yes=6, decision="2025-11-17", decision_no="410-QĐ/ĐU",
           received="2025-11-19", ceremony="2025-12-05", helper="XH04",
           **sponsors("XH02", "2016-01-01", "XH03", "2017-01-01"), stage="probation"),
    # 11: probationary member halfway through the year
    person("Lường Văn Mạnh", "1989-06-06", "cb-ban-pa-cong", "2025-09-01",
           **to_cell_review("2025-10-24", "2026-01-05", "2026-01-14", "2026-01-23", "2026-02-09"),
           cell_on="2026-03-09", cell_yes=4, gr_on="2026-03-23", gr_yes=11, decision="2026-04-20", decision_no="150-QĐ/ĐU",
           received="2026-04-22", ceremony="2026-05-19", helper="PC02",
           **sponsors("PC03", "2013-01-01", "PC04", "2016-01-01"), stage="probation"),
    # 12: probation over since 15/10/2026, the cell has not voted yet (steps under both rule sets)
    person("Điêu Văn Nam", "1980-12-12", "cb-ban-na-la", "2024-03-04",
           **to_cell_review("2024-05-17", "2024-11-04", "2024-11-15", "2024-11-25", "2025-03-10"),
           cell_on="2025-06-09", cell_yes=4, gr_on="2025-06-23", gr_yes=12, decision="2025-08-18", decision_no="77-QĐ/ĐU",
           received="2025-08-20", ceremony="2025-10-15", helper="NL03",
           **sponsors("NL01", "2010-01-01", "NL02", "2012-01-01"), stage="probation"),
    # 13: probation over, the recognition file opened (declared so)
    person("Phạm Văn Oanh", "1988-02-29", "cb-giao-vien-tn", "2024-06-03", eth="Kinh", job="Giáo viên",
           **to_cell_review("2024-08-16", "2024-12-02", "2024-12-10", "2024-12-20", "2025-05-12"),
           cell_on="2025-06-02", cell_yes=4, gr_on="2025-06-16", gr_yes=6, decision="2025-08-11", decision_no="240-QĐ/ĐU",
           received="2025-08-13", ceremony="2025-09-19", helper="TN02",
           **sponsors("TN03", "2015-01-01", "TN04", "2019-11-11"), stage="recognition_review"),
]


def xlsx(rows: list[dict[str, object]], *, real_dates: bool = True) -> bytes:
    """The sheet as a secretary fills it in: Vietnamese headers, dates as Excel dates or dd/mm/yyyy text."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Hồ sơ"
    sheet.append(HEADERS)
    for n, row in enumerate(rows, start=1):
        values: dict[str, object] = {"STT": n}
        for key, value in row.items():
            if key == "stage":
                value = STAGE_VI.get(str(value), value)
            elif isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
                day = date.fromisoformat(value)
                value = datetime(day.year, day.month, day.day) if real_dates else f"{day:%d/%m/%Y}"
            values[SHORT[key]] = value
        sheet.append([values.get(h) for h in HEADERS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def table_counts(engine) -> dict[str, int]:
    from sqlmodel import SQLModel
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def candidates_by_line(engine, batch_id: int) -> dict[int, dict]:
    with engine.connect() as conn:
        summary = conn.execute(select(ImportBatch.__table__.c.summary).where(ImportBatch.__table__.c.id == batch_id)).scalar_one()
        rows = {r["id"]: dict(r) for r in conn.execute(select(Candidate.__table__)).mappings()}
    return {int(line): rows[cid] for line, cid in summary["lines"].items()}


def open_deadlines(engine, cid: int) -> dict[str, date]:
    t = Deadline.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.clock, t.c.due_on).where(t.c.candidate_id == cid, t.c.status == "open"))
        return dict(rows.tuples().all())


def queued(engine, reason: str) -> set[tuple[str, str]]:
    n, r = Notification.__table__, Recipient.__table__
    with engine.connect() as conn:
        return set(conn.execute(select(r.c.key, n.c.period_key).join(r, r.c.id == n.c.recipient_id)
                                .where(n.c.reason == reason)).tuples().all())


def member_ids(engine) -> dict[str, int]:
    m = Member.__table__
    with engine.connect() as conn:
        return dict(conn.execute(select(m.c.code, m.c.id)).tuples().all())


def test_a_commune_committee_comes_in_with_its_real_dates(org):
    report = import_files(org, xlsx(COMMITTEE), "muong-bu.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    assert report.batch_id is not None and report.unverified == 0
    by_line = candidates_by_line(org, report.batch_id)
    assert sorted(by_line) == list(range(2, 2 + len(COMMITTEE)))
    for line, row in zip(range(2, 2 + len(COMMITTEE)), COMMITTEE, strict=True):
        cand = by_line[line]
        assert cand["stage"] == row["stage"], line
        assert cand["import_batch_id"] == report.batch_id and cand["imported_unverified"] is False
        assert cand["ruleset_version"] == "qd294-2025"       # every file's latest step is after 01/7/2025

    # Deadlines, each worked out by hand from the sheet.
    assert open_deadlines(org, by_line[2]["id"]) == {}
    assert open_deadlines(org, by_line[6]["id"]) == {"admission_decision": wd(d("2026-10-12"), 60)}
    assert wd(d("2026-10-12"), 60) == d("2027-01-06")                  # 24/11 and 1/1/2027 are not counted
    assert open_deadlines(org, by_line[7]["id"]) == {"admission_decision": d("2026-12-15")}
    assert d("2026-12-15") == wd(d("2026-09-21"), 60)
    assert open_deadlines(org, by_line[8]["id"]) == {"ceremony": wd(d("2026-10-28"), 30)}
    assert open_deadlines(org, by_line[9]["id"]) == {"ceremony": d("2026-06-25")}        # overdue
    # Probation: 12 months from the ceremony (not moved off a weekend), then 30 working days for the vote.
    assert open_deadlines(org, by_line[10]["id"]) == {"probation": d("2026-12-05"), "recognition_vote": d("2027-01-18")}
    assert wd(d("2026-12-05"), 30) == d("2027-01-18")
    assert open_deadlines(org, by_line[11]["id"]) == {"probation": d("2027-05-19"), "recognition_vote": wd(d("2027-05-19"), 30)}
    assert open_deadlines(org, by_line[12]["id"]) == {"probation": d("2026-10-15"), "recognition_vote": d("2026-11-27")}
    assert wd(d("2026-10-15"), 30) == d("2026-11-27")
    assert open_deadlines(org, by_line[13]["id"]) == {"recognition_vote": wd(d("2026-09-19"), 30)}
    assert by_line[12]["probation_ends_on"] == d("2026-10-15") and by_line[13]["probation_ends_on"] == d("2026-09-19")

    # Each step judged by the rule set in force on its date: line 12 crossed 01/7/2025.
    audit = AuditEvent.__table__
    with org.connect() as conn:
        steps = conn.execute(select(audit.c.event, audit.c.effective_on, audit.c.ruleset_version, audit.c.actor,
                                    audit.c.payload).where(audit.c.candidate_id == by_line[12]["id"],
                                                           audit.c.kind == "transition").order_by(audit.c.seq)).all()
    assert [(s.event, s.ruleset_version) for s in steps] == [
        ("record_awareness_certificate", "qd24-2021"), ("complete_file", "qd24-2021"), ("summarise_opinions", "qd24-2021"),
        ("cell_approves", "qd24-2021"), ("grassroots_approves", "qd24-2021"), ("admit", "qd294-2025"),
        ("hold_ceremony", "qd294-2025")]
    assert [s.effective_on for s in steps] == [d(x) for x in ("2024-05-17", "2024-11-25", "2025-03-10", "2025-06-09",
                                                              "2025-06-23", "2025-08-18", "2025-10-15")]
    assert {s.actor for s in steps} == {"test:admin"}
    assert all(json.loads(s.payload)["imported"] == {"batch": report.batch_id, "authority": AUTHORITY,
                                                     "before_ketnap": True, "failures": []} for s in steps)

    # The intermediate committee's appraisal happened only for the tea team's file; the health station's cell went
    # straight to the decision.
    with org.connect() as conn:
        events = {line: [e for (e,) in conn.execute(select(audit.c.event).where(
            audit.c.candidate_id == by_line[line]["id"], audit.c.kind == "transition").order_by(audit.c.seq))]
            for line in (6, 7, 13)}
    assert events[6][-1] == "cell_approves" and "appraise" in events[7] and events[13][-1] == "open_recognition"

    # Upcoming reminders on Monday 23/11/2026, planned by the real planners.
    calendar = current_calendar(org)
    plan_deadline_reminders(org, TODAY, calendar, now=NOW)
    # within 5 working days (24/11 is off: up to 01/12): only line 12's recognition vote (27/11)
    assert wd(TODAY, 5) == d("2026-12-01")
    vote = _deadline_id(org, by_line[12]["id"])
    assert queued(org, "deadline_due") == {("secretary:cb-ban-na-la", f"deadline:{vote}:2026-11-27")}
    plan_probation_notices(org, TODAY, now=NOW)      # probation ending within 30 days: line 10 (05/12/2026)
    members = member_ids(org)
    assert queued(org, "probation_helper_review") == {(f"member:{members['XH04']}", "probation:2026-12-05")}
    assert queued(org, "probation_ending") == {("secretary:cb-giao-vien-xh", "probation:2026-12-05")}
    # The December meetings (the 5th is a Saturday: Monday 07/12), reminders from Friday 04/12.
    meetings = due_for_reminders(meetings_between(org, date(2026, 12, 1), date(2026, 12, 31), calendar), date(2026, 12, 4))
    assert {m.on for m in meetings} == {date(2026, 12, 7)}
    plan_sponsor_notes(org, meetings, now=NOW)
    expected = set()
    for line, row in zip(range(2, 2 + len(COMMITTEE)), COMMITTEE, strict=True):
        for key in ("s1", "s2", "helper"):
            if key in row:
                expected.add((f"member:{members[str(row[key])]}", f"2026-12-07/{by_line[line]['id']}"))
    assert queued(org, "sponsor_note") == expected


def _deadline_id(engine, cid: int) -> int:
    t = Deadline.__table__
    with engine.connect() as conn:
        return conn.execute(select(t.c.id).where(t.c.candidate_id == cid, t.c.status == "open",
                                                 t.c.clock == "recognition_vote")).scalar_one()


def csv_of(rows: list[dict[str, object]], *, change: dict[tuple[int, str], str] | None = None) -> bytes:
    """The rows as a CSV a secretary exports (dd/mm/yyyy dates); `change` overrides cells by (row index, header)."""
    lines = [",".join(HEADERS)]
    for n, row in enumerate(rows):
        values = {"STT": str(n + 1)}
        for key, value in row.items():
            if key == "stage":
                value = STAGE_VI[str(value)]
            elif isinstance(value, str) and len(value) == 10 and value[4] == "-":
                value = f"{date.fromisoformat(value):%d/%m/%Y}"
            values[SHORT[key]] = str(value)
        for (index, header), value in (change or {}).items():
            if index == n:
                values[header] = value
        lines.append(",".join(f'"{values.get(h, "")}"' for h in HEADERS))
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_csv_with_a_bom_and_text_dates_gives_the_same_files(org):
    data = "\ufeff".encode() + csv_of(COMMITTEE[:3])
    report = import_files(org, data, "muong-bu.csv", ADMIN, authority=AUTHORITY, now=NOW)
    assert [(r.line, r.stage) for r in report.lines] == [(2, "source"), (3, "file_preparation"), (4, "opinions")]


def test_the_dry_run_writes_nothing_and_reports_what_the_real_run_creates(org):
    before = table_counts(org)
    dry = import_files(org, xlsx(COMMITTEE, real_dates=False), "muong-bu.xlsx", ADMIN, authority=AUTHORITY,
                       dry_run=True, now=NOW)
    assert table_counts(org) == before
    assert dry.dry_run and dry.batch_id is None
    real = import_files(org, xlsx(COMMITTEE, real_dates=False), "muong-bu.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    strip = [{k: v for k, v in r.as_dict().items() if k != "candidate_id"} for r in real.lines]
    assert [{k: v for k, v in r.as_dict().items() if k != "candidate_id"} for r in dry.lines] == strip
    assert dry.counts() == real.counts()
    # what the real run created is what it reported
    by_line = candidates_by_line(org, real.batch_id)
    for r in real.lines:
        assert by_line[r.line]["stage"] == r.stage
        assert open_deadlines(org, by_line[r.line]["id"]) == {x["clock"]: d(x["due_on"]) for x in r.deadlines}
    with org.connect() as conn:
        batch = conn.execute(select(ImportBatch.__table__)).mappings().one()
        audit = AuditEvent.__table__
        org_event = conn.execute(select(audit).where(audit.c.kind == "import_batch")).mappings().one()
    assert (batch["rows"], batch["candidates"], batch["unverified"], batch["mode"]) == (12, 12, 0, "refuse")
    assert json.loads(org_event["payload"])["source_digest"] == batch["source_digest"]
    assert "Lò Văn" not in org_event["payload"]            # no CV field in the organisation's chain


def test_the_same_file_twice_is_refused_naming_the_first_batch(org):
    data = xlsx(COMMITTEE[:2])
    first = import_files(org, data, "a.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    before = table_counts(org)
    with pytest.raises(DuplicateImport) as caught:
        import_files(org, data, "a-again.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    assert caught.value.batch_id == first.batch_id
    assert f"lô số {first.batch_id}" in caught.value.errors[0].rule
    # the same people in a re-saved file: each row is reported as already in ketnap
    with pytest.raises(ImportRejected) as again:
        import_files(org, xlsx(COMMITTEE[:2], real_dates=False), "b.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    assert [(e.line, e.field) for e in again.value.errors] == [(2, "Họ và tên"), (3, "Họ và tên")]
    assert table_counts(org) == before


# One rule broken per line.
BAD: list[dict[str, object]] = [
    # 2: under 18 at the cell's vote (born 01/6/2008, vote 13/4/2026)
    person("Cầm Văn Phúc", "2008-06-01", "cbcs-tram-y-te", "2025-09-01",
           **to_cell_review("2025-10-10", "2026-02-02", "2026-02-10", "2026-02-13", "2026-03-02"),
           cell_on="2026-04-13", cell_yes=3, **sponsors("YT01", "2012-01-01", "YT02", "2014-01-01"), stage="awaiting_decision"),
    # 3: certificate of 01/10/2021, 61 months old at the vote of 02/11/2026
    person("Lò Văn Quý", "1985-05-05", "cbcs-tram-y-te", "2021-09-06",
           **to_cell_review("2021-10-01", "2026-09-01", "2026-09-10", "2026-09-18", "2026-10-05"),
           cell_on="2026-11-02", cell_yes=3, **sponsors("YT01", "2012-01-01", "YT03", "2018-01-01"), stage="awaiting_decision"),
    # 4: the second introducer has been together with him for 5 months only
    person("Tòng Văn Sáng", "1986-06-06", "cb-ban-na-la", "2025-10-06", cert_no="CN-1", cert="2025-12-15", app="2026-06-01",
           cv="2026-06-10", bg="2026-06-19", **sponsors("NL01", "2010-01-01", "NL02", "2026-01-19"), stage="opinions"),
    # 5: opinions summarised before the file was complete
    person("Quàng Văn Tài", "1987-07-07", "cb-ban-na-la", "2025-10-06",
           **to_cell_review("2025-12-15", "2026-05-04", "2026-05-20", "2026-06-01", "2026-05-25"),
           **sponsors("NL01", "2010-01-01", "NL02", "2012-01-01"), stage="cell_review"),
    # 6: an introducer unknown to the register
    person("Lò Văn Út", "1988-08-08", "cb-ban-pa-cong", "2026-01-12", cert_no="CN-2", cert="2026-04-10",
           **sponsors("PC01", "2012-01-01", "ZZ99", "2014-06-01"), stage="file_preparation"),
    # 7: declared at the ceremony stage although no decision is recorded
    person("Vì Văn Vinh", "1989-09-09", "cb-ban-na-la", "2025-10-06",
           **to_cell_review("2025-12-15", "2026-05-04", "2026-05-20", "2026-06-01", "2026-06-15"),
           **sponsors("NL01", "2010-01-01", "NL02", "2012-01-01"), stage="awaiting_ceremony"),
    # 8: a birth date that does not exist
    person("Điêu Văn Xuân", "31/02/1990", "cb-ban-na-la", "2026-01-12", stage="source"),
]


def test_every_bad_row_is_reported_with_its_rule_and_nothing_is_written(org):
    before = table_counts(org)
    with pytest.raises(ImportRejected) as caught:
        import_files(org, xlsx(BAD), "bad.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    errors = caught.value.errors
    assert table_counts(org) == before
    by_line: dict[int, list] = {}
    for e in errors:
        by_line.setdefault(e.line, []).append(e)
    assert sorted(by_line) == [2, 3, 4, 5, 6, 7, 8]
    rule = {line: {(e.field, e.rule_id) for e in es if isinstance(e, StepError)} for line, es in by_line.items()}
    assert rule[2] == {("Ngày chi bộ xét", "age_in_range")}
    assert rule[3] == {("Ngày chi bộ xét", "awareness_certificate")}
    assert rule[4] == {("Ngày kết luận thẩm tra lý lịch", "sponsors")}
    for line in (2, 3, 4):
        # the citation is of the rule set in force on the vote's date (294-QĐ/TW and its guidance 06-HD/TW)
        assert all("294-QĐ/TW" in e.cite or "06-HD/TW" in e.cite for e in by_line[line])
    assert [(e.field, "trước ngày của bước gần nhất" in e.rule) for e in by_line[5]] == [("Ngày tổng hợp ý kiến (5-KNĐ)", True)]
    assert [(e.field, "ZZ99" in e.rule) for e in by_line[6]] == [("Người giới thiệu 2", True)]
    assert [e.field for e in by_line[7]] == ["Giai đoạn hiện tại"]
    assert "Chờ tổ chức lễ kết nạp" in by_line[7][0].rule and "Chi bộ xét, đề nghị kết nạp" in by_line[7][0].rule
    assert [(e.field, "dd/mm/yyyy" in e.rule, "31/02/1990" in e.rule) for e in by_line[8]] == [("Ngày sinh", True, False)]
    text = str(caught.value)
    assert "Cầm Văn Phúc" not in text and "1985" not in text           # no CV field echoed


def test_rule_breaking_rows_accepted_unverified_are_flagged_with_their_failures(org):
    report = import_files(org, xlsx(BAD[:3]), "bad.xlsx", ADMIN, authority=AUTHORITY, mode="unverified", now=NOW)
    assert report.unverified == 3
    assert [sorted({f["rule"] for f in r.unverified}) for r in report.lines] == [
        ["age_in_range"], ["awareness_certificate"], ["sponsors"]]
    by_line = candidates_by_line(org, report.batch_id)
    assert [by_line[n]["imported_unverified"] for n in (2, 3, 4)] == [True, True, True]
    assert [by_line[n]["stage"] for n in (2, 3, 4)] == ["awaiting_decision", "awaiting_decision", "opinions"]
    audit = AuditEvent.__table__
    with org.connect() as conn:
        payload = json.loads(conn.execute(select(audit.c.payload).where(
            audit.c.candidate_id == by_line[2]["id"], audit.c.event == "cell_approves")).scalar_one())
    assert [f["rule"] for f in payload["imported"]["failures"]] == ["age_in_range"]
    # still refused: rows whose values cannot be read or whose dates contradict the stage
    with pytest.raises(ImportRejected) as caught:
        import_files(org, xlsx(BAD[3:]), "bad2.xlsx", ADMIN, authority=AUTHORITY, mode="unverified", now=NOW)
    assert sorted({e.line for e in caught.value.errors}) == [2, 3, 4, 5]
