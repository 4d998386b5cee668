"""awareness_certificate with the qd294-2025 parameters: held, and at most 60 months old at the cell vote."""

from __future__ import annotations

from datetime import date

from tests.unit.situations import codes, params_of, run_guard, situation


def certificate_problems(issued: date | None, on: date):
    return run_guard("awareness_certificate", situation(on=on, facts={"awareness_certificate_on": issued}))


def test_rule_set_gives_the_certificate_60_months():
    assert params_of("awareness_certificate").valid_months == 60


def test_recent_certificate_passes():
    assert certificate_problems(date(2025, 3, 20), date(2025, 10, 15)) == []


def test_certificate_issued_exactly_60_months_before_the_vote_passes():
    assert certificate_problems(date(2020, 10, 15), date(2025, 10, 15)) == []


def test_certificate_one_day_past_60_months_has_expired():
    problems = certificate_problems(date(2020, 10, 15), date(2025, 10, 16))
    assert codes(problems) == ["certificate.expired"]
    (p,) = problems
    assert p.details["expired_after"] == "2025-10-15"
    assert "15/10/2020" in p.message
    assert "60 tháng" in p.message


def test_certificate_issued_on_29_february_is_valid_to_28_february_five_years_later():
    assert certificate_problems(date(2020, 2, 29), date(2025, 2, 28)) == []
    problems = certificate_problems(date(2020, 2, 29), date(2025, 3, 1))
    assert codes(problems) == ["certificate.expired"]
    assert problems[0].details["expired_after"] == "2025-02-28"


def test_certificate_issued_on_the_31st_is_valid_to_the_end_of_a_shorter_month():
    # 31/05/2020 + 60 months = 31/05/2025.
    assert certificate_problems(date(2020, 5, 31), date(2025, 5, 31)) == []
    assert codes(certificate_problems(date(2020, 5, 31), date(2025, 6, 1))) == ["certificate.expired"]


def test_missing_certificate_is_refused():
    assert codes(certificate_problems(None, date(2025, 10, 15))) == ["certificate.missing"]


def test_certificate_issued_after_the_vote_is_refused():
    problems = certificate_problems(date(2025, 10, 16), date(2025, 10, 15))
    assert codes(problems) == ["certificate.after_event"]
    assert "16/10/2025" in problems[0].message


def test_certificate_issued_on_the_day_of_the_vote_passes():
    assert certificate_problems(date(2025, 10, 15), date(2025, 10, 15)) == []
