"""The organisation tree, pure: unit kinds, what may sit under what, and who decides admission.

province committee → commune/ward or agency committees → grassroots organisations (đảng bộ
cơ sở / chi bộ cơ sở) → optional intermediate committees (đảng bộ bộ phận) → cells; villages
and residential groups (thôn, bản, tổ dân phố) sit under the commune for coverage figures.
A commune committee also acts as the grassroots organisation of the cells directly under it.

The competent committee (cấp ủy có thẩm quyền) for a cell: the nearest explicit
`competent_unit_id` on the cell or an ancestor if any; else the grassroots organisation as a
whole when it is authorised to admit; else the standing committee of the unit above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

UnitKind = Literal[
    "province_committee", "commune_committee", "agency_committee", "grassroots_committee",
    "grassroots_cell", "intermediate_committee", "cell", "village", "residential_group",
]

KIND_LABELS: dict[str, str] = {
    "province_committee": "Đảng bộ tỉnh, thành phố",
    "commune_committee": "Đảng bộ xã, phường, đặc khu",
    "agency_committee": "Đảng bộ cơ quan, khối",
    "grassroots_committee": "Đảng bộ cơ sở",
    "grassroots_cell": "Chi bộ cơ sở",
    "intermediate_committee": "Đảng bộ bộ phận",
    "cell": "Chi bộ",
    "village": "Thôn, bản",
    "residential_group": "Tổ dân phố",
}

ALLOWED_PARENTS: dict[str, frozenset[str | None]] = {
    "province_committee": frozenset({None}),
    "commune_committee": frozenset({"province_committee"}),
    "agency_committee": frozenset({"province_committee"}),
    "grassroots_committee": frozenset({"province_committee", "commune_committee", "agency_committee"}),
    "grassroots_cell": frozenset({"province_committee", "commune_committee", "agency_committee"}),
    "intermediate_committee": frozenset({"grassroots_committee", "commune_committee"}),
    "cell": frozenset({"grassroots_committee", "intermediate_committee", "commune_committee"}),
    "village": frozenset({"commune_committee"}),
    "residential_group": frozenset({"commune_committee"}),
}

PARTY_CELLS = frozenset({"cell", "grassroots_cell"})            # where members and candidates belong
GRASSROOTS = frozenset({"grassroots_committee", "grassroots_cell", "commune_committee"})
COVERAGE = frozenset({"village", "residential_group"})


@dataclass(frozen=True)
class Unit:
    id: str
    parent_id: str | None
    kind: str
    name: str
    authorised_to_admit: bool = False
    competent_unit_id: str | None = None
    committee_size: int | None = None
    has_youth_union: bool = False
    has_trade_union: bool = False
    covered_by_cell_id: str | None = None      # villages: the cell whose members live there


@dataclass(frozen=True)
class CompetentBody:
    unit_id: str
    standing_committee: bool                    # True: its ban thường vụ; False: the committee as a whole

    def describe(self, units: Mapping[str, Unit]) -> str:
        """'Ban Thường vụ Đảng ủy xã Mường Bú' or 'Đảng ủy xã Mường Bú': the committee, not the organisation."""
        name = committee_name(units[self.unit_id].name)
        return f"Ban Thường vụ {name}" if self.standing_committee else name


def committee_name(unit_name: str) -> str:
    """The name of a party organisation's committee: 'Đảng bộ xã X' → 'Đảng ủy xã X'."""
    return "Đảng ủy" + unit_name[len("Đảng bộ"):] if unit_name.startswith("Đảng bộ") else unit_name


class Tree:
    """A read-only view over units: ancestors, the grassroots organisation, the competent body."""

    def __init__(self, units: Iterable[Unit]):
        self.units: dict[str, Unit] = {u.id: u for u in units}

    def ancestors(self, unit_id: str) -> Iterator[Unit]:
        """The unit's parent, grandparent, … up to the root."""
        seen = {unit_id}
        parent = self.units[unit_id].parent_id
        while parent is not None:
            if parent in seen:
                raise ValueError(f"cycle in the organisation tree at {parent!r}")
            seen.add(parent)
            unit = self.units[parent]
            yield unit
            parent = unit.parent_id

    def grassroots_of(self, cell_id: str) -> Unit:
        cell = self.units[cell_id]
        if cell.kind == "grassroots_cell":
            return cell
        for unit in self.ancestors(cell_id):
            if unit.kind in GRASSROOTS:
                return unit
        raise ValueError(f"cell {cell_id!r} has no grassroots organisation above it")

    def competent_body(self, cell_id: str) -> CompetentBody:
        for unit in (self.units[cell_id], *self.ancestors(cell_id)):
            if unit.competent_unit_id:
                return CompetentBody(unit.competent_unit_id, standing_committee=True)
        grassroots = self.grassroots_of(cell_id)
        if grassroots.authorised_to_admit or grassroots.parent_id is None:
            return CompetentBody(grassroots.id, standing_committee=False)
        return CompetentBody(grassroots.parent_id, standing_committee=True)

    def has_intermediate_committee(self, cell_id: str) -> bool:
        parent = self.units[cell_id].parent_id
        return parent is not None and self.units[parent].kind == "intermediate_committee"

    def has_grassroots_committee(self, cell_id: str) -> bool:
        """A cell inside a grassroots organisation (not a chi bộ cơ sở, which is its own)."""
        return self.units[cell_id].kind == "cell"

    def subtree_ids(self, root_id: str) -> set[str]:
        children: dict[str | None, list[str]] = {}
        for u in self.units.values():
            children.setdefault(u.parent_id, []).append(u.id)
        out: set[str] = set()
        todo = [root_id]
        while todo:
            uid = todo.pop()
            if uid not in out:
                out.add(uid)
                todo.extend(children.get(uid, ()))
        return out


def placement_problem(kind: str, parent_kind: str | None) -> str | None:
    """Why a unit of `kind` cannot sit under a unit of `parent_kind`, or None when it can."""
    allowed = ALLOWED_PARENTS.get(kind)
    if allowed is None:
        return f"unknown unit kind {kind!r}; known: {sorted(ALLOWED_PARENTS)}"
    if parent_kind not in allowed:
        where = "at the top of the tree" if parent_kind is None else f"under a {parent_kind}"
        names = sorted(k or "(top)" for k in allowed)
        return f"a {kind} cannot sit {where}; it goes under: {', '.join(names)}"
    return None
