"""`ketnap calendar year|correct|corrections|correction` from a fresh shell on the demo (real process, SQLite)."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import yaml

from tests.e2e import test_cli as cli
from tests.support import WEEKDAYS_OFF, count_working_days_by_hand

home, demo, run, run_json = cli.home, cli.demo, cli.run, cli.run_json      # the CLI tests' fixtures and helpers


def _db(path) -> sqlite3.Connection:
    return sqlite3.connect(path / "ketnap.db")


def test_export_edit_preview_and_record_a_corrected_year(demo, tmp_path):
    year = yaml.safe_load(run(demo, "calendar", "year", "2026").stdout)
    assert year["revision"] == 2 and "2026-02-16" in year["days_off"]       # the revision this file becomes
    year["days_off"] |= {"2026-12-31": "Nghỉ cuối năm (giả định)"}
    year["source"] = "Thông báo điều chỉnh lịch nghỉ cuối năm 2026 (giả định)"
    path = tmp_path / "2026.yaml"
    path.write_text(yaml.safe_dump(year, allow_unicode=True), encoding="utf-8")

    preview = run_json(demo, "calendar", "correct", str(path), "--dry-run")
    with _db(demo) as conn:
        assert conn.execute("SELECT count(*) FROM calendar_correction").fetchone() == (0,)
    applied = run_json(demo, "calendar", "correct", str(path))
    strip = [{k: v for k, v in c.items() if k != "audit_event_id"} for c in applied["changes"]]
    assert strip == [{k: v for k, v in c.items() if k != "audit_event_id"} for c in preview["changes"]]
    assert (applied["revision"], [d["date"] for d in applied["days_now_off"]]) == (2, ["2026-12-31"])
    # the demo's probationary member (#1) must hold the recognition vote within 30 working days of 05/12/2026
    assert [(c["candidate_id"], c["clock"], c["due_before"], c["due_after"]) for c in applied["changes"]] == [
        (1, "recognition_vote", count_working_days_by_hand(date(2026, 12, 5), 30, WEEKDAYS_OFF).isoformat(),
         count_working_days_by_hand(date(2026, 12, 5), 30, WEEKDAYS_OFF | {date(2026, 12, 31)}).isoformat())]
    with _db(demo) as conn:
        for change in applied["changes"]:
            due, version = conn.execute("SELECT due_on, calendar_version FROM deadline WHERE id = ?",
                                        (change["deadline_id"],)).fetchone()
            assert (due, version) == (change["due_after"], applied["calendar_after"])
    listed = run_json(demo, "calendar", "corrections")
    assert [(c["year"], c["revision"]) for c in listed] == [(2026, 2)]
    detail = run_json(demo, "calendar", "correction", str(listed[0]["id"]))
    assert detail["changes"] == applied["changes"]
    assert "31/12/2026" in run(demo, "calendar", "days-off", "2026").stdout

    # the same file again: it was exported at revision 1 to become 2, and 2 is recorded now (stale)
    stale = run(demo, "calendar", "correct", str(path), "--json", check_code=2)
    assert json.loads(stale.stdout)["error"]["problems"][0]["field"] == "revision"
    path.write_text(yaml.safe_dump({k: v for k, v in year.items() if k != "revision"}, allow_unicode=True),
                    encoding="utf-8")
    assert run_json(demo, "calendar", "correct", str(path))["revision"] == 3     # no revision: the next one


def test_a_bad_file_exits_2_naming_the_field(demo, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("year: 2027\nsource: x\ndays_off:\n  2028-01-01: Sai năm\n", encoding="utf-8")
    out = run(demo, "calendar", "correct", str(path), check_code=2)
    assert "days_off" in out.stderr + out.stdout and "2028-01-01" in out.stderr + out.stdout
