"""Everything the forms of one candidate's file may print, gathered once from the database.

The result is a plain dict (JSON-able values and dates), so that rendering is a pure function of
it: the same data gives the same bytes. Unknown values are None and print as dotted lines.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from models.database import reading
from models.organisation import KIND_LABELS, Tree, committee_name
from models.people import EDUCATION_EXEMPTIONS, GENDERS, OCCUPATIONS
from models.procedure.loader import get_ruleset
from models.snapshot import CANDIDATE, MEMBER, SPONSOR, UNIT, decode_facts, unit_path
from models.transitions import CandidateNotFound

RELATIONS = {"work": "công tác", "study": "học tập", "residence": "cư trú"}


def _upper(text: str | None) -> str | None:
    return text.upper() if text else None


def _unit(tree: Tree, unit_id: str | None) -> dict[str, Any] | None:
    if unit_id is None or unit_id not in tree.units:
        return None
    u = tree.units[unit_id]
    return {"id": u.id, "name": u.name, "name_upper": _upper(u.name), "kind": u.kind,
            "kind_label": KIND_LABELS[u.kind], "committee": committee_name(u.name),
            "committee_upper": _upper(committee_name(u.name)), "committee_size": u.committee_size}


def gather(engine: Engine, candidate_id: int) -> dict[str, Any]:
    with reading(engine) as conn:
        cand = conn.execute(select(CANDIDATE).where(CANDIDATE.c.id == candidate_id)).mappings().first()
        if cand is None:
            raise CandidateNotFound(candidate_id)
        tree = unit_path(conn, cand["cell_id"])
        village = None
        if cand["residence_village_id"]:
            village = conn.execute(select(UNIT.c.name).where(UNIT.c.id == cand["residence_village_id"])).scalar()
        sponsor_rows = conn.execute(
            select(SPONSOR, MEMBER.c.full_name, MEMBER.c.admitted_on, MEMBER.c.recognised_on, MEMBER.c.cell_id)
            .select_from(SPONSOR.outerjoin(MEMBER, MEMBER.c.id == SPONSOR.c.member_id))
            .where(SPONSOR.c.candidate_id == candidate_id, SPONSOR.c.ended_on.is_(None)).order_by(SPONSOR.c.id)
        ).mappings().all()
        facts = decode_facts(cand)
        helper = None
        if facts.get("helper_member_id"):
            helper_row = conn.execute(select(MEMBER).where(MEMBER.c.id == facts["helper_member_id"])).mappings().first()
            if helper_row:
                helper = {"name": helper_row["full_name"], "admitted_on": helper_row["admitted_on"],
                          "recognised_on": helper_row["recognised_on"]}
        cell_names = {r.id: r.name for r in conn.execute(select(UNIT.c.id, UNIT.c.name))}
    rs = get_ruleset(cand["ruleset_version"])
    cell = tree.units[cand["cell_id"]]
    grassroots = tree.grassroots_of(cell.id)
    intermediate = next((u for u in tree.ancestors(cell.id) if u.kind == "intermediate_committee"), None)
    competent = tree.competent_body(cell.id)
    superior_of_cell = tree.units[cell.parent_id] if cell.parent_id else None
    members = [s for s in sponsor_rows if s["kind"] == "member" and s["role"] == "introducer"]
    unions = [s for s in sponsor_rows if s["kind"] in ("youth_union", "trade_union")]
    return {
        "candidate_id": cand["id"],
        "ruleset": {"version": rs.version, "title": rs.title},
        "stage": cand["stage"],
        "person": {
            "full_name": cand["full_name"], "full_name_upper": cand["full_name"].upper(),
            "gender": GENDERS[cand["gender"]], "birth_date": cand["birth_date"], "ethnicity": cand["ethnicity"],
            "religion": cand["religion"] or "không", "education": f"{cand['general_education_grade']}/12",
            "education_exemption": EDUCATION_EXEMPTIONS.get(cand["education_exemption"] or ""),
            "qualification": cand["qualification"], "occupation": OCCUPATIONS[cand["occupation"]],
            "residence": village, "work_unit": cand["work_unit"],
            "youth_union_member": cand["youth_union_member"], "trade_union_member": cand["trade_union_member"],
            "readmission": cand["prior_left_on"] is not None, "prior_left_on": cand["prior_left_on"],
        },
        "org": {
            "cell": _unit(tree, cell.id),
            "cell_superior": _unit(tree, superior_of_cell.id) if superior_of_cell else None,
            "grassroots": _unit(tree, grassroots.id),
            "grassroots_superior": _unit(tree, grassroots.parent_id),
            "intermediate": _unit(tree, intermediate.id) if intermediate else None,
            "competent": _unit(tree, competent.unit_id),
            "competent_superior": _unit(tree, tree.units[competent.unit_id].parent_id)
            if competent.unit_id in tree.units else None,
            "competent_standing": competent.standing_committee,
            "competent_body": competent.describe(tree.units) if competent.unit_id in tree.units else None,
            "place": _place(tree, cell.id),
        },
        "facts": facts,
        "sponsors": [
            {"name": s["full_name"], "admitted_on": s["admitted_on"], "recognised_on": s["recognised_on"],
             "cell": cell_names.get(s["cell_id"]), "together_since": s["together_since"],
             "relation": RELATIONS.get(s["relation"] or "", "công tác")}
            for s in members
        ],
        "union": [
            {"kind": s["kind"], "body_name": s["body_name"], "resolution_ref": s["resolution_ref"],
             "resolution_on": s["resolution_on"]}
            for s in unions
        ],
        "helper": helper,
    }


def _place(tree: Tree, cell_id: str) -> str:
    """The place name on the date line: the commune's name without its kind ('Mường Bú')."""
    for unit in (tree.units[cell_id], *tree.ancestors(cell_id)):
        if unit.kind == "commune_committee":
            for prefix in ("Đảng bộ xã ", "Đảng bộ phường ", "Đảng bộ đặc khu ", "Đảng bộ thị trấn "):
                if unit.name.startswith(prefix):
                    return unit.name[len(prefix):]
            return unit.name
    return "……………"


def as_of(data: dict[str, Any], name: str) -> date | None:
    value = data["facts"].get(name)
    return value if isinstance(value, date) else None
