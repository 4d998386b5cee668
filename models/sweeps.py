"""What the scheduled sweeps find in the database. Each finding is stored once, however often they run.

- overdue statutory deadlines are flagged (deadline.flagged_on, an alert, an audit event);
- probationary members whose 12 months have ended are listed for the recognition stage;
- awareness-course certificates about to expire before the cell has voted raise an alert.
A missed deadline does not block anything: it is flagged for the organisation department.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine, and_, select
from sqlalchemy.exc import IntegrityError

from models.actors import SYSTEM
from models.calendar.periods import add_months
from models.casefile import append_for_candidate_locked
from models.database import reading
from models.procedure.loader import all_rulesets
from models.snapshot import CANDIDATE, DEADLINE
from models.tables import Alert

ALERT = Alert.__table__
BEFORE_THE_VOTE = ("source", "awareness_course", "file_preparation", "opinions", "cell_review")


@dataclass(frozen=True)
class Finding:
    alert_id: int
    candidate_id: int
    kind: str
    due_on: date | None
    key: str = ""


def _raise_alert(engine: Engine, *, kind: str, candidate_id: int, key: str, due_on: date | None,
                 who_acts: str | None, today: date, payload: dict, now: datetime) -> Finding | None:
    """Create the alert and its audit event once; None if it already exists."""
    with engine.connect() as conn:
        exists = conn.execute(select(ALERT.c.id).where(ALERT.c.kind == kind, ALERT.c.candidate_id == candidate_id,
                                                       ALERT.c.key == key)).scalar()
    if exists:
        return None
    try:
        with engine.begin() as conn:
            alert_id = conn.execute(ALERT.insert().values(
                kind=kind, candidate_id=candidate_id, key=key, due_on=due_on, who_acts=who_acts, created_on=today,
            ).returning(ALERT.c.id)).scalar_one()
    except IntegrityError:        # a concurrent sweep raised it first
        return None
    event_id = append_for_candidate_locked(engine, candidate_id, kind="alert", actor=SYSTEM, now=now,
                                           payload={"alert": kind, "key": key, **payload})
    with engine.begin() as conn:
        conn.execute(ALERT.update().where(ALERT.c.id == alert_id).values(audit_event_id=event_id))
    return Finding(alert_id, candidate_id, kind, due_on, key)


def flag_overdue_deadlines(engine: Engine, today: date, *, now: datetime | None = None) -> list[Finding]:
    """Every open statutory deadline whose last day has passed, flagged once."""
    now = now or datetime.now(UTC)
    with reading(engine) as conn:
        rows = conn.execute(
            select(DEADLINE.c.id, DEADLINE.c.candidate_id, DEADLINE.c.clock, DEADLINE.c.due_on, DEADLINE.c.who_acts)
            .where(DEADLINE.c.status == "open", DEADLINE.c.kind == "deadline", DEADLINE.c.due_on < today,
                   DEADLINE.c.flagged_on.is_(None))
            .order_by(DEADLINE.c.due_on, DEADLINE.c.id)
        ).all()
    found = []
    for r in rows:
        finding = _raise_alert(engine, kind="deadline_overdue", candidate_id=r.candidate_id, key=f"deadline:{r.id}",
                               due_on=r.due_on, who_acts=r.who_acts, today=today, now=now,
                               payload={"clock": r.clock, "due_on": r.due_on.isoformat()})
        with engine.begin() as conn:
            conn.execute(DEADLINE.update().where(DEADLINE.c.id == r.id, DEADLINE.c.flagged_on.is_(None))
                         .values(flagged_on=today))
        if finding:
            found.append(finding)
    return found


def probations_ended(engine: Engine, today: date) -> list[tuple[int, date]]:
    """(candidate id, end of probation) of probationary members whose 12 months are over."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(CANDIDATE.c.id, CANDIDATE.c.probation_ends_on)
            .where(CANDIDATE.c.stage == "probation", CANDIDATE.c.probation_ends_on <= today)
            .order_by(CANDIDATE.c.probation_ends_on, CANDIDATE.c.id)
        ).all()
    return [(r.id, r.probation_ends_on) for r in rows]


def _certificate_months(version: str) -> int | None:
    for event in all_rulesets()[version].events:
        for use in event.guards:
            if use.rule == "awareness_certificate":
                return int(use.params["valid_months"])
    return None


def certificates_expiring(engine: Engine, today: date, *, warn_months: int = 2,
                          now: datetime | None = None) -> list[Finding]:
    """Candidates not yet voted on whose awareness certificate expires within `warn_months`."""
    now = now or datetime.now(UTC)
    with reading(engine) as conn:
        rows = conn.execute(
            select(CANDIDATE.c.id, CANDIDATE.c.ruleset_version, CANDIDATE.c.awareness_certificate_on)
            .where(and_(CANDIDATE.c.stage.in_(BEFORE_THE_VOTE), CANDIDATE.c.awareness_certificate_on.is_not(None)))
        ).all()
    found = []
    for r in rows:
        months = _certificate_months(r.ruleset_version)
        if months is None:
            continue
        expires = add_months(r.awareness_certificate_on, months)
        if add_months(today, warn_months) >= expires:
            finding = _raise_alert(engine, kind="certificate_expiring", candidate_id=r.id,
                                   key=f"awareness:{r.awareness_certificate_on.isoformat()}", due_on=expires,
                                   who_acts="cell", today=today, now=now,
                                   payload={"expires_on": expires.isoformat()})
            if finding:
                found.append(finding)
    return found
