"""bench/reports.py --quick runs to the end on a fresh database and its correctness checks pass.

The benchmark generates a small province (members, candidates walked through the procedure, course
sessions, deadlines, hash-chained audit trails) by bulk inserts, times the yearly report and the
timeline, then compares the report's admitted count and membership with counts made from the
generated rows and reads sampled chains and histories back whole. No timing is asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_quick(*extra: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"KETNAP_BENCH_POSTGRES_URL": os.environ.get("KETNAP_TEST_POSTGRES_URL",
                                                                     "postgresql://postgres@127.0.0.1:5432/postgres")}
    return subprocess.run([sys.executable, str(ROOT / "bench" / "reports.py"), "--quick", *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)


def assert_passed(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "correctness check: passed" in lines, done.stdout
    checks = [line.strip() for line in lines if line.strip().startswith("check:")]
    assert len(checks) == 3, done.stdout          # the report, the timelines, the histories
    assert all(line.endswith(": ok") for line in checks), done.stdout
    assert "models.statistics is not available" not in done.stdout


def test_quick_bench_on_sqlite_passes_its_checks() -> None:
    assert_passed(run_quick())


@pytest.mark.postgres
def test_quick_bench_on_postgresql_passes_its_checks(pg_template: str) -> None:
    """pg_template only tells whether the server answers (skipped without one, failed in CI)."""
    assert_passed(run_quick("--db", "postgres"))
