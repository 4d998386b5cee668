"""Scheduled flows that sweep the database: deadlines, the end of probation, pending links, course enrolment.

Time is Asia/Ho_Chi_Minh; each sweep takes an optional `as_of` date (ISO) so that an operator
can run it for a given day. Every finding is stored once, so running a sweep twice is harmless.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import anyio
from prefect import flow

from flows.transition import run_transition_flow
from ketnap.context import engine as default_engine
from ketnap.context import now as clock
from models.actors import SYSTEM
from models.requests import expire, load_request, pending, store_request
from models.snapshot import CANDIDATE
from models.sweeps import certificates_expiring, flag_overdue_deadlines, probations_ended
from models.transitions import TransitionRequest, local_today


def _as_of(as_of: str | None) -> date:
    return date.fromisoformat(as_of) if as_of else local_today(clock())


def _cell_of(engine: Any, candidate_id: int) -> str:
    from sqlalchemy import select

    with engine.connect() as conn:
        return conn.execute(select(CANDIDATE.c.cell_id).where(CANDIDATE.c.id == candidate_id)).scalar_one()


def recognition_request(candidate_id: int, ends_on: date) -> TransitionRequest:
    """The sweep's step when probation has ended: the same key however often it runs."""
    return TransitionRequest(candidate_id, "open_recognition", ends_on, SYSTEM,
                             idempotency_key=f"sweep:open_recognition:{candidate_id}:{ends_on.isoformat()}")


@flow(name="deadline-sweep", persist_result=False, log_prints=False)
async def deadline_sweep(as_of: str | None = None) -> dict[str, int]:
    """Flag overdue deadlines, open the recognition stage when probation ends, warn of expiring certificates."""
    engine = default_engine()
    today = _as_of(as_of)
    opened = 0
    for candidate_id, ends_on in await anyio.to_thread.run_sync(lambda: probations_ended(engine, today)):
        request_id, _, _ = await anyio.to_thread.run_sync(
            lambda c=candidate_id, e=ends_on: store_request(engine, recognition_request(c, e), now=clock()))
        outcome = await run_transition_flow(request_id, candidate_id, _cell_of(engine, candidate_id), "open_recognition")
        opened += outcome.get("status") == "applied"
    return {"recognition_opened": opened, **await anyio.to_thread.run_sync(lambda: _findings(engine, today))}


def deadline_sweep_without_prefect(as_of: str | None = None) -> dict[str, int]:
    """The same sweep when Prefect does not answer: each recognition step is applied directly and
    linked to a flow run later by `link-pending-requests`, like any step taken while Prefect was down."""
    from flows.submit import submit_transition

    engine, today = default_engine(), _as_of(as_of)
    opened = sum(submit_transition(engine, recognition_request(c, e), now=clock()).result.applied
                 for c, e in probations_ended(engine, today))
    return {"recognition_opened": opened, **_findings(engine, today)}


def _findings(engine: Any, today: date) -> dict[str, int]:
    from models.calendar_corrections import reconcile

    # first: deadlines a step opened under the calendar a correction replaced meanwhile (see calendar_corrections)
    reconciled = reconcile(engine, SYSTEM, now=clock())
    flagged = flag_overdue_deadlines(engine, today, now=clock())
    expiring = certificates_expiring(engine, today, now=clock())
    return {"overdue_flagged": len(flagged), "certificates_expiring": len(expiring),
            "deadlines_recomputed": len(reconciled.changes),
            **_deadline_notices(engine, today, [f.key for f in flagged])}


def _deadline_notices(engine: Any, today: date, flagged_keys: list[str]) -> dict[str, int]:
    from ketnap.settings import get_settings
    from models.calendar_in_force import current_calendar
    from models.reminders import plan_deadline_reminders, plan_overdue_notices, plan_probation_notices

    settings, calendar, now = get_settings(), current_calendar(engine), clock()
    due = plan_deadline_reminders(engine, today, calendar, now=now,
                                  lead_working_days=settings.deadline_reminder_working_days)
    overdue = plan_overdue_notices(engine, [int(k.split(":")[1]) for k in flagged_keys], today, calendar, now=now)
    probation = plan_probation_notices(engine, today, now=now, days_ahead=settings.probation_notice_days)
    return {"deadline_reminders": due.created, "overdue_notices": overdue.created,
            "probation_notices": probation.created}


@flow(name="link-pending-requests", persist_result=False, log_prints=False)
async def link_pending_requests(max_age_hours: int = 24, min_age_seconds: int = 30) -> dict[str, int]:
    """Run, through the transition flow, every request recorded while Prefect was unreachable.

    The stored idempotency key makes each run a replay of the first result (nothing is applied
    twice); the run then records the link in the candidate's audit chain.
    """
    engine = default_engine()
    to_run, too_old = await anyio.to_thread.run_sync(
        lambda: pending(engine, now=clock(), max_age=timedelta(hours=max_age_hours),
                        min_age=timedelta(seconds=min_age_seconds)))
    await anyio.to_thread.run_sync(lambda: expire(engine, too_old, now=clock()))
    linked = 0
    for request_id in to_run:
        _, request = await anyio.to_thread.run_sync(load_request, engine, request_id)
        outcome = await run_transition_flow(request_id, request.candidate_id, _cell_of(engine, request.candidate_id),
                                            request.event)
        linked += outcome.get("status") in ("applied", "refused")
    return {"linked": linked, "expired": len(too_old)}


@flow(name="sponsor-reminders", persist_result=False, log_prints=False)
async def sponsor_reminders(as_of: str | None = None) -> dict[str, int]:
    """Queue the sponsors' reminders of meetings coming up, and alert secretaries of repeated missing notes."""
    from models.calendar_in_force import current_calendar
    from models.meetings import meetings_between
    from models.reminders import due_for_reminders, plan_missing_note_alerts, plan_sponsor_notes

    engine, today = default_engine(), _as_of(as_of)
    calendar = current_calendar(engine)

    def plan() -> dict[str, int]:
        upcoming = due_for_reminders(meetings_between(engine, today, today + timedelta(days=31), calendar), today)
        notes = plan_sponsor_notes(engine, upcoming, now=clock())
        past = meetings_between(engine, today - timedelta(days=190), today - timedelta(days=1), calendar)
        alerts = plan_missing_note_alerts(engine, past, now=clock())
        return {"meetings": len(upcoming), "reminders": notes.created, "unreachable": notes.unreachable,
                "missing_note_alerts": alerts.created}

    return await anyio.to_thread.run_sync(plan)


@flow(name="deliver-notifications", persist_result=False, log_prints=False)
async def deliver_notifications(limit: int = 1000) -> dict[str, Any]:
    """Send what the outbox holds that is due (by email and Apprise), with retries; not at night."""
    from ketnap.context import delivery_options, transport
    from models.outbox import deliver

    engine = default_engine()
    return (await anyio.to_thread.run_sync(
        lambda: deliver(engine, transport(), now=clock(), limit=limit, **delivery_options()))).as_dict()


@flow(name="course-enrolment", persist_result=False, log_prints=False)
async def course_enrolment(as_of: str | None = None) -> dict[str, int]:
    """Enrol each nominee (awareness and new-member courses) in the earliest session with room in their
    area, and notify them and their secretary; nobody is enrolled twice however often it runs."""
    from models.courses import plan_enrolment

    engine, today = default_engine(), _as_of(as_of)
    report = await anyio.to_thread.run_sync(lambda: plan_enrolment(engine, today, now=clock()))
    return report.as_dict()
