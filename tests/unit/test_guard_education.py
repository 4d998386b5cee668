"""education with the qd294-2025 parameters: lower secondary (grade 9), or a recorded exemption."""

from __future__ import annotations

import pytest

from tests.unit.situations import codes, params_of, run_guard, situation

EXEMPTIONS = {
    "mountain_area": 5, "border_area": 5, "island_area": 5, "ethnic_minority_area": 5,
    "extremely_difficult_area": 5, "fisherman": 5, "village_elder": 0,
}


def education_problems(grade: int, exemption: str | None = None, *, event: str = "cell_approves"):
    s = situation(general_education_grade=grade, education_exemption=exemption)
    return run_guard("education", s, event=event)


def test_rule_set_requires_grade_9_with_the_listed_exemptions_on_both_events():
    for event in ("complete_file", "cell_approves"):
        p = params_of("education", event)
        assert p.min_grade == 9
        assert p.exemptions == EXEMPTIONS


@pytest.mark.parametrize("grade", [9, 10, 12])
def test_lower_secondary_or_above_passes(grade):
    assert education_problems(grade) == []


def test_grade_8_without_exemption_is_refused():
    problems = education_problems(8)
    assert codes(problems) == ["education.below_minimum"]
    assert "lớp 8/12" in problems[0].message
    assert problems[0].details == {"grade": 8, "min_grade": 9, "exemption": None}


def test_grade_8_is_refused_when_the_file_is_completed_too():
    assert codes(education_problems(8, event="complete_file")) == ["education.below_minimum"]


def test_an_exemption_does_not_matter_when_the_grade_is_enough():
    assert education_problems(9, "not_a_reason") == []


def test_ethnic_minority_area_exemption_accepts_primary_school():
    assert education_problems(5, "ethnic_minority_area") == []


def test_ethnic_minority_area_exemption_refuses_grade_4():
    problems = education_problems(4, "ethnic_minority_area")
    assert codes(problems) == ["education.below_exemption_minimum"]
    assert problems[0].details["exemption_min_grade"] == 5
    assert "lớp 4/12" in problems[0].message
    assert "lớp 5" in problems[0].message


@pytest.mark.parametrize("reason", ["mountain_area", "border_area", "island_area", "extremely_difficult_area", "fisherman"])
def test_every_listed_area_exemption_lowers_the_minimum_to_grade_5(reason):
    assert education_problems(5, reason) == []
    assert codes(education_problems(4, reason)) == ["education.below_exemption_minimum"]


def test_unknown_exemption_reason_is_not_recognised():
    problems = education_problems(6, "city_dweller")
    assert codes(problems) == ["education.exemption_not_recognised"]
    assert "city_dweller" in problems[0].message
    assert problems[0].details["allowed"] == sorted(EXEMPTIONS)


def test_village_elder_needs_no_schooling():
    assert education_problems(0, "village_elder") == []
