"""Benchmark: domain transitions per second on SQLite (durable commits) against a raw-SQL baseline.

Both sides run in the same process on the same disk, one transaction per transition, WAL with
synchronous=FULL:
- baseline: sqlite3 directly — read the candidate, update its stage and version, insert one
  hash-chained audit row, commit. The least any transition must do.
- domain: models.transitions.apply_transition — the same plus loading the organisation path,
  member counts, sponsors and open deadlines, evaluating every guard of the event, recording
  facts and deadlines.

Workloads: `light` is nominate_for_course (no guards); `full` is a candidate's walk from the
source list to the cell's vote (certificate, file with sponsor and education guards,
opinions, and the cell vote with all eight guards and a deadline opened).

Prints absolute rates (noisy on shared machines) and the ratio domain / baseline.
Usage: python bench/transitions.py [--candidates 600]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.actors import Actor  # noqa: E402
from models.calendar.working_days import vietnam_calendar  # noqa: E402
from models.database import make_engine, migrate  # noqa: E402
from models.imports.candidates import CandidateIn, add_candidates  # noqa: E402
from models.transitions import TransitionRequest, apply_transition  # noqa: E402
from tests.support import candidate, import_demo_org  # noqa: E402

ACTOR = Actor("bench", "secretary")
NOW = datetime(2039, 12, 31, tzinfo=UTC)
WALK = [
    ("record_awareness_certificate", date(2025, 11, 20), {"certificate_number": "CN-1"}),
    ("complete_file", date(2026, 6, 1), {"application_on": "2026-05-02", "cv_certified_on": "2026-05-20",
                                         "background_verified_on": "2026-05-25"}),
    ("summarise_opinions", date(2026, 6, 15), {}),
    ("cell_approves", date(2026, 7, 6), {"approve": 4}),
]


def baseline(path: Path, n: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, stage TEXT, version INT, head TEXT)")
    conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, cid INT, seq INT, payload TEXT, prev TEXT, hash TEXT)")
    conn.executemany("INSERT INTO c VALUES (?, 'source', 1, '')", [(i,) for i in range(n)])
    start = time.perf_counter()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        stage, version, head = conn.execute("SELECT stage, version, head FROM c WHERE id=?", (i,)).fetchone()
        conn.execute("UPDATE c SET stage='awareness_course', version=? WHERE id=? AND version=?", (version + 1, i, version))
        payload = json.dumps({"event": "nominate_for_course", "on": "2025-10-01"})
        digest = hashlib.sha256((head + payload).encode()).hexdigest()
        conn.execute("INSERT INTO a (cid, seq, payload, prev, hash) VALUES (?, 1, ?, ?, ?)", (i, payload, head, digest))
        conn.execute("UPDATE c SET head=? WHERE id=?", (digest, i))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return n / elapsed


def domain(path: Path, n: int) -> tuple[float, float]:
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    import_demo_org(engine)
    items: list[tuple[int, CandidateIn]] = [(0, candidate(full_name=f"Người Thứ {i}")) for i in range(n)]
    ids = add_candidates(engine, items, ACTOR, now=NOW)
    vietnam_calendar()                     # built once per process; not part of a transition

    start = time.perf_counter()
    for cid in ids:
        result = apply_transition(engine, TransitionRequest(cid, "nominate_for_course", date(2025, 10, 1), ACTOR), now=NOW)
        assert result.applied
    light = n / (time.perf_counter() - start)

    start = time.perf_counter()
    count = 0
    for cid in ids:
        for event, on, inputs in WALK:
            result = apply_transition(engine, TransitionRequest(cid, event, on, ACTOR, inputs=inputs), now=NOW)
            assert result.applied, result.failures
            count += 1
    full = count / (time.perf_counter() - start)
    engine.dispose()
    return light, full


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline(Path(tmp) / "raw.db", args.candidates)
        light, full = domain(Path(tmp) / "ketnap.db", args.candidates)
    print(f"raw SQL baseline (read, update, chained audit insert, fsync'd commit): {base:8.0f} transitions/s")
    print(f"domain, light event (nominate_for_course, no guards):                 {light:8.0f} transitions/s  "
          f"= {light / base:.3f} × baseline")
    print(f"domain, walk to the cell vote (all guards, deadline opened):          {full:8.0f} transitions/s  "
          f"= {full / base:.3f} × baseline")
    print("target: ≥ 1,000 domain transitions/s on SQLite with durable commits")


if __name__ == "__main__":
    main()
