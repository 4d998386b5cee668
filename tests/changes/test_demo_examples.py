"""The demo's two try-it-yourself examples, from a fresh shell on `ketnap init --demo` (real process, SQLite):
the example sheet of files in progress (`ketnap import template --example`) and the example next rule set
(ketnap/demo/rulesets/vd-2026.yaml). Expected values are worked out by hand here, not read from the examples' code."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

import ketnap.demo
from tests.e2e import test_cli as cli
from tests.support import MAKE_UP_SATURDAYS, WEEKDAYS_OFF, count_working_days_by_hand

home, demo, run, run_json = cli.home, cli.demo, cli.run, cli.run_json      # the CLI tests' fixtures and helpers

AUTHORITY = "Công văn số 12-CV/ĐU ngày 20/11/2026 của Đảng ủy xã Mường Bú"
EXAMPLE_RULESET = Path(ketnap.demo.__file__).parent / "rulesets" / "vd-2026.yaml"
# The example sheet, line by line (the header is line 1), as its rows were chosen.
STAGES = {2: "source", 3: "opinions", 4: "awaiting_decision", 5: "awaiting_ceremony", 6: "probation", 7: "opinions"}


def wd(start: date, n: int) -> date:
    """Oracle: the n-th working day after `start`: weekdays not off, plus the make-up Saturdays (written by hand)."""
    return count_working_days_by_hand(start, n, WEEKDAYS_OFF, MAKE_UP_SATURDAYS)


def _db(home_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(home_dir / "ketnap.db")


def _count(home_dir: Path, table: str) -> int:
    with _db(home_dir) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]     # noqa: S608 - fixed table names


def test_the_example_sheet_is_refused_on_its_one_bad_line_then_imported_not_verified(demo, tmp_path):
    xlsx, csv = tmp_path / "vi-du.xlsx", tmp_path / "vi-du.csv"
    out = run(demo, "import", "template", "--example", "--out", str(xlsx)).stdout
    assert "--unverified" in out                                   # the visitor is told what to try next
    run(demo, "import", "template", "--example", "--out", str(csv))
    sheet = load_workbook(xlsx)["Hồ sơ"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    header = [c.value for c in sheet[1]]
    assert len(rows) == 6 and rows[-1][header.index("Họ và tên")] == "Tòng Văn Sáng"
    assert rows[-1][header.index("Người giới thiệu 2")] == "NL02"
    assert rows[-1][header.index("Người giới thiệu 2 cùng công tác/sinh sống từ")].date() == date(2026, 1, 19)
    assert "Hướng dẫn" in load_workbook(xlsx).sheetnames            # the template's instructions come along
    before = (_count(demo, "candidate"), _count(demo, "audit_event"))

    # Refuse mode: the whole file is refused for exactly one line, the second introducer together 5 months (< 12).
    refused = run_json(demo, "import", "files", str(xlsx), "--authority", AUTHORITY, "--dry-run", check_code=2)
    errors = refused["error"]["errors"]
    assert [(e["line"], e["rule_id"]) for e in errors] == [(7, "sponsors")]
    assert "5 tháng" in errors[0]["rule"] and "12 tháng" in errors[0]["rule"] and "294-QĐ/TW" in errors[0]["cite"]

    # Unverified mode: every row, only line 7 flagged; deadlines counted by hand.
    for path in (xlsx, csv):
        dry = run_json(demo, "import", "files", str(path), "--authority", AUTHORITY, "--unverified", "--dry-run")
        assert {r["line"]: r["stage"] for r in dry["lines"]} == STAGES
        assert [r["line"] for r in dry["lines"] if r["unverified"]] == [7]
    assert (_count(demo, "candidate"), _count(demo, "audit_event")) == before        # dry runs write nothing
    due = {r["line"]: {d["clock"]: d["due_on"] for d in r["deadlines"]} for r in dry["lines"]}
    assert due[4] == {"admission_decision": wd(date(2026, 10, 12), 60).isoformat()}      # the cell voted 12/10/2026
    assert due[5] == {"ceremony": wd(date(2026, 10, 28), 30).isoformat()}                 # decision received 28/10/2026
    assert due[6] == {"probation": "2027-05-19", "recognition_vote": wd(date(2027, 5, 19), 30).isoformat()}
    assert due[2] == due[3] == due[7] == {}

    done = run_json(demo, "import", "files", str(xlsx), "--authority", AUTHORITY, "--unverified")
    assert (len(done["lines"]), done["unverified"]) == (6, 1)
    with _db(demo) as conn:
        flagged = conn.execute("SELECT full_name FROM candidate WHERE imported_unverified").fetchall()
    assert flagged == [("Tòng Văn Sáng",)] and _count(demo, "candidate") == before[0] + 6
    assert run_json(demo, "audit", "verify")["ok"] is True


def test_the_example_rule_set_is_added_migrated_and_reverted(demo):
    added = run(demo, "procedure", "add", str(EXAMPLE_RULESET)).stdout
    assert "added vd-2026 (in force from 2026-10-01)" in added and "rule set in force" in added
    versions = {v["version"]: v for v in run_json(demo, "procedure", "versions")}
    assert "Ví dụ minh họa – không phải văn bản thật" in versions["vd-2026"]["title"]
    ids = {r["full_name"]: r["id"] for r in run_json(demo, "candidate", "list")}

    plan = run_json(demo, "procedure", "migrate", "--from", "qd294-2025", "--to", "vd-2026", "--dry-run")
    by_name = {name: c for c in plan["candidates"] for name, cid in ids.items() if c["candidate_id"] == cid}
    # The demo's files on qd294-2025, as chosen in ketnap/demo/candidates.yaml (the 2021 full member is closed).
    assert {n: c["outcome"] for n, c in by_name.items()} == {
        "Lò Thị Hoa": "stayed", "Cà Văn Dũng": "moved", "Giàng A Sùng": "moved", "Hoàng Văn Nam": "mapped",
        "Quàng Thị Lan": "moved", "Lường Văn Tuấn": "moved", "Vì Văn Khánh": "moved"}
    assert by_name["Hoàng Văn Nam"]["stage_after"] == "awareness_training"
    # The decision is due 45 working days after the cell's resolution instead of 60.
    moved = {n: [(d["clock"], d["due_before"], d["due_after"]) for d in c["deadlines"] if d["moved"]]
             for n, c in by_name.items()}
    assert moved["Quàng Thị Lan"] == [("admission_decision", wd(date(2026, 7, 6), 60).isoformat(),
                                       wd(date(2026, 7, 6), 45).isoformat())]
    assert moved["Vì Văn Khánh"] == [("admission_decision", wd(date(2026, 9, 7), 60).isoformat(),
                                      wd(date(2026, 9, 7), 45).isoformat())]
    assert sum(len(m) for m in moved.values()) == 2
    assert _count(demo, "ruleset_migration") == 0

    applied = run_json(demo, "procedure", "migrate", "--from", "qd294-2025", "--to", "vd-2026")
    assert {k: applied["totals"][k] for k in ("moved", "mapped", "stayed", "failed")} == {
        "moved": 5, "mapped": 1, "stayed": 1, "failed": 0}
    with _db(demo) as conn:
        on = dict(conn.execute("SELECT full_name, ruleset_version || ':' || stage FROM candidate").fetchall())
        due = conn.execute("SELECT due_on FROM deadline WHERE candidate_id = ? AND status = 'open' "
                           "AND clock = 'admission_decision'", (ids["Quàng Thị Lan"],)).fetchone()
    assert on["Hoàng Văn Nam"] == "vd-2026:awareness_training" and on["Lò Thị Hoa"] == "qd294-2025:probation"
    assert due == (wd(date(2026, 7, 6), 45).isoformat(),)

    reverted = run_json(demo, "procedure", "revert", str(applied["migration_id"]))
    assert reverted["refused"] == []
    with _db(demo) as conn:
        on = dict(conn.execute("SELECT full_name, ruleset_version || ':' || stage FROM candidate").fetchall())
        due = conn.execute("SELECT due_on FROM deadline WHERE candidate_id = ? AND status = 'open' "
                           "AND clock = 'admission_decision'", (ids["Quàng Thị Lan"],)).fetchone()
    assert on["Hoàng Văn Nam"] == "qd294-2025:awareness_course" and on["Quàng Thị Lan"] == "qd294-2025:awaiting_decision"
    assert due == (wd(date(2026, 7, 6), 60).isoformat(),)
    assert run_json(demo, "audit", "verify")["ok"] is True
