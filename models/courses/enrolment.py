"""The queue of nominees and enrolment in the earliest session with room, with notifications."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select
from sqlalchemy.exc import IntegrityError

from models.actors import SYSTEM
from models.audit.trail import append_for_candidate
from models.courses.common import (
    ENROLMENT,
    KINDS,
    QUEUE_STAGES,
    REASON,
    RECIPIENT,
    SEATED,
    SESSION,
)
from models.database import reading
from models.outbox import enqueue
from models.snapshot import CANDIDATE, unit_path

# --- the queue ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Nominee:
    candidate_id: int
    cell_id: str
    kind: str
    nominated_on: date | None


def _holds_seat(kind: str, candidate_id: Any) -> Any:
    """EXISTS: the candidate holds a seat (enrolled, attended, certified) in a session of this course."""
    return (select(ENROLMENT.c.id).join(SESSION, SESSION.c.id == ENROLMENT.c.session_id)
            .where(ENROLMENT.c.candidate_id == candidate_id, ENROLMENT.c.status.in_(SEATED), SESSION.c.kind == kind)
            .exists())


def _queue_filter(kind: str) -> Any:
    wanted = and_(CANDIDATE.c.stage.in_(QUEUE_STAGES[kind]), ~_holds_seat(kind, CANDIDATE.c.id))
    if kind == "new_member":
        wanted = and_(wanted, CANDIDATE.c.new_member_certificate_on.is_(None))
    return wanted


def _nominated_on(kind: str, facts: dict[str, Any] | None, ceremony_on: date | None) -> date | None:
    if kind == "new_member":
        return ceremony_on
    value = (facts or {}).get("course_nominated_on")
    return date.fromisoformat(value) if isinstance(value, str) else value


def nominees(engine: Engine, kind: str) -> list[Nominee]:
    """The queue of one course, first nominated first (nomination or ceremony date, then id)."""
    if kind not in KINDS:
        raise ValueError(f"unknown course kind {kind!r}; known: {', '.join(KINDS)}")
    with reading(engine) as conn:
        rows = conn.execute(select(CANDIDATE.c.id, CANDIDATE.c.cell_id, CANDIDATE.c.facts, CANDIDATE.c.ceremony_on)
                            .where(_queue_filter(kind))).all()
    found = [Nominee(r.id, r.cell_id, kind, _nominated_on(kind, r.facts, r.ceremony_on)) for r in rows]
    return sorted(found, key=lambda n: (n.nominated_on is None, n.nominated_on or date.min, n.candidate_id))


# --- enrolment ------------------------------------------------------------------------------

@dataclass
class Enrolment:
    considered: int = 0
    enrolled: int = 0
    waiting: int = 0                  # no session of their course with room in their area
    notifications: int = 0

    def as_dict(self) -> dict[str, int]:
        return self.__dict__.copy()


def _areas(engine: Engine, cell_id: str) -> set[str]:
    with reading(engine) as conn:
        tree = unit_path(conn, cell_id)
    return {cell_id, *(u.id for u in tree.ancestors(cell_id))}


def plan_enrolment(engine: Engine, today: date, *, now: datetime) -> Enrolment:
    """Enrol every nominee in the earliest session (starting after `today`) of their course, in their area, with room."""
    report = Enrolment()
    with reading(engine) as conn:
        upcoming = conn.execute(select(SESSION.c.id, SESSION.c.kind, SESSION.c.area_unit_id)
                                .where(SESSION.c.starts_on > today)
                                .order_by(SESSION.c.starts_on, SESSION.c.id)).all()
    areas: dict[str, set[str]] = {}
    full: set[int] = set()
    for kind in KINDS:
        sessions = [s for s in upcoming if s.kind == kind]
        for nominee in nominees(engine, kind):
            report.considered += 1
            if nominee.cell_id not in areas:
                areas[nominee.cell_id] = _areas(engine, nominee.cell_id)
            offered = [s.id for s in sessions if s.area_unit_id in areas[nominee.cell_id] and s.id not in full]
            session_id = enrol_nominee(engine, nominee, offered, today, now=now, full=full) if offered else None
            if session_id is None:
                report.waiting += 1
            else:
                report.enrolled += 1
    report.notifications = notify_enrolled(engine, today, now=now)
    return report


def enrol_nominee(engine: Engine, nominee: Nominee, offered: Sequence[int], today: date, *, now: datetime,
                  full: set[int] | None = None) -> int | None:
    """One nominee in one transaction: the first of the `offered` sessions with room (id returned), or None.

    Sessions found full are added to `full` (the planner skips them for later nominees)."""
    full = set() if full is None else full
    try:
        with engine.begin() as conn:
            # The nominee's row first: a concurrent planner handling the same nominee waits here,
            # then finds them seated. Sessions are locked after it, always in the same order.
            cand = conn.execute(select(CANDIDATE.c.stage, CANDIDATE.c.audit_seq, CANDIDATE.c.audit_head)
                                .where(CANDIDATE.c.id == nominee.candidate_id).with_for_update()).first()
            if cand is None or not conn.execute(select(CANDIDATE.c.id).where(
                    CANDIDATE.c.id == nominee.candidate_id, _queue_filter(nominee.kind))).first():
                return None
            tried = set(conn.execute(select(ENROLMENT.c.session_id)
                                     .where(ENROLMENT.c.candidate_id == nominee.candidate_id)).scalars())
            for session_id in offered:
                if session_id in tried:
                    continue              # an absentee is not put back into the same session
                capacity = conn.execute(select(SESSION.c.capacity).where(SESSION.c.id == session_id)
                                        .with_for_update()).scalar_one()
                taken = conn.execute(select(func.count()).select_from(ENROLMENT).where(
                    ENROLMENT.c.session_id == session_id, ENROLMENT.c.status.in_(SEATED))).scalar_one()
                if taken >= capacity:
                    full.add(session_id)
                    continue
                conn.execute(ENROLMENT.insert().values(session_id=session_id, candidate_id=nominee.candidate_id,
                                                       status="enrolled", enrolled_on=today))
                append_for_candidate(conn, nominee.candidate_id, (cand.audit_seq, cand.audit_head),
                                     kind="course_enrolment", actor=SYSTEM, effective_on=today,
                                     stage_before=cand.stage, stage_after=cand.stage, now=now,
                                     payload={"session_id": session_id, "course": nominee.kind})
                return session_id
    except IntegrityError:            # the unique (session, candidate): someone enrolled them first
        return None
    return None


def _recipient_ids(conn: Connection, keys: Iterable[str]) -> dict[str, int]:
    ordered, found = sorted(set(keys)), {}
    for start in range(0, len(ordered), 900):
        found |= {r.key: r.id for r in conn.execute(select(RECIPIENT.c.key, RECIPIENT.c.id).where(
            RECIPIENT.c.key.in_(ordered[start:start + 900]), RECIPIENT.c.active.is_(True)))}
    return found


def notify_enrolled(engine: Engine, today: date, *, now: datetime) -> int:
    """Queue "course_enrolled" to each learner enrolled in a session not yet started, and to their
    secretary, once (the outbox ignores what it holds already); returns how many are new.

    Planning every upcoming enrolment rather than only today's also covers an enrolment whose
    notices were not queued (a crash between the two) and a contact added after enrolment.
    The candidate's notice is once per session ("session:<id>"); the secretary's once per session
    and learner ("session:<id>/<candidate>"), since a cell may send several learners to a session.
    """
    with reading(engine) as conn:
        rows = conn.execute(select(ENROLMENT.c.session_id, ENROLMENT.c.candidate_id, CANDIDATE.c.cell_id)
                            .join(SESSION, SESSION.c.id == ENROLMENT.c.session_id)
                            .join(CANDIDATE, CANDIDATE.c.id == ENROLMENT.c.candidate_id)
                            .where(ENROLMENT.c.status == "enrolled", SESSION.c.starts_on > today)
                            .order_by(ENROLMENT.c.session_id, ENROLMENT.c.candidate_id)).all()
        wanted = [(f"candidate:{r.candidate_id}", f"session:{r.session_id}", r) for r in rows]
        wanted += [(f"secretary:{r.cell_id}", f"session:{r.session_id}/{r.candidate_id}", r) for r in rows]
        recipients = _recipient_ids(conn, (key for key, _, _ in wanted))
    planned = [{"recipient_id": recipients[key], "reason": REASON, "candidate_id": r.candidate_id,
                "period_key": period, "context": {"session_id": r.session_id}}
               for key, period, r in wanted if key in recipients]
    return enqueue(engine, planned, now=now)
