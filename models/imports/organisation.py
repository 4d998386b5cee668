"""Importing the organisation tree and the member register from YAML or CSV, all or nothing.

A YAML file may hold `units:` and `members:`; a CSV file holds one of them (told apart by its
header: `kind` for units, `admitted_on` for members). Units and members are matched on their
codes, so importing a corrected file updates them. Every bad row is reported with its line and
the rule it breaks; if any row is bad nothing is written. The import is one audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Engine, select

from models.actors import Actor
from models.audit.chain import digest
from models.audit.trail import append_to_chain
from models.imports import contacts as contacts_module
from models.imports.rows import FIELD_LINES, ImportRejected, RowError, load_yaml, read_csv, validate_rows
from models.organisation import ALLOWED_PARENTS, COVERAGE, PARTY_CELLS, placement_problem
from models.people import ethnic_group
from models.tables import Member, OrgUnit
from models.transitions import local_today
from models.vietnamese import clean_name

UNIT = OrgUnit.__table__
MEMBER = Member.__table__
UnitKindIn = Literal[tuple(ALLOWED_PARENTS)]  # type: ignore[valid-type]


class UnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)
    parent: str | None = None
    kind: UnitKindIn
    name: str = Field(min_length=2, max_length=200)
    authorised_to_admit: bool = False
    competent_unit: str | None = None
    committee_size: int | None = Field(default=None, ge=1, le=99)
    has_youth_union: bool = False
    has_trade_union: bool = False
    covered_by_cell: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    full_name: str = Field(min_length=2, max_length=200)
    gender: Literal["nam", "nu"]
    birth_date: date | None = None
    ethnicity: str | None = None
    cell: str
    admitted_on: date
    recognised_on: date | None = None
    standing: Literal["active", "temporarily_transferred", "exempted", "left", "died"] = "active"
    left_on: date | None = None

    @field_validator("full_name")
    @classmethod
    def _name(cls, value: str) -> str:
        return clean_name(value)

    @field_validator("ethnicity")
    @classmethod
    def _ethnicity(cls, value: str | None) -> str | None:
        if value is None:
            return None
        official = ethnic_group(value)
        if official is None:
            raise ValueError(f"{value!r} is not one of the 54 ethnic groups of Viet Nam")
        return official

    @model_validator(mode="after")
    def _dates(self) -> MemberIn:
        if self.recognised_on and self.recognised_on < self.admitted_on:
            raise ValueError("recognised_on is before admitted_on")
        if self.standing in ("left", "died") and self.left_on is None:
            raise ValueError(f"a member whose standing is {self.standing!r} needs left_on")
        if self.left_on and self.left_on < self.admitted_on:
            raise ValueError("left_on is before admitted_on")
        return self


@dataclass(frozen=True)
class ImportSummary:
    units_created: int
    units_updated: int
    members_created: int
    members_updated: int
    audit_event_id: int
    contacts_created: int = 0
    contacts_updated: int = 0
    meeting_rules: int = 0

    def as_dict(self) -> dict[str, int]:
        return self.__dict__.copy()


def read_organisation_file(path: Path) -> tuple[list[dict], list[dict]]:
    units, members, _, _ = read_sections(path)
    return units, members


def read_sections(path: Path) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """(units, members, contacts, meetings) rows of an organisation file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        rows = read_csv(text)
        header = set().union(*(r.keys() for r in rows)) if rows else set()
        if "kind" in header:
            return rows, [], [], []
        if "admitted_on" in header:
            return [], rows, [], []
        raise ImportRejected(path.name, [RowError(1, "header", "a units file needs a `kind` column, "
                                                  "a members file an `admitted_on` column")])
    data = load_yaml(text, path.name)
    sections = ("units", "members", "contacts", "meetings")
    if not isinstance(data, dict) or not (set(sections) & set(data)):
        raise ImportRejected(path.name, [RowError(1, "file", "expected a mapping with units:, members:, contacts: "
                                                  "and/or meetings:")])
    found = [data.get(key) or [] for key in sections]
    for key, value in zip(sections, found, strict=True):
        if not isinstance(value, list):
            raise ImportRejected(path.name, [RowError(data.get(FIELD_LINES, {}).get(key, 1), key, "must be a list")])
    return found[0], found[1], found[2], found[3]


def import_organisation(engine: Engine, path: Path, actor: Actor, *, now: datetime | None = None) -> ImportSummary:
    unit_rows, member_rows, contact_rows, meeting_rows = read_sections(path)
    units, errors = validate_rows(unit_rows, UnitIn)
    members, member_errors = validate_rows(member_rows, MemberIn)
    contacts, contact_errors = validate_rows(contact_rows, contacts_module.ContactIn)
    meetings, meeting_errors = validate_rows(meeting_rows, contacts_module.MeetingIn)
    errors += member_errors + contact_errors + meeting_errors
    with engine.begin() as conn:
        existing = {r.id: r.kind for r in conn.execute(select(UNIT.c.id, UNIT.c.kind))}
        errors += _check_units(units, existing)
        kinds = existing | {u.id: u.kind for _, u in units}
        errors += _check_members(members, kinds)
        known_members = {r.code: r.id for r in conn.execute(select(MEMBER.c.code, MEMBER.c.id))}
        errors += contacts_module.check(contacts, meetings, kinds, set(known_members) | {m.code for _, m in members})
        if errors:
            raise ImportRejected(path.name, errors)
        created_u = updated_u = created_m = updated_m = 0
        for _, u in _parents_first(units):
            values = dict(parent_id=u.parent, kind=u.kind, name=u.name, authorised_to_admit=u.authorised_to_admit,
                          competent_unit_id=u.competent_unit, committee_size=u.committee_size,
                          has_youth_union=u.has_youth_union, has_trade_union=u.has_trade_union,
                          covered_by_cell_id=None)
            if u.id in existing:
                conn.execute(UNIT.update().where(UNIT.c.id == u.id).values(**values))
                updated_u += 1
            else:
                conn.execute(UNIT.insert().values(id=u.id, **values))
                created_u += 1
        for _, u in units:          # villages point at cells, which may come later in the file
            if u.covered_by_cell:
                conn.execute(UNIT.update().where(UNIT.c.id == u.id).values(covered_by_cell_id=u.covered_by_cell))
        for _, m in members:
            values = dict(full_name=m.full_name, gender=m.gender, birth_date=m.birth_date, ethnicity=m.ethnicity,
                          cell_id=m.cell, admitted_on=m.admitted_on, recognised_on=m.recognised_on,
                          standing=m.standing, left_on=m.left_on)
            if m.code in known_members:
                conn.execute(MEMBER.update().where(MEMBER.c.code == m.code).values(**values))
                updated_m += 1
            else:
                conn.execute(MEMBER.insert().values(code=m.code, **values))
                created_m += 1
        counts = {"units_created": created_u, "units_updated": updated_u,
                  "members_created": created_m, "members_updated": updated_m,
                  **contacts_module.store(conn, contacts, meetings)}
        event = append_to_chain(
            conn, "org", kind="import", actor=actor, event="organisation_import",
            effective_on=local_today(now or datetime.now(UTC)), now=now,
            payload={"file": path.name, "file_digest": digest(path.read_text(encoding="utf-8")), **counts},
        )
    return ImportSummary(**counts, audit_event_id=event.id)


def _check_units(units: list[tuple[int, UnitIn]], existing: dict[str, str]) -> list[RowError]:
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, u in units:
        if u.id in seen:
            errors.append(RowError(line, "id", f"unit {u.id!r} appears twice (first on line {seen[u.id]})"))
        seen.setdefault(u.id, line)
    kinds = existing | {u.id: u.kind for _, u in units}
    parents = {u.id: u.parent for _, u in units}
    for line, u in units:
        if u.parent is not None and u.parent not in kinds:
            errors.append(RowError(line, "parent", f"no unit {u.parent!r} in the file or the database"))
        else:
            problem = placement_problem(u.kind, kinds.get(u.parent) if u.parent else None)
            if problem:
                errors.append(RowError(line, "parent", problem))
        if u.competent_unit is not None and u.competent_unit not in kinds:
            errors.append(RowError(line, "competent_unit", f"no unit {u.competent_unit!r}"))
        if u.covered_by_cell is not None:
            if u.kind not in COVERAGE:
                errors.append(RowError(line, "covered_by_cell", "only villages and residential groups are covered by a cell"))
            elif kinds.get(u.covered_by_cell) not in PARTY_CELLS:
                errors.append(RowError(line, "covered_by_cell", f"{u.covered_by_cell!r} is not a party cell"))
        if _in_cycle(u.id, parents):
            errors.append(RowError(line, "parent", f"unit {u.id!r} would be its own ancestor"))
    return errors


def _in_cycle(unit_id: str, parents: dict[str, str | None]) -> bool:
    seen, current = set(), parents.get(unit_id)
    while current is not None and current in parents:
        if current == unit_id or current in seen:
            return True
        seen.add(current)
        current = parents[current]
    return False


def _check_members(members: list[tuple[int, MemberIn]], kinds: dict[str, str]) -> list[RowError]:
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for line, m in members:
        if m.code in seen:
            errors.append(RowError(line, "code", f"member {m.code!r} appears twice (first on line {seen[m.code]})"))
        seen.setdefault(m.code, line)
        if m.cell not in kinds:
            errors.append(RowError(line, "cell", f"no unit {m.cell!r} in the file or the database"))
        elif kinds[m.cell] not in PARTY_CELLS:
            errors.append(RowError(line, "cell", f"{m.cell!r} is a {kinds[m.cell]}, not a party cell"))
    return errors


def _parents_first(units: list[tuple[int, UnitIn]]) -> list[tuple[int, UnitIn]]:
    by_id = {u.id: (line, u) for line, u in units}
    ordered: list[tuple[int, UnitIn]] = []
    placed: set[str] = set()

    def place(uid: str) -> None:
        if uid in placed or uid not in by_id:
            return
        placed.add(uid)
        parent = by_id[uid][1].parent
        if parent:
            place(parent)
        ordered.append(by_id[uid])

    for _, u in units:
        place(u.id)
    return ordered
