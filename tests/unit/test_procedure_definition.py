"""Procedure definitions: loading, choosing by date, and refusing broken ones with WHERE and WHAT.

models/procedure/definition.py and models/procedure/loader.py.
"""

from __future__ import annotations

import copy
from datetime import date
from importlib import resources
from typing import Any

import pytest
import yaml

from models.guards import GUARDS
from models.procedure.conditions import CONDITIONS
from models.procedure.definition import DefinitionError, RuleSet, parse_ruleset
from models.procedure.loader import all_rulesets, get_ruleset, in_force_on, load_text

RULESETS = resources.files("models.procedure.rulesets")
QD294_TEXT = (RULESETS / "qd294-2025.yaml").read_text(encoding="utf-8")
QD294 = yaml.safe_load(QD294_TEXT)


def fresh() -> dict[str, Any]:
    return copy.deepcopy(QD294)


def event(data: dict[str, Any], event_id: str) -> dict[str, Any]:
    return next(e for e in data["events"] if e["id"] == event_id)


def guard_index(ev: dict[str, Any], rule: str) -> int:
    return next(i for i, g in enumerate(ev["guards"]) if g["rule"] == rule)


def clock(data: dict[str, Any], clock_id: str) -> dict[str, Any]:
    return next(c for c in data["clocks"] if c["id"] == clock_id)


def problems_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as info:
        parse_ruleset(data, "x.yaml")
    assert info.value.source == "x.yaml"
    return info.value.problems


# --- the shipped rule sets ----------------------------------------------------------------------


def test_both_shipped_rule_sets_load():
    assert {"qd294-2025", "qd24-2021"} <= set(all_rulesets())


def test_qd294_2025_is_in_force_from_1_july_2025():
    assert get_ruleset("qd294-2025").effective_from == date(2025, 7, 1)


def test_qd24_2021_is_in_force_from_30_july_2021():
    assert get_ruleset("qd24-2021").effective_from == date(2021, 7, 30)


def test_the_unmodified_definition_parses():
    rs = parse_ruleset(fresh(), "x.yaml")
    assert isinstance(rs, RuleSet)
    assert rs.version == "qd294-2025"
    assert rs.initial_stage == "source"


def test_the_shipped_definition_has_the_statutory_figures():
    rs = get_ruleset("qd294-2025")
    clocks = {c.id: c for c in rs.clocks}
    assert clocks["admission_decision"].limit.working_days == 60
    assert clocks["ceremony"].limit.working_days == 30
    assert clocks["probation"].limit.months == 12
    age = next(g for g in rs.event("cell_approves").guards if g.rule == "age_in_range")
    assert (age.params["min_months"], age.params["max_months"]) == (18 * 12, 60 * 12)


def test_an_unknown_version_is_a_key_error_naming_the_known_ones():
    with pytest.raises(KeyError, match="qd999"):
        get_ruleset("qd999")


@pytest.mark.parametrize(
    ("day", "version"),
    [
        (date(2021, 7, 30), "qd24-2021"),
        (date(2023, 1, 1), "qd24-2021"),
        (date(2025, 6, 30), "qd24-2021"),
        (date(2025, 7, 1), "qd294-2025"),
        (date(2027, 1, 4), "qd294-2025"),
    ],
)
def test_in_force_on_picks_the_latest_rule_set_effective_by_the_date(day, version):
    assert in_force_on(day).version == version


def test_no_rule_set_was_in_force_before_30_july_2021():
    with pytest.raises(LookupError, match="2021-07-29"):
        in_force_on(date(2021, 7, 29))


# --- broken definitions refuse to load, naming where -------------------------------------------


def test_an_unknown_guard_rule_is_named_with_its_event_and_position():
    data = fresh()
    ev = event(data, "cell_approves")
    i = guard_index(ev, "cell_size")
    ev["guards"][i]["rule"] = "cell_sise"
    problems = problems_of(data)
    assert problems == [(f"events[cell_approves].guards[{i}].rule", f"unknown guard 'cell_sise'; known: {sorted(GUARDS)}")]


def test_guard_params_missing_a_field_are_named():
    data = fresh()
    ev = event(data, "cell_approves")
    i = guard_index(ev, "age_in_range")
    del ev["guards"][i]["params"]["min_months"]
    assert problems_of(data) == [(f"events[cell_approves].guards[{i}].params.min_months", "Field required")]


def test_guard_params_of_the_wrong_type_are_named():
    data = fresh()
    ev = event(data, "cell_approves")
    i = guard_index(ev, "age_in_range")
    ev["guards"][i]["params"]["max_months"] = "sixty years"
    (where, what), = problems_of(data)
    assert where == f"events[cell_approves].guards[{i}].params.max_months"
    assert "valid integer" in what


def test_guard_params_with_an_unknown_key_are_named():
    data = fresh()
    ev = event(data, "cell_approves")
    i = guard_index(ev, "cell_size")
    ev["guards"][i]["params"]["min_members"] = 3
    problems = problems_of(data)
    assert (f"events[cell_approves].guards[{i}].params.min_members", "Extra inputs are not permitted") in problems


def test_an_unknown_stage_in_from_is_named():
    data = fresh()
    event(data, "withdraw")["from"].append("limbo")
    assert ("events[withdraw].from", "unknown stage 'limbo'") in problems_of(data)


def test_an_unknown_stage_in_to_is_named_with_the_target_position():
    data = fresh()
    event(data, "cell_approves")["to"][1]["stage"] = "grasroots_review"
    assert ("events[cell_approves].to[1]", "unknown stage 'grasroots_review'") in problems_of(data)


def test_an_unknown_single_target_is_named():
    data = fresh()
    event(data, "appraise")["to"] = "limbo"
    assert ("events[appraise].to[0]", "unknown stage 'limbo'") in problems_of(data)


def test_an_event_leaving_a_terminal_stage_is_refused():
    data = fresh()
    event(data, "withdraw")["from"].append("full_member")
    assert problems_of(data) == [("events[withdraw].from", "stage 'full_member' is terminal: nothing leaves it")]


def test_an_unreachable_stage_is_named():
    data = fresh()
    data["stages"].append({"id": "archived", "label": "Lưu trữ", "kind": "terminal", "phase": "closed"})
    assert problems_of(data) == [("stages[archived]", "unreachable from the initial stage")]


def test_an_active_stage_with_no_way_out_is_named():
    data = fresh()
    data["stages"].append({"id": "stuck", "label": "Kẹt", "phase": "admission"})
    event(data, "fail_course")["to"] = "stuck"
    assert ("stages[stuck]", "an active stage with no event leaving it") in problems_of(data)


def test_an_active_stage_that_cannot_reach_an_end_is_named():
    data = fresh()
    data["stages"] += [
        {"id": "loop_a", "label": "A", "phase": "admission"},
        {"id": "loop_b", "label": "B", "phase": "admission"},
    ]
    event(data, "fail_course")["to"] = "loop_a"
    data["events"] += [
        {"id": "a_to_b", "label": "a", "actor": "cell", "from": ["loop_a"], "to": "loop_b"},
        {"id": "b_to_a", "label": "b", "actor": "cell", "from": ["loop_b"], "to": "loop_a"},
    ]
    problems = problems_of(data)
    assert ("stages[loop_a]", "no path to a terminal stage") in problems
    assert ("stages[loop_b]", "no path to a terminal stage") in problems


def test_an_unknown_initial_stage_is_named():
    data = fresh()
    data["initial_stage"] = "nowhere"
    assert ("initial_stage", "unknown stage 'nowhere'") in problems_of(data)


def test_a_record_of_an_unknown_fact_is_named():
    data = fresh()
    event(data, "appraise")["records"]["appraisal_mood"] = "$on"
    assert problems_of(data) == [("events[appraise].records.appraisal_mood", "not a known procedure fact")]


def test_a_record_copying_an_unknown_fact_is_named():
    data = fresh()
    event(data, "recognise")["records"]["recognised_on"] = "$fact:probation_ended"
    assert problems_of(data) == [("events[recognise].records.recognised_on", "'probation_ended' is not a known procedure fact")]


def test_a_record_of_an_undeclared_input_is_named():
    data = fresh()
    event(data, "appraise")["records"]["appraisal_on"] = "$appraised_on"
    (where, what), = problems_of(data)
    assert where == "events[appraise].records.appraisal_on"
    assert what.startswith("'$appraised_on' is none of")


def test_a_clock_starting_on_an_unknown_event_is_named():
    data = fresh()
    clock(data, "admission_decision")["starts_on"] = ["cell_approved"]
    assert problems_of(data) == [("clocks[admission_decision]", "unknown event 'cell_approved'")]


def test_a_clock_stopping_on_an_unknown_event_is_named():
    data = fresh()
    clock(data, "ceremony")["stops_on"] = ["hold_the_ceremony"]
    assert problems_of(data) == [("clocks[ceremony]", "unknown event 'hold_the_ceremony'")]


def test_a_clock_counting_from_a_fact_that_is_not_a_date_is_named():
    data = fresh()
    clock(data, "ceremony")["counts_from"] = "decision_number"
    assert problems_of(data) == [("clocks[ceremony].counts_from", "'decision_number' is not a date fact")]


def test_a_clock_with_both_working_days_and_months_is_refused():
    data = fresh()
    clock(data, "ceremony")["limit"] = {"working_days": 30, "months": 1}
    (where, what), = problems_of(data)
    assert where == "clocks[ceremony].limit"
    assert "give exactly one of working_days or months" in what


def test_duplicate_event_ids_are_named():
    data = fresh()
    data["events"].append(copy.deepcopy(event(data, "appraise")))
    assert ("events", "duplicate ids ['appraise']") in problems_of(data)


def test_duplicate_stage_ids_are_named():
    data = fresh()
    data["stages"].append(copy.deepcopy(data["stages"][-1]))
    assert ("stages", f"duplicate ids [{data['stages'][-1]['id']!r}]") in problems_of(data)


def test_an_unknown_routing_condition_is_named():
    data = fresh()
    event(data, "cell_approves")["to"][0]["when"] = "has_intermedate_committee"
    assert problems_of(data) == [(
        "events[cell_approves].to[0].when",
        f"unknown condition 'has_intermedate_committee'; known: {sorted(CONDITIONS)}",
    )]


def test_an_unknown_guard_condition_is_named():
    data = fresh()
    ev = event(data, "cell_approves")
    i = guard_index(ev, "readmission")
    ev["guards"][i]["when"] = "is_re_admission"
    assert problems_of(data) == [(
        f"events[cell_approves].guards[{i}].when",
        f"unknown condition 'is_re_admission'; known: {sorted(CONDITIONS)}",
    )]


def test_a_condition_missing_its_params_is_named():
    data = fresh()
    del event(data, "cell_recognition_vote_fails")["to"][0]["params"]
    assert problems_of(data) == [(
        "events[cell_recognition_vote_fails].to[0].params",
        "condition 'failed_votes_reached' needs ['count', 'counter']",
    )]


def test_the_last_target_must_be_the_unconditional_default():
    data = fresh()
    event(data, "cell_approves")["to"][2]["when"] = "has_grassroots_committee"
    assert problems_of(data) == [("events[cell_approves].to", "the last target must have no `when` (the default route)")]


def test_an_unknown_form_on_an_event_is_named():
    data = fresh()
    event(data, "appraise")["forms"] = ["7-KND"]
    assert problems_of(data) == [("events[appraise].forms", "unknown form '7-KND'")]


def test_an_unknown_form_collected_by_a_stage_is_named():
    data = fresh()
    stage = next(s for s in data["stages"] if s["id"] == "opinions")
    stage["collects"] = ["5-KND"]
    assert problems_of(data) == [("stages[opinions].collects", "unknown form '5-KND'")]


def test_an_extension_of_an_unknown_clock_is_named():
    data = fresh()
    event(data, "extend_decision_deadline")["extends"] = "admission_deadline"
    assert ("events[extend_decision_deadline].extends", "unknown clock 'admission_deadline'") in problems_of(data)


def test_an_extending_event_needs_a_working_days_input():
    data = fresh()
    del event(data, "extend_decision_deadline")["inputs"]["working_days"]
    assert ("events[extend_decision_deadline].inputs", "an extending event needs a `working_days` input") in problems_of(data)


@pytest.mark.parametrize("default", ["$unit.chairman", "$today"])
def test_an_input_default_that_is_neither_on_nor_a_unit_attribute_is_named(default):
    data = fresh()
    event(data, "cell_approves")["inputs"]["full_members"]["default"] = default
    (where, what), = problems_of(data)
    assert where == "events[cell_approves].inputs.full_members.default"
    assert what.startswith(f"{default!r}: use $on, $unit.<")


@pytest.mark.parametrize("default", ["$fact:full_members", "$cell.full_members"])
def test_an_input_default_with_another_prefix_of_the_same_length_is_refused(default):
    # Only "$on", "$unit.<attribute>" or a literal are meaningful to the engine; anything else
    # starting with "$" would reach the engine as the literal text "$fact:full_members".
    data = fresh()
    event(data, "cell_approves")["inputs"]["full_members"]["default"] = default
    (where, _), = problems_of(data)
    assert where == "events[cell_approves].inputs.full_members.default"


def test_an_unknown_key_in_a_stage_is_named_by_stage_id():
    data = fresh()
    next(s for s in data["stages"] if s["id"] == "probation")["duration"] = 12
    assert problems_of(data) == [("stages[probation].duration", "Extra inputs are not permitted")]


def test_a_bad_stage_kind_is_named_by_stage_id():
    data = fresh()
    next(s for s in data["stages"] if s["id"] == "withdrawn")["kind"] = "final"
    (where, what), = problems_of(data)
    assert where == "stages[withdrawn].kind"
    assert "'active'" in what and "'terminal'" in what


def test_every_problem_is_reported_at_once():
    data = fresh()
    event(data, "appraise")["records"]["appraisal_mood"] = "$on"
    clock(data, "admission_decision")["starts_on"] = ["cell_approved"]
    problems = problems_of(data)
    assert ("events[appraise].records.appraisal_mood", "not a known procedure fact") in problems
    assert ("clocks[admission_decision]", "unknown event 'cell_approved'") in problems


def test_the_error_message_lists_the_source_and_each_problem():
    data = fresh()
    event(data, "appraise")["records"]["appraisal_mood"] = "$on"
    with pytest.raises(DefinitionError) as info:
        parse_ruleset(data, "broken.yaml")
    text = str(info.value)
    assert text.startswith("broken.yaml: the procedure definition does not validate:")
    assert "events[appraise].records.appraisal_mood: not a known procedure fact" in text


# --- load_text ---------------------------------------------------------------------------------


def test_load_text_parses_the_shipped_text():
    assert load_text(QD294_TEXT, "qd294-2025.yaml").version == "qd294-2025"


def test_invalid_yaml_names_the_line_and_column():
    text = "version: x\ntitle: t\neffective_from: @2025\n"
    column = text.splitlines()[2].index("@") + 1
    with pytest.raises(DefinitionError) as info:
        load_text(text, "bad.yaml")
    assert info.value.source == "bad.yaml"
    (where, what), = info.value.problems
    assert where == f"line 3, column {column}"
    assert what.startswith("not valid YAML")


def test_invalid_yaml_deep_in_the_shipped_file_names_its_line():
    lines = QD294_TEXT.splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("initial_stage:"))
    lines[n] = "initial_stage: source: again"
    with pytest.raises(DefinitionError) as info:
        load_text("\n".join(lines) + "\n", "qd.yaml")
    (where, _), = info.value.problems
    assert where.startswith(f"line {n + 1}, ")
