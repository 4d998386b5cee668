"""Day one and the next rule change: import batches of files in progress, rule-set migrations, calendar corrections.

Each row here records one administrative operation (who, when, on whose authority, what it changed) so that it can be
listed, audited and, for a migration, reverted candidate by candidate.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class ImportBatch(SQLModel, table=True):
    """One spreadsheet of files already in progress on paper, imported in one transaction."""

    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    source_name: str = Field(max_length=200)                     # the uploaded file's name
    source_digest: str = Field(max_length=64)                    # sha256 of its bytes
    mode: str = Field(max_length=16)                             # refuse | unverified (what to do with a row breaking a rule)
    authority: str = Field(max_length=300)                       # on whose authority the paper steps are entered
    rows: int
    candidates: int
    unverified: int                                              # candidates accepted "imported, not verified"
    actor: str = Field(max_length=128)
    role: str = Field(max_length=32)
    recorded_at: datetime
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RulesetMigration(SQLModel, table=True):
    """Moving in-flight candidates from one rule-set version to another (applied; dry runs are not stored)."""

    __tablename__ = "ruleset_migration"

    id: int | None = Field(default=None, primary_key=True)
    from_version: str = Field(max_length=32)
    to_version: str = Field(max_length=32)
    actor: str = Field(max_length=128)
    role: str = Field(max_length=32)
    applied_at: datetime
    calendar_version: str = Field(max_length=96)
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class RulesetMigrationItem(SQLModel, table=True):
    """What a migration did to one candidate, with what it takes to revert it."""

    __tablename__ = "ruleset_migration_item"
    __table_args__ = (UniqueConstraint("migration_id", "candidate_id", name="uq_migration_candidate"),)

    id: int | None = Field(default=None, primary_key=True)
    migration_id: int = Field(foreign_key="ruleset_migration.id", index=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    outcome: str = Field(max_length=16)                          # moved | mapped | stayed | blocked | failed
    stage_before: str = Field(max_length=48)
    stage_after: str = Field(max_length=48)
    version_after: int | None = None                             # the candidate's version right after (revert check)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audit_event_id: int | None = Field(default=None, foreign_key="audit_event.id")
    reverted_at: datetime | None = None
    revert_event_id: int | None = Field(default=None, foreign_key="audit_event.id")


class CalendarCorrection(SQLModel, table=True):
    """A year's days off as corrected after the government's (re)announcement; the latest revision per year wins."""

    __tablename__ = "calendar_correction"
    __table_args__ = (UniqueConstraint("year", "revision", name="uq_calendar_year_revision"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)
    revision: int
    source: str = Field(max_length=300)                          # the announcement
    days_off: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))        # ISO date -> name
    working_days: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))    # make-up working days
    not_days_off: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))    # library days withdrawn
    calendar_before: str = Field(max_length=96)
    calendar_after: str = Field(max_length=96)
    actor: str = Field(max_length=128)
    role: str = Field(max_length=32)
    recorded_at: datetime
    first_changed_day: date | None = None
    summary: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
