"""Probation and recognition: the 12 months must be over, deadlines extend only so far."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from models.guards.registry import Params, Problem, guard
from models.procedure.facts import Situation
from models.vietnamese import date_short


@guard("probation_completed", "The event date is on or after the end of probation")
def probation_completed(s: Situation, _: Params) -> Iterator[Problem]:
    ends = s.fact("probation_ends_on")
    if ends is None:
        yield Problem("recognition.probation_unknown", "Chưa ghi nhận ngày kết nạp nên chưa tính được thời gian dự bị.", {})
    elif s.on < ends:
        yield Problem(
            "recognition.probation_not_over",
            f"Thời gian dự bị 12 tháng kết thúc ngày {date_short(ends)}; chi bộ chỉ xét công nhận đảng viên "
            f"chính thức từ ngày đó (ngày xét: {date_short(s.on)}).",
            {"probation_ends_on": ends.isoformat()},
        )


class ExtensionParams(Params):
    clock: str
    max_working_days: int = Field(gt=0)


@guard("extension_within_limit", "An extension of an open deadline, in total at most max_working_days",
       ExtensionParams, reads_inputs=True)
def extension_within_limit(s: Situation, p: ExtensionParams) -> Iterator[Problem]:
    state = s.clocks.get(p.clock)
    asked = s.inputs["working_days"]
    if state is None:
        yield Problem("deadline.not_open", "Không có thời hạn nào đang chạy để gia hạn.", {"clock": p.clock})
        return
    if state.extended_days + asked > p.max_working_days:
        yield Problem(
            "deadline.extension_too_long",
            f"Chỉ được gia hạn tổng cộng tối đa {p.max_working_days} ngày làm việc; đã gia hạn "
            f"{state.extended_days} ngày, xin thêm {asked} ngày.",
            {"already": state.extended_days, "asked": asked, "max": p.max_working_days},
        )


class MemberInputParams(Params):
    input: str


@guard("member_is_full", "The member named by an input (the assigned helper) is a full member of the cell",
       MemberInputParams, reads_inputs=True)
def member_is_full(s: Situation, p: MemberInputParams) -> Iterator[Problem]:
    member = s.inputs.get(p.input)
    if member is None:
        return
    if not member.is_full_on(s.on):
        yield Problem(
            "member.not_full",
            f"{member.name} chưa phải là đảng viên chính thức tại ngày {date_short(s.on)}; đảng viên được phân công "
            "giúp đỡ phải là đảng viên chính thức.",
            {"member_id": member.id},
        )
    if member.cell_id != s.unit.cell_id:
        yield Problem(
            "member.other_cell",
            f"{member.name} không sinh hoạt tại chi bộ của người được giúp đỡ.",
            {"member_id": member.id, "member_cell": member.cell_id},
        )


class FactsParams(Params):
    facts: dict[str, str]    # fact name -> what it is, in Vietnamese (for the message)


@guard("facts_recorded", "Each named fact of the file has been recorded (documents received, checks done)",
       FactsParams, reads_inputs=True)
def facts_recorded(s: Situation, p: FactsParams) -> Iterator[Problem]:
    for name, label in p.facts.items():
        if s.fact(name) is None and s.inputs.get(name) is None:
            yield Problem(f"file.missing.{name}", f"Hồ sơ còn thiếu: {label}.", {"fact": name})
