"""The audit trail: append-only, hash-chained events. The database refuses UPDATE and DELETE."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("chain_key", "seq", name="uq_audit_chain_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    chain_key: str = Field(max_length=64)                        # "candidate:42", "org", "member:7"
    seq: int
    candidate_id: int | None = Field(default=None, index=True)
    kind: str = Field(max_length=24)                             # created | transition | refusal | read | import …
    event: str | None = Field(default=None, max_length=64)       # procedure event, when there is one
    actor: str = Field(max_length=128)
    role: str = Field(max_length=32)
    effective_on: date | None = None
    recorded_at: datetime
    stage_before: str | None = Field(default=None, max_length=48)
    stage_after: str | None = Field(default=None, max_length=48)
    reason: str | None = Field(default=None, sa_type=Text)
    ruleset_version: str | None = Field(default=None, max_length=32)
    flow_run_id: str | None = Field(default=None, max_length=36, index=True)
    idempotency_key: str | None = Field(default=None, max_length=128, unique=True)
    request_digest: str | None = Field(default=None, max_length=64)
    payload: str = Field(sa_type=Text)                           # canonical JSON
    payload_digest: str = Field(max_length=64)
    documents: str = Field(default="[]", sa_type=Text)           # JSON list of document hashes
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
