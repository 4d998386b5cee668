"""Probation and recognition guards: probation_completed, extension_within_limit, member_is_full, facts_recorded."""

from __future__ import annotations

from datetime import date

import pytest

from models.guards.recognition import ExtensionParams
from models.procedure.facts import ClockState
from tests.unit.situations import OTHER_CELL, codes, member, params_of, probationary, run_guard, situation

PROBATION_ENDS = date(2025, 2, 28)


# --- probation_completed ------------------------------------------------------------------------


def probation_problems(on: date, ends: date | None = PROBATION_ENDS, event: str = "cell_recognises"):
    s = situation(on=on, stage="recognition_review", facts={"probation_ends_on": ends})
    return run_guard("probation_completed", s, event=event)


@pytest.mark.parametrize("event", ["open_recognition", "cell_recognises", "recognise"])
def test_vote_is_allowed_on_the_day_probation_ends(event):
    assert probation_problems(PROBATION_ENDS, event=event) == []


def test_vote_is_allowed_after_probation_has_ended():
    assert probation_problems(date(2025, 3, 20)) == []


@pytest.mark.parametrize("event", ["open_recognition", "cell_recognises", "recognise"])
def test_vote_the_day_before_probation_ends_is_refused(event):
    problems = probation_problems(date(2025, 2, 27), event=event)
    assert codes(problems) == ["recognition.probation_not_over"]
    assert problems[0].details == {"probation_ends_on": "2025-02-28"}
    assert "28/02/2025" in problems[0].message
    assert "27/02/2025" in problems[0].message


def test_unknown_end_of_probation_is_refused():
    assert codes(probation_problems(date(2025, 3, 20), ends=None)) == ["recognition.probation_unknown"]


# --- extension_within_limit ---------------------------------------------------------------------------


def extension_problems(asked: int, already: int | None, clock: str = "admission_decision"):
    clocks = {} if already is None else {clock: ClockState(clock, date(2025, 12, 1), extended_days=already)}
    s = situation(stage="awaiting_decision", inputs={"working_days": asked, "reason": "chờ thẩm tra bổ sung"}, clocks=clocks)
    event = "extend_decision_deadline" if clock == "admission_decision" else "extend_recognition_deadline"
    return run_guard("extension_within_limit", s, event=event)


def test_rule_set_allows_30_working_days_of_extension_on_both_decision_clocks():
    assert params_of("extension_within_limit", "extend_decision_deadline") == ExtensionParams(
        clock="admission_decision", max_working_days=30)
    assert params_of("extension_within_limit", "extend_recognition_deadline") == ExtensionParams(
        clock="recognition_decision", max_working_days=30)


def test_first_extension_of_30_days_passes():
    assert extension_problems(30, already=0) == []


def test_extension_of_10_after_20_reaches_exactly_30_and_passes():
    assert extension_problems(10, already=20) == []


def test_extension_of_11_after_20_is_too_long():
    problems = extension_problems(11, already=20)
    assert codes(problems) == ["deadline.extension_too_long"]
    assert problems[0].details == {"already": 20, "asked": 11, "max": 30}
    assert "30 ngày làm việc" in problems[0].message


def test_recognition_decision_extension_is_limited_the_same_way():
    assert extension_problems(10, already=20, clock="recognition_decision") == []
    assert codes(extension_problems(11, already=20, clock="recognition_decision")) == ["deadline.extension_too_long"]


def test_extension_without_an_open_clock_is_refused():
    problems = extension_problems(10, already=None)
    assert codes(problems) == ["deadline.not_open"]
    assert problems[0].details == {"clock": "admission_decision"}


def test_extension_of_another_clock_does_not_count_as_open():
    s = situation(
        stage="awaiting_decision", inputs={"working_days": 5},
        clocks={"ceremony": ClockState("ceremony", date(2025, 12, 1))},
    )
    assert codes(run_guard("extension_within_limit", s, event="extend_decision_deadline")) == ["deadline.not_open"]


# --- member_is_full (the helper assigned at the ceremony) ---------------------------------------------


def helper_problems(helper):
    s = situation(stage="awaiting_ceremony", inputs={"helper": helper})
    return run_guard("member_is_full", s, event="hold_ceremony")


def test_full_member_of_the_cell_may_be_the_helper():
    assert helper_problems(member(101, "Lò Văn Bình")) == []


def test_probationary_helper_is_refused():
    problems = helper_problems(probationary(103, "Cà Thị Hoa"))
    assert codes(problems) == ["member.not_full"]
    assert "Cà Thị Hoa" in problems[0].message
    assert problems[0].details == {"member_id": 103}


def test_helper_who_has_left_the_party_is_refused():
    assert codes(helper_problems(member(105, left_on=date(2025, 1, 1), standing="left"))) == ["member.not_full"]


def test_helper_from_another_cell_is_refused():
    problems = helper_problems(member(106, "Tòng Văn Sơn", cell_id=OTHER_CELL))
    assert codes(problems) == ["member.other_cell"]
    assert problems[0].details == {"member_id": 106, "member_cell": OTHER_CELL}


def test_probationary_helper_of_another_cell_gets_both_problems():
    problems = helper_problems(probationary(107, cell_id=OTHER_CELL))
    assert codes(problems) == ["member.not_full", "member.other_cell"]


def test_no_helper_named_is_left_to_input_validation():
    assert helper_problems(None) == []


# --- facts_recorded ------------------------------------------------------------------------------------


RECOGNITION_DOCUMENTS = {
    "self_review_on": date(2025, 2, 10),
    "helper_review_on": date(2025, 2, 12),
    "recognition_opinions_on": date(2025, 2, 20),
    "new_member_certificate_on": date(2024, 6, 15),
}


def recognition_file_problems(facts, inputs=None):
    s = situation(on=date(2025, 3, 5), stage="recognition_review", facts=facts, inputs=inputs)
    return run_guard("facts_recorded", s, event="cell_recognises")


def test_complete_recognition_file_passes():
    assert recognition_file_problems(RECOGNITION_DOCUMENTS) == []


def test_every_missing_recognition_document_is_listed():
    problems = recognition_file_problems({})
    assert codes(problems) == [
        "file.missing.self_review_on",
        "file.missing.helper_review_on",
        "file.missing.recognition_opinions_on",
        "file.missing.new_member_certificate_on",
    ]
    messages = " ".join(p.message for p in problems)
    for form in ("10-KNĐ", "11-KNĐ", "12-KNĐ"):
        assert form in messages
    assert all(p.message.startswith("Hồ sơ còn thiếu:") for p in problems)


def test_only_the_missing_documents_are_listed():
    facts = {**RECOGNITION_DOCUMENTS, "helper_review_on": None, "new_member_certificate_on": None}
    assert codes(recognition_file_problems(facts)) == ["file.missing.helper_review_on", "file.missing.new_member_certificate_on"]


def test_a_document_given_with_the_event_counts_as_recorded():
    facts = {**RECOGNITION_DOCUMENTS, "self_review_on": None}
    assert recognition_file_problems(facts, inputs={"self_review_on": date(2025, 3, 1)}) == []


def test_every_missing_admission_document_is_listed_at_the_cell_vote():
    missing = {"application_on": None, "cv_certified_on": None, "background_verified_on": None, "opinions_summarised_on": None}
    problems = run_guard("facts_recorded", situation(facts=missing))
    assert codes(problems) == [
        "file.missing.application_on",
        "file.missing.cv_certified_on",
        "file.missing.background_verified_on",
        "file.missing.opinions_summarised_on",
    ]
    assert [p.details["fact"] for p in problems] == [c.removeprefix("file.missing.") for c in codes(problems)]
