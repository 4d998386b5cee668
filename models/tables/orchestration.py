"""Durable transition requests (what a secretary asked for, whatever Prefect's state) and alerts."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class TransitionRequestRow(SQLModel, table=True):
    """One requested step, stored before any orchestration so that nothing is lost.

    status: queued (stored, not yet applied) → applied | refused (by the transition function,
    through a flow run or directly when Prefect was unreachable) | failed (bad input, conflict)
    | expired (queued too long ago to apply safely). `flow_run_id` is set once a flow run has
    handled it; `linked` tells whether the audit trail points at that flow run.
    """

    __tablename__ = "transition_request"

    id: str = Field(primary_key=True, max_length=36)            # uuid4; the only flow parameter
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    event: str = Field(max_length=64)
    effective_on: date
    inputs: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    actor: str = Field(max_length=128)
    role: str = Field(max_length=32)
    idempotency_key: str = Field(max_length=128, unique=True)
    expected_version: int | None = None
    reason: str | None = None
    status: str = Field(default="queued", max_length=16, index=True)
    audit_event_id: int | None = Field(default=None, foreign_key="audit_event.id")
    flow_run_id: str | None = Field(default=None, max_length=36)
    linked: bool = False
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime
    updated_at: datetime


class Alert(SQLModel, table=True):
    """Something the sweeps found that someone must act on, created once per (kind, candidate, key)."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("kind", "candidate_id", "key", name="uq_alert_once"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)            # deadline_overdue | certificate_expiring | probation_ending …
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    key: str = Field(max_length=64)             # what makes it unique: a deadline id, a date
    due_on: date | None = None
    who_acts: str | None = Field(default=None, max_length=32)
    created_on: date
    audit_event_id: int | None = Field(default=None, foreign_key="audit_event.id")
    resolved_on: date | None = None
