"""Adding candidates (người vào Đảng) with their CV facts and sponsors, from YAML or CSV, all or nothing.

Each candidate enters the procedure at its initial stage (the source list), stamped with the
rule set in force on the date the cell put them on the list (or the one named), and its
audit chain starts with a `created` event. CSV files give sponsors as numbered columns
(sponsor1_member, sponsor1_since, sponsor2_member, …; union resolutions as union_kind,
union_body, union_resolution_ref, union_resolution_on).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection, Engine, select

from models.actors import Actor
from models.audit.chain import GENESIS
from models.audit.trail import append_for_candidate
from models.imports.rows import LINE, ImportRejected, RowError, read_rows, validate_rows
from models.organisation import COVERAGE, PARTY_CELLS
from models.people import EDUCATION_EXEMPTIONS, LEAVE_REASONS, OCCUPATIONS, ethnic_group
from models.procedure.loader import all_rulesets, in_force_on
from models.tables import Candidate, Member, OrgUnit, Recipient, Sponsorship
from models.transitions import local_today
from models.vietnamese import clean_name

CANDIDATE = Candidate.__table__
SPONSOR = Sponsorship.__table__


class SponsorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["member", "youth_union", "trade_union"] = "member"
    role: Literal["introducer", "helper"] = "introducer"
    member: str | None = None                  # member code
    together_since: date | None = None
    relation: Literal["work", "study", "residence"] | None = None
    body_name: str | None = None
    resolution_ref: str | None = None
    resolution_on: date | None = None

    @model_validator(mode="after")
    def _complete(self) -> SponsorIn:
        if self.kind == "member":
            if not self.member:
                raise ValueError("a member sponsor needs `member` (the member's code)")
            if self.role == "introducer" and self.together_since is None:
                raise ValueError("a member sponsor needs `together_since` (worked/studied/lived together since)")
        elif not (self.body_name and self.resolution_ref and self.resolution_on):
            raise ValueError("a union resolution needs body_name, resolution_ref and resolution_on")
        return self


class PriorMembershipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    left_on: date
    leave_reason: str
    expunged_conviction: bool = False
    readmitted_before: bool = False

    @field_validator("leave_reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if value not in LEAVE_REASONS:
            raise ValueError(f"unknown leave reason {value!r}; known: {', '.join(LEAVE_REASONS)}")
        return value


class CandidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=2, max_length=200)
    birth_date: date
    gender: Literal["nam", "nu"]
    ethnicity: str
    religion: str | None = None
    general_education_grade: int = Field(ge=0, le=12)
    education_exemption: str | None = None
    qualification: str | None = None
    occupation: str
    youth_union_member: bool = False
    trade_union_member: bool = False
    residence_village: str | None = None
    work_unit: str | None = None
    cell: str
    listed_on: date                            # the cell's resolution putting the person on its source list
    ruleset: str | None = None
    over_60_consent_ref: str | None = None
    prior_membership: PriorMembershipIn | None = None
    readmission_request_on: date | None = None
    readmission_consent_ref: str | None = None
    sponsors: list[SponsorIn] = Field(default_factory=list)
    email: str | None = Field(default=None, max_length=254)        # for notifications (course, probation)
    apprise: list[str] = Field(default_factory=list)

    @field_validator("full_name", "work_unit", "qualification", "religion")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return clean_name(value) if value else value

    @field_validator("ethnicity")
    @classmethod
    def _ethnicity(cls, value: str) -> str:
        official = ethnic_group(value)
        if official is None:
            raise ValueError(f"{value!r} is not one of the 54 ethnic groups of Viet Nam")
        return official

    @field_validator("occupation")
    @classmethod
    def _occupation(cls, value: str) -> str:
        if value not in OCCUPATIONS:
            raise ValueError(f"unknown occupation {value!r}; known: {', '.join(OCCUPATIONS)}")
        return value

    @field_validator("education_exemption")
    @classmethod
    def _exemption(cls, value: str | None) -> str | None:
        if value is not None and value not in EDUCATION_EXEMPTIONS:
            raise ValueError(f"unknown exemption {value!r}; known: {', '.join(EDUCATION_EXEMPTIONS)}")
        return value

    @model_validator(mode="after")
    def _dates(self) -> CandidateIn:
        if self.birth_date >= self.listed_on:
            raise ValueError("birth_date must be before listed_on")
        for sp in self.sponsors:
            if sp.together_since and sp.together_since < self.birth_date:
                raise ValueError("a sponsor's together_since is before the candidate's birth")
        return self


def csv_to_nested(row: dict[str, Any]) -> dict[str, Any]:
    """Fold numbered sponsor columns and prior-membership columns of a CSV row into nested values."""
    out: dict[str, Any] = {}
    sponsors: dict[int, dict[str, Any]] = {}
    union: dict[str, Any] = {}
    prior: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith("sponsor") and "_" in key and key[7:key.index("_")].isdigit():
            n = int(key[7:key.index("_")])
            field = {"since": "together_since"}.get(key[key.index("_") + 1:], key[key.index("_") + 1:])
            sponsors.setdefault(n, {})[field] = value
        elif key.startswith("union_"):
            union[{"kind": "kind", "body": "body_name"}.get(key[6:], key[6:])] = value
        elif key.startswith("prior_"):
            prior[key[6:]] = value
        else:
            out[key] = value
    out["sponsors"] = [sponsors[n] for n in sorted(sponsors)] + ([union] if union else [])
    if prior:
        out["prior_membership"] = prior
    return out


def add_candidates_from_file(engine: Engine, path: Path, actor: Actor, *, now: datetime | None = None) -> list[int]:
    rows = read_rows(path, "candidates")
    if path.suffix.lower() == ".csv":
        rows = [csv_to_nested(r) | {LINE: r[LINE]} for r in rows]
    valid, errors = validate_rows(rows, CandidateIn)
    return add_candidates(engine, valid, actor, now=now, source=path.name, errors=errors)


def add_candidates(engine: Engine, items: list[tuple[int, CandidateIn]], actor: Actor, *,
                   now: datetime | None = None, source: str = "input", errors: list[RowError] | None = None) -> list[int]:
    """Insert candidates with their sponsors and `created` audit events, or raise ImportRejected.

    `errors` already found in other rows are reported together with the cross-checks of these.
    """
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        return insert_candidates(conn, items, actor, now=now, source=source, errors=errors)


def insert_candidates(conn: Connection, items: list[tuple[int, CandidateIn]], actor: Actor, *, now: datetime,
                      source: str = "input", errors: list[RowError] | None = None,
                      import_batch_id: int | None = None) -> list[int]:
    """`add_candidates` inside the caller's transaction (an import of files in progress adds and replays them; its
    batch and each file's line in the sheet are kept on the candidate and its "created" event)."""
    kinds = {r.id: r.kind for r in conn.execute(select(OrgUnit.__table__.c.id, OrgUnit.__table__.c.kind))}
    members = {r.code: r.id for r in conn.execute(select(Member.__table__.c.code, Member.__table__.c.id))}
    errors = (errors or []) + _check(items, kinds, members, local_today(now))
    if errors:
        raise ImportRejected(source, errors)
    ids = []
    for line, c in items:
        ruleset = c.ruleset or in_force_on(c.listed_on).version
        rs = all_rulesets()[ruleset]
        values = c.model_dump(exclude={"sponsors", "prior_membership", "residence_village", "cell", "listed_on", "ruleset",
                                       "email", "apprise"})
        prior = c.prior_membership
        candidate_id = conn.execute(CANDIDATE.insert().values(
            **values, cell_id=c.cell, residence_village_id=c.residence_village, ruleset_version=ruleset,
            stage=rs.initial_stage, version=1, facts={}, source_listed_on=c.listed_on, last_event_on=c.listed_on,
            prior_left_on=prior.left_on if prior else None,
            prior_leave_reason=prior.leave_reason if prior else None,
            prior_expunged_conviction=prior.expunged_conviction if prior else False,
            prior_readmitted_before=prior.readmitted_before if prior else False,
            audit_seq=0, audit_head=GENESIS, created_at=now, import_batch_id=import_batch_id,
        ).returning(CANDIDATE.c.id)).scalar_one()
        for sp in c.sponsors:
            conn.execute(SPONSOR.insert().values(
                candidate_id=candidate_id, role=sp.role, kind=sp.kind,
                member_id=members.get(sp.member) if sp.member else None, together_since=sp.together_since,
                relation=sp.relation, body_name=sp.body_name, resolution_ref=sp.resolution_ref,
                resolution_on=sp.resolution_on, started_on=c.listed_on,
            ))
        if c.email or c.apprise:
            conn.execute(Recipient.__table__.insert().values(
                key=f"candidate:{candidate_id}", kind="candidate", candidate_id=candidate_id, name=c.full_name,
                email=c.email, apprise_urls=list(c.apprise),
                channel="both" if c.email and c.apprise else ("email" if c.email else "apprise"), active=True))
        append_for_candidate(
            conn, candidate_id, (0, GENESIS), kind="created", actor=actor, event="add_candidate",
            effective_on=c.listed_on, stage_after=rs.initial_stage, ruleset_version=ruleset, now=now,
            payload={"source": source, "cell_id": c.cell, "sponsors": len(c.sponsors)}
            | ({"imported": {"batch": import_batch_id, "line": line}} if import_batch_id is not None else {}),
        )
        ids.append(candidate_id)
    return ids


def _check(items: list[tuple[int, CandidateIn]], kinds: dict[str, str], members: dict[str, int],
           today: date) -> list[RowError]:
    errors = []
    versions = all_rulesets()
    for line, c in items:
        if c.cell not in kinds:
            errors.append(RowError(line, "cell", f"no unit {c.cell!r}"))
        elif kinds[c.cell] not in PARTY_CELLS:
            errors.append(RowError(line, "cell", f"{c.cell!r} is a {kinds[c.cell]}, not a party cell"))
        if c.residence_village is not None and kinds.get(c.residence_village) not in COVERAGE:
            errors.append(RowError(line, "residence_village", f"{c.residence_village!r} is not a village or residential group"))
        if c.listed_on > today:
            errors.append(RowError(line, "listed_on", f"{c.listed_on.isoformat()} is in the future"))
        if c.ruleset is not None and c.ruleset not in versions:
            errors.append(RowError(line, "ruleset", f"unknown rule set {c.ruleset!r}; known: {sorted(versions)}"))
        elif c.ruleset is None:
            try:
                in_force_on(c.listed_on)
            except LookupError as exc:
                errors.append(RowError(line, "listed_on", str(exc)))
        for i, sp in enumerate(c.sponsors):
            if sp.member and sp.member not in members:
                errors.append(RowError(line, f"sponsors.{i}.member", f"no party member with code {sp.member!r}"))
    return errors
