"""Contacts and meeting rules in the organisation file (`contacts:` and `meetings:`).

A contact is a member (by code), a cell's secretary (`secretary_of`, usually with the member
who is secretary), or a committee's organisation department (`orgdept_of`, with a name). Each
has an email and/or Apprise URLs and a preferred channel. Recipients are matched on their key,
so importing a corrected file updates them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection, select

from models.imports.rows import RowError
from models.organisation import PARTY_CELLS
from models.tables import MeetingRule, Member, Recipient
from models.vietnamese import clean_name

RECIPIENT = Recipient.__table__
RULE = MeetingRule.__table__
MEMBER = Member.__table__


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member: str | None = None                 # member code
    secretary_of: str | None = None           # cell id
    orgdept_of: str | None = None             # committee unit id
    name: str | None = None
    email: str | None = Field(default=None, max_length=254)
    apprise: list[str] = Field(default_factory=list)
    channel: Literal["email", "apprise", "both"] = "email"

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and ("@" not in value or " " in value.strip() or value.startswith("@")):
            raise ValueError(f"{value!r} is not an email address")
        return value.strip() if value else value

    @model_validator(mode="after")
    def _shape(self) -> ContactIn:
        if self.secretary_of and self.orgdept_of:
            raise ValueError("a contact is either secretary_of a cell or orgdept_of a committee, not both")
        if not (self.member or self.secretary_of or self.orgdept_of):
            raise ValueError("give member, secretary_of or orgdept_of")
        if self.orgdept_of and not self.name:
            raise ValueError("an organisation department needs a name")
        if self.channel in ("email", "both") and not self.email:
            raise ValueError(f"channel {self.channel!r} needs an email")
        if self.channel in ("apprise", "both") and not self.apprise:
            raise ValueError(f"channel {self.channel!r} needs at least one Apprise URL")
        return self


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cell: str
    day_of_month: int = Field(ge=1, le=31)
    lead_days: int = Field(default=3, ge=0, le=31)
    missing_alert_after: int = Field(default=2, ge=1, le=12)


def check(contacts: list[tuple[int, ContactIn]], meetings: list[tuple[int, MeetingIn]], kinds: dict[str, str],
          member_codes: set[str]) -> list[RowError]:
    errors = []
    for line, c in contacts:
        if c.member and c.member not in member_codes:
            errors.append(RowError(line, "member", f"no party member with code {c.member!r}"))
        if c.secretary_of and kinds.get(c.secretary_of) not in PARTY_CELLS:
            errors.append(RowError(line, "secretary_of", f"{c.secretary_of!r} is not a party cell"))
        if c.orgdept_of and (kinds.get(c.orgdept_of) is None or kinds[c.orgdept_of] in PARTY_CELLS):
            errors.append(RowError(line, "orgdept_of", f"{c.orgdept_of!r} is not a committee"))
    for line, m in meetings:
        if kinds.get(m.cell) not in PARTY_CELLS:
            errors.append(RowError(line, "cell", f"{m.cell!r} is not a party cell"))
    return errors


def store(conn: Connection, contacts: list[tuple[int, ContactIn]], meetings: list[tuple[int, MeetingIn]]) -> dict[str, int]:
    if not contacts and not meetings:
        return {}
    members = {r.code: (r.id, r.full_name) for r in conn.execute(select(MEMBER.c.code, MEMBER.c.id, MEMBER.c.full_name))}
    existing = {r.key for r in conn.execute(select(RECIPIENT.c.key))}
    created = updated = 0
    for _, c in contacts:
        member_id, member_name = members.get(c.member or "", (None, None))
        if c.secretary_of:
            key, kind, unit, name = f"secretary:{c.secretary_of}", "cell_secretary", c.secretary_of, c.name or member_name
        elif c.orgdept_of:
            key, kind, unit, name = f"orgdept:{c.orgdept_of}", "organisation_department", c.orgdept_of, c.name
        else:
            key, kind, unit, name = f"member:{member_id}", "member", None, c.name or member_name
        values: dict[str, Any] = {"kind": kind, "member_id": member_id, "unit_id": unit, "name": clean_name(name or key),
                                  "email": c.email, "apprise_urls": list(c.apprise), "channel": c.channel, "active": True}
        if key in existing:
            conn.execute(RECIPIENT.update().where(RECIPIENT.c.key == key).values(**values))
            updated += 1
        else:
            conn.execute(RECIPIENT.insert().values(key=key, **values))
            existing.add(key)
            created += 1
    rules = {r.cell_id for r in conn.execute(select(RULE.c.cell_id))}
    for _, m in meetings:
        values = {"day_of_month": m.day_of_month, "lead_days": m.lead_days, "missing_alert_after": m.missing_alert_after}
        if m.cell in rules:
            conn.execute(RULE.update().where(RULE.c.cell_id == m.cell).values(**values))
        else:
            conn.execute(RULE.insert().values(cell_id=m.cell, **values))
    return {"contacts_created": created, "contacts_updated": updated, "meeting_rules": len(meetings)}
