"""Who can be notified, the notification outbox, cell meetings and the sponsors' notes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Recipient(SQLModel, table=True):
    """A contact point: a member, a candidate, a cell's secretary or a committee's organisation department."""

    __tablename__ = "recipient"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=96, unique=True)       # "member:<code>", "candidate:<id>", "secretary:<cell>", "orgdept:<unit>"
    kind: str = Field(max_length=24)                   # member | candidate | cell_secretary | organisation_department
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    candidate_id: int | None = Field(default=None, foreign_key="candidate.id", index=True)
    unit_id: str | None = Field(default=None, foreign_key="org_unit.id", max_length=64)
    name: str = Field(max_length=200)                  # how messages address them
    email: str | None = Field(default=None, max_length=254)
    apprise_urls: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    channel: str = Field(default="email", max_length=8)   # email | apprise | both
    active: bool = True


class Notification(SQLModel, table=True):
    """One message in the durable outbox, created once per (recipient, reason, period)."""

    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("recipient_id", "reason", "period_key", name="uq_notification_once"),)

    id: int | None = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="recipient.id", index=True)
    reason: str = Field(max_length=32)                 # sponsor_note | deadline_due | deadline_overdue | …
    period_key: str = Field(max_length=96)             # what makes it once: a meeting date and candidate, a deadline…
    candidate_id: int | None = Field(default=None, foreign_key="candidate.id", index=True)
    context: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))   # ids and dates only
    status: str = Field(default="pending", max_length=12, index=True)   # pending | sending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None = None
    channel_used: str | None = Field(default=None, max_length=16)
    last_error: str | None = Field(default=None, sa_type=Text)


class MeetingRule(SQLModel, table=True):
    """A cell's monthly meeting: a day of the month, moved to the next working day when needed."""

    __tablename__ = "meeting_rule"

    cell_id: str = Field(primary_key=True, foreign_key="org_unit.id", max_length=64)
    day_of_month: int = Field(ge=1, le=31)
    lead_days: int = Field(default=3, ge=0, le=31)      # reminders go out this many days before
    missing_alert_after: int = Field(default=2, ge=1)   # consecutive missing notes before the secretary is alerted


class MeetingDate(SQLModel, table=True):
    """An explicit meeting date for one month (or a cancelled month), overriding the rule."""

    __tablename__ = "meeting_date"
    __table_args__ = (UniqueConstraint("cell_id", "month", name="uq_meeting_month"),)

    id: int | None = Field(default=None, primary_key=True)
    cell_id: str = Field(foreign_key="org_unit.id", max_length=64)
    month: str = Field(max_length=7)                    # "2026-12"
    meets_on: date | None = None                        # None: no meeting that month
    note: str | None = Field(default=None, max_length=200)


class SponsorNote(SQLModel, table=True):
    """A sponsor's or helper's note on a candidate for one cell meeting."""

    __tablename__ = "sponsor_note"
    __table_args__ = (UniqueConstraint("member_id", "candidate_id", "meeting_on", name="uq_note_per_meeting"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    cell_id: str = Field(foreign_key="org_unit.id", max_length=64)
    meeting_on: date
    text: str = Field(sa_type=Text)
    via: str = Field(max_length=12)                     # link | secretary | account
    recorded_by: str = Field(max_length=128)
    recorded_at: datetime


class CourseSession(SQLModel, table=True):
    """A session of the awareness course or of the new-member course."""

    __tablename__ = "course_session"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)                    # awareness | new_member
    provider: str = Field(max_length=200)               # e.g. Trung tâm Chính trị …
    starts_on: date
    ends_on: date
    place: str = Field(max_length=200)
    capacity: int = Field(ge=1)
    area_unit_id: str = Field(foreign_key="org_unit.id", max_length=64)   # the committee whose cells it serves


class CourseEnrolment(SQLModel, table=True):
    __tablename__ = "course_enrolment"
    __table_args__ = (UniqueConstraint("session_id", "candidate_id", name="uq_enrolment"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="course_session.id", index=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    status: str = Field(default="enrolled", max_length=12)   # enrolled | attended | absent | certified
    enrolled_on: date
    certificate_number: str | None = Field(default=None, max_length=64)
    certificate_on: date | None = None
