"""What a cell secretary needs on one screen: candidates by stage, the next meeting, missing notes, deadlines.

Names and stages only: the CV stays in the file, whose reading is audited.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, select

from models.calendar.working_days import WorkingCalendar
from models.calendar_in_force import current_calendar
from models.database import reading
from models.meetings import meetings_between
from models.notes import missing_with_names
from models.procedure.loader import get_ruleset
from models.snapshot import CANDIDATE, DEADLINE, UNIT
from models.vietnamese import name_sort_key

LOOK_AHEAD_DAYS = 62          # the next meeting is within two months
WARN_WORKING_DAYS = 10        # deadlines shown as upcoming


def cell_board(engine: Engine, cell_id: str, today: date, calendar: WorkingCalendar | None = None) -> dict[str, Any]:
    calendar = calendar or current_calendar(engine)
    with reading(engine) as conn:
        cell = conn.execute(select(UNIT.c.id, UNIT.c.name, UNIT.c.parent_id).where(UNIT.c.id == cell_id)).mappings().one()
        parent = conn.execute(select(UNIT.c.name).where(UNIT.c.id == cell["parent_id"])).scalar()
        candidates = [dict(r) for r in conn.execute(
            select(CANDIDATE.c.id, CANDIDATE.c.full_name, CANDIDATE.c.stage, CANDIDATE.c.ruleset_version,
                   CANDIDATE.c.version, CANDIDATE.c.last_event_on, CANDIDATE.c.imported_unverified)
            .where(CANDIDATE.c.cell_id == cell_id, CANDIDATE.c.closed_on.is_(None))).mappings()]
        names = {c["id"]: c["full_name"] for c in candidates}
        deadlines = [dict(r) for r in conn.execute(
            select(DEADLINE).where(DEADLINE.c.candidate_id.in_(list(names)), DEADLINE.c.status == "open",
                                   DEADLINE.c.kind == "deadline").order_by(DEADLINE.c.due_on)).mappings()] if names else []
    stages: dict[str, dict[str, Any]] = {}
    for c in sorted(candidates, key=lambda c: name_sort_key(c["full_name"])):
        rs = get_ruleset(c["ruleset_version"])
        stage = rs.stage(c["stage"])
        order = [s.id for s in rs.stages].index(stage.id)
        group = stages.setdefault(stage.id, {"stage": stage.id, "letter": stage.letter, "label": stage.label,
                                              "order": order, "candidates": []})
        group["candidates"].append({"id": c["id"], "full_name": c["full_name"], "version": c["version"],
                                    "last_event_on": c["last_event_on"],
                                    "imported_unverified": bool(c["imported_unverified"])})
    upcoming, overdue = [], []
    for d in deadlines:
        rs = get_ruleset(d["ruleset_version"])
        clock = next((k for k in rs.clocks if k.id == d["clock"]), None)
        item = {"candidate_id": d["candidate_id"], "candidate": names[d["candidate_id"]], "clock": d["clock"],
                "label": clock.label if clock else d["clock"], "due_on": d["due_on"], "who_acts": d["who_acts"]}
        if d["due_on"] < today:
            item["working_days_late"] = calendar.working_days_between(d["due_on"], today)
            overdue.append(item)
        else:
            item["working_days_left"] = calendar.working_days_between(today, d["due_on"])
            if item["working_days_left"] <= WARN_WORKING_DAYS:
                upcoming.append(item)
    meetings = meetings_between(engine, today, today + timedelta(days=LOOK_AHEAD_DAYS), calendar, [cell_id])
    recent = meetings_between(engine, today - timedelta(days=40), today - timedelta(days=1), calendar, [cell_id])
    next_meeting = meetings[0].on if meetings else None
    last_meeting = recent[-1].on if recent else None
    return {
        "cell": {"id": cell["id"], "name": cell["name"], "parent": parent},
        "today": today,
        "stages": sorted(stages.values(), key=lambda g: g["order"]),
        "open_files": len(candidates),
        "next_meeting": next_meeting,
        "last_meeting": last_meeting,
        "missing_notes": missing_with_names(engine, cell_id, next_meeting) if next_meeting else [],
        "missing_notes_last": missing_with_names(engine, cell_id, last_meeting) if last_meeting else [],
        "deadlines_overdue": overdue,
        "deadlines_upcoming": upcoming,
    }


def unit_summary(engine: Engine, root_id: str, today: date) -> dict[str, Any]:
    """A committee's view of its subtree: each cell's open files by phase and its overdue deadlines."""
    from sqlalchemy import func

    from models.organisation import PARTY_CELLS
    from models.scope import whole_tree

    with reading(engine) as conn:
        tree = whole_tree(conn)
        if root_id not in tree.units:
            raise LookupError(root_id)
        ids = tree.subtree_ids(root_id)
        cells = [u for u in tree.units.values() if u.id in ids and u.kind in PARTY_CELLS]
        cell_ids = [c.id for c in cells]
        counts: dict[str, dict[str, int]] = {}
        overdue: dict[str, int] = {}
        for start in range(0, len(cell_ids), 500):
            chunk = cell_ids[start:start + 500]
            for r in conn.execute(select(CANDIDATE.c.cell_id, CANDIDATE.c.ruleset_version, CANDIDATE.c.stage,
                                         func.count()).where(CANDIDATE.c.cell_id.in_(chunk), CANDIDATE.c.closed_on.is_(None))
                                  .group_by(CANDIDATE.c.cell_id, CANDIDATE.c.ruleset_version, CANDIDATE.c.stage)):
                phase = get_ruleset(r[1]).stage(r[2]).phase
                by_phase = counts.setdefault(r[0], {})
                by_phase[phase] = by_phase.get(phase, 0) + r[3]
            for r in conn.execute(select(CANDIDATE.c.cell_id, func.count())
                                  .join(DEADLINE, DEADLINE.c.candidate_id == CANDIDATE.c.id)
                                  .where(CANDIDATE.c.cell_id.in_(chunk), DEADLINE.c.status == "open",
                                         DEADLINE.c.kind == "deadline", DEADLINE.c.due_on < today)
                                  .group_by(CANDIDATE.c.cell_id)):
                overdue[r[0]] = r[1]
    root = tree.units[root_id]
    rows = []
    for c in sorted(cells, key=lambda c: (tree.units[c.parent_id].name if c.parent_id in tree.units else "",
                                          name_sort_key(c.name))):
        by_phase = counts.get(c.id, {})
        rows.append({"id": c.id, "name": c.name, "parent": tree.units[c.parent_id].name if c.parent_id else "",
                     "source": by_phase.get("source", 0), "admission": by_phase.get("admission", 0),
                     "probation": by_phase.get("probation", 0), "recognition": by_phase.get("recognition", 0),
                     "open": sum(by_phase.values()), "overdue": overdue.get(c.id, 0)})
    children = [{"id": u.id, "name": u.name, "kind": u.kind} for u in tree.units.values()
                if u.parent_id == root_id and u.kind not in ("village", "residential_group")]
    totals = {k: sum(r[k] for r in rows) for k in ("source", "admission", "probation", "recognition", "open", "overdue")}
    return {"unit": {"id": root.id, "name": root.name, "kind": root.kind, "parent_id": root.parent_id},
            "cells": rows, "children": sorted(children, key=lambda u: name_sort_key(u["name"])), "totals": totals}
