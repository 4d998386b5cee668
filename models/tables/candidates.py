"""Candidates (người vào Đảng) with the CV facts the rules and statistics need, and their sponsors."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Column, false
from sqlmodel import Field, SQLModel

# Procedure facts kept in their own columns because sweeps and statistics query them;
# every other procedure fact lives in the `facts` JSON column.
PROMOTED_FACTS = (
    "source_listed_on", "awareness_certificate_on", "cell_resolution_on", "decision_on",
    "ceremony_on", "probation_ends_on", "recognised_on", "closed_on", "helper_member_id",
    "new_member_certificate_on",
)


class Candidate(SQLModel, table=True):
    __tablename__ = "candidate"

    id: int | None = Field(default=None, primary_key=True)
    # --- the CV facts (lý lịch): sensitive personal data, shown only within the role's subtree
    full_name: str = Field(max_length=200)
    birth_date: date
    gender: str = Field(max_length=8)                            # nam | nu
    ethnicity: str = Field(max_length=64)                        # e.g. Kinh, Thái, H'Mông
    religion: str | None = Field(default=None, max_length=64)
    general_education_grade: int                                 # 0-12 (e.g. 12 for "12/12")
    education_exemption: str | None = Field(default=None, max_length=64)
    qualification: str | None = Field(default=None, max_length=100)   # professional level
    occupation: str = Field(max_length=64)                       # statistics category code
    youth_union_member: bool = False
    trade_union_member: bool = False
    residence_village_id: str | None = Field(default=None, foreign_key="org_unit.id", max_length=64)
    work_unit: str | None = Field(default=None, max_length=200)
    over_60_consent_ref: str | None = Field(default=None, max_length=100)
    # --- earlier membership (kết nạp lại)
    prior_left_on: date | None = None
    prior_leave_reason: str | None = Field(default=None, max_length=64)
    prior_expunged_conviction: bool = False
    prior_readmitted_before: bool = False
    readmission_request_on: date | None = None
    readmission_consent_ref: str | None = Field(default=None, max_length=100)
    # --- where the file stands
    cell_id: str = Field(foreign_key="org_unit.id", index=True, max_length=64)
    ruleset_version: str = Field(max_length=32)
    stage: str = Field(index=True, max_length=48)
    version: int = 1                                             # optimistic concurrency
    last_event_on: date | None = None                            # effective date of the latest step
    facts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    source_listed_on: date | None = None
    awareness_certificate_on: date | None = None
    cell_resolution_on: date | None = None
    decision_on: date | None = Field(default=None, index=True)
    ceremony_on: date | None = None
    probation_ends_on: date | None = Field(default=None, index=True)
    recognised_on: date | None = None
    closed_on: date | None = None
    helper_member_id: int | None = Field(default=None, foreign_key="member.id")   # assigned at the ceremony
    new_member_certificate_on: date | None = None
    # --- a file that was already in progress on paper when ketnap started (issue 8)
    import_batch_id: int | None = Field(default=None, foreign_key="import_batch.id", index=True)
    # accepted although a step broke a rule: "đã nhập, chưa xác minh", shown wherever the file is
    imported_unverified: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # --- the head of this candidate's audit chain (checked by `audit verify`)
    audit_seq: int = 0
    audit_head: str = Field(default="", max_length=64)
    created_at: datetime


class Sponsorship(SQLModel, table=True):
    """An introduction (3-KNĐ by a member, 4-KNĐ / 4A-KNĐ by a union) or an assigned helper."""

    __tablename__ = "sponsorship"

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    role: str = Field(default="introducer", max_length=16)       # introducer | helper
    kind: str = Field(max_length=16)                             # member | youth_union | trade_union
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    together_since: date | None = None                           # worked / studied / lived together since
    relation: str | None = Field(default=None, max_length=16)    # work | study | residence
    body_name: str | None = Field(default=None, max_length=200)  # union committee that resolved
    resolution_ref: str | None = Field(default=None, max_length=64)
    resolution_on: date | None = None
    started_on: date
    ended_on: date | None = None
