"""The pure state-machine step (models/procedure/engine.py) with the real qd294-2025 rule set."""

from __future__ import annotations

from datetime import date

import pytest

from models.procedure.engine import (
    Accepted,
    InputError,
    Refused,
    StageConflict,
    decide,
    event_for,
    parse_inputs,
)
from models.procedure.facts import ClockState
from models.procedure.loader import get_ruleset
from tests.support import count_working_days_by_hand
from tests.unit.situations import (
    ON,
    cell_unit,
    member,
    prior,
    probationary,
    situation,
    sponsor,
)

RS = get_ruleset("qd294-2025")
VOTE = {"approve": 5, "full_members": 5, "excused_absent": 0}
HELPER = member(101, "Lò Văn Bình")




def accepted(result) -> Accepted:
    assert isinstance(result, Accepted), result
    return result


def clock(result: Accepted, clock_id: str):
    (found,) = [c for c in result.clocks_started if c.clock == clock_id]
    return found


# --- cell_approves: every guard, every failure, with its citation -------------------------------


def test_cell_approves_a_ready_file():
    result = accepted(decide(RS, "cell_approves", situation(inputs=VOTE)))
    assert result.event == "cell_approves"
    assert result.stage_before == "cell_review"
    assert result.records == {
        "cell_resolution_on": ON, "cell_approve": 5, "cell_full_members": 5, "cell_excused_absent": 0,
    }
    assert result.forms == ("6-KNĐ",)
    assert [c.clock for c in result.clocks_started] == ["admission_decision"]
    assert result.closes_file is False


def test_refusal_lists_every_failing_guard_of_the_event_with_its_citation():
    s = situation(
        birth_date=date(2010, 1, 1),                                   # 15 years old
        general_education_grade=7,                                     # below lower secondary
        facts={"awareness_certificate_on": None, "application_on": None},
        sponsors=(sponsor(probationary(), together_since=date(2025, 7, 1)),),
        unit=cell_unit(full_members=2),
        inputs={"approve": 1, "full_members": 2, "excused_absent": 0},
        prior=prior(date(2024, 1, 1)),                                 # left 21 months ago
        readmission_request_on=date(2025, 8, 1),
        readmission_consent_ref="312-CV/TU",
    )
    result = decide(RS, "cell_approves", s)
    assert isinstance(result, Refused)
    assert (result.event, result.stage) == ("cell_approves", "cell_review")

    guards = RS.event("cell_approves").guards
    failing_rules = list(dict.fromkeys(f.rule for f in result.failures))
    assert failing_rules == [g.rule for g in guards]            # all eight, in the definition's order
    assert len(failing_rules) == 8

    uses = {g.rule: g for g in guards}
    for f in result.failures:
        assert f.cite == uses[f.rule].cite
        assert f.cite
        assert f.confidence == uses[f.rule].confidence
    assert {f.code for f in result.failures} == {
        "age.below_minimum",
        "education.below_minimum",
        "certificate.missing",
        "sponsor.not_full_member",
        "sponsor.too_short_together",
        "sponsor.too_few",
        "file.missing.application_on",
        "readmission.too_soon",
        "cell.too_few_full_members",
        "vote.below_two_thirds",
    }


def test_refusal_with_a_single_failing_guard_carries_its_citation():
    s = situation(inputs={"approve": 3, "full_members": 5, "excused_absent": 0})
    result = decide(RS, "cell_approves", s)
    assert isinstance(result, Refused)
    (f,) = result.failures
    assert (f.rule, f.code) == ("two_thirds_vote", "vote.below_two_thirds")
    assert f.cite.startswith("Điều lệ Đảng, Điều 4 khoản 3")
    assert f.confidence == "H"
    assert f.as_dict()["details"] == {"approve": 3, "eligible": 5, "needed": 4}


def test_readmission_guard_applies_only_to_a_former_member():
    # No prior membership: no request or consent is needed.
    assert isinstance(decide(RS, "cell_approves", situation(inputs=VOTE)), Accepted)
    s = situation(inputs=VOTE, prior=prior(date(2015, 1, 1)))
    result = decide(RS, "cell_approves", s)
    assert isinstance(result, Refused)
    assert {f.code for f in result.failures} == {"readmission.no_request", "readmission.no_consent"}
    assert {f.rule for f in result.failures} == {"readmission"}


@pytest.mark.parametrize(
    ("intermediate", "grassroots", "stage"),
    [
        (True, True, "intermediate_appraisal"),
        (False, True, "grassroots_review"),
        (False, False, "awaiting_decision"),
    ],
)
def test_cell_approval_routes_by_the_committees_above_the_cell(intermediate, grassroots, stage):
    unit = cell_unit(has_intermediate_committee=intermediate, has_grassroots_committee=grassroots)
    result = accepted(decide(RS, "cell_approves", situation(unit=unit, inputs=VOTE)))
    assert result.stage_after == stage


def test_admission_decision_clock_runs_60_working_days_from_the_cell_resolution():
    # The worked example of the domain notes: 04/01/2027 -> 05/04/2027, with Tết off 4-10 February 2027.
    days_off = {date(2027, 1, 1), *(date(2027, 2, d) for d in range(4, 11))}
    expected = count_working_days_by_hand(date(2027, 1, 4), 60, days_off)
    assert expected == date(2027, 4, 5)
    result = accepted(decide(RS, "cell_approves", situation(on=date(2027, 1, 4), inputs=VOTE)))
    started = clock(result, "admission_decision")
    assert (started.kind, started.starts_on, started.due_on) == ("deadline", date(2027, 1, 4), expected)


def test_cell_rejection_closes_the_file():
    s = situation(inputs={"approve": 3, "full_members": 5, "excused_absent": 0})
    result = accepted(decide(RS, "cell_rejects", s))
    assert result.stage_after == "not_admitted"
    assert result.closes_file is True
    assert result.records["closed_on"] == ON


# --- the ceremony and probation --------------------------------------------------------------------


def ceremony(on: date, helper=HELPER):
    return decide(RS, "hold_ceremony", situation(on=on, stage="awaiting_ceremony", inputs={"helper": helper}))


def test_ceremony_on_29_february_ends_probation_on_28_february():
    result = accepted(ceremony(date(2024, 2, 29)))
    assert result.stage_after == "probation"
    assert result.records["ceremony_on"] == date(2024, 2, 29)
    assert result.records["probation_ends_on"] == date(2025, 2, 28)
    assert result.records["helper_member_id"] == 101
    probation = clock(result, "probation")
    assert (probation.kind, probation.starts_on, probation.due_on) == ("period", date(2024, 2, 29), date(2025, 2, 28))
    assert result.clocks_stopped == ("ceremony",)


def test_ceremony_opens_the_recognition_vote_clock_30_working_days_after_probation():
    # From Saturday 01/03/2025: March has no holiday; Hùng Kings day is Monday 07/04/2025.
    expected = count_working_days_by_hand(date(2025, 2, 28), 30, {date(2025, 4, 7)})
    assert expected == date(2025, 4, 14)
    vote = clock(accepted(ceremony(date(2024, 2, 29))), "recognition_vote")
    assert (vote.kind, vote.starts_on, vote.due_on) == ("deadline", date(2025, 2, 28), expected)


def test_end_of_probation_is_not_rolled_to_a_working_day():
    # 31/08/2024 + 12 months = Sunday 31/08/2025; Monday 1 and Tuesday 2 September 2025 are off.
    result = accepted(ceremony(date(2024, 8, 31)))
    assert result.records["probation_ends_on"] == date(2025, 8, 31)
    vote = clock(result, "recognition_vote")
    expected = count_working_days_by_hand(date(2025, 8, 31), 30, {date(2025, 9, 1), date(2025, 9, 2)})
    assert expected == date(2025, 10, 14)
    assert (vote.starts_on, vote.due_on) == (date(2025, 8, 31), expected)


def test_ceremony_with_a_probationary_helper_is_refused():
    result = ceremony(date(2024, 2, 29), helper=probationary(103))
    assert isinstance(result, Refused)
    assert [f.code for f in result.failures] == ["member.not_full"]
    assert result.failures[0].cite.startswith("Điều lệ Đảng, Điều 5 khoản 1")


# --- recognition ---------------------------------------------------------------------------------------


RECOGNITION_FILE = {
    "ceremony_on": date(2024, 2, 29),
    "probation_ends_on": date(2025, 2, 28),
    "self_review_on": date(2025, 2, 10),
    "helper_review_on": date(2025, 2, 12),
    "recognition_opinions_on": date(2025, 2, 20),
    "new_member_certificate_on": date(2024, 6, 15),
}


def recognition_situation(on: date, stage: str = "recognition_review", facts=None, inputs=None):
    return situation(on=on, stage=stage, facts={**RECOGNITION_FILE, **(facts or {})}, inputs=inputs)


@pytest.mark.parametrize(("before", "after", "stage"), [
    (None, 1, "recognition_review"),
    (1, 2, "recognition_review"),
    (2, 3, "awaiting_recognition_decision"),
])
def test_failed_recognition_votes_are_counted_and_the_third_goes_up(before, after, stage):
    s = recognition_situation(date(2025, 3, 5), facts={"failed_cell_recognition_votes": before},
                              inputs={"approve": 2, "full_members": 5, "excused_absent": 0})
    result = accepted(decide(RS, "cell_recognition_vote_fails", s))
    assert result.records == {"failed_cell_recognition_votes": after}
    assert result.stage_after == stage


def test_recording_a_failed_recognition_vote_that_passed_is_refused():
    s = recognition_situation(date(2025, 3, 5), inputs={"approve": 4, "full_members": 5, "excused_absent": 0})
    result = decide(RS, "cell_recognition_vote_fails", s)
    assert isinstance(result, Refused)
    assert [f.code for f in result.failures] == ["vote.actually_passed"]


def test_cell_recognition_vote_before_the_end_of_probation_is_refused():
    s = recognition_situation(date(2025, 2, 27), inputs=VOTE)
    result = decide(RS, "cell_recognises", s)
    assert isinstance(result, Refused)
    assert [f.code for f in result.failures] == ["recognition.probation_not_over"]


def test_cell_recognition_vote_on_the_day_probation_ends_is_accepted():
    result = accepted(decide(RS, "cell_recognises", recognition_situation(date(2025, 2, 28), inputs=VOTE)))
    assert result.stage_after == "recognition_grassroots_review"
    assert clock(result, "recognition_decision").starts_on == date(2025, 2, 28)
    assert result.clocks_stopped == ("recognition_vote",)


def test_recognition_takes_effect_at_the_end_of_probation_even_when_decided_later():
    s = recognition_situation(date(2025, 5, 20), stage="awaiting_recognition_decision",
                              inputs={"decision_number": "245-QĐ/ĐU"})
    result = accepted(decide(RS, "recognise", s))
    assert result.records["recognised_on"] == date(2025, 2, 28)
    assert result.records["recognition_decision_on"] == date(2025, 5, 20)
    assert result.records["recognition_decision_number"] == "245-QĐ/ĐU"
    assert result.stage_after == "full_member"
    assert result.closes_file is True
    assert result.clocks_stopped == ("recognition_decision",)
    assert result.forms == ("16-KNĐ",)


def test_extension_is_returned_with_its_clock_and_days():
    s = situation(stage="awaiting_decision", inputs={"working_days": 10, "reason": "chờ thẩm tra"},
                  clocks={"admission_decision": ClockState("admission_decision", date(2026, 1, 12), extended_days=20)})
    result = accepted(decide(RS, "extend_decision_deadline", s))
    assert result.extension == ("admission_decision", 10)
    assert result.stage_after == "awaiting_decision"


# --- event_for ---------------------------------------------------------------------------------------------


def test_event_not_allowed_from_the_stage_is_a_stage_conflict():
    with pytest.raises(StageConflict) as info:
        event_for(RS, "admit", "cell_review")
    assert info.value.event == "admit"
    assert info.value.stage == "cell_review"
    assert info.value.allowed_from == ("awaiting_decision",)


def test_decide_raises_stage_conflict_for_an_event_not_allowed_from_the_candidates_stage():
    with pytest.raises(StageConflict):
        decide(RS, "recognise", situation(stage="probation"))


def test_unknown_event_is_an_input_error():
    with pytest.raises(InputError) as info:
        event_for(RS, "approve_everything", "cell_review")
    (p,) = info.value.problems
    assert (p.field, p.code) == ("event", "unknown_event")
    assert "cell_approves" in p.message          # lists the events possible from the stage
    assert "approve_everything" in p.message_vi


def test_event_for_returns_the_event():
    assert event_for(RS, "cell_approves", "cell_review").id == "cell_approves"


# --- parse_inputs --------------------------------------------------------------------------------------------

MEMBERS = {"NL01": HELPER}


def parse(event_id: str, raw: dict, *, on: date = ON, unit=None):
    return parse_inputs(RS.event(event_id), raw, on=on, unit=unit or cell_unit(), resolve_member=MEMBERS.get)


def input_problems(event_id: str, raw: dict, **kw):
    with pytest.raises(InputError) as info:
        parse(event_id, raw, **kw)
    problems = info.value.problems
    for p in problems:
        assert p.message and p.message_vi
        assert p.message != p.message_vi
    return problems


def test_strings_are_converted_to_typed_inputs():
    assert parse("cell_approves", {"approve": "4", "full_members": "5", "excused_absent": "1"}) == {
        "approve": 4, "full_members": 5, "excused_absent": 1,
    }


def test_unknown_field_is_reported():
    problems = input_problems("cell_approves", {"approve": "4", "approvals": "4"})
    assert [(p.field, p.code) for p in problems] == [("approvals", "unknown_field")]
    assert "approve" in problems[0].message          # says what the event takes
    assert "approvals" in problems[0].message_vi


def test_missing_required_field_is_reported_with_its_label():
    problems = input_problems("admit", {})
    assert [(p.field, p.code) for p in problems] == [("decision_number", "required")]
    assert "Số quyết định" in problems[0].message_vi


def test_blank_value_counts_as_missing():
    problems = input_problems("admit", {"decision_number": ""})
    assert [(p.field, p.code) for p in problems] == [("decision_number", "required")]


def test_whitespace_only_text_is_invalid():
    problems = input_problems("admit", {"decision_number": "   "})
    assert [(p.field, p.code) for p in problems] == [("decision_number", "invalid")]


def test_text_is_cleaned():
    assert parse("admit", {"decision_number": "  245-QĐ/ĐU  "})["decision_number"] == "245-QĐ/ĐU"


@pytest.mark.parametrize("value", ["bốn", "4.5", True])
def test_non_integer_is_invalid(value):
    problems = input_problems("cell_approves", {"approve": value})
    assert [(p.field, p.code) for p in problems] == [("approve", "invalid")]
    assert "Số đảng viên chính thức tán thành" in problems[0].message_vi


def test_fractional_json_number_is_not_a_whole_number():
    problems = input_problems("cell_approves", {"approve": 4.5})
    assert [(p.field, p.code) for p in problems] == [("approve", "invalid")]


def test_integer_below_min_is_invalid():
    problems = input_problems("cell_approves", {"approve": "-1"})
    assert [(p.field, p.code) for p in problems] == [("approve", "invalid")]
    assert "at least 0" in problems[0].message
    assert "phải từ 0 trở lên" in problems[0].message_vi


def test_integer_above_max_is_invalid():
    problems = input_problems("extend_decision_deadline", {"working_days": 31, "reason": "x"})
    assert [(p.field, p.code) for p in problems] == [("working_days", "invalid")]
    assert "at most 30" in problems[0].message


def test_bad_date_is_invalid():
    problems = input_problems("record_awareness_certificate", {"certificate_number": "12", "certificate_on": "2025-13-01"})
    assert [(p.field, p.code) for p in problems] == [("certificate_on", "invalid")]
    assert "YYYY-MM-DD" in problems[0].message


def test_iso_date_string_is_parsed():
    values = parse("record_awareness_certificate", {"certificate_number": "12", "certificate_on": "2025-03-20"})
    assert values["certificate_on"] == date(2025, 3, 20)


def test_date_defaults_to_the_event_date():
    values = parse("record_awareness_certificate", {"certificate_number": "12"}, on=date(2025, 3, 20))
    assert values == {"certificate_number": "12", "certificate_on": date(2025, 3, 20)}


def test_full_members_defaults_to_the_register_and_excused_absent_to_zero():
    values = parse("cell_approves", {"approve": "4"}, unit=cell_unit(full_members=6))
    assert values == {"approve": 4, "full_members": 6, "excused_absent": 0}
    assert isinstance(values["excused_absent"], int)


def test_committee_members_defaults_to_the_units_committee_size():
    assert parse("grassroots_approves", {"approve": 6}, unit=cell_unit(grassroots_committee_size=9))["committee_members"] == 9
    problems = input_problems("grassroots_approves", {"approve": 6}, unit=cell_unit(grassroots_committee_size=None))
    assert [(p.field, p.code) for p in problems] == [("committee_members", "required")]


def test_optional_inputs_may_be_left_out():
    values = parse("record_recognition_documents", {"self_review_on": "2025-02-10"})
    assert values == {"self_review_on": date(2025, 2, 10), "helper_review_on": None, "recognition_opinions_on": None}


def test_member_input_is_resolved_through_the_callable():
    assert parse("hold_ceremony", {"helper": " NL01 "}) == {"helper": HELPER}


def test_member_input_already_resolved_is_kept():
    assert parse("hold_ceremony", {"helper": HELPER}) == {"helper": HELPER}


def test_unknown_member_is_an_input_error_naming_the_field():
    problems = input_problems("hold_ceremony", {"helper": "NL99"})
    assert [(p.field, p.code) for p in problems] == [("helper", "invalid")]
    assert "NL99" in problems[0].message
    assert "NL99" in problems[0].message_vi


def test_every_problem_of_a_request_is_reported_together():
    problems = input_problems("cell_approves", {"approve": "-2", "full_members": "năm", "bogus": "1"})
    assert sorted((p.field, p.code) for p in problems) == [
        ("approve", "invalid"), ("bogus", "unknown_field"), ("full_members", "invalid"),
    ]
