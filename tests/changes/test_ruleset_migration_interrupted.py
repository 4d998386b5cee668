"""A migration killed between batches (SIGKILL of the real command) says so, and running it again finishes it.

The population is written straight into the tables (like bench/ruleset_migration.py) so that there are enough files
for the test to kill `ketnap procedure migrate --batch 5` after its first batch is committed and well before its
last. Then every file must be either fully moved (version stamp, stage, deadline, audit event, item row) or
untouched, the audit chains verify, the listing says "bị gián đoạn" with what was done, a second run refuses while
the first one may still be alive, and once the first is stale the rerun moves the rest and closes it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, update
from typer.testing import CliRunner

from ketnap.cli.app import app
from ketnap.context import use_engine
from models.actors import Actor
from models.audit.trail import AUDIT, verify
from models.calendar.working_days import vietnam_calendar
from models.procedure.loader import get_ruleset
from models.ruleset_migration import MigrationNotAllowed, apply_migration, revert_migration
from models.tables import Candidate, Deadline, RulesetMigration, RulesetMigrationItem
from tests.changes.rulesets import NEW, OLD, rulesets_dir, third_ruleset, working_days_after

__all__ = ["rulesets_dir", "third_ruleset"]       # fixtures
ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor("test:admin", "admin")
APPLY_AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
CAND, DEADLINE = Candidate.__table__, Deadline.__table__
MIGRATION, ITEM = RulesetMigration.__table__, RulesetMigrationItem.__table__
FILES = 6000
BATCH = 2
CELLS = ["cb-ban-pa-cong", "cb-ban-na-la", "cb-giao-vien-tn"]


def populate(engine: Engine) -> dict[int, dict[str, Any]]:
    """FILES candidates on qd294-2025: even ids await the grassroots vote (admission decision due 60 working days
    after the cell's resolution), odd ids are collecting opinions (renamed `collecting_opinions`, no deadline)."""
    clock = next(c for c in get_ruleset(OLD).clocks if c.id == "admission_decision")
    expected: dict[int, dict[str, Any]] = {}
    rows, deadlines = [], []
    for cid in range(1, FILES + 1):
        voted = cid % 2 == 0
        start = date(2026, 7, 1) + timedelta(days=cid % 40)
        rows.append({"id": cid, "full_name": f"Người thứ {cid}", "birth_date": date(1995, 1, 1), "gender": "nam",
                     "ethnicity": "Thái", "general_education_grade": 12, "occupation": "farmer",
                     "youth_union_member": False, "trade_union_member": False, "prior_expunged_conviction": False,
                     "prior_readmitted_before": False, "cell_id": CELLS[cid % len(CELLS)], "ruleset_version": OLD,
                     "stage": "grassroots_review" if voted else "opinions", "version": 3,
                     "last_event_on": date(2026, 7, 1), "facts": {}, "audit_seq": 0, "audit_head": "",
                     "created_at": datetime(2026, 6, 1, tzinfo=UTC), "source_listed_on": date(2025, 9, 15),
                     "awareness_certificate_on": date(2025, 11, 20), "cell_resolution_on": start if voted else None})
        expected[cid] = {"stage_after": "grassroots_review" if voted else "collecting_opinions",
                         "due_before": working_days_after(start, 60) if voted else None,
                         "due_after": working_days_after(start, 45) if voted else None}
        if voted:
            deadlines.append({"candidate_id": cid, "clock": clock.id, "kind": clock.kind, "who_acts": clock.who_acts,
                              "starts_on": start, "due_on": expected[cid]["due_before"], "extended_days": 0,
                              "status": "open", "ruleset_version": OLD, "calendar_version": vietnam_calendar().version})
    with engine.begin() as conn:
        conn.execute(insert(CAND), rows)
        conn.execute(insert(DEADLINE), deadlines)
    return expected


def kill_after_first_batch(engine: Engine, tmp_path: Path) -> int:
    """Start the real command in a process of its own, SIGKILL it once a batch is committed; the migration's id."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETNAP_") or k == "KETNAP_RULESETS_DIR"}
    env |= {"KETNAP_HOME": str(tmp_path / "home"), "KETNAP_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "PREFECT_LOGGING_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "ketnap.cli.app", "procedure", "migrate", "--from", OLD, "--to", NEW,
                             "--batch", str(BATCH), "--as", "test:admin"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with engine.connect() as conn:
                if conn.execute(select(func.count()).select_from(ITEM)).scalar_one() >= BATCH:
                    break
            time.sleep(0.01)
        assert proc.poll() is None, f"the migration ended before it could be killed: {proc.stderr.read()!r}"  # type: ignore[union-attr]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with engine.connect() as conn:
        return conn.execute(select(MIGRATION.c.id)).scalar_one()


def files(engine: Engine) -> dict[int, dict[str, Any]]:
    """Each file as stored: its row, its deadline, its migration items and migration audit events."""
    with engine.connect() as conn:
        out = {r["id"]: {"row": r, "items": [], "events": [], "deadline": None}
               for r in conn.execute(select(CAND)).mappings()}
        for d in conn.execute(select(DEADLINE)).mappings():
            out[d["candidate_id"]]["deadline"] = d
        for i in conn.execute(select(ITEM)).mappings():
            out[i["candidate_id"]]["items"].append(i)
        for e in conn.execute(select(AUDIT).where(AUDIT.c.kind == "migration")).mappings():
            out[e["candidate_id"]]["events"].append(e)
    return out


def assert_whole_or_untouched(engine: Engine, expected: dict[int, dict[str, Any]]) -> set[int]:
    moved = set()
    for cid, f in files(engine).items():
        row, d = f["row"], f["deadline"]
        if row["ruleset_version"] == NEW:
            moved.add(cid)
            assert (row["stage"], row["version"]) == (expected[cid]["stage_after"], 4), cid
            assert len(f["events"]) == 1 and f["events"][0]["stage_after"] == expected[cid]["stage_after"], cid
            assert [(i["outcome"], i["audit_event_id"]) for i in f["items"] if i["outcome"] != "blocked"] == [
                ("moved" if cid % 2 == 0 else "mapped", f["events"][0]["id"])], cid
            if d is not None:
                assert (d["due_on"], d["ruleset_version"]) == (expected[cid]["due_after"], NEW), cid
        else:
            assert (row["ruleset_version"], row["stage"], row["version"]) == (OLD, "grassroots_review" if cid % 2 == 0
                                                                             else "opinions", 3), cid
            assert f["events"] == [] and f["items"] == [], cid
            if d is not None:
                assert (d["due_on"], d["ruleset_version"]) == (expected[cid]["due_before"], OLD), cid
    assert verify(engine).ok
    return moved


def age_heartbeat(engine: Engine, migration_id: int, key: str | None = None) -> None:
    """As if the process had died ten minutes ago (the heartbeat is the machine's time)."""
    with engine.begin() as conn:
        summary = dict(conn.execute(select(MIGRATION.c.summary).where(MIGRATION.c.id == migration_id)).scalar_one())
        part = summary if key is None else summary[key]
        part["updated_at"] = (datetime.fromisoformat(part["updated_at"]) - timedelta(minutes=10)).isoformat()
        conn.execute(update(MIGRATION).where(MIGRATION.c.id == migration_id).values(summary=summary))


def listing(engine: Engine) -> str:
    with use_engine(engine):
        result = CliRunner().invoke(app, ["procedure", "migrations"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_a_killed_migration_leaves_whole_files_says_interrupted_and_a_rerun_finishes_it(org, third_ruleset, tmp_path):
    expected = populate(org)
    first = kill_after_first_batch(org, tmp_path)
    moved = assert_whole_or_untouched(org, expected)
    assert BATCH <= len(moved) < FILES
    with org.connect() as conn:
        summary = conn.execute(select(MIGRATION.c.summary).where(MIGRATION.c.id == first)).scalar_one()
    assert summary["status"] == "running"
    assert summary["done"]["moved"] + summary["done"]["mapped"] == len(moved)      # committed with its batch

    # Just killed: its heartbeat is fresh, it might still be running — a second run is refused.
    with pytest.raises(MigrationNotAllowed) as refused:
        apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT)
    assert refused.value.code == "migration_running" and f"#{first}" in refused.value.message_vi

    age_heartbeat(org, first)
    out = listing(org)
    line = next(ln for ln in out.splitlines() if ln.startswith(f"#{first}"))
    assert "Bị gián đoạn (interrupted)" in line and f"{FILES} files to process" in line
    assert f"moved {sum(1 for c in moved if c % 2 == 0)}, mapped {sum(1 for c in moved if c % 2)}" in line

    result = apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT, batch=100)
    assert result.totals["moved"] + result.totals["mapped"] == FILES - len(moved)
    assert f"#{first} bị gián đoạn (đã chuyển {len(moved)} hồ sơ)" in result.message
    assert assert_whole_or_untouched(org, expected) == set(range(1, FILES + 1))
    with org.connect() as conn:
        closed = conn.execute(select(MIGRATION.c.summary).where(MIGRATION.c.id == first)).scalar_one()
        org_events = conn.execute(select(AUDIT.c.kind, AUDIT.c.payload).where(AUDIT.c.chain_key == "org")
                                  .order_by(AUDIT.c.seq)).all()
    assert (closed["status"], closed["continued_by"]) == ("interrupted", result.migration_id)
    assert closed["totals"]["moved"] + closed["totals"]["mapped"] == len(moved)
    kinds = [k for k, _ in org_events]
    assert kinds[-2:] == ["migration_interrupted", "ruleset_migration"]
    payload = json.loads(org_events[-2][1])
    assert (payload["migration_id"], payload["moved"], payload["continued_by"]) == (first, len(moved),
                                                                                    result.migration_id)
    line = next(ln for ln in listing(org).splitlines() if ln.startswith(f"#{first}"))
    assert f"continued by #{result.migration_id}" in line


def test_an_interrupted_revert_says_so_and_reverting_again_finishes_it(org, third_ruleset):
    expected = populate(org)
    done = apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT, batch=500)
    assert done.migration_id is not None
    # A revert that died after its first batch, as its committed state shows it: the first batch of items reverted
    # by a real revert of those files only, the revert's heartbeat left "running".
    first = revert_migration(org, done.migration_id, ADMIN, candidate_ids=range(1, 11), now=APPLY_AT)
    assert len(first.reverted) == 10
    with org.begin() as conn:
        summary = dict(conn.execute(select(MIGRATION.c.summary).where(MIGRATION.c.id == done.migration_id)).scalar_one())
        summary["revert"] = summary["revert"] | {"status": "running"}
        conn.execute(update(MIGRATION).where(MIGRATION.c.id == done.migration_id).values(summary=summary))
    with pytest.raises(MigrationNotAllowed) as refused:
        revert_migration(org, done.migration_id, ADMIN, now=APPLY_AT)
    assert refused.value.code == "revert_running"
    age_heartbeat(org, done.migration_id, "revert")
    line = next(ln for ln in listing(org).splitlines() if ln.startswith(f"#{done.migration_id}"))
    assert "revert Bị gián đoạn (interrupted), 10 reverted by that run" in line and "reverted 10" in line
    rest = revert_migration(org, done.migration_id, ADMIN, now=APPLY_AT, batch=100)
    assert len(rest.reverted) == FILES - 10
    untouched = assert_whole_or_untouched_after_revert(org, expected)
    assert untouched == FILES
    with org.connect() as conn:
        kinds = [k for (k,) in conn.execute(select(AUDIT.c.kind).where(AUDIT.c.chain_key == "org").order_by(AUDIT.c.seq))]
        summary = conn.execute(select(MIGRATION.c.summary).where(MIGRATION.c.id == done.migration_id)).scalar_one()
    assert kinds[-2:] == ["revert_interrupted", "ruleset_reverted"]
    assert (summary["reverted"], summary["revert"]["status"]) == (FILES, "done")


def assert_whole_or_untouched_after_revert(engine: Engine, expected: dict[int, dict[str, Any]]) -> int:
    back = 0
    for cid, f in files(engine).items():
        row, d = f["row"], f["deadline"]
        assert (row["ruleset_version"], row["stage"], row["version"]) == (
            OLD, "grassroots_review" if cid % 2 == 0 else "opinions", 5), cid
        if d is not None:
            assert (d["due_on"], d["ruleset_version"]) == (expected[cid]["due_before"], OLD), cid
        back += 1
    assert verify(engine).ok
    return back
