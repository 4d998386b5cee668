"""The dossier checklist (danh mục hồ sơ): which documents the file needs so far, and where each stands.

Expected documents come from the procedure definition: the forms each stage up to the current one
collects, kept only where they apply to this file (the Youth Union resolution on the Youth Union
path, the appraisal under an intermediate committee, one introduction per sponsoring member).

- present: received and recorded (a document written outside ketnap: the application, the CV, an
  introduction, a union resolution, a self-review), or issued by ketnap and its signed copy filed;
- awaiting_signature: issued by a party body and rendered by ketnap, signed copy not yet filed;
- missing: expected at this stage and neither recorded nor rendered (with the data it lacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from models.dossier.forms import FORMS, check_required, documents_of
from models.procedure.loader import get_ruleset

# Documents written outside ketnap: their receipt is what the file records.
RECEIVED_FROM = {"candidate", "sponsor", "youth_union_committee", "trade_union_committee",
                 "probationary_member", "helper"}
STATUS_LABELS = {"present": "Đã có", "awaiting_signature": "Chờ ký", "missing": "Còn thiếu"}


@dataclass(frozen=True)
class Item:
    form_id: str
    index: int
    title: str
    status: str                       # present | awaiting_signature | missing
    dated: date | None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"status_label": STATUS_LABELS[self.status]}


def expected_forms(data: dict[str, Any]) -> list[str]:
    """Form ids the file needs up to its current stage, in procedure order."""
    rs = get_ruleset(data["ruleset"]["version"])
    ids = [s.id for s in rs.stages]
    stage = rs.stage(data["stage"])
    if stage.kind != "terminal":
        reach = ids.index(stage.id) + 1
    elif stage.id == "full_member":
        reach = len(ids)
    else:
        reach = 0
    forms: list[str] = []
    for st in rs.stages[:reach]:
        forms += [f for f in st.collects if f not in forms]
    if reach == 0:                    # a closed file other than a full member: what it holds
        forms = [f for st in rs.stages for f in st.collects
                 if f in FORMS and FORMS[f].date_fact and data["facts"].get(FORMS[f].date_fact)]
    return forms


def checklist(data: dict[str, Any], stored: list[dict[str, Any]]) -> list[Item]:
    rs = get_ruleset(data["ruleset"]["version"])
    by_form: dict[tuple[str, int], dict[str, Any]] = {}
    for doc in stored:                                   # the latest rendering of each document
        by_form[(doc["form_id"], doc["doc_index"])] = doc
    items = []
    for form_id in expected_forms(data):
        spec, form = FORMS.get(form_id), rs.form(form_id)
        if spec is None:
            continue
        for index, context in enumerate(documents_of(spec, data), start=1):
            dated = data["facts"].get(spec.date_fact) if spec.date_fact else None
            if "union_resolution" in context:
                dated = context["union_resolution"]["resolution_on"]
            received = form.signed_by in RECEIVED_FROM
            recorded = dated is not None or (received and spec.date_fact is None)
            doc = by_form.get((form_id, index))
            if received and recorded:
                status, note = "present", None
            elif doc is not None and doc["signed_on"] is not None:
                status, note = "present", None
                dated = dated or doc["signed_on"]
            elif doc is not None or recorded:
                status, note = "awaiting_signature", None
            else:
                status, note = "missing", _missing(spec, context, rs)
            items.append(Item(form_id, index, form.title, status, dated, note))
    return items


def _missing(spec: Any, context: dict[str, Any], rs: Any) -> str | None:
    """What the file still lacks, in the secretary's words: the steps that record the missing data."""
    try:
        check_required(spec, context)
    except ValueError as exc:
        fields = getattr(exc, "fields", [])
        steps = []
        for name in fields:
            fact = name.removeprefix("facts.")
            label = next((e.label for e in rs.events if fact in e.records), None)
            if label and f"“{label}”" not in steps:
                steps.append(f"“{label}”")
        unnamed = [f for f in fields if not any(f.removeprefix("facts.") in e.records for e in rs.events)]
        parts = ([f"chờ bước {', '.join(steps)}"] if steps else []) + ([f"thiếu: {', '.join(unnamed)}"] if unnamed else [])
        return "; ".join(parts) or None
    return None


def complete(items: list[Item]) -> bool:
    return all(i.status == "present" for i in items)
