#!/usr/bin/env bash
# Run the whole test suite (SQLite and PostgreSQL) in .venv, installing what it needs.
# PostgreSQL: KETNAP_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres);
# without a server those tests skip, and with CI set they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/python -m pytest -n 2 --dist loadfile --durations=20 "$@"
