"""Re-admission (kết nạp lại): waiting time, written request, consent, once only, exclusions."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from models.calendar.periods import add_months, months_between
from models.guards.registry import Params, Problem, guard
from models.procedure.facts import Situation
from models.vietnamese import date_short


class ReadmissionParams(Params):
    min_months: int = Field(gt=0)
    min_months_after_conviction: int = Field(gt=0)
    excluded_reasons: dict[str, str]      # leave reason code -> Vietnamese wording


@guard("readmission", "For a former member: months since leaving, request, consent, once only, not excluded", ReadmissionParams)
def readmission(s: Situation, p: ReadmissionParams) -> Iterator[Problem]:
    prior = s.candidate.prior
    if prior is None:
        return
    if prior.leave_reason in p.excluded_reasons:
        yield Problem(
            "readmission.excluded",
            f"Không xem xét kết nạp lại người đã ra khỏi Đảng vì {p.excluded_reasons[prior.leave_reason]}.",
            {"leave_reason": prior.leave_reason},
        )
    if prior.readmitted_before:
        yield Problem("readmission.already_once", "Chỉ được xem xét kết nạp lại một lần.", {})
    wait = p.min_months_after_conviction if prior.expunged_conviction else p.min_months
    elapsed = months_between(prior.left_on, s.on)
    if elapsed < wait:
        yield Problem(
            "readmission.too_soon",
            f"Mới ra khỏi Đảng {elapsed} tháng (từ {date_short(prior.left_on)}); cần ít nhất {wait} tháng, "
            f"tức từ ngày {date_short(add_months(prior.left_on, wait))}.",
            {"months_since_leaving": elapsed, "required_months": wait},
        )
    if s.candidate.readmission_request_on is None:
        yield Problem("readmission.no_request", "Thiếu đơn đề nghị kết nạp lại của người vào Đảng.", {})
    if not s.candidate.readmission_consent_ref:
        yield Problem(
            "readmission.no_consent",
            "Thiếu văn bản đồng ý của ban thường vụ tỉnh ủy, thành ủy cho việc kết nạp lại.",
            {},
        )
