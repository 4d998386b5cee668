"""Vote arithmetic (biểu quyết) and the guards over cell and committee votes.

A resolution passes when approvals reach 2/3 of the eligible count, tested on integers:
`3 × approve ≥ 2 × eligible`. For a cell the eligible count is its full members, less
those on temporary transfer or exempted from activities who were absent; for a grassroots
committee it is the number of committee members.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from models.guards.registry import Params, Problem, guard
from models.procedure.facts import Situation


def passes(approve: int, eligible: int, numerator: int = 2, denominator: int = 3) -> bool:
    """approve / eligible ≥ numerator / denominator, exactly, on integers."""
    if approve < 0 or eligible < 0:
        raise ValueError("vote counts cannot be negative")
    return denominator * approve >= numerator * eligible


def minimum_approvals(eligible: int, numerator: int = 2, denominator: int = 3) -> int:
    """The fewest approvals that pass: ceil(numerator × eligible / denominator)."""
    return -(-numerator * eligible // denominator)


def cell_eligible(full_members: int, excused_absent: int) -> int:
    """Full members counted for a cell vote: absentees on transfer or exempted are left out."""
    if not 0 <= excused_absent <= full_members:
        raise ValueError("excused absentees must be between 0 and the number of full members")
    return full_members - excused_absent


def percent(approve: int, eligible: int) -> str:
    """'83,33%' as printed in a resolution (Vietnamese decimal comma)."""
    value = 100 * approve / eligible if eligible else 0.0
    return f"{value:.2f}".replace(".", ",") + "%"


class CellSizeParams(Params):
    min_full_members: int = Field(ge=1)


@guard("cell_size", "The cell has at least min_full_members full members on the date", CellSizeParams)
def cell_size(s: Situation, p: CellSizeParams) -> Iterator[Problem]:
    stated = s.inputs.get("full_members")
    full = stated if stated is not None else s.unit.full_members
    if full < p.min_full_members:
        yield Problem(
            "cell.too_few_full_members",
            f"Chi bộ chỉ có {full} đảng viên chính thức; cần ít nhất {p.min_full_members} đảng viên chính thức "
            "mới được xét kết nạp (cấp ủy cấp trên bổ sung đảng viên hoặc ghép chi bộ).",
            {"full_members": full, "min_full_members": p.min_full_members},
        )


class VoteParams(Params):
    body: Literal["cell", "grassroots_committee"]
    numerator: int = Field(default=2, ge=1)
    denominator: int = Field(default=3, ge=1)
    expect: Literal["pass", "fail"] = "pass"


def _eligible(s: Situation, p: VoteParams) -> tuple[int | None, list[Problem]]:
    """The count a vote is measured against, or None with the problems that prevent knowing it.

    The member register is authoritative when it knows the cell (it has full members on the
    date): the stated count must match it, and only members it records as temporarily
    transferred or exempted may be left out. A cell not yet in the register relies on the
    resolution's own figures.
    """
    problems: list[Problem] = []
    if p.body == "cell":
        stated = s.inputs.get("full_members")
        registry = s.unit.full_members
        known = registry > 0
        if stated is not None and known and stated != registry:
            problems.append(Problem(
                "vote.full_members_mismatch",
                f"Nghị quyết ghi {stated} đảng viên chính thức nhưng sổ đảng viên của chi bộ có {registry} "
                "đảng viên chính thức tại ngày họp.",
                {"stated": stated, "registry": registry},
            ))
        full = stated if stated is not None else registry
        excused = s.inputs.get("excused_absent") or 0
        limit = s.unit.excusable_members if known else full
        if excused > limit:
            problems.append(Problem(
                "vote.too_many_excused",
                f"Chỉ có {limit} đảng viên đang chuyển sinh hoạt tạm thời hoặc được miễn sinh hoạt; không thể "
                f"trừ {excused} người vắng mặt khỏi số đảng viên tính biểu quyết.",
                {"excused_absent": excused, "excusable": limit},
            ))
            return None, problems
        return cell_eligible(full, excused), problems
    stated_size = s.inputs.get("committee_members")
    size = stated_size if stated_size is not None else s.unit.grassroots_committee_size
    if not size:
        problems.append(Problem(
            "vote.committee_size_unknown",
            "Chưa biết tổng số cấp ủy viên của đảng ủy cơ sở; ghi số cấp ủy viên (committee_members).",
            {},
        ))
        return None, problems
    return size, problems


@guard("two_thirds_vote", "Approvals reach (or, with expect: fail, miss) 2/3 of the eligible count",
       VoteParams, reads_inputs=True)
def two_thirds_vote(s: Situation, p: VoteParams) -> Iterator[Problem]:
    eligible, problems = _eligible(s, p)
    yield from problems
    if eligible is None:
        return
    approve = s.inputs["approve"]
    who = "đảng viên chính thức" if p.body == "cell" else "cấp ủy viên"
    details = {"approve": approve, "eligible": eligible, "needed": minimum_approvals(eligible, p.numerator, p.denominator)}
    if approve > eligible:
        yield Problem(
            "vote.more_approvals_than_eligible",
            f"Số tán thành ({approve}) lớn hơn số {who} được tính biểu quyết ({eligible}).",
            details,
        )
        return
    ok = passes(approve, eligible, p.numerator, p.denominator)
    if p.expect == "pass" and not ok:
        yield Problem(
            "vote.below_two_thirds",
            f"Chỉ có {approve}/{eligible} {who} tán thành ({percent(approve, eligible)}); cần ít nhất "
            f"{details['needed']} (hai phần ba) mới được thông qua.",
            details,
        )
    elif p.expect == "fail" and ok:
        yield Problem(
            "vote.actually_passed",
            f"{approve}/{eligible} {who} tán thành ({percent(approve, eligible)}) là đã đạt hai phần ba; "
            "hãy ghi nhận nghị quyết thông qua thay vì biểu quyết không đạt.",
            details,
        )
