"""Reading what the guards need from the database into the pure snapshots of models.procedure.facts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Connection, Date, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from models.organisation import Tree, Unit
from models.procedure.facts import (
    PROCEDURE_FACTS,
    CandidateFacts,
    ClockState,
    MemberFacts,
    PriorMembership,
    SponsorFacts,
    UnitFacts,
)
from models.tables import PROMOTED_FACTS, Candidate, Deadline, Member, OrgUnit, Sponsorship

UNIT = OrgUnit.__table__
MEMBER = Member.__table__
SPONSOR = Sponsorship.__table__
DEADLINE = Deadline.__table__
CANDIDATE = Candidate.__table__
EXCUSABLE = ("temporarily_transferred", "exempted")


# Statements used on every transition are built once (building them costs more than running them).
def _unit_path_statement() -> Any:
    path = select(UNIT).where(UNIT.c.id == bindparam("unit_id")).cte("path", recursive=True)
    parent = aliased(UNIT)
    path = path.union_all(select(parent).where(parent.c.id == path.c.parent_id))
    return select(path)


def _member_counts_statement() -> Any:
    on = bindparam("on", type_=Date)
    full = and_(MEMBER.c.recognised_on <= on, or_(MEMBER.c.left_on.is_(None), MEMBER.c.left_on > on))
    return select(
        func.coalesce(func.sum(case((full, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(full, or_(*(MEMBER.c.standing == literal(x) for x in EXCUSABLE))), 1),
                                    else_=0)), 0),
    ).where(MEMBER.c.cell_id == bindparam("cell_id"))


UNIT_PATH = _unit_path_statement()
MEMBER_COUNTS = _member_counts_statement()


def unit_path(conn: Connection, unit_id: str) -> Tree:
    """The unit and all its ancestors, as a Tree (one recursive query)."""
    rows = conn.execute(UNIT_PATH, {"unit_id": unit_id}).mappings()
    return Tree(Unit(**dict(r)) for r in rows)


def unit_facts(conn: Connection, cell_id: str, on: date, tree: Tree | None = None) -> UnitFacts:
    tree = tree or unit_path(conn, cell_id)
    counts = conn.execute(MEMBER_COUNTS, {"cell_id": cell_id, "on": on}).one()
    grassroots = tree.grassroots_of(cell_id)
    cell = tree.units[cell_id]
    return UnitFacts(
        cell_id=cell_id,
        full_members=int(counts[0]),
        excusable_members=int(counts[1]),
        has_intermediate_committee=tree.has_intermediate_committee(cell_id),
        has_grassroots_committee=tree.has_grassroots_committee(cell_id),
        grassroots_committee_size=grassroots.committee_size if grassroots.id != cell_id else None,
        competent_unit_id=tree.competent_body(cell_id).unit_id,
        has_youth_union=cell.has_youth_union or grassroots.has_youth_union,
        has_trade_union=cell.has_trade_union or grassroots.has_trade_union,
    )


def member_facts(row: Mapping[str, Any]) -> MemberFacts:
    return MemberFacts(
        id=row["id"], name=row["full_name"], cell_id=row["cell_id"], admitted_on=row["admitted_on"],
        recognised_on=row["recognised_on"], left_on=row["left_on"], standing=row["standing"],
    )


MEMBER_BY_CODE = select(MEMBER).where(MEMBER.c.code == bindparam("code"))
MEMBER_BY_ID = select(MEMBER).where(MEMBER.c.id == bindparam("id"))
_SPONSOR_ON = bindparam("on", type_=Date)
SPONSORS = (
    select(SPONSOR, *(MEMBER.c[c].label(f"m_{c}") for c in
                      ("id", "full_name", "cell_id", "admitted_on", "recognised_on", "left_on", "standing")))
    .select_from(SPONSOR.outerjoin(MEMBER, MEMBER.c.id == SPONSOR.c.member_id))
    .where(
        SPONSOR.c.candidate_id == bindparam("candidate_id"),
        SPONSOR.c.role == literal("introducer"),
        or_(SPONSOR.c.ended_on.is_(None), SPONSOR.c.ended_on > _SPONSOR_ON),
    )
    .order_by(SPONSOR.c.id)
)
OPEN_CLOCKS = select(DEADLINE.c.clock, DEADLINE.c.due_on, DEADLINE.c.extended_days).where(
    DEADLINE.c.candidate_id == bindparam("candidate_id"), DEADLINE.c.status == literal("open"))


def load_member(conn: Connection, ref: str | int) -> MemberFacts | None:
    """A member by code (party card number), else by internal id."""
    text = str(ref)
    row = conn.execute(MEMBER_BY_CODE, {"code": text}).mappings().first()
    if row is None and text.isdigit():
        row = conn.execute(MEMBER_BY_ID, {"id": int(text)}).mappings().first()
    return member_facts(row) if row else None


def sponsors(conn: Connection, candidate_id: int, on: date, tree: Tree, cell_id: str) -> tuple[SponsorFacts, ...]:
    """Active introductions of a candidate on a date, with their members' standing."""
    rows = conn.execute(SPONSORS, {"candidate_id": candidate_id, "on": on}).mappings().all()
    own_grassroots = tree.grassroots_of(cell_id).id
    trees: dict[str, str] = {cell_id: own_grassroots}
    out = []
    for r in rows:
        member = None
        same = True
        if r["m_id"] is not None:
            member = member_facts({k[2:]: v for k, v in r.items() if k.startswith("m_")})
            if member.cell_id not in trees:
                trees[member.cell_id] = unit_path(conn, member.cell_id).grassroots_of(member.cell_id).id
            same = trees[member.cell_id] == own_grassroots
        out.append(SponsorFacts(
            kind=r["kind"], member=member, together_since=r["together_since"], same_grassroots=same,
            resolution_ref=r["resolution_ref"], resolution_on=r["resolution_on"],
        ))
    return tuple(out)


def decode_facts(row: Mapping[str, Any]) -> dict[str, Any]:
    """Procedure facts of a candidate row: the JSON column (ISO dates decoded) plus promoted columns."""
    facts: dict[str, Any] = {}
    for name, value in (row["facts"] or {}).items():
        facts[name] = date.fromisoformat(value) if PROCEDURE_FACTS.get(name) == "date" and value else value
    for name in PROMOTED_FACTS:
        if row[name] is not None:
            facts[name] = row[name]
    return facts


def encode_facts(facts: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split facts into (JSON column content, promoted column values)."""
    json_part: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    for name, value in facts.items():
        if name in PROMOTED_FACTS:
            columns[name] = value
        elif value is not None:
            json_part[name] = value.isoformat() if isinstance(value, date) else value
    return json_part, columns


def candidate_facts(row: Mapping[str, Any]) -> CandidateFacts:
    prior = None
    if row["prior_left_on"] is not None:
        prior = PriorMembership(
            left_on=row["prior_left_on"], leave_reason=row["prior_leave_reason"] or "unknown",
            expunged_conviction=row["prior_expunged_conviction"], readmitted_before=row["prior_readmitted_before"],
        )
    return CandidateFacts(
        id=row["id"], stage=row["stage"], birth_date=row["birth_date"], gender=row["gender"],
        general_education_grade=row["general_education_grade"], education_exemption=row["education_exemption"],
        youth_union_member=row["youth_union_member"], trade_union_member=row["trade_union_member"],
        over_60_consent_ref=row["over_60_consent_ref"], readmission_request_on=row["readmission_request_on"],
        readmission_consent_ref=row["readmission_consent_ref"], prior=prior, facts=decode_facts(row),
    )


def open_clocks(conn: Connection, candidate_id: int) -> dict[str, ClockState]:
    rows = conn.execute(OPEN_CLOCKS, {"candidate_id": candidate_id})
    return {r.clock: ClockState(r.clock, r.due_on, r.extended_days) for r in rows}

