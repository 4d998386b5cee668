"""Recomputing a candidate's statutory deadlines after the rules or the calendar changed.

Shared by rule-set migrations (models/ruleset_migration.py: the new version's clocks, limits and citations)
and calendar corrections (models/calendar_corrections.py: the same clocks over corrected days off). Each
deadline is recomputed from what started it (its start date and any extension) with `Clock.due`, the one
function that computes a due date. A period that ends as a fact (probation → `probation_ends_on`) moves that
fact, and the clocks counting from the fact move with it. Reminders already queued for an old due date and
not yet sent are withdrawn; the next deadline sweep queues them again for the new date.

Nothing here appends audit events: the caller records one event per candidate naming why (migration,
correction) with the changes returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam

from models.calendar.working_days import WorkingCalendar
from models.procedure.definition import RuleSet
from models.tables import Deadline, Notification

DEADLINE = Deadline.__table__
NOTIFICATION = Notification.__table__
UPDATE_DEADLINE = DEADLINE.update().where(DEADLINE.c.id == bindparam("b_id"))


@dataclass(frozen=True)
class DeadlineChange:
    deadline_id: int
    candidate_id: int
    clock: str
    starts_before: str
    starts_after: str
    due_before: str
    due_after: str
    status_before: str
    status_after: str
    ruleset_before: str
    ruleset_after: str
    calendar_before: str
    calendar_after: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def moved(self) -> bool:
        return (self.due_before, self.starts_before, self.status_before) != (self.due_after, self.starts_after,
                                                                              self.status_after)


def _status(row: Mapping[str, Any], due: date) -> str:
    """A closed deadline keeps met/late as judged against its (possibly new) due date."""
    if row["status"] in ("met", "late") and row["closed_on"] is not None:
        return "met" if row["closed_on"] <= due else "late"
    return str(row["status"])


def plan_deadlines(rows: list[Mapping[str, Any]], facts: Mapping[str, Any], rs: RuleSet,
                   calendar: WorkingCalendar) -> tuple[list[DeadlineChange], dict[str, date]]:
    """Pure: the deadlines `rows` of one candidate recomputed under `rs` and `calendar`.

    Returns one change per row (unchanged ones included, `moved` says which) and the date facts that move
    (a period's end). A clock `rs` no longer has cancels its open deadline."""
    clocks = {c.id: c for c in rs.clocks}
    moved_facts: dict[str, date] = {}
    changes = []
    # Periods first: a deadline may count from the end of a period (recognition vote from probation's end).
    ordered = sorted(rows, key=lambda r: (clocks[r["clock"]].kind != "period") if r["clock"] in clocks else True)
    for row in ordered:
        clock = clocks.get(row["clock"])
        starts, status = row["starts_on"], str(row["status"])
        if clock is None:
            due = row["due_on"]
            status = "cancelled" if status == "open" else status
        else:
            if clock.counts_from != "$on" and clock.counts_from in moved_facts:
                starts = moved_facts[clock.counts_from]
            due = clock.due(starts, calendar, row["extended_days"])
            status = _status(row, due)
            if clock.ends_as and due != facts.get(clock.ends_as):
                moved_facts[clock.ends_as] = due
        changes.append(DeadlineChange(
            deadline_id=row["id"], candidate_id=row["candidate_id"], clock=row["clock"],
            starts_before=row["starts_on"].isoformat(), starts_after=starts.isoformat(),
            due_before=row["due_on"].isoformat(), due_after=due.isoformat(),
            status_before=str(row["status"]), status_after=status,
            ruleset_before=row["ruleset_version"], ruleset_after=rs.version if clock else row["ruleset_version"],
            calendar_before=row["calendar_version"], calendar_after=calendar.version,
        ))
    return changes, moved_facts


def store_deadline_changes(conn: Connection, changes: list[DeadlineChange], *, why: str) -> int:
    """Write recomputed deadlines (every row: the versions they were computed under change too) and withdraw
    the unsent reminders of a due date that moved. Returns how many reminders were withdrawn.

    One executemany and one statement per 500 withdrawn keys: a migration stores the
    deadlines of a whole batch of candidates in a few round trips."""
    rows: list[dict[str, Any]] = []
    keys: list[str] = []
    for ch in changes:
        rows.append({
            "b_id": ch.deadline_id, "starts_on": date.fromisoformat(ch.starts_after),
            "due_on": date.fromisoformat(ch.due_after), "status": ch.status_after,
            "ruleset_version": ch.ruleset_after, "calendar_version": ch.calendar_after,
        })
        if ch.due_after != ch.due_before or ch.status_after != "open":
            keys.append(f"deadline:{ch.deadline_id}:{ch.due_before}")
    if rows:
        conn.execute(UPDATE_DEADLINE, rows)
    withdrawn = 0
    for start in range(0, len(keys), 500):
        withdrawn += conn.execute(
            NOTIFICATION.update()
            .where(NOTIFICATION.c.period_key.in_(keys[start:start + 500]), NOTIFICATION.c.status == "pending")
            .values(status="withdrawn", last_error=why[:1000])).rowcount
    return withdrawn

