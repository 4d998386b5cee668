"""A third, hypothetical rule set for the migration tests, written from the text of qd294-2025.yaml.

qd-test-2026 (in force 01/9/2026): the awareness certificate is valid 48 months instead of 60, the admission
decision is due within 45 working days instead of 60, stage `opinions` is renamed `collecting_opinions` (with a
stage_map), stage `awareness_course` is renamed `political_course` with NO map (files there are blocked), and
files awaiting their ceremony stay on qd294-2025.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from models.procedure.loader import EXTRA_DIR_ENV, all_rulesets
from tests.support import MAKE_UP_SATURDAYS, WEEKDAYS_OFF, count_working_days_by_hand

NEW = "qd-test-2026"
OLD = "qd294-2025"
TRANSITIONAL = """transitional:
  replaces: [qd294-2025]
  cite: "Quy định thử nghiệm 2026, điều khoản chuyển tiếp (giả định cho kiểm thử)"
  confidence: L
  stay_on_previous:
    - {stages: [awaiting_ceremony], cite: "Quy định thử nghiệm 2026, điều khoản chuyển tiếp, khoản 2", confidence: M}
  stage_map: {opinions: collecting_opinions}
"""


def hypothetical_text() -> str:
    text = (resources.files("models.procedure.rulesets") / "qd294-2025.yaml").read_text(encoding="utf-8")
    text = text.replace("version: qd294-2025", f"version: {NEW}", 1)
    text = text.replace('title: "Quy định 294-QĐ/TW và Hướng dẫn 06-HD/TW"', 'title: "Quy định thử nghiệm 2026"', 1)
    text = text.replace("effective_from: 2025-07-01", "effective_from: 2026-09-01", 1)
    assert text.count("params: {valid_months: 60}") == 1
    text = text.replace("params: {valid_months: 60}", "params: {valid_months: 48}")
    assert text.count("limit: {working_days: 60}") == 1
    text = text.replace("limit: {working_days: 60}", "limit: {working_days: 45}")
    text = re.sub(r"\bopinions\b", "collecting_opinions", text)
    text = re.sub(r"\bawareness_course\b", "political_course", text)
    start = text.index("transitional:")
    end = text.index("\nforms:")
    return text[:start] + TRANSITIONAL + text[end:]


@pytest.fixture
def rulesets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder of added rule sets, read by the loader for this test only."""
    folder = tmp_path / "rulesets"
    folder.mkdir()
    monkeypatch.setenv(EXTRA_DIR_ENV, str(folder))
    all_rulesets.cache_clear()
    yield folder
    monkeypatch.undo()
    all_rulesets.cache_clear()


@pytest.fixture
def third_ruleset(rulesets_dir: Path) -> Path:
    path = rulesets_dir / f"{NEW}.yaml"
    path.write_text(hypothetical_text(), encoding="utf-8")
    all_rulesets.cache_clear()
    return path


def working_days_after(start: date, n: int) -> date:
    """Test oracle: the n-th working day after `start`, over the days off written down in tests/support.py."""
    return count_working_days_by_hand(start, n, WEEKDAYS_OFF, MAKE_UP_SATURDAYS)
