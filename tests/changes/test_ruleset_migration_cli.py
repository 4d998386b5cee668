"""`ketnap procedure add / versions / migrate / migrations / revert` against a real database (both engines)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from ketnap.cli.app import app
from ketnap.context import use_clock, use_engine
from models.audit.trail import AUDIT
from models.tables import Candidate, Deadline
from tests.changes.rulesets import NEW, OLD, hypothetical_text, rulesets_dir, working_days_after
from tests.support import TO_CELL_REVIEW, add, walk

__all__ = ["rulesets_dir"]
APPLY_AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_add_migrate_list_and_revert_from_the_command_line(org, rulesets_dir, tmp_path: Path):
    source = tmp_path / "amendment.yaml"
    source.write_text(hypothetical_text(), encoding="utf-8")
    cid = add(org)
    walk(org, cid, [*TO_CELL_REVIEW, ("cell_approves", "2026-07-06", {"approve": 4})])
    blocked = add(org, full_name="Lò Văn Hai")
    walk(org, blocked, TO_CELL_REVIEW[:1])
    with use_engine(org), use_clock(APPLY_AT):
        code, out = run("procedure", "add", str(source), "--json", "--as", "test:admin")
        assert code == 0, out
        added = json.loads(out)
        assert added["version"] == NEW and (rulesets_dir / f"{NEW}.yaml").read_text(encoding="utf-8") == hypothetical_text()
        assert added["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        code, out = run("procedure", "add", str(source))
        assert code == 2 and "already known" in out

        code, out = run("procedure", "versions", "--json")
        versions = {v["version"]: v for v in json.loads(out)}
        assert versions[NEW]["transitional"]["stay_on_previous"][0]["stages"] == ["awaiting_ceremony"]
        assert versions[OLD]["transitional"]["replaces"] == ["qd24-2021"]

        code, out = run("procedure", "migrate", "--from", OLD, "--to", NEW, "--dry-run")
        assert code == 0, out
        due = working_days_after(date(2026, 7, 6), 45).isoformat()
        assert f"admission_decision 2026-09-30 -> {due}" in out
        assert "totals: moved 1, mapped 0, stayed 0, blocked 1, failed 0" in out
        code, out = run("procedure", "migrate", "--from", OLD, "--to", NEW, "--json", "--as", "test:admin")
        assert code == 0, out
        result = json.loads(out)
        assert (result["totals"]["moved"], result["totals"]["blocked"]) == (1, 1)
        code, out = run("procedure", "migrate", "--from", OLD, "--to", NEW)
        assert code == 0 and "Không có hồ sơ nào được chuyển" in out      # the blocked file stays where it is
        code, out = run("procedure", "migrations", "--json")
        listed = json.loads(out)
        assert [m["id"] for m in listed][-1] == result["migration_id"]

        code, out = run("procedure", "revert", str(result["migration_id"]), "--candidate", str(cid), "--json")
        assert code == 0, out
        assert json.loads(out)["reverted"] == [cid]
        code, out = run("procedure", "migrate", "--from", "qd24-2021", "--to", NEW, "--dry-run")
        assert code == 2 and "does not replace" in out
    with org.connect() as conn:
        row = conn.execute(select(Candidate.__table__).where(Candidate.__table__.c.id == cid)).mappings().one()
        due_on = conn.execute(select(Deadline.__table__.c.due_on).where(Deadline.__table__.c.candidate_id == cid)).scalar()
        kinds = [r.kind for r in conn.execute(select(AUDIT.c.kind).where(AUDIT.c.chain_key == "org").order_by(AUDIT.c.seq))]
    assert (row["ruleset_version"], due_on) == (OLD, date(2026, 9, 30))
    assert kinds[-3:] == ["ruleset_added", "ruleset_migration", "ruleset_reverted"]


def test_a_bad_file_is_refused_naming_where(org, rulesets_dir, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(hypothetical_text().replace("replaces: [qd294-2025]", "replaces: [qd999]"), encoding="utf-8")
    with use_engine(org):
        code, out = run("procedure", "add", str(bad), "--json")
    assert code == 2
    problems = json.loads(out)["error"]["problems"]
    assert problems[0]["where"] == "transitional.replaces" and "qd999" in problems[0]["problem"]
    assert list(rulesets_dir.iterdir()) == []
