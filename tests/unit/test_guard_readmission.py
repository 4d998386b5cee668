"""readmission with the qd294-2025 parameters: 36 months (60 after an expunged conviction), request,
provincial consent, once only, and the excluded reasons for leaving."""

from __future__ import annotations

from datetime import date

import pytest

from models.guards.readmission import ReadmissionParams
from tests.unit.situations import codes, params_of, prior, run_guard, situation

EXCLUDED = ("quit_activities", "resigned", "serious_disunity", "corruption", "serious_crime")


def readmission_problems(on: date, left_on: date, leave_reason: str = "moved_abroad", *,
                         request: date | None = date(2025, 8, 1), consent: str | None = "312-CV/TU", **prior_kw):
    s = situation(
        on=on,
        prior=prior(left_on, leave_reason, **prior_kw),
        readmission_request_on=request,
        readmission_consent_ref=consent,
    )
    return run_guard("readmission", s)


def test_rule_set_parameters():
    p = params_of("readmission")
    assert isinstance(p, ReadmissionParams)
    assert (p.min_months, p.min_months_after_conviction) == (36, 60)
    assert set(p.excluded_reasons) == set(EXCLUDED)


def test_readmission_passes_exactly_36_months_after_leaving():
    assert readmission_problems(date(2025, 10, 15), date(2022, 10, 15)) == []


def test_readmission_one_day_before_36_months_is_too_soon():
    problems = readmission_problems(date(2025, 10, 14), date(2022, 10, 15))
    assert codes(problems) == ["readmission.too_soon"]
    (p,) = problems
    assert p.details == {"months_since_leaving": 35, "required_months": 36}
    assert "15/10/2022" in p.message
    assert "15/10/2025" in p.message      # the first day readmission is possible


def test_readmission_after_leaving_on_29_february_waits_until_28_february():
    assert readmission_problems(date(2027, 2, 28), date(2024, 2, 29)) == []
    assert codes(readmission_problems(date(2027, 2, 27), date(2024, 2, 29))) == ["readmission.too_soon"]


def test_after_an_expunged_conviction_60_months_are_needed():
    assert readmission_problems(date(2025, 10, 15), date(2020, 10, 15), expunged_conviction=True) == []
    problems = readmission_problems(date(2025, 10, 14), date(2020, 10, 15), expunged_conviction=True)
    assert codes(problems) == ["readmission.too_soon"]
    assert problems[0].details == {"months_since_leaving": 59, "required_months": 60}


def test_after_an_expunged_conviction_36_months_are_not_enough():
    problems = readmission_problems(date(2025, 10, 15), date(2022, 10, 15), expunged_conviction=True)
    assert codes(problems) == ["readmission.too_soon"]
    assert problems[0].details["required_months"] == 60


@pytest.mark.parametrize("reason", EXCLUDED)
def test_excluded_reasons_for_leaving_are_refused(reason):
    problems = readmission_problems(date(2025, 10, 15), date(2015, 1, 1), reason)
    assert codes(problems) == ["readmission.excluded"]
    assert problems[0].details == {"leave_reason": reason}


def test_resignation_for_family_hardship_is_not_excluded():
    assert readmission_problems(date(2025, 10, 15), date(2015, 1, 1), "resigned_hardship") == []


def test_excluded_message_names_the_reason_in_vietnamese():
    (p,) = readmission_problems(date(2025, 10, 15), date(2015, 1, 1), "corruption")
    assert "tham nhũng" in p.message


def test_someone_readmitted_before_cannot_be_readmitted_again():
    problems = readmission_problems(date(2025, 10, 15), date(2015, 1, 1), readmitted_before=True)
    assert codes(problems) == ["readmission.already_once"]


def test_missing_written_request_is_refused():
    assert codes(readmission_problems(date(2025, 10, 15), date(2015, 1, 1), request=None)) == ["readmission.no_request"]


@pytest.mark.parametrize("consent", [None, ""])
def test_missing_provincial_consent_is_refused(consent):
    assert codes(readmission_problems(date(2025, 10, 15), date(2015, 1, 1), consent=consent)) == ["readmission.no_consent"]


def test_every_readmission_problem_is_reported_together():
    problems = readmission_problems(
        date(2025, 10, 15), date(2024, 1, 1), "quit_activities", request=None, consent=None, readmitted_before=True,
    )
    assert sorted(codes(problems)) == [
        "readmission.already_once", "readmission.excluded", "readmission.no_consent",
        "readmission.no_request", "readmission.too_soon",
    ]


def test_candidate_with_no_prior_membership_yields_nothing():
    assert run_guard("readmission", situation()) == []


def test_no_prior_membership_yields_nothing_even_without_request_or_consent():
    s = situation(readmission_request_on=None, readmission_consent_ref=None, prior=None)
    assert run_guard("readmission", s) == []
