"""The `ketnap` command as a new user runs it: a fresh home, the demo, a walk to full member, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

KETNAP = [sys.executable, "-m", "ketnap.cli.app"]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run(home: Path, *args: str, check_code: int | None = 0) -> subprocess.CompletedProcess[str]:
    # These tests are about the domain CLI; orchestration has its own tests against a real Prefect server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETNAP_")} | {"KETNAP_HOME": str(home),
                                                                                 "KETNAP_ORCHESTRATION": "off"}
    proc = subprocess.run([*KETNAP, *args], capture_output=True, text=True, env=env, timeout=120)
    if check_code is not None:
        assert proc.returncode == check_code, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def run_json(home: Path, *args: str, check_code: int = 0) -> dict:
    return json.loads(run(home, *args, "--json", check_code=check_code).stdout)


@pytest.fixture
def demo(home: Path) -> Path:
    data = run_json(home, "init", "--demo")
    assert len(data["demo"]["candidates"]) == 8
    return home


def test_init_demo_then_list_shows_candidates_in_every_kind_of_stage(demo):
    rows = run_json(demo, "candidate", "list")
    stages = {r["full_name"]: r["stage"] for r in rows}
    assert stages["Nguyễn Thị Mai"] == "full_member"
    assert stages["Cà Văn Dũng"] == "cell_review"
    assert stages["Quàng Thị Lan"] == "awaiting_decision"
    # Vietnamese order: by given name (Dũng, Hoa, Khánh, Lan, Mai, Nam, Sùng, Tuấn)
    assert [r["full_name"].split()[-1] for r in rows] == ["Dũng", "Hoa", "Khánh", "Lan", "Mai", "Nam", "Sùng", "Tuấn"]


def test_init_twice_keeps_one_set_of_demo_candidates(demo):
    again = run_json(demo, "init", "--demo")
    assert again["demo"]["candidates"] == [] and "already" in again["demo"]["skipped"]
    assert len(run_json(demo, "candidate", "list")) == 8


def test_a_new_user_walks_a_candidate_to_full_member_sees_a_refusal_and_verify_passes(home):
    run(home, "init", "--demo")
    (home / "c.yaml").write_text(
        "full_name: Lò Văn Thành\nbirth_date: 1988-04-02\ngender: nam\nethnicity: Thái\n"
        "general_education_grade: 12\noccupation: farmer\ncell: cb-ban-na-la\nlisted_on: 2024-09-02\n"
        "ruleset: qd294-2025\n"
        "sponsors:\n  - {member: NL01, together_since: 2015-01-01}\n  - {member: NL03, together_since: 2016-06-01}\n",
        encoding="utf-8")
    (cid,) = run_json(home, "candidate", "add", str(home / "c.yaml"))["created"]
    cid = str(cid)

    def advance(event: str, on: str, *sets: str, code: int = 0) -> dict:
        args = ["advance", cid, event, "--on", on]
        for s in sets:
            args += ["--set", s]
        return run_json(home, *args, check_code=code)

    advance("nominate_for_course", "2024-10-01")
    advance("record_awareness_certificate", "2024-12-06", "certificate_number=CN-2024-77")
    advance("complete_file", "2025-01-13", "application_on=2024-12-20", "cv_certified_on=2025-01-06",
            "background_verified_on=2025-01-10")
    advance("summarise_opinions", "2025-02-17")
    refused = advance("cell_approves", "2025-03-03", "approve=3", code=3)
    assert refused["status"] == "refused"
    [failure] = refused["failures"]
    assert failure["code"] == "vote.below_two_thirds" and "3/5" in failure["message"] and failure["cite"]
    advance("cell_approves", "2025-03-03", "approve=3", "excused_absent=1")
    advance("grassroots_approves", "2025-03-17", "approve=11")
    advance("admit", "2025-04-07", "decision_number=77-QĐ/ĐU")
    advance("hold_ceremony", "2025-04-18", "helper=NL04")
    advance("record_new_member_certificate", "2025-08-15", "certificate_number=BD-2025-9")
    early = advance("open_recognition", "2026-04-17", code=3)
    assert early["failures"][0]["code"] == "recognition.probation_not_over"
    advance("open_recognition", "2026-04-18")
    advance("record_recognition_documents", "2026-04-20", "self_review_on=2026-04-18", "helper_review_on=2026-04-19",
            "recognition_opinions_on=2026-04-20")
    advance("cell_recognises", "2026-04-27", "approve=4")
    advance("grassroots_recognises", "2026-05-11", "approve=12")
    done = advance("recognise", "2026-06-01", "decision_number=120-QĐ/ĐU")
    assert done["stage_after"] == "full_member"

    shown = run_json(home, "show", cid)
    assert shown["stage"]["id"] == "full_member"
    assert shown["facts"]["recognised_on"] == "2026-04-18"       # effective at the end of the 12 months
    assert shown["timeline"][-1]["kind"] == "read"               # reading the file was itself audited
    human = run(home, "show", cid).stdout
    assert "Đảng viên chính thức" in human and "TỪ CHỐI cell_approves" in human

    verified = run_json(home, "audit", "verify")
    assert verified["ok"] and verified["events"] > 20


def test_altering_one_audit_row_by_sql_makes_verify_fail_naming_that_event(demo):
    db = demo / "ketnap.db"
    with sqlite3.connect(db) as conn:
        target = conn.execute("SELECT id FROM audit_event WHERE chain_key='candidate:2' AND seq=3").fetchone()[0]
        conn.execute("DROP TRIGGER audit_event_no_update")
        conn.execute("UPDATE audit_event SET actor='someone else' WHERE id=?", (target,))
    result = run_json(demo, "audit", "verify", check_code=1)
    assert not result["ok"] and result["first_break"]["event_id"] == target
    assert f"id {target}" in run(demo, "audit", "verify", check_code=1).stdout


def test_exit_codes_for_bad_input_stage_conflict_version_conflict_and_replay(demo):
    assert run(demo, "advance", "2", "cell_approves", "--on", "03/12/2026", check_code=2).stderr.startswith("error:")
    bad = run_json(demo, "advance", "2", "cell_approves", "--on", "2026-11-16", "--set", "approve=many", check_code=2)
    assert bad["error"]["problems"][0]["field"] == "approve"
    conflict = run_json(demo, "advance", "2", "admit", "--on", "2026-11-16", "--set", "decision_number=1", check_code=4)
    assert conflict["error"]["code"] == "stage_conflict"
    stale = run_json(demo, "advance", "2", "cell_approves", "--on", "2026-11-16", "--set", "approve=4",
                     "--expect-version", "1", check_code=4)
    assert stale["error"]["code"] == "version_conflict"
    first = run_json(demo, "advance", "2", "cell_approves", "--on", "2026-11-16", "--set", "approve=4", "--key", "k-1")
    again = run_json(demo, "advance", "2", "cell_approves", "--on", "2026-11-16", "--set", "approve=4", "--key", "k-1")
    assert again["replayed"] and again["audit_event_id"] == first["audit_event_id"]
    run_json(demo, "show", "999", check_code=2)


def test_dry_run_shows_the_reasons_and_records_nothing(demo):
    before = run_json(demo, "show", "3")["version"]
    preview = run_json(demo, "advance", "3", "cell_approves", "--on", date.today().isoformat(), "--set", "approve=2",
                       "--dry-run", check_code=3)
    assert {f["code"] for f in preview["failures"]} >= {"age.below_minimum", "cell.too_few_full_members"}
    assert run_json(demo, "show", "3")["version"] == before


def test_procedure_diagram_table_and_check(home, tmp_path):
    mermaid = run(home, "procedure", "diagram").stdout
    assert mermaid.startswith("stateDiagram-v2") and "cell_review --> grassroots_review" in mermaid
    if shutil.which("dot"):
        assert "<svg" in run(home, "procedure", "diagram", "--format", "svg").stdout
    table = run(home, "procedure", "table", "--version", "qd24-2021").stdout
    assert "24-QĐ/TW" in table and "| `cell_approves` |" in table
    broken = tmp_path / "broken.yaml"
    source = Path(__file__).parents[2] / "models" / "procedure" / "rulesets" / "qd294-2025.yaml"
    broken.write_text(source.read_text(encoding="utf-8").replace("rule: cell_size", "rule: cell_sise"), encoding="utf-8")
    result = run_json(home, "procedure", "check", str(broken), check_code=2)
    assert any("cell_sise" in p["problem"] and p["where"].startswith("events[cell_approves].guards")
               for p in result["error"]["problems"])


def test_org_import_reports_bad_rows_with_lines(home, tmp_path):
    run(home, "init")
    bad = tmp_path / "units.csv"
    bad.write_text("id,parent,kind,name\ntinh,,province_committee,Đảng bộ tỉnh\ncb,tinh,cell,Chi bộ\n", encoding="utf-8")
    result = run_json(home, "org", "import", str(bad), check_code=2)
    assert result["error"]["errors"] == [{"line": 3, "field": "parent",
                                          "rule": result["error"]["errors"][0]["rule"]}]
    assert "cannot sit under a province_committee" in result["error"]["errors"][0]["rule"]
    assert run_json(home, "org", "tree") == []


def test_calendar_commands(home):
    assert run(home, "calendar", "due", "2027-01-04", "--working-days", "60").stdout.strip() == "2027-04-05"
    days = run_json(home, "calendar", "days-off", "2025")
    assert "2025-04-26" in days["working_saturdays"]
    assert any(d["date"] == "2025-01-29" for d in days["days_off"])
