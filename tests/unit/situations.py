"""Situations built by hand for the guard and engine unit tests.

`situation()` with no arguments is a file ready for the cell's admission vote that every
guard of `cell_approves` in the qd294-2025 rule set accepts: a 24-year-old candidate with
grade 12, an awareness certificate issued seven months earlier, the file documents
recorded, a cell with 5 full members and two full-member sponsors with 5 years together.
Each test changes only what it is about.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from models.calendar.working_days import vietnam_calendar
from models.guards import GUARDS, Params, Problem
from models.procedure.facts import (
    CandidateFacts,
    ClockState,
    MemberFacts,
    PriorMembership,
    Situation,
    SponsorFacts,
    UnitFacts,
)
from models.procedure.loader import get_ruleset

RULESET = "qd294-2025"
CELL = "cb-ban-na-la"
OTHER_CELL = "cb-ban-huoi-mu"

ON = date(2025, 10, 15)                 # a Wednesday, after qd294-2025 came into force
BIRTH_DATE = date(2001, 3, 10)          # 24 years 7 months on ON
TOGETHER_SINCE = date(2020, 10, 15)     # 5 years before ON

# The documents a file holds when it reaches the cell vote.
READY_FOR_CELL_VOTE: dict[str, Any] = {
    "awareness_certificate_number": "123/GCN-TTCT",
    "awareness_certificate_on": date(2025, 3, 20),
    "application_on": date(2025, 6, 2),
    "cv_certified_on": date(2025, 7, 1),
    "background_verified_on": date(2025, 8, 4),
    "opinions_summarised_on": date(2025, 9, 8),
}


def member(
    id: int = 101,
    name: str = "Lò Văn Bình",
    *,
    cell_id: str = CELL,
    admitted_on: date | None = date(2009, 5, 19),
    recognised_on: date | None = date(2010, 5, 19),
    left_on: date | None = None,
    standing: str = "active",
) -> MemberFacts:
    """A party member; by default a full member of the candidate's cell since 2010."""
    return MemberFacts(id, name, cell_id, admitted_on, recognised_on, left_on, standing)


def probationary(id: int = 103, name: str = "Cà Thị Hoa", *, admitted_on: date = date(2025, 3, 1), **kw: Any) -> MemberFacts:
    """A member admitted recently, not yet recognised as a full member."""
    return member(id, name, admitted_on=admitted_on, recognised_on=None, **kw)


def sponsor(
    m: MemberFacts | None = None, *, together_since: date | None = TOGETHER_SINCE, same_grassroots: bool = True,
) -> SponsorFacts:
    """An introduction by a member (3-KNĐ)."""
    return SponsorFacts("member", member=m or member(), together_since=together_since, same_grassroots=same_grassroots)


def union_resolution(
    kind: str = "youth_union", *, ref: str | None = "05-NQ/ĐTN", on: date | None = date(2025, 9, 1),
) -> SponsorFacts:
    """An introduction by a Youth Union (4-KNĐ) or trade-union (4A-KNĐ) resolution."""
    return SponsorFacts(kind, resolution_ref=ref, resolution_on=on)  # type: ignore[arg-type]


def two_sponsors(together_since: date = TOGETHER_SINCE) -> tuple[SponsorFacts, SponsorFacts]:
    return (
        sponsor(member(101, "Lò Văn Bình"), together_since=together_since),
        sponsor(member(102, "Quàng Thị Lan"), together_since=together_since),
    )


def cell_unit(**overrides: Any) -> UnitFacts:
    """The candidate's cell: 5 full members, none excusable, under a grassroots committee of 9."""
    data: dict[str, Any] = {
        "cell_id": CELL,
        "full_members": 5,
        "excusable_members": 0,
        "has_intermediate_committee": False,
        "has_grassroots_committee": True,
        "grassroots_committee_size": 9,
        "competent_unit_id": "du-xa-muong-phang",
        "has_youth_union": False,
        "has_trade_union": False,
    }
    data.update(overrides)
    return UnitFacts(**data)


def prior(left_on: date, leave_reason: str = "moved_abroad", **kw: Any) -> PriorMembership:
    return PriorMembership(left_on=left_on, leave_reason=leave_reason, **kw)


def situation(
    *,
    on: date = ON,
    birth_date: date = BIRTH_DATE,
    stage: str = "cell_review",
    sponsors: Iterable[SponsorFacts] | None = None,
    unit: UnitFacts | None = None,
    inputs: Mapping[str, Any] | None = None,
    facts: Mapping[str, Any] | None = None,
    clocks: Mapping[str, ClockState] | None = None,
    **candidate: Any,
) -> Situation:
    """A Situation on `on`; `facts` are merged over READY_FOR_CELL_VOTE (a None value removes a fact).

    Any other keyword overrides a CandidateFacts field (general_education_grade, prior, ...).
    """
    merged = {**READY_FOR_CELL_VOTE, **(facts or {})}
    cand: dict[str, Any] = {
        "id": 1,
        "stage": stage,
        "birth_date": birth_date,
        "gender": "nam",
        "general_education_grade": 12,
        "education_exemption": None,
        "youth_union_member": True,
        "trade_union_member": False,
        "over_60_consent_ref": None,
        "readmission_request_on": None,
        "readmission_consent_ref": None,
        "prior": None,
        "facts": {k: v for k, v in merged.items() if v is not None},
    }
    unknown = set(candidate) - set(cand)
    if unknown:
        raise TypeError(f"situation() got unknown candidate fields {sorted(unknown)}")
    cand.update(candidate)
    return Situation(
        on=on,
        candidate=CandidateFacts(**cand),
        unit=unit if unit is not None else cell_unit(),
        sponsors=tuple(sponsors) if sponsors is not None else two_sponsors(),
        inputs=dict(inputs or {}),
        calendar=vietnam_calendar(),
        clocks=dict(clocks or {}),
    )


def on_date(s: Situation, day: date) -> Situation:
    return dataclasses.replace(s, on=day)


def params_of(rule: str, event: str = "cell_approves", ruleset: str = RULESET) -> Params:
    """The parameters the rule set gives `rule` on `event`, validated by the guard's model."""
    uses = [g for g in get_ruleset(ruleset).event(event).guards if g.rule == rule]
    assert len(uses) == 1, f"{event} uses {rule} {len(uses)} times"
    return GUARDS[rule].params_model.model_validate(uses[0].params)


def run_guard(rule: str, s: Situation, params: Params | None = None, *, event: str = "cell_approves") -> list[Problem]:
    """Every problem `rule` finds in `s`, with the rule set's parameters unless given."""
    return list(GUARDS[rule].check(s, params if params is not None else params_of(rule, event)))


def codes(problems: Iterable[Any]) -> list[str]:
    return [p.code for p in problems]
