"""The part of the tree and the files an account may see, read from the database.

Every page and API call goes through here before touching a candidate: a file outside the
account's scope is reported exactly like a file that does not exist, so guessing ids reveals
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from models.access import Principal, may_see_cell, read_role
from models.database import reading
from models.organisation import PARTY_CELLS, Tree, Unit
from models.procedure.loader import get_ruleset
from models.snapshot import CANDIDATE, SPONSOR, UNIT, unit_path
from models.vietnamese import fold, name_sort_key


class OutOfScope(LookupError):
    """No such file, or not one this account may see (the two are not told apart)."""


@dataclass(frozen=True)
class CandidateAccess:
    candidate_id: int
    cell_id: str
    cell_path: tuple[str, ...]           # the cell, then its ancestors up to the root
    sponsor_ids: frozenset[int]
    read_role: str


def cell_path(conn: Connection, cell_id: str) -> tuple[str, ...]:
    tree = unit_path(conn, cell_id)
    if cell_id not in tree.units:
        return ()
    return (cell_id, *(u.id for u in tree.ancestors(cell_id)))


def sponsor_ids(conn: Connection, candidate_id: int, helper_member_id: int | None) -> frozenset[int]:
    ids = {r.member_id for r in conn.execute(
        select(SPONSOR.c.member_id).where(SPONSOR.c.candidate_id == candidate_id, SPONSOR.c.ended_on.is_(None),
                                          SPONSOR.c.member_id.is_not(None)))}
    if helper_member_id is not None:
        ids.add(helper_member_id)
    return frozenset(ids)


def candidate_access(engine: Engine, principal: Principal, candidate_id: int) -> CandidateAccess:
    """How `principal` may reach this candidate, or OutOfScope."""
    with reading(engine) as conn:
        row = conn.execute(select(CANDIDATE.c.cell_id, CANDIDATE.c.helper_member_id)
                           .where(CANDIDATE.c.id == candidate_id)).first()
        if row is None:
            raise OutOfScope(candidate_id)
        path = cell_path(conn, row.cell_id)
        sponsors = sponsor_ids(conn, candidate_id, row.helper_member_id) if principal.member_id else frozenset()
    role = read_role(principal, path, sponsors)
    if role is None:
        raise OutOfScope(candidate_id)
    return CandidateAccess(candidate_id, row.cell_id, path, sponsors, role)


def cell_access(engine: Engine, principal: Principal, cell_id: str) -> tuple[str, tuple[str, ...]]:
    """(role, path) in which `principal` sees a cell's board, or OutOfScope."""
    with reading(engine) as conn:
        kind = conn.execute(select(UNIT.c.kind).where(UNIT.c.id == cell_id)).scalar()
        path = cell_path(conn, cell_id) if kind in PARTY_CELLS else ()
    role = may_see_cell(principal, path)
    if role is None:
        raise OutOfScope(cell_id)
    return role, path


def whole_tree(conn: Connection) -> Tree:
    return Tree(Unit(**dict(r)) for r in conn.execute(select(UNIT)).mappings())


def visible_cells(engine: Engine, principal: Principal) -> list[dict[str, Any]]:
    """The cells whose boards `principal` may open, with their names and parents, in tree order."""
    with reading(engine) as conn:
        tree = whole_tree(conn)
    ids: set[str] = {u for u in principal.units("secretary") if u in tree.units}
    for root in principal.units("committee", "organisation_department"):
        if root in tree.units:
            ids |= tree.subtree_ids(root)
    cells = [tree.units[i] for i in ids if tree.units[i].kind in PARTY_CELLS]
    parent = {c.id: tree.units[c.parent_id].name if c.parent_id in tree.units else "" for c in cells}
    return [{"id": c.id, "name": c.name, "parent": parent[c.id]}
            for c in sorted(cells, key=lambda c: (parent[c.id], name_sort_key(c.name)))]


def candidates_in_scope(engine: Engine, principal: Principal, *, cell_id: str | None = None,
                        stage: str | None = None, query: str | None = None, include_closed: bool = False,
                        limit: int = 500) -> list[dict[str, Any]]:
    """Candidates `principal` may see (not a sponsor's: see `sponsored_candidates`), sorted the Vietnamese way."""
    cells = [c["id"] for c in visible_cells(engine, principal)]
    if cell_id is not None:
        cells = [c for c in cells if c == cell_id]
    if not cells:
        return []
    rows: list[dict[str, Any]] = []
    with reading(engine) as conn:
        for start in range(0, len(cells), 500):
            stmt = select(CANDIDATE.c.id, CANDIDATE.c.full_name, CANDIDATE.c.cell_id, CANDIDATE.c.stage,
                          CANDIDATE.c.ruleset_version, CANDIDATE.c.version, CANDIDATE.c.last_event_on,
                          CANDIDATE.c.birth_date, CANDIDATE.c.closed_on, CANDIDATE.c.imported_unverified,
                          ).where(CANDIDATE.c.cell_id.in_(cells[start:start + 500]))
            if stage:
                stmt = stmt.where(CANDIDATE.c.stage == stage)
            if not include_closed:
                stmt = stmt.where(CANDIDATE.c.closed_on.is_(None))
            rows += [dict(r) for r in conn.execute(stmt).mappings()]
    if query:
        folded = fold(query)
        rows = [r for r in rows if folded in fold(r["full_name"]) or query.strip() == str(r["id"])]
    for r in rows:
        stage_def = get_ruleset(r["ruleset_version"]).stage(r["stage"])
        r["stage_label"], r["stage_letter"] = stage_def.label, stage_def.letter
    rows.sort(key=lambda r: name_sort_key(r["full_name"]))
    return rows[:limit]


def sponsored_candidates(engine: Engine, principal: Principal) -> list[dict[str, Any]]:
    """The open files a sponsor account's member sponsors or helps."""
    if principal.member_id is None or not principal.has("sponsor"):
        return []
    with reading(engine) as conn:
        sponsored = select(SPONSOR.c.candidate_id).where(SPONSOR.c.member_id == principal.member_id,
                                                         SPONSOR.c.ended_on.is_(None))
        rows = [dict(r) for r in conn.execute(
            select(CANDIDATE.c.id, CANDIDATE.c.full_name, CANDIDATE.c.cell_id, CANDIDATE.c.stage,
                   CANDIDATE.c.ruleset_version, CANDIDATE.c.helper_member_id, UNIT.c.name.label("cell_name"))
            .join(UNIT, UNIT.c.id == CANDIDATE.c.cell_id)
            .where(CANDIDATE.c.closed_on.is_(None),
                   or_(CANDIDATE.c.id.in_(sponsored), CANDIDATE.c.helper_member_id == principal.member_id))
        ).mappings()]
    for r in rows:
        r["stage_label"] = get_ruleset(r["ruleset_version"]).stage(r["stage"]).label
        r["relation"] = "helper" if r["helper_member_id"] == principal.member_id else "introducer"
    rows.sort(key=lambda r: name_sort_key(r["full_name"]))
    return rows
