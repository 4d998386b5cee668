"""Durable transition requests: stored before orchestration, so a step is never lost or applied twice.

Every request carries an idempotency key (the caller's, or a fresh one), so running it once
through a flow, again directly when Prefect is unreachable, and again when the reconciler
links it to a flow run, applies it exactly once: the later runs replay the first result.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, select

from models.actors import Actor
from models.audit.trail import AUDIT
from models.tables import TransitionRequestRow
from models.transitions import TransitionRequest, TransitionResult

REQUEST = TransitionRequestRow.__table__
UPDATE_REQUEST = REQUEST.update().where(REQUEST.c.id == bindparam("b_id"))


def store_request(engine: Engine, request: TransitionRequest, *,
                  now: datetime | None = None) -> tuple[str, TransitionRequest, bool]:
    """Store the request (status queued); return its id, the request with its idempotency key, and
    whether it is new. A request whose key is already stored is that request: a replayed click."""
    now = now or datetime.now(UTC)
    key = request.idempotency_key or f"req:{uuid.uuid4()}"
    request = replace(request, idempotency_key=key)
    with engine.begin() as conn:
        existing = conn.execute(select(REQUEST.c.id).where(REQUEST.c.idempotency_key == key)).scalar()
        if existing:
            return existing, request, False
        request_id = str(uuid.uuid4())
        conn.execute(REQUEST.insert().values(
            id=request_id, candidate_id=request.candidate_id, event=request.event, effective_on=request.on,
            inputs={k: v if isinstance(v, int | float | bool) else str(v) for k, v in request.inputs.items()},
            actor=request.actor.name, role=request.actor.role, idempotency_key=key,
            expected_version=request.expected_version, reason=request.reason, status="queued",
            created_at=now, updated_at=now,
        ))
    return request_id, request, True


def load_request(engine: Engine, request_id: str) -> tuple[Mapping[str, Any], TransitionRequest]:
    with engine.connect() as conn:
        row = conn.execute(select(REQUEST).where(REQUEST.c.id == request_id)).mappings().first()
    if row is None:
        raise LookupError(f"no transition request {request_id}")
    return row, TransitionRequest(
        candidate_id=row["candidate_id"], event=row["event"], on=row["effective_on"],
        actor=Actor(row["actor"], row["role"]), inputs=dict(row["inputs"]), idempotency_key=row["idempotency_key"],
        expected_version=row["expected_version"], reason=row["reason"],
    )


def record_outcome(engine: Engine, request_id: str, result: TransitionResult, *, flow_run_id: str | None,
                   now: datetime | None = None) -> str | None:
    """Store what happened; returns the flow run the step is linked to in the audit trail, if any.

    Linked means: the audit event was written by a flow run, or a `flow_linked` event names one.
    """
    with engine.begin() as conn:
        event_run = conn.execute(select(AUDIT.c.flow_run_id).where(AUDIT.c.id == result.audit_event_id)).scalar()
        row = conn.execute(select(REQUEST.c.attempts, REQUEST.c.linked, REQUEST.c.flow_run_id)
                           .where(REQUEST.c.id == request_id)).first()
        linked_run = event_run or (row.flow_run_id if row and row.linked else None)
        conn.execute(UPDATE_REQUEST, {
            "b_id": request_id, "status": result.status, "audit_event_id": result.audit_event_id,
            "flow_run_id": linked_run or flow_run_id, "linked": linked_run is not None,
            "attempts": (row.attempts if row else 0) + 1, "updated_at": now or datetime.now(UTC), "last_error": None,
        })
    return linked_run


def record_failure(engine: Engine, request_id: str, error: str, *, flow_run_id: str | None = None,
                   now: datetime | None = None) -> None:
    """A request the transition function rejected (bad input, conflict): it will not be retried."""
    with engine.begin() as conn:
        attempts = conn.execute(select(REQUEST.c.attempts).where(REQUEST.c.id == request_id)).scalar() or 0
        conn.execute(UPDATE_REQUEST, {"b_id": request_id, "status": "failed", "last_error": error[:2000],
                                      "flow_run_id": flow_run_id, "attempts": attempts + 1,
                                      "updated_at": now or datetime.now(UTC)})


def mark_link(engine: Engine, request_id: str, flow_run_id: str, *, now: datetime | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(UPDATE_REQUEST, {"b_id": request_id, "flow_run_id": flow_run_id, "linked": True,
                                      "updated_at": now or datetime.now(UTC)})


def pending(engine: Engine, *, now: datetime | None = None, max_age: timedelta = timedelta(hours=24),
            min_age: timedelta = timedelta(seconds=30)) -> tuple[list[str], list[str]]:
    """(to run, expired): requests still queued or applied without a flow run, oldest first.

    Requests younger than `min_age` are left to the process handling them now; queued requests
    older than `max_age` are expired rather than applied long after the secretary asked.
    """
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            select(REQUEST.c.id, REQUEST.c.status, REQUEST.c.created_at, REQUEST.c.linked)
            .where(REQUEST.c.status.in_(["queued", "applied", "refused"]), REQUEST.c.linked.is_(False))
            .order_by(REQUEST.c.created_at)
        ).all()
    run, expired = [], []
    for r in rows:
        age = now - r.created_at
        if age < min_age:
            continue
        if r.status == "queued" and age > max_age:
            expired.append(r.id)
        else:
            run.append(r.id)
    return run, expired


def expire(engine: Engine, request_ids: list[str], *, now: datetime | None = None) -> None:
    with engine.begin() as conn:
        for rid in request_ids:
            conn.execute(UPDATE_REQUEST, {"b_id": rid, "status": "expired", "updated_at": now or datetime.now(UTC),
                                          "last_error": "queued for longer than the maximum age; not applied"})


def link_flow_run(engine: Engine, request_id: str, audit_event_id: int, flow_run_id: str, actor: Actor,
                  *, now: datetime | None = None) -> int:
    """Record in the candidate's chain that `flow_run_id` handled a step applied without one."""
    from models.casefile import append_for_candidate_locked

    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        candidate_id = conn.execute(select(REQUEST.c.candidate_id).where(REQUEST.c.id == request_id)).scalar_one()
    event_id = append_for_candidate_locked(
        engine, candidate_id, kind="flow_linked", actor=actor, flow_run_id=flow_run_id, now=now,
        payload={"audit_event_id": audit_event_id, "request_id": request_id},
    )
    mark_link(engine, request_id, flow_run_id, now=now)
    return event_id
