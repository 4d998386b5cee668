"""How each form of the file is rendered: its template, its date and number, what it requires, when it applies.

Titles and signatories are in the procedure definition (its `forms` catalogue); this module says
which recorded fact dates a document, which data must be known for it to mean anything (a
missing one is an error naming the field), and which forms a candidate's file needs at all (the
Youth Union resolution only on the Youth Union path, the appraisal only under an intermediate
committee, one introduction per sponsoring member).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Data = dict[str, Any]


def _has_union(kind: str) -> Callable[[Data], bool]:
    return lambda d: any(u["kind"] == kind for u in d["union"])


def _has_intermediate(d: Data) -> bool:
    return d["org"]["intermediate"] is not None


def _has_grassroots_committee(d: Data) -> bool:
    return d["org"]["cell"]["kind"] == "cell"


@dataclass(frozen=True)
class FormSpec:
    id: str
    template: str
    date_fact: str | None = None                  # the fact that dates the document (and shows it exists)
    number_fact: str | None = None
    basis: str | None = None                      # "Điều 4" (admission) or "Điều 5" (recognition)
    required: tuple[str, ...] = ()                # dotted paths into the data that must be known
    applies: Callable[[Data], bool] = field(default=lambda d: True)
    per_sponsor: bool = False                     # one document per sponsoring member (3-KNĐ)


FORMS: dict[str, FormSpec] = {s.id: s for s in (
    FormSpec("1-KNĐ", "form-01.html.j2", "application_on", required=("person.full_name", "org.cell.name")),
    FormSpec("2-KNĐ", "form-02.html.j2", "cv_certified_on", required=("person.full_name", "person.birth_date")),
    FormSpec("3-KNĐ", "form-03.html.j2", required=("person.full_name", "sponsor.name"), per_sponsor=True),
    FormSpec("4-KNĐ", "form-04.html.j2", required=("person.full_name", "union_resolution.body_name"),
             applies=_has_union("youth_union")),
    FormSpec("4A-KNĐ", "form-04a.html.j2", required=("person.full_name", "union_resolution.body_name"),
             applies=_has_union("trade_union")),
    FormSpec("5-KNĐ", "form-05.html.j2", "opinions_summarised_on", required=("person.full_name",)),
    FormSpec("6-KNĐ", "form-06.html.j2", "cell_resolution_on", basis="Điều 4",
             required=("person.full_name", "facts.cell_resolution_on", "facts.cell_approve", "facts.cell_full_members")),
    FormSpec("7-KNĐ", "form-07.html.j2", "appraisal_on", required=("person.full_name", "org.intermediate.name"),
             applies=_has_intermediate),
    FormSpec("8-KNĐ", "form-08.html.j2", "grassroots_resolution_on", basis="Điều 4",
             required=("person.full_name", "facts.grassroots_resolution_on", "facts.grassroots_approve"),
             applies=_has_grassroots_committee),
    FormSpec("9-KNĐ", "form-09.html.j2", "decision_on", "decision_number", basis="Điều 4",
             required=("person.full_name", "person.birth_date", "facts.decision_on")),
    FormSpec("10-KNĐ", "form-10.html.j2", "self_review_on", required=("person.full_name", "facts.ceremony_on")),
    FormSpec("11-KNĐ", "form-11.html.j2", "helper_review_on", required=("person.full_name", "helper.name")),
    FormSpec("12-KNĐ", "form-12.html.j2", "recognition_opinions_on", required=("person.full_name",)),
    FormSpec("13-KNĐ", "form-13.html.j2", "recognition_cell_resolution_on", basis="Điều 5",
             required=("person.full_name", "facts.recognition_cell_resolution_on", "facts.recognition_cell_approve",
                       "facts.recognition_cell_full_members", "facts.ceremony_on", "facts.probation_ends_on")),
    FormSpec("14-KNĐ", "form-14.html.j2", "recognition_appraisal_on", required=("person.full_name",
                                                                                 "org.intermediate.name"),
             applies=_has_intermediate),
    FormSpec("15-KNĐ", "form-15.html.j2", "recognition_grassroots_resolution_on", basis="Điều 5",
             required=("person.full_name", "facts.recognition_grassroots_resolution_on", "facts.ceremony_on",
                       "facts.probation_ends_on"),
             applies=_has_grassroots_committee),
    FormSpec("16-KNĐ", "form-16.html.j2", "recognition_decision_on", "recognition_decision_number", basis="Điều 5",
             required=("person.full_name", "facts.recognition_decision_on", "facts.recognised_on")),
)}

REGISTER = FormSpec("18-KNĐ", "form-18.html.j2")
CHECKLIST = FormSpec("checklist", "checklist.html.j2")


class MissingData(ValueError):
    """A form cannot be rendered: the data it must print is not recorded."""

    def __init__(self, form_id: str, fields: list[str]):
        self.form_id, self.fields = form_id, fields
        super().__init__(f"form {form_id} cannot be rendered; missing: {', '.join(fields)}")


def lookup(data: Data, path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return None
        node = node[part]
    return node


def documents_of(spec: FormSpec, data: Data) -> list[Data]:
    """The contexts of the documents `spec` yields for this file: none, one, or one per sponsor."""
    if not spec.applies(data):
        return []
    base = dict(data)
    unions = {"4-KNĐ": "youth_union", "4A-KNĐ": "trade_union"}
    if spec.id in unions:
        base["union_resolution"] = next(u for u in data["union"] if u["kind"] == unions[spec.id])
    if spec.per_sponsor:
        return [base | {"sponsor": s, "sponsor_index": i + 1} for i, s in enumerate(data["sponsors"])]
    return [base]


def check_required(spec: FormSpec, context: Data) -> None:
    missing = [path for path in spec.required if lookup(context, path) is None]
    if missing:
        raise MissingData(spec.id, missing)
