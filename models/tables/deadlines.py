"""Statutory deadlines and periods opened by transitions (the clocks of the procedure definition)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class Deadline(SQLModel, table=True):
    __tablename__ = "deadline"

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    clock: str = Field(max_length=48)
    kind: str = Field(max_length=16)                             # deadline | period
    who_acts: str = Field(max_length=32)
    starts_on: date
    due_on: date = Field(index=True)
    extended_days: int = 0
    status: str = Field(default="open", max_length=16, index=True)   # open | met | late | cancelled
    closed_on: date | None = None
    ruleset_version: str = Field(max_length=32)
    calendar_version: str = Field(max_length=96)
    opened_by_event_id: int | None = Field(default=None, foreign_key="audit_event.id")
    flagged_on: date | None = None                               # when the sweep first found it overdue
