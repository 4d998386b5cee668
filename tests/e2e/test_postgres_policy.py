"""Without PostgreSQL the PostgreSQL half of the suite skips with a how-to; in CI it fails instead."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]          # nothing listens once the socket is closed


def _run_pg_test(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_XDIST_WORKER")}
    env["KETNAP_TEST_POSTGRES_URL"] = f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-rs",
         "tests/integration/test_migrations.py::test_migrated_schema_matches_the_models"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def test_without_a_server_postgres_tests_skip_and_say_how_to_enable_them():
    proc = _run_pg_test(ci=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped" in proc.stdout
    assert "KETNAP_TEST_POSTGRES_URL" in proc.stdout and "not reachable" in proc.stdout


def test_in_ci_a_missing_server_is_a_failure():
    proc = _run_pg_test(ci=True)
    assert proc.returncode != 0
    assert "not reachable" in proc.stdout and "1 passed" in proc.stdout
