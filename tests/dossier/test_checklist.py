"""The checklist: which documents a file needs at its stage, and present / awaiting signature / missing."""

from __future__ import annotations

from datetime import date

from models.dossier.checklist import checklist, complete, expected_forms
from tests.dossier.sample import sample


def _status(items):
    return {(i.form_id, i.index): i.status for i in items}


def test_a_file_at_the_opinions_stage_needs_the_file_documents_and_the_summary():
    data = sample(stage="opinions", facts={"opinions_summarised_on": None})
    assert expected_forms(data) == ["1-KNĐ", "2-KNĐ", "3-KNĐ", "4-KNĐ", "4A-KNĐ", "5-KNĐ"]
    status = _status(checklist(data, []))
    assert status == {("1-KNĐ", 1): "present", ("2-KNĐ", 1): "present", ("3-KNĐ", 1): "present",
                      ("3-KNĐ", 2): "present", ("4-KNĐ", 1): "present", ("4A-KNĐ", 1): "present",
                      ("5-KNĐ", 1): "missing"}


def test_an_application_not_yet_received_is_missing():
    data = sample(stage="file_preparation", facts={"application_on": None})
    assert _status(checklist(data, []))[("1-KNĐ", 1)] == "missing"


def test_an_issued_form_waits_for_its_signature_until_the_signed_copy_is_filed():
    data = sample(stage="cell_review")
    stored = [{"form_id": "6-KNĐ", "doc_index": 1, "signed_on": None}]
    assert _status(checklist(data, stored))[("6-KNĐ", 1)] == "awaiting_signature"
    stored[0]["signed_on"] = date(2025, 4, 8)
    assert _status(checklist(data, stored))[("6-KNĐ", 1)] == "present"


def test_a_missing_issued_form_says_which_data_it_lacks():
    data = sample(stage="cell_review", facts={"cell_resolution_on": None, "cell_approve": None})
    [item] = [i for i in checklist(data, []) if i.form_id == "6-KNĐ"]
    # both facts are recorded by the cell's vote: the note names that step once, in the secretary's words
    assert item.status == "missing" and item.note == "chờ bước “Chi bộ biểu quyết đề nghị kết nạp”"


def test_forms_follow_the_organisation_tree():
    data = sample(stage="full_member")
    forms = {i.form_id for i in checklist(data, [])}
    assert {"7-KNĐ", "14-KNĐ", "8-KNĐ", "15-KNĐ"} <= forms          # intermediate and grassroots committees
    no_intermediate = sample(stage="full_member", org={"intermediate": None})
    assert not {"7-KNĐ", "14-KNĐ"} & {i.form_id for i in checklist(no_intermediate, [])}


def test_a_closed_file_lists_what_it_holds():
    data = sample(stage="not_admitted", facts={k: None for k in ("grassroots_resolution_on", "decision_on",
                                                                  "ceremony_on", "self_review_on")})
    forms = expected_forms(data)
    assert "6-KNĐ" in forms and "9-KNĐ" not in forms and "10-KNĐ" not in forms


def test_complete_only_when_everything_is_present():
    data = sample(stage="cell_review")
    items = checklist(data, [{"form_id": "6-KNĐ", "doc_index": 1, "signed_on": date(2025, 4, 8)},
                             {"form_id": "5-KNĐ", "doc_index": 1, "signed_on": date(2025, 3, 25)}])
    assert complete(items)
    assert not complete(checklist(data, []))
