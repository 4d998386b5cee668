"""All tables; importing this package fills SQLModel.metadata (used by Alembic)."""

from models.tables.accounts import Account, AccountGrant, ApiToken, LoginAttempt, WebSession
from models.tables.audit import AuditEvent
from models.tables.candidates import PROMOTED_FACTS, Candidate, Sponsorship
from models.tables.changes import CalendarCorrection, ImportBatch, RulesetMigration, RulesetMigrationItem
from models.tables.deadlines import Deadline
from models.tables.documents import Document
from models.tables.notifications import (
    CourseEnrolment,
    CourseSession,
    MeetingDate,
    MeetingRule,
    Notification,
    Recipient,
    SponsorNote,
)
from models.tables.orchestration import Alert, TransitionRequestRow
from models.tables.organisation import Member, OrgUnit
from models.tables.targets import AdmissionTarget as AdmissionTarget

__all__ = [
    "PROMOTED_FACTS",
    "Account",
    "AccountGrant",
    "Alert",
    "CalendarCorrection",
    "ImportBatch",
    "RulesetMigration",
    "RulesetMigrationItem",
    "ApiToken",
    "AuditEvent",
    "Candidate",
    "CourseEnrolment",
    "CourseSession",
    "Deadline",
    "Document",
    "LoginAttempt",
    "MeetingDate",
    "MeetingRule",
    "Member",
    "Notification",
    "OrgUnit",
    "Recipient",
    "SponsorNote",
    "Sponsorship",
    "TransitionRequestRow",
    "WebSession",
]
