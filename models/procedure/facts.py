"""What the guards see: plain, immutable snapshots of a candidate's situation on a date.

Built by the storage layer (models/snapshot.py) or by a test by hand; nothing here touches
the database or the clock. `PROCEDURE_FACTS` is the catalogue of facts a procedure
definition may record, with their types: a rule set can only write facts named here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from models.calendar.periods import months_between
from models.calendar.working_days import WorkingCalendar

FactType = Literal["date", "int", "text", "bool", "member"]

# Facts the procedure records about a candidate as the file advances.
PROCEDURE_FACTS: dict[str, FactType] = {
    "source_listed_on": "date",            # cell resolution putting the person on the source list
    "course_nominated_on": "date",
    "awareness_certificate_number": "text",
    "awareness_certificate_on": "date",    # giấy chứng nhận bồi dưỡng nhận thức về Đảng
    "application_on": "date",              # 1-KNĐ
    "cv_certified_on": "date",             # 2-KNĐ certified by the grassroots committee
    "background_verified_on": "date",      # thẩm tra lý lịch
    "opinions_summarised_on": "date",      # 5-KNĐ
    "cell_resolution_on": "date",          # 6-KNĐ
    "cell_approve": "int",
    "cell_full_members": "int",
    "cell_excused_absent": "int",
    "appraisal_on": "date",                # 7-KNĐ
    "grassroots_resolution_on": "date",    # 8-KNĐ
    "grassroots_approve": "int",
    "grassroots_committee_members": "int",
    "decision_number": "text",             # 9-KNĐ
    "decision_on": "date",                 # party age counts from this date
    "decision_received_on": "date",
    "ceremony_on": "date",
    "helper_member_id": "member",
    "probation_ends_on": "date",
    "new_member_certificate_number": "text",
    "new_member_certificate_on": "date",
    "self_review_on": "date",              # 10-KNĐ
    "helper_review_on": "date",            # 11-KNĐ
    "recognition_opinions_on": "date",     # 12-KNĐ
    "recognition_cell_resolution_on": "date",  # 13-KNĐ
    "recognition_cell_approve": "int",
    "recognition_cell_full_members": "int",
    "recognition_cell_excused_absent": "int",
    "recognition_appraisal_on": "date",    # 14-KNĐ
    "recognition_grassroots_resolution_on": "date",  # 15-KNĐ
    "recognition_grassroots_approve": "int",
    "recognition_grassroots_committee_members": "int",
    "failed_cell_recognition_votes": "int",        # counted per lower body: three failures send the file up
    "failed_grassroots_recognition_votes": "int",
    "recognition_decision_number": "text", # 16-KNĐ
    "recognition_decision_on": "date",
    "recognised_on": "date",               # effective at the end of probation
    "removal_proposed_on": "date",
    "removal_decision_number": "text",
    "closed_on": "date",
    "closure_reason": "text",
    "decision_extension_reason": "text",
}


@dataclass(frozen=True)
class MemberFacts:
    """A party member as the guards need them."""

    id: int
    name: str
    cell_id: str
    admitted_on: date | None          # date of the admission decision
    recognised_on: date | None        # became a full member
    left_on: date | None = None
    standing: str = "active"          # active | temporarily_transferred | exempted | left | died

    def is_full_on(self, day: date) -> bool:
        return (
            self.recognised_on is not None
            and self.recognised_on <= day
            and (self.left_on is None or self.left_on > day)
        )

    def is_member_on(self, day: date) -> bool:
        return (
            self.admitted_on is not None
            and self.admitted_on <= day
            and (self.left_on is None or self.left_on > day)
        )


SponsorKind = Literal["member", "youth_union", "trade_union"]


@dataclass(frozen=True)
class SponsorFacts:
    """One introduction of the candidate: a member (3-KNĐ) or a union resolution (4-KNĐ / 4A-KNĐ)."""

    kind: SponsorKind
    member: MemberFacts | None = None
    together_since: date | None = None       # worked / studied / lived together since
    same_grassroots: bool = True             # within the same grassroots organisation
    resolution_ref: str | None = None        # union resolution number
    resolution_on: date | None = None

    def months_together(self, on: date) -> int:
        return months_between(self.together_since, on) if self.together_since else 0


@dataclass(frozen=True)
class UnitFacts:
    """The candidate's cell and what the organisation tree says about it, on the event date."""

    cell_id: str
    full_members: int                       # full members of the cell on the date (registry)
    excusable_members: int                  # of them: temporarily transferred or exempted
    has_intermediate_committee: bool
    has_grassroots_committee: bool
    grassroots_committee_size: int | None
    competent_unit_id: str | None
    has_youth_union: bool
    has_trade_union: bool


@dataclass(frozen=True)
class PriorMembership:
    """Earlier membership, for re-admission (kết nạp lại)."""

    left_on: date
    leave_reason: str                        # e.g. quit_activities, resigned_hardship, expelled_other
    expunged_conviction: bool = False
    readmitted_before: bool = False


@dataclass(frozen=True)
class CandidateFacts:
    id: int
    stage: str
    birth_date: date
    gender: str
    general_education_grade: int             # highest completed grade of general education (0-12)
    education_exemption: str | None          # recorded reason, e.g. ethnic_minority_area
    youth_union_member: bool
    trade_union_member: bool
    over_60_consent_ref: str | None
    readmission_request_on: date | None
    readmission_consent_ref: str | None
    prior: PriorMembership | None
    facts: Mapping[str, Any] = field(default_factory=dict)

    def age_in_months(self, on: date) -> int:
        return months_between(self.birth_date, on)


@dataclass(frozen=True)
class ClockState:
    clock: str
    due_on: date
    extended_days: int = 0


@dataclass(frozen=True)
class Situation:
    """Everything a guard or a routing condition may look at for one event."""

    on: date                                   # the event's effective date
    candidate: CandidateFacts
    unit: UnitFacts
    sponsors: tuple[SponsorFacts, ...]
    inputs: Mapping[str, Any]
    calendar: WorkingCalendar
    clocks: Mapping[str, ClockState] = field(default_factory=dict)

    def fact(self, name: str) -> Any:
        """A recorded procedure fact (None when not recorded yet)."""
        return self.candidate.facts.get(name)
