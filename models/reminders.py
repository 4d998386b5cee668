"""Planning notifications: each planner finds who must hear of what, and queues it once.

- sponsor notes: before each cell meeting (its lead days ahead), every sponsoring member or
  helper of an active candidate or probationary member of that cell;
- missing notes: after a sponsor has missed the cell's last N meetings for a candidate, the
  cell's secretary;
- statutory deadlines: a few working days before the last day, whoever must act; once overdue,
  the organisation department of the competent committee;
- the end of probation, 30 days ahead: the member (self-review), the helper, the secretary.
The outbox's uniqueness (recipient, reason, period) makes re-running any planner harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, select

from models.calendar.working_days import WorkingCalendar
from models.database import reading
from models.meetings import Meeting
from models.outbox import enqueue
from models.procedure.loader import get_ruleset
from models.snapshot import CANDIDATE, DEADLINE, SPONSOR, unit_path
from models.tables import Recipient, SponsorNote

RECIPIENT = Recipient.__table__
NOTE = SponsorNote.__table__
CLOSED = ("full_member", "removed", "not_admitted", "withdrawn", "left_source_list", "transferred_out")


@dataclass
class Planned:
    considered: int = 0
    created: int = 0
    unreachable: int = 0

    def __iadd__(self, other: Planned) -> Planned:
        self.considered += other.considered
        self.created += other.created
        self.unreachable += other.unreachable
        return self

    def as_dict(self) -> dict[str, int]:
        return self.__dict__.copy()


def _recipients(engine: Engine, keys: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    with reading(engine) as conn:
        ordered = sorted(keys)
        for start in range(0, len(ordered), 900):
            found |= {r.key: r.id for r in conn.execute(
                select(RECIPIENT.c.key, RECIPIENT.c.id).where(RECIPIENT.c.key.in_(ordered[start:start + 900]),
                                                              RECIPIENT.c.active.is_(True)))}
    return found


def note_pairs(engine: Engine, cells: list[str]) -> list[tuple[int, int, str]]:
    """(member id, candidate id, cell id): every sponsor or helper of an active file in these cells."""
    pairs: set[tuple[int, int, str]] = set()
    with reading(engine) as conn:
        for start in range(0, len(cells), 500):
            chunk = cells[start:start + 500]
            active = and_(CANDIDATE.c.cell_id.in_(chunk), CANDIDATE.c.stage.not_in(CLOSED))
            pairs |= {(r.member_id, r.candidate_id, r.cell_id) for r in conn.execute(
                select(SPONSOR.c.member_id, SPONSOR.c.candidate_id, CANDIDATE.c.cell_id)
                .join(CANDIDATE, CANDIDATE.c.id == SPONSOR.c.candidate_id)
                .where(active, SPONSOR.c.kind == "member", SPONSOR.c.ended_on.is_(None),
                       SPONSOR.c.member_id.is_not(None)))}
            pairs |= {(r.helper_member_id, r.id, r.cell_id) for r in conn.execute(
                select(CANDIDATE.c.helper_member_id, CANDIDATE.c.id, CANDIDATE.c.cell_id)
                .where(active, CANDIDATE.c.helper_member_id.is_not(None)))}
    return sorted(pairs)


def plan_sponsor_notes(engine: Engine, meetings: list[Meeting], *, now: datetime) -> Planned:
    by_cell: dict[str, list[Meeting]] = {}
    for m in meetings:
        by_cell.setdefault(m.cell_id, []).append(m)
    pairs = note_pairs(engine, sorted(by_cell))
    recipients = _recipients(engine, {f"member:{member}" for member, _, _ in pairs})
    rows, report = [], Planned()
    for member, candidate, cell in pairs:
        for meeting in by_cell[cell]:
            report.considered += 1
            rid = recipients.get(f"member:{member}")
            if rid is None:
                report.unreachable += 1
                continue
            rows.append({"recipient_id": rid, "reason": "sponsor_note", "candidate_id": candidate,
                         "period_key": f"{meeting.on.isoformat()}/{candidate}",
                         "context": {"meeting_on": meeting.on.isoformat(), "member_id": member, "cell_id": cell}})
    report.created = enqueue(engine, rows, now=now)
    return report


def due_for_reminders(meetings: list[Meeting], today: date) -> list[Meeting]:
    """Meetings whose reminders go out today: from their lead day up to the meeting itself."""
    return [m for m in meetings if m.on - timedelta(days=m.lead_days) <= today <= m.on]


def missing_notes(engine: Engine, meeting: Meeting) -> list[tuple[int, int]]:
    """(member id, candidate id) pairs expected at this meeting with no note recorded."""
    expected = {(m, c) for m, c, _ in note_pairs(engine, [meeting.cell_id])}
    with reading(engine) as conn:
        noted = {(r.member_id, r.candidate_id) for r in conn.execute(
            select(NOTE.c.member_id, NOTE.c.candidate_id).where(NOTE.c.cell_id == meeting.cell_id,
                                                                NOTE.c.meeting_on == meeting.on))}
    return sorted(expected - noted)


def plan_missing_note_alerts(engine: Engine, past: list[Meeting], *, now: datetime) -> Planned:
    """Alert a cell's secretary when a sponsor missed the cell's last N meetings (N per cell's rule)."""
    report, rows = Planned(), []
    by_cell: dict[str, list[Meeting]] = {}
    for m in sorted(past, key=lambda m: m.on):
        by_cell.setdefault(m.cell_id, []).append(m)
    secretaries = _recipients(engine, {f"secretary:{c}" for c in by_cell})
    # The expected pairs do not depend on the meeting: read them once for every cell, and each cell's notes
    # for its last N meetings in one query (this sweep runs daily over every cell of a province).
    expected: dict[str, set[tuple[int, int]]] = {}
    for member, candidate, cell in note_pairs(engine, sorted(by_cell)):
        expected.setdefault(cell, set()).add((member, candidate))
    for cell, held in by_cell.items():
        n = held[-1].missing_alert_after
        if len(held) < n or cell not in expected:
            continue
        last = held[-n:]
        noted: dict[date, set[tuple[int, int]]] = {m.on: set() for m in last}
        with reading(engine) as conn:
            for r in conn.execute(select(NOTE.c.member_id, NOTE.c.candidate_id, NOTE.c.meeting_on).where(
                    NOTE.c.cell_id == cell, NOTE.c.meeting_on.in_(list(noted)))):
                noted[r.meeting_on].add((r.member_id, r.candidate_id))
        streak = [expected[cell] - noted[m.on] for m in last]
        for member, candidate in sorted(set.intersection(*streak)):
            report.considered += 1
            rid = secretaries.get(f"secretary:{cell}")
            if rid is None:
                report.unreachable += 1
                continue
            rows.append({"recipient_id": rid, "reason": "missing_notes", "candidate_id": candidate,
                         "period_key": f"{held[-1].on.isoformat()}/{member}/{candidate}",
                         "context": {"meeting_on": held[-1].on.isoformat(), "member_id": member, "missed": n}})
    report.created = enqueue(engine, rows, now=now)
    return report


def _acting_unit(engine: Engine, cell_id: str, who_acts: str) -> tuple[str, str]:
    """Recipient key of whoever acts on a deadline of a candidate of `cell_id`."""
    with reading(engine) as conn:
        tree = unit_path(conn, cell_id)
    if who_acts in ("cell", "cell_committee"):
        return f"secretary:{cell_id}", cell_id
    if who_acts == "competent_committee":
        unit = tree.competent_body(cell_id).unit_id
    elif who_acts == "intermediate_committee":
        unit = next((u.id for u in tree.ancestors(cell_id) if u.kind == "intermediate_committee"), cell_id)
    else:
        unit = tree.grassroots_of(cell_id).id
    return f"orgdept:{unit}", unit


def plan_deadline_reminders(engine: Engine, today: date, calendar: WorkingCalendar, *, now: datetime,
                            lead_working_days: int = 5) -> Planned:
    """Open statutory deadlines ending within `lead_working_days` working days: whoever must act."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(DEADLINE.c.id, DEADLINE.c.candidate_id, DEADLINE.c.clock, DEADLINE.c.due_on, DEADLINE.c.who_acts,
                   DEADLINE.c.ruleset_version, CANDIDATE.c.cell_id)
            .join(CANDIDATE, CANDIDATE.c.id == DEADLINE.c.candidate_id)
            .where(DEADLINE.c.status == "open", DEADLINE.c.kind == "deadline", DEADLINE.c.due_on >= today,
                   DEADLINE.c.due_on <= calendar.add_working_days(today, lead_working_days))
        ).all()
    return _deadline_notices(engine, rows, "deadline_due", today, calendar, now)


def plan_overdue_notices(engine: Engine, deadline_ids: list[int], today: date, calendar: WorkingCalendar, *,
                         now: datetime) -> Planned:
    """Overdue deadlines (as the sweep flagged them): the organisation department of the competent committee."""
    if not deadline_ids:
        return Planned()
    with reading(engine) as conn:
        rows = conn.execute(
            select(DEADLINE.c.id, DEADLINE.c.candidate_id, DEADLINE.c.clock, DEADLINE.c.due_on, DEADLINE.c.who_acts,
                   DEADLINE.c.ruleset_version, CANDIDATE.c.cell_id)
            .join(CANDIDATE, CANDIDATE.c.id == DEADLINE.c.candidate_id).where(DEADLINE.c.id.in_(deadline_ids))
        ).all()
    return _deadline_notices(engine, rows, "deadline_overdue", today, calendar, now, to="competent_committee")


def _deadline_notices(engine: Engine, rows: list[Any], reason: str, today: date, calendar: WorkingCalendar,
                      now: datetime, to: str | None = None) -> Planned:
    report, planned = Planned(), []
    keyed = [(r, *_acting_unit(engine, r.cell_id, to or r.who_acts)) for r in rows]
    recipients = _recipients(engine, {k for _, k, _ in keyed})
    for r, key, _unit in keyed:
        report.considered += 1
        rid = recipients.get(key)
        if rid is None:
            report.unreachable += 1
            continue
        clock = next(c for c in get_ruleset(r.ruleset_version).clocks if c.id == r.clock)
        planned.append({"recipient_id": rid, "reason": reason, "candidate_id": r.candidate_id,
                        "period_key": f"deadline:{r.id}:{r.due_on.isoformat()}",
                        "context": {"label": clock.label, "due_on": r.due_on.isoformat(), "cite": clock.cite,
                                    "working_days_left": calendar.working_days_between(today, r.due_on)}})
    report.created = enqueue(engine, planned, now=now)
    return report


def plan_probation_notices(engine: Engine, today: date, *, now: datetime, days_ahead: int = 30) -> Planned:
    """Probation ending within `days_ahead` days: the member, the helper and the secretary, once each."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(CANDIDATE.c.id, CANDIDATE.c.cell_id, CANDIDATE.c.helper_member_id, CANDIDATE.c.probation_ends_on)
            .where(CANDIDATE.c.stage == "probation", CANDIDATE.c.probation_ends_on > today,
                   CANDIDATE.c.probation_ends_on <= today + timedelta(days=days_ahead))
        ).all()
    wanted = []
    for r in rows:
        wanted.append((f"candidate:{r.id}", "probation_self_review", r))
        if r.helper_member_id:
            wanted.append((f"member:{r.helper_member_id}", "probation_helper_review", r))
        wanted.append((f"secretary:{r.cell_id}", "probation_ending", r))
    recipients = _recipients(engine, {k for k, _, _ in wanted})
    report, planned = Planned(), []
    for key, reason, r in wanted:
        report.considered += 1
        rid = recipients.get(key)
        if rid is None:
            report.unreachable += 1
            continue
        planned.append({"recipient_id": rid, "reason": reason, "candidate_id": r.id,
                        "period_key": f"probation:{r.probation_ends_on.isoformat()}",
                        "context": {"ends_on": r.probation_ends_on.isoformat(), "member_id": r.helper_member_id}})
    report.created = enqueue(engine, planned, now=now)
    return report

