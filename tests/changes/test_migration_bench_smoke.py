"""bench/ruleset_migration.py --quick runs to the end and its correctness checks pass (no timing is asserted).

The checks compare the apply with the dry run: candidates on the new version and migration events = planned
moves, each moved deadline at its planned date, applied totals = planned totals, every audit chain verifies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_quick_migration_bench_passes_its_checks(db: str) -> None:
    env = os.environ | {"KETNAP_BENCH_POSTGRES_URL": os.environ.get("KETNAP_TEST_POSTGRES_URL",
                                                                     "postgresql://postgres@127.0.0.1:5432/postgres")}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "ruleset_migration.py"), "--quick", "--db", db],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    checks = [line for line in done.stdout.splitlines() if line.startswith("check:")]
    assert len(checks) == 5 and all(line.endswith(": ok") for line in checks), done.stdout
    assert "correctness check: passed" in done.stdout
