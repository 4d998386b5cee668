"""Admission targets (chỉ tiêu kết nạp) a committee sets for itself or its subordinates, per year or per term."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.tables.audit import AuditEvent
from models.tables.organisation import Member


class AdmissionTarget(SQLModel, table=True):
    """How many people a unit is to admit in a year, or over a congress term (nhiệm kỳ, e.g. 2025–2030)."""

    __tablename__ = "admission_target"
    __table_args__ = (UniqueConstraint("unit_id", "period_kind", "start_year", "end_year", name="uq_admission_target"),)

    id: int | None = Field(default=None, primary_key=True)
    unit_id: str = Field(foreign_key="org_unit.id", index=True, max_length=64)
    period_kind: str = Field(max_length=8)                       # year | term
    start_year: int                                              # the year, or the term's first year
    end_year: int                                                # = start_year for a year; the term's last year
    count: int                                                   # people to admit
    set_by: str = Field(max_length=128)                          # the actor who set it
    set_at: datetime


# --- indexes the yearly statistics need (models/statistics.py), declared here with the statistics' own table ---

# The statistics' time per stage reads each candidate's lifecycle events (created, transitions) in order out of
# millions of reads, notes and document events: a partial index holds just those, with the columns read.
LIFECYCLE_KINDS = "kind IN ('created', 'transition')"
Index("ix_audit_event_lifecycle", AuditEvent.__table__.c.candidate_id, AuditEvent.__table__.c.seq,
      AuditEvent.__table__.c.effective_on, AuditEvent.__table__.c.stage_before, AuditEvent.__table__.c.stage_after,
      sqlite_where=text(LIFECYCLE_KINDS), postgresql_where=text(LIFECYCLE_KINDS))

# Members at a year's end, per cell: read from the index alone (a million members, no table lookups).
Index("ix_member_register", Member.__table__.c.cell_id, Member.__table__.c.admitted_on, Member.__table__.c.recognised_on,
      Member.__table__.c.left_on, Member.__table__.c.standing)
