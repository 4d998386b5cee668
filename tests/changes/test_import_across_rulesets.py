"""Importing files whose steps straddle the date a newer rule set takes effect: its transitional provisions apply
as in a migration (tests/changes/rulesets.py: qd-test-2026 from 01/09/2026 renames `opinions` with a stage map and
keeps files awaiting their ceremony on qd294-2025). SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import select

from models.audit.trail import verify
from models.imports.files_in_progress import import_files
from models.tables import AuditEvent
from tests.changes.rulesets import NEW, OLD, rulesets_dir, third_ruleset
from tests.changes.test_files_in_progress import (
    ADMIN,
    AUTHORITY,
    NOW,
    candidates_by_line,
    person,
    sponsors,
    to_cell_review,
    xlsx,
)

__all__ = ["rulesets_dir", "third_ruleset"]       # fixtures

ROWS: list[dict[str, object]] = [
    # 2: file complete 25/06/2026, at opinions on 01/09/2026; opinions summarised 15/09/2026 (under qd-test-2026)
    person("Quàng Thị Chi", "1987-08-20", "cb-ban-na-la", "2025-10-06", gender="Nữ",
           **to_cell_review("2025-12-15", "2026-06-01", "2026-06-15", "2026-06-25", "2026-09-15"),
           **sponsors("NL01", "2010-01-01", "NL02", "2012-01-01"), stage="cell_review"),
    # 3: admitted by decision 10/08/2026, awaiting the ceremony on 01/09/2026; ceremony 14/09/2026
    person("Vì Văn Khánh", "1983-01-15", "cb-ban-na-la", "2025-07-07",
           **to_cell_review("2025-09-12", "2026-01-05", "2026-01-19", "2026-01-30", "2026-03-09"),
           cell_on="2026-06-15", cell_yes=4, gr_on="2026-07-06", gr_yes=12, decision="2026-08-10", decision_no="201-QĐ/ĐU",
           received="2026-08-12", ceremony="2026-09-14", helper="NL03",
           **sponsors("NL03", "2014-01-01", "NL04", "2017-12-22"), stage="probation"),
]


def chain(engine, cid: int) -> list[dict]:
    audit = AuditEvent.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(audit.c.kind, audit.c.event, audit.c.ruleset_version, audit.c.stage_before,
                                   audit.c.stage_after, audit.c.effective_on, audit.c.payload)
                            .where(audit.c.candidate_id == cid).order_by(audit.c.seq)).mappings().all()
    return [dict(r) | {"payload": json.loads(r["payload"])} for r in rows]


def test_steps_after_the_new_version_follow_its_transitional_provisions(org, third_ruleset):
    report = import_files(org, xlsx(ROWS), "giao-thoi.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    by_line = candidates_by_line(org, report.batch_id)

    # Line 2: moved on 15/09/2026 with the stage map opinions -> collecting_opinions, then summarised under the new rules.
    moved = by_line[2]
    assert (moved["stage"], moved["ruleset_version"]) == ("cell_review", NEW)
    events = chain(org, moved["id"])
    crossing = [e for e in events if e["kind"] == "migration"]
    assert len(crossing) == 1
    (move,) = crossing
    assert (move["stage_before"], move["stage_after"], move["ruleset_version"]) == ("opinions", "collecting_opinions", NEW)
    assert (move["payload"]["from_version"], move["payload"]["to_version"]) == (OLD, NEW)
    assert move["payload"]["stage_map"] == {"opinions": "collecting_opinions"}
    assert str(move["effective_on"]) == "2026-09-15"
    steps = [(e["event"], e["ruleset_version"], e["stage_before"]) for e in events if e["kind"] == "transition"]
    assert steps[-1] == ("summarise_opinions", NEW, "collecting_opinions")
    assert {v for _, v, _ in steps[:-1]} == {OLD}
    assert events.index(move) == len(events) - 2           # the move comes right before the step that crossed

    # Line 3: awaiting the ceremony on 01/09/2026: stays on qd294-2025, the ceremony judged by it.
    stayed = by_line[3]
    assert (stayed["stage"], stayed["ruleset_version"]) == ("probation", OLD)
    events = chain(org, stayed["id"])
    assert not [e for e in events if e["kind"] == "migration"]
    assert [(e["event"], e["ruleset_version"]) for e in events if e["kind"] == "transition"][-1] == ("hold_ceremony", OLD)
    assert [r.ruleset_version for r in report.lines] == [NEW, OLD]
    assert verify(org).ok

