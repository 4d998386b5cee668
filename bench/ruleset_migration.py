"""Benchmark: dry run and apply of a rule-set migration over 50,000 in-flight candidates, against plain SQL.

Setup (not timed): a fresh database with the demo organisation and N candidates on qd294-2025 spread over its
active stages, inserted with executemany, with their open deadlines (due dates computed with `Clock.due`) and
the facts the clocks count from; the hypothetical qd-test-2026 of the tests (admission decision 45 working days
instead of 60, certificate valid 48 months, `opinions` renamed with a map, `awareness_course` renamed without
one, files awaiting their ceremony staying) in a temporary KETNAP_RULESETS_DIR.

Timed, in the same run on the same data:
- baseline: the least a migration must write, as plain SQL in one transaction —
  `UPDATE candidate SET ruleset_version=new WHERE ruleset_version=old` and the same for open deadlines
  (then undone, untimed). It recomputes no due date, audits nothing and cannot be reverted.
- dry run: `plan_migration` (every candidate judged, deadlines recomputed, guards of the next steps compared).
- apply: `apply_migration` (the same under row locks, deadlines and candidates written, one audit event per
  candidate, one item per candidate; batches of 200 candidates per transaction, a savepoint each).

Prints absolute times (noisy on a shared machine) and the ratios to the baseline.
Usage: python bench/ruleset_migration.py [--candidates 50000] [--quick] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from models.actors import Actor  # noqa: E402
from models.calendar.working_days import vietnam_calendar  # noqa: E402
from models.database import make_engine, migrate  # noqa: E402
from models.procedure.loader import EXTRA_DIR_ENV, all_rulesets, get_ruleset  # noqa: E402
from models.tables import Candidate, Deadline  # noqa: E402
from tests.changes.rulesets import NEW, OLD, hypothetical_text  # noqa: E402
from tests.support import import_demo_org  # noqa: E402

ADMIN = Actor("bench:admin", "admin")
APPLY_AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 22)
CELLS = ["cb-ban-pa-cong", "cb-ban-na-la", "cb-ban-huoi-hao", "cb-giao-vien-tn", "cb-giao-vien-xh", "cbcs-tram-y-te",
         "cb-doi-che-1"]
PG_ADMIN = os.environ.get("KETNAP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CAND, DEADLINE = Candidate.__table__, Deadline.__table__


def _facts_and_clocks(stage: str, i: int) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, date]]]:
    """(promoted columns, JSON facts, [(clock, start)]) plausible for a file at `stage`."""
    base = date(2026, 3, 2) + timedelta(days=i % 120)
    cols: dict[str, Any] = {"source_listed_on": date(2025, 9, 15)}
    facts: dict[str, Any] = {}
    clocks: list[tuple[str, date]] = []
    order = ["source", "awareness_course", "file_preparation", "opinions", "cell_review", "intermediate_appraisal",
             "grassroots_review", "awaiting_decision", "awaiting_ceremony", "probation", "recognition_review",
             "recognition_appraisal", "recognition_grassroots_review", "awaiting_recognition_decision"]
    at = order.index(stage)
    if at >= order.index("file_preparation"):
        # every 10th certificate is 50 months old: valid under 60 months, not under 48 (a warning at the vote)
        cols["awareness_certificate_on"] = date(2022, 9, 20) if i % 10 == 0 else date(2025, 11, 20)
    if at >= order.index("cell_review"):
        facts |= {"application_on": "2026-01-05", "cv_certified_on": "2026-01-20", "background_verified_on": "2026-01-25",
                  "opinions_summarised_on": "2026-02-10"}
    if order.index("intermediate_appraisal") <= at <= order.index("awaiting_decision"):
        cols["cell_resolution_on"] = base
        clocks.append(("admission_decision", base))
    if stage == "awaiting_ceremony":
        cols["decision_on"] = base
        facts["decision_received_on"] = base.isoformat()
        clocks.append(("ceremony", base))
    if at >= order.index("probation"):
        ceremony = base - timedelta(days=365) if at > order.index("probation") else base
        cols["ceremony_on"] = ceremony
        clocks += [("probation", ceremony), ("recognition_vote", None)]   # counts from the probation's end
    if stage == "awaiting_recognition_decision":
        clocks = [c for c in clocks if c[0] != "recognition_vote"] + [("recognition_decision", base)]
    return cols, facts, clocks


def populate(engine: Engine, n: int) -> None:
    rs, cal = get_ruleset(OLD), vietnam_calendar()
    clocks = {c.id: c for c in rs.clocks}
    stages = [s.id for s in rs.stages if s.kind == "active"]
    now = datetime(2026, 3, 1, tzinfo=UTC)
    rows, deadlines = [], []
    for i in range(n):
        stage = stages[i % len(stages)]
        cols, facts, started = _facts_and_clocks(stage, i)
        for name, start in started:
            if name == "probation":
                cols["probation_ends_on"] = clocks[name].due(start, cal)
        rows.append({"id": i + 1, "full_name": f"Người thứ {i}", "birth_date": date(1990, 1, 1) + timedelta(days=i % 3000),
                     "gender": "nam" if i % 2 else "nu", "ethnicity": "Thái", "general_education_grade": 12,
                     "occupation": "farmer", "youth_union_member": False, "trade_union_member": False,
                     "prior_expunged_conviction": False, "prior_readmitted_before": False,
                     "cell_id": CELLS[i % len(CELLS)], "ruleset_version": OLD, "stage": stage, "version": 3,
                     "last_event_on": date(2026, 3, 1), "facts": facts, "audit_seq": 0, "audit_head": "",
                     "created_at": now, **{k: cols.get(k) for k in ("source_listed_on", "awareness_certificate_on",
                                                                     "cell_resolution_on", "decision_on", "ceremony_on",
                                                                     "probation_ends_on")}})
        for name, start in started:
            start = start or cols["probation_ends_on"]
            clock = clocks[name]
            deadlines.append({"candidate_id": i + 1, "clock": name, "kind": clock.kind, "who_acts": clock.who_acts,
                              "starts_on": start, "due_on": clock.due(start, cal), "extended_days": 0, "status": "open",
                              "ruleset_version": OLD, "calendar_version": cal.version})
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(insert(CAND), rows[start:start + 5000])
        for start in range(0, len(deadlines), 5000):
            conn.execute(insert(DEADLINE), deadlines[start:start + 5000])
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('candidate', 'id'), (SELECT max(id) FROM candidate))"))


def baseline(engine: Engine) -> float:
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("UPDATE candidate SET ruleset_version = :new WHERE ruleset_version = :old"), {"new": NEW, "old": OLD})
        conn.execute(text("UPDATE deadline SET ruleset_version = :new WHERE ruleset_version = :old AND status = 'open'"),
                     {"new": NEW, "old": OLD})
    elapsed = time.perf_counter() - start
    with engine.begin() as conn:                  # undone, untimed
        conn.execute(text("UPDATE candidate SET ruleset_version = :old WHERE ruleset_version = :new"), {"new": NEW, "old": OLD})
        conn.execute(text("UPDATE deadline SET ruleset_version = :old WHERE ruleset_version = :new"), {"new": NEW, "old": OLD})
    return elapsed


def _pg_database() -> tuple[str, Any]:
    admin = create_engine(make_url(PG_ADMIN).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"ketnap_bench_migration_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="5,000 candidates")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    n = 5_000 if args.quick else args.candidates
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rulesets"
        folder.mkdir()
        (folder / f"{NEW}.yaml").write_text(hypothetical_text(), encoding="utf-8")
        os.environ[EXTRA_DIR_ENV] = str(folder)
        all_rulesets.cache_clear()
        drop = None
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        if args.db == "postgres":
            url, drop = _pg_database()
        try:
            run(url, n, args.db)
        finally:
            if drop:
                drop()


def run(url: str, n: int, db: str) -> None:
    from models.ruleset_migration import apply_migration, plan_migration

    migrate(url)
    engine = make_engine(url)
    import_demo_org(engine)
    t = time.perf_counter()
    populate(engine, n)
    with engine.connect() as conn:
        deadlines = conn.execute(select(func.count()).select_from(DEADLINE)).scalar_one()
    print(f"{db}: {n} candidates, {deadlines} open deadlines inserted in {time.perf_counter() - t:.1f} s")
    base = baseline(engine)
    t = time.perf_counter()
    plan = plan_migration(engine, OLD, NEW, today=TODAY)
    dry = time.perf_counter() - t
    t = time.perf_counter()
    result = apply_migration(engine, OLD, NEW, ADMIN, now=APPLY_AT)
    applied = time.perf_counter() - t
    totals = plan.totals()
    print(f"plan: moved {totals['moved']}, mapped {totals['mapped']}, stayed {totals['stayed']}, blocked {totals['blocked']},"
          f" deadlines moved {totals['deadlines_moved']}, warnings {totals['warnings']}")
    print(f"applied: {dict(result.totals)}")
    print(f"baseline (plain SQL UPDATE, one transaction): {base:8.3f} s")
    print(f"dry run (plan_migration):                     {dry:8.3f} s   {n / dry:8.0f} candidates/s   x{dry / base:.0f}")
    print(f"apply (apply_migration):                      {applied:8.3f} s   {n / applied:8.0f} candidates/s   "
          f"x{applied / base:.0f}")
    print(f"correctness check: {'passed' if check(engine, plan, result) else 'FAILED'}")
    engine.dispose()


def check(engine: Engine, plan: Any, result: Any) -> bool:
    """The apply did what the dry run said: as many candidates on the new version and migration events as files
    planned to move, each moved deadline at its planned date, and every audit chain still verifies."""
    from models.audit.trail import verify

    totals, moving = plan.totals(), plan.totals()["moved"] + plan.totals()["mapped"]
    planned_due = {c.deadline_id: c.due_after for item in plan.items if item.moves for c in item.deadlines if c.moved}
    with engine.connect() as conn:
        on_new = conn.execute(select(func.count()).select_from(CAND).where(CAND.c.ruleset_version == NEW)
                              ).scalar_one()
        events = conn.execute(text("SELECT count(*) FROM audit_event WHERE kind = 'migration'")).scalar_one()
        due = dict(conn.execute(select(DEADLINE.c.id, DEADLINE.c.due_on)).all())
    checks = {
        "candidates on the new version = planned moves": on_new == moving,
        "one migration event per moved candidate": events == moving,
        "applied totals = planned totals": all(result.totals[k] == totals[k] for k in ("moved", "mapped", "stayed",
                                                                                      "blocked")),
        "each moved deadline at its planned date": all(due[i].isoformat() == d for i, d in planned_due.items()),
        "every audit chain verifies": verify(engine).ok,
    }
    for name, ok in checks.items():
        print(f"check: {name}: {'ok' if ok else 'FAILED'}")
    return all(checks.values())


if __name__ == "__main__":
    main()
