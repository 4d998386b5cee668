"""`ketnap import template|files|batches|verify` from a fresh shell on the demo (real process, SQLite): the template is
filled in with openpyxl as a secretary would, dry runs write nothing, a rule break exits 2 naming the line and the
rule unless accepted "not verified", and clearing the mark is audited."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from datetime import date, datetime

from openpyxl import load_workbook

from tests.changes.test_files_in_progress import AUTHORITY, BAD, COMMITTEE, HEADERS, SHORT, STAGE_VI, wd
from tests.e2e import test_cli as cli

home, demo, run, run_json = cli.home, cli.demo, cli.run, cli.run_json      # the CLI tests' fixtures and helpers

SOURCE = COMMITTEE[0]            # Lò Văn An, on the source list since 02/03/2026
WAITING = COMMITTEE[4]           # Lò Thị Én: the health station's cell voted 3 for on 12/10/2026
UNDER_AGE = BAD[0]               # Cầm Văn Phúc: born 01/06/2008, under 18 at the cell's vote of 13/04/2026
assert (SOURCE["stage"], WAITING["stage"], WAITING["cell_on"]) == ("source", "awaiting_decision", "2026-10-12")


def _counts(home_dir) -> dict[str, int]:
    with sqlite3.connect(home_dir / "ketnap.db") as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]     # noqa: S608 - fixed table names
                for t in ("candidate", "import_batch", "audit_event", "deadline", "sponsorship")}


def _fill(template, out, rows: list[dict[str, object]]) -> None:
    """The template's sheet, filled in under its own headers (dates as Excel dates, stages by their label)."""
    book = load_workbook(template)
    sheet = book["Hồ sơ"]
    column = {cell.value: cell.column for cell in sheet[1]}
    for n, row in enumerate(rows, start=2):
        sheet.cell(row=n, column=column["STT"], value=n - 1)
        for key, value in row.items():
            if key == "stage":
                value = STAGE_VI[str(value)]
            elif isinstance(value, str) and len(value) == 10 and value[4] == "-":
                day = date.fromisoformat(value)
                value = datetime(day.year, day.month, day.day)
            sheet.cell(row=n, column=column[SHORT[key]], value=value)
    book.save(out)


def test_template_dry_run_refusal_unverified_import_batches_and_verify(demo, tmp_path):
    template = tmp_path / "t.xlsx"
    assert "t.xlsx" in run(demo, "import", "template", "--out", str(template)).stdout
    book = load_workbook(template)
    headers = [c.value for c in book["Hồ sơ"][1]]
    assert set(HEADERS) <= set(headers)                    # the Vietnamese headers, as written by hand in the tests
    assert all(unicodedata.is_normalized("NFC", h) for h in headers)
    assert "Hướng dẫn" in book.sheetnames
    assert set(HEADERS) <= {row[0] for row in book["Hướng dẫn"].iter_rows(min_row=2, values_only=True)}

    sheet = tmp_path / "ho-so.xlsx"
    _fill(template, sheet, [SOURCE, WAITING, UNDER_AGE])         # lines 2, 3, 4
    before = _counts(demo)

    # a dry run refusing rule breaks: exit 2, line 4 and its rule; nothing written
    refused = run(demo, "import", "files", str(sheet), "--authority", AUTHORITY, "--dry-run", "--json", check_code=2)
    error = json.loads(refused.stdout)["error"]
    assert error["code"] == "import_rejected"
    assert {(e["line"], e["rule_id"]) for e in error["errors"]} == {(4, "age_in_range")}
    # a dry run accepting them: what would be created; still nothing written
    dry = run_json(demo, "import", "files", str(sheet), "--authority", AUTHORITY, "--dry-run", "--unverified")
    assert (dry["dry_run"], dry["batch_id"], dry["rows"], dry["unverified"]) == (True, None, 3, 1)
    assert [(x["line"], x["stage"]) for x in dry["lines"]] == [(2, "source"), (3, "awaiting_decision"),
                                                               (4, "awaiting_decision")]
    # 60 working days from the cell's vote for the commune's decision (24/11/2026 and 01/01/2027 off)
    assert [(x["clock"], x["due_on"]) for x in dry["lines"][1]["deadlines"]] == [
        ("admission_decision", wd(date(2026, 10, 12), 60).isoformat())]
    assert _counts(demo) == before

    # for real, refusing: exit 2 naming the line and the rule (plain text too); nothing written
    plain = run(demo, "import", "files", str(sheet), "--authority", AUTHORITY, check_code=2)
    assert "line 4" in plain.stdout + plain.stderr and "age_in_range" in plain.stdout + plain.stderr
    assert _counts(demo) == before

    done = run_json(demo, "import", "files", str(sheet), "--authority", AUTHORITY, "--unverified")
    assert (done["dry_run"], done["rows"], done["unverified"]) == (False, 3, 1)
    assert [{k: v for k, v in x.items() if k != "candidate_id"} for x in done["lines"]] == \
        [{k: v for k, v in x.items() if k != "candidate_id"} for x in dry["lines"]]
    ids = {x["line"]: x["candidate_id"] for x in done["lines"]}
    after = _counts(demo)
    assert (after["candidate"], after["import_batch"]) == (before["candidate"] + 3, before["import_batch"] + 1)
    with sqlite3.connect(demo / "ketnap.db") as conn:
        flags = dict(conn.execute("SELECT id, imported_unverified FROM candidate WHERE import_batch_id = ?",
                                  (done["batch_id"],)).fetchall())
    assert flags == {ids[2]: 0, ids[3]: 0, ids[4]: 1}

    batches = run_json(demo, "import", "batches")
    assert [(b["id"], b["mode"], b["candidates"], b["unverified"]) for b in batches] == [(done["batch_id"], "unverified", 3, 1)]

    reason = "Đã đối chiếu hồ sơ giấy tại Đảng ủy xã"
    shown = run(demo, "show", str(ids[4])).stdout                 # the file says it, and which step broke what
    assert "ĐÃ NHẬP TỪ HỒ SƠ GIẤY – CHƯA XÁC MINH" in shown and "CHƯA XÁC MINH: " in shown
    assert "trước khi dùng ketnap, nhập từ hồ sơ giấy" in shown
    verified = run_json(demo, "import", "verify", str(ids[4]), "--reason", reason)
    assert verified["candidate_id"] == ids[4]
    with sqlite3.connect(demo / "ketnap.db") as conn:
        assert conn.execute("SELECT imported_unverified FROM candidate WHERE id = ?", (ids[4],)).fetchone() == (0,)
        event = conn.execute("SELECT kind, reason, candidate_id FROM audit_event WHERE id = ?",
                             (verified["audit_event_id"],)).fetchone()
    assert event == ("import_verified", reason, ids[4])
    again = run(demo, "import", "verify", str(ids[4]), "--reason", reason, "--json", check_code=2)
    assert json.loads(again.stdout)["error"]["code"] == "not_verifiable"
    assert run(demo, "audit", "verify", check_code=None).returncode == 0
