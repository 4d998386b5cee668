"""`ketnap course …` as an operator runs it on the demo commune (orchestration off: steps applied directly)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_cli import run, run_json


def test_course_commands_from_session_to_certificate(tmp_path: Path):
    home = tmp_path / "home"
    run_json(home, "init", "--demo")
    (nam,) = [r["id"] for r in run_json(home, "candidate", "list", "--stage", "awareness_course")]   # nominated 16/03/2026

    add = ["course", "add", "--kind", "awareness", "--provider", "Trung tâm Chính trị tỉnh Sơn La",
           "--starts-on", "2026-04-06", "--ends-on", "2026-04-10", "--place", "Hội trường Đảng ủy xã", "--capacity", "2"]
    bad = json.loads(run(home, *add, "--area", "ban-na-la", "--json", check_code=2).stdout)
    assert [p["field"] for p in bad["error"]["problems"]] == ["area_unit_id"]
    session = run_json(home, *add, "--area", "xa-muong-bu")["session_id"]

    enrolled = run_json(home, "course", "enrol", "--as-of", "2026-03-20")
    assert (enrolled["enrolled"], enrolled["waiting"], enrolled["orchestration"]) == (1, 0, "direct")
    assert run_json(home, "course", "enrol", "--as-of", "2026-03-21")["enrolled"] == 0
    (listed,) = run_json(home, "course", "list", "--kind", "awareness")
    assert (listed["id"], listed["taken"], listed["free"]) == (session, 1, 1)
    assert "1/2" in run(home, "course", "list").stdout

    roster = run_json(home, "course", "roster", str(session))
    assert [(r["candidate_id"], r["full_name"], r["status"]) for r in roster["learners"]] == [(nam, "Hoàng Văn Nam", "enrolled")]
    assert run_json(home, "course", "attend", str(session), "--present", str(nam))["attended"] == [nam]

    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text(f"candidate_id,certificate_number,certificate_on\n{nam},CN-2026-0050,2026-04-31\n", encoding="utf-8")
    rejected = json.loads(run(home, "course", "certificates", str(bad_csv), "--json", check_code=2).stdout)
    assert [(e["line"], e["field"]) for e in rejected["error"]["errors"]] == [(2, "certificate_on")]

    good_csv = tmp_path / "good.csv"
    good_csv.write_text(f"candidate_id,certificate_number,certificate_on\n{nam},CN-2026-0050,2026-04-10\n", encoding="utf-8")
    (done,) = run_json(home, "course", "certificates", str(good_csv))
    assert (done["status"], done["stage_after"]) == ("certified", "file_preparation")
    assert run_json(home, "candidate", "list", "--stage", "awareness_course") == []
    assert "CN-2026-0050" in run(home, "course", "roster", str(session)).stdout
