"""Who introduces the candidate (người giới thiệu): two full members, or a union resolution plus one.

Two full members (never probationary), each having worked, studied or lived with the candidate
in the same grassroots organisation for at least 12 months. A youth-age candidate where a
Youth Union exists must be a Union member and is introduced by the Union's resolution (4-KNĐ)
plus one full member; where there is a trade union, its resolution (4A-KNĐ) plus one full
member may replace the second member.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from models.guards.registry import Params, Problem, guard
from models.procedure.facts import Situation, SponsorFacts
from models.vietnamese import date_short


class SponsorParams(Params):
    members_required: int = Field(ge=1)
    min_months_together: int = Field(ge=0)
    youth_age_below_months: int = Field(ge=0)    # Youth Union age: under this many months
    union_replaces_members: int = Field(ge=0)    # how many member sponsors a union resolution replaces


def _member_problems(sp: SponsorFacts, s: Situation, p: SponsorParams) -> list[Problem]:
    assert sp.member is not None
    m = sp.member
    problems = []
    if not m.is_full_on(s.on):
        state = "đảng viên dự bị" if m.is_member_on(s.on) else "không phải là đảng viên"
        problems.append(Problem(
            "sponsor.not_full_member",
            f"Người giới thiệu {m.name} tại ngày {date_short(s.on)} là {state}; người giới thiệu phải là "
            "đảng viên chính thức.",
            {"member_id": m.id},
        ))
    together = sp.months_together(s.on)
    if together < p.min_months_together:
        problems.append(Problem(
            "sponsor.too_short_together",
            f"Người giới thiệu {m.name} mới cùng công tác, học tập hoặc cư trú với người vào Đảng "
            f"{together} tháng; cần ít nhất {p.min_months_together} tháng.",
            {"member_id": m.id, "months_together": together, "min_months": p.min_months_together},
        ))
    if not sp.same_grassroots:
        problems.append(Problem(
            "sponsor.not_same_grassroots",
            f"Người giới thiệu {m.name} không cùng đơn vị thuộc phạm vi lãnh đạo của đảng bộ, chi bộ cơ sở.",
            {"member_id": m.id},
        ))
    return problems


@guard("sponsors", "Two full members with 12 months together, or a union resolution plus one", SponsorParams)
def sponsors(s: Situation, p: SponsorParams) -> Iterator[Problem]:
    members = list({sp.member.id: sp for sp in s.sponsors if sp.kind == "member" and sp.member}.values())
    youth = [sp for sp in s.sponsors if sp.kind == "youth_union"]
    trade = [sp for sp in s.sponsors if sp.kind == "trade_union"]
    is_youth_age = s.candidate.age_in_months(s.on) < p.youth_age_below_months
    youth_path = is_youth_age and s.unit.has_youth_union

    required = p.members_required
    if youth_path:
        if not s.candidate.youth_union_member:
            yield Problem(
                "sponsor.youth_union_membership_required",
                "Người vào Đảng trong độ tuổi đoàn ở nơi có tổ chức Đoàn phải là đoàn viên Đoàn TNCS Hồ Chí Minh.",
                {},
            )
        if not youth:
            yield Problem(
                "sponsor.youth_union_resolution_missing",
                "Người vào Đảng trong độ tuổi đoàn phải được Ban Chấp hành Đoàn cơ sở giới thiệu bằng nghị quyết "
                "(mẫu 4-KNĐ) cùng một đảng viên chính thức.",
                {},
            )
        required -= p.union_replaces_members
    elif youth:
        yield Problem(
            "sponsor.youth_union_not_applicable",
            "Nghị quyết giới thiệu của Đoàn chỉ áp dụng cho người trong độ tuổi đoàn ở nơi có tổ chức Đoàn.",
            {},
        )
    elif trade:
        if not s.unit.has_trade_union or not s.candidate.trade_union_member:
            yield Problem(
                "sponsor.trade_union_not_applicable",
                "Nghị quyết giới thiệu của Công đoàn (mẫu 4A-KNĐ) chỉ áp dụng cho đoàn viên công đoàn ở nơi có "
                "tổ chức Công đoàn.",
                {},
            )
        else:
            required -= p.union_replaces_members

    for sp in youth + trade:
        if not sp.resolution_ref or sp.resolution_on is None or sp.resolution_on > s.on:
            yield Problem(
                "sponsor.resolution_incomplete",
                "Nghị quyết giới thiệu của tổ chức đoàn thể thiếu số hoặc ngày ban hành, hoặc ban hành sau ngày "
                "xét.",
                {"kind": sp.kind},
            )

    qualifying = 0
    for sp in members:
        problems = _member_problems(sp, s, p)
        qualifying += not problems
        yield from problems
    if len(members) < required:
        yield Problem(
            "sponsor.too_few",
            f"Cần {required} đảng viên chính thức giới thiệu; hồ sơ mới có {len(members)}.",
            {"required": required, "recorded": len(members), "qualifying": qualifying},
        )
