"""Who may be admitted: age counted by month, education, the awareness-course certificate."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from models.calendar.periods import add_months, months_between, years_and_months
from models.guards.registry import Params, Problem, guard
from models.procedure.facts import Situation
from models.vietnamese import date_short


def _age_words(months: int) -> str:
    years, rest = years_and_months(months)
    return f"{years} tuổi {rest} tháng" if rest else f"{years} tuổi"


class AgeParams(Params):
    min_months: int = Field(ge=0)
    max_months: int = Field(ge=0)
    over_max_needs_consent: bool = True


@guard("age_in_range", "Age at the event date, counted by month, within [min, max]; over max needs consent", AgeParams)
def age_in_range(s: Situation, p: AgeParams) -> Iterator[Problem]:
    age = s.candidate.age_in_months(s.on)
    details = {"age_months": age, "min_months": p.min_months, "max_months": p.max_months}
    if age < p.min_months:
        reaches = add_months(s.candidate.birth_date, p.min_months)
        yield Problem(
            "age.below_minimum",
            f"Ngày {date_short(s.on)} người vào Đảng mới {_age_words(age)}; phải đủ "
            f"{_age_words(p.min_months)} (tính theo tháng), tức từ ngày {date_short(reaches)}.",
            details | {"reaches_minimum_on": reaches.isoformat()},
        )
    elif age > p.max_months:
        if not p.over_max_needs_consent:
            yield Problem("age.above_maximum", f"Người vào Đảng đã {_age_words(age)}, quá {_age_words(p.max_months)}.", details)
        elif not s.candidate.over_60_consent_ref:
            yield Problem(
                "age.over_maximum_without_consent",
                f"Người vào Đảng đã {_age_words(age)} (trên {_age_words(p.max_months)}); cần có văn bản đồng ý "
                "của ban thường vụ cấp ủy trực thuộc Trung ương trước khi xét kết nạp.",
                details,
            )


class EducationParams(Params):
    min_grade: int = Field(ge=0, le=12)
    # Exemption reason -> minimum grade accepted under it (e.g. primary school = 5).
    exemptions: dict[str, int] = Field(default_factory=dict)


@guard("education", "General education at least min_grade, or a recorded exemption with its lower minimum", EducationParams)
def education(s: Situation, p: EducationParams) -> Iterator[Problem]:
    grade = s.candidate.general_education_grade
    reason = s.candidate.education_exemption
    details = {"grade": grade, "min_grade": p.min_grade, "exemption": reason}
    if grade >= p.min_grade:
        return
    if reason is None:
        yield Problem(
            "education.below_minimum",
            f"Trình độ học vấn lớp {grade}/12 chưa đạt tối thiểu tốt nghiệp lớp {p.min_grade} (trung học cơ sở); "
            "nếu thuộc diện được vận dụng (miền núi, biên giới, hải đảo, vùng dân tộc thiểu số, ngư dân…) "
            "cần ghi rõ lý do vận dụng.",
            details,
        )
    elif reason not in p.exemptions:
        yield Problem(
            "education.exemption_not_recognised",
            f"Lý do vận dụng về học vấn “{reason}” không thuộc các trường hợp được quy định.",
            details | {"allowed": sorted(p.exemptions)},
        )
    elif grade < p.exemptions[reason]:
        yield Problem(
            "education.below_exemption_minimum",
            f"Được vận dụng về học vấn nhưng lớp {grade}/12 vẫn chưa đạt mức tối thiểu lớp "
            f"{p.exemptions[reason]} cho trường hợp này.",
            details | {"exemption_min_grade": p.exemptions[reason]},
        )


class CertificateParams(Params):
    valid_months: int = Field(gt=0)


@guard("awareness_certificate", "Awareness-course certificate held and issued at most valid_months before", CertificateParams)
def awareness_certificate(s: Situation, p: CertificateParams) -> Iterator[Problem]:
    issued = s.fact("awareness_certificate_on")
    if issued is None:
        yield Problem(
            "certificate.missing",
            "Chưa có giấy chứng nhận học lớp bồi dưỡng nhận thức về Đảng.",
            {},
        )
        return
    details = {"issued_on": issued.isoformat(), "valid_months": p.valid_months}
    if issued > s.on:
        yield Problem(
            "certificate.after_event",
            f"Giấy chứng nhận cấp ngày {date_short(issued)}, sau ngày {date_short(s.on)}.",
            details,
        )
    elif s.on > add_months(issued, p.valid_months):
        yield Problem(
            "certificate.expired",
            f"Giấy chứng nhận bồi dưỡng nhận thức về Đảng cấp ngày {date_short(issued)} đã quá "
            f"{p.valid_months} tháng ({months_between(issued, s.on)} tháng) tại ngày {date_short(s.on)}; "
            "cần học lại lớp bồi dưỡng.",
            details | {"expired_after": add_months(issued, p.valid_months).isoformat()},
        )
