#!/usr/bin/env bash
# Set up a fresh machine and run ketnap on its embedded defaults (SQLite in ~/.ketnap, a local
# Prefect server on SQLite) with the demo commune loaded: shows a short tour, then serves until
# Ctrl-C. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> Debian packages: graphviz (procedure diagram), fonts with Vietnamese glyphs"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz fonts-liberation fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 >/dev/null
fi

echo "==> Python environment in .venv"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true

echo "==> Database and demo data"
.venv/bin/ketnap init --demo

echo
echo "==> The demo commune"
.venv/bin/ketnap org tree
echo
echo "==> Candidates"
.venv/bin/ketnap candidate list
echo
echo "==> A vote that the rules refuse (dry run: nothing is recorded)"
.venv/bin/ketnap advance 3 cell_approves --on "$(date +%F)" --set approve=2 --dry-run || true
cat <<'TOUR'

ketnap is starting: a local Prefect server (UI at http://127.0.0.1:4200) and the scheduled sweeps.
In another shell, with .venv/bin on your PATH (source .venv/bin/activate):
  ketnap show 2                                     # a candidate's file (the read is audited)
  ketnap advance 2 cell_approves --on 2026-11-16 --set approve=2                      # refused: 2/5
  ketnap advance 2 cell_approves --on 2026-11-16 --set approve=3 --set excused_absent=1   # applied
  ketnap history 2                                  # the steps with their Prefect flow runs
  ketnap reminders plan --month 2026-12 && ketnap reminders deliver --at-night
  ls ~/.ketnap/mail                                 # the sponsors' reminders (no SMTP server configured)
  ketnap dossier 4 --out /tmp/ho-so-4               # a full member's file: forms, checklist, one PDF
  ketnap audit verify                               # check every hash chain
Ctrl-C stops ketnap and its Prefect server.
TOUR
exec .venv/bin/ketnap serve
