"""Who may read and do what, scoped to the organisation tree. Pure: no database, no web.

Roles (design card, plus `committee` for the bodies above the cell):

- admin: accounts, roles and organisation imports; reads no personal file.
- organisation_department (Ban Tổ chức): reads every file in the subtree of its unit.
- committee (văn phòng cấp ủy): reads the subtree of its unit and records what the committees
  and the political centre decide (appraisal, resolutions, decisions, certificates).
- secretary (bí thư chi bộ): reads and acts for its own cell (the cell's and the cell
  committee's steps).
- sponsor: its own candidates (those it sponsors or helps) and their notes.

Which role records an event follows from the event's `actor` in the procedure definition, so
the pages offer exactly what the definition says each body does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models.actors import Actor
from models.organisation import COVERAGE, PARTY_CELLS

GRANT_ROLES = ("admin", "organisation_department", "committee", "secretary", "sponsor")

ROLE_LABELS = {
    "admin": "Quản trị hệ thống",
    "organisation_department": "Ban Tổ chức",
    "committee": "Văn phòng cấp ủy",
    "secretary": "Bí thư chi bộ",
    "sponsor": "Người giới thiệu, giúp đỡ",
}

# the body named as an event's actor in the definition → the role that records it
EVENT_ACTOR_ROLES = {
    "cell": "secretary",
    "cell_committee": "secretary",
    "candidate": "secretary",                 # e.g. a withdrawal letter, handed to the cell
    "intermediate_committee": "committee",
    "grassroots_committee": "committee",
    "competent_committee": "committee",
    "political_centre": "committee",
}

READ_ROLES = ("secretary", "committee", "organisation_department", "sponsor")   # first match names the read


@dataclass(frozen=True)
class Grant:
    role: str
    unit_id: str | None = None
    id: int | None = None

    def __hash__(self) -> int:
        return hash((self.role, self.unit_id))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grant) and (self.role, self.unit_id) == (other.role, other.unit_id)


@dataclass(frozen=True)
class Principal:
    account_id: int
    username: str
    display_name: str
    member_id: int | None
    grants: tuple[Grant, ...]

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    def has(self, role: str) -> bool:
        return role in self.roles

    def units(self, *roles: str) -> list[str]:
        return [g.unit_id for g in self.grants if g.role in roles and g.unit_id is not None]

    def actor(self, role: str) -> Actor:
        return Actor(f"user:{self.username}", role)

    @property
    def home(self) -> str:
        """The page an account lands on after login."""
        if self.has("secretary"):
            return "/cells"
        if self.has("committee") or self.has("organisation_department"):
            return "/units"
        if self.has("sponsor"):
            return "/sponsor"
        if self.has("admin"):
            return "/admin"
        return "/account"


def grant_problem(grant: Grant, unit_kind: str | None, *, has_member: bool) -> tuple[str, str, str, str] | None:
    """Why a grant cannot be given: (field, code, English, Vietnamese), or None."""
    if grant.role not in GRANT_ROLES:
        return ("role", "unknown_role", f"unknown role {grant.role!r}; known: {', '.join(GRANT_ROLES)}",
                f"Không có vai trò “{grant.role}”.")
    if grant.role in ("admin", "sponsor"):
        if grant.unit_id is not None:
            return ("unit_id", "not_scoped", f"the {grant.role} role is not given over a unit",
                    f"Vai trò {ROLE_LABELS[grant.role]} không gắn với một tổ chức.")
        if grant.role == "sponsor" and not has_member:
            return ("member_code", "required", "a sponsor account must name its party member",
                    "Tài khoản người giới thiệu phải gắn với một đảng viên (mã đảng viên).")
        return None
    if grant.unit_id is None:
        return ("unit_id", "required", f"the {grant.role} role is given over a unit",
                f"Vai trò {ROLE_LABELS[grant.role]} phải gắn với một tổ chức.")
    if grant.role == "secretary" and unit_kind not in PARTY_CELLS:
        return ("unit_id", "not_a_cell", f"a secretary acts for a cell, not a {unit_kind}",
                "Bí thư chi bộ phải gắn với một chi bộ.")
    if grant.role in ("organisation_department", "committee") and (unit_kind in COVERAGE or unit_kind == "cell"):
        return ("unit_id", "not_a_committee", f"the {grant.role} role is given over a party committee, not a {unit_kind}",
                f"Vai trò {ROLE_LABELS[grant.role]} phải gắn với một đảng bộ.")
    return None


def read_role(principal: Principal, cell_path: Sequence[str], sponsor_ids: Iterable[int] = ()) -> str | None:
    """The role in which `principal` may read a candidate of the cell whose path (cell first, then its
    ancestors) is `cell_path`, or None. `sponsor_ids`: the members who sponsor or help the candidate."""
    cell = cell_path[0] if cell_path else None
    path = set(cell_path)
    for role in READ_ROLES:
        for g in principal.grants:
            if g.role != role:
                continue
            if role == "secretary" and g.unit_id == cell:
                return role
            if role in ("committee", "organisation_department") and g.unit_id in path:
                return role
            if role == "sponsor" and principal.member_id is not None and principal.member_id in set(sponsor_ids):
                return role
    return None


def act_role(principal: Principal, event_actor: str, cell_path: Sequence[str]) -> str | None:
    """The role in which `principal` may record an event whose definition names `event_actor`."""
    role = EVENT_ACTOR_ROLES.get(event_actor)
    if role is None or not cell_path:
        return None
    for g in principal.grants:
        if g.role != role:
            continue
        if role == "secretary" and g.unit_id == cell_path[0]:
            return role
        if role == "committee" and g.unit_id in set(cell_path):
            return role
    return None


def may_see_cell(principal: Principal, cell_path: Sequence[str]) -> str | None:
    """The role in which `principal` may see a cell's board (not a sponsor: sponsors see their own candidates)."""
    if not cell_path:
        return None
    for g in principal.grants:
        if g.role == "secretary" and g.unit_id == cell_path[0]:
            return "secretary"
    for g in principal.grants:
        if g.role in ("committee", "organisation_department") and g.unit_id in set(cell_path):
            return g.role
    return None
