"""Organisation units and party members (the register the guards read)."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class OrgUnit(SQLModel, table=True):
    """A unit of the party organisation tree, or a village / residential group for coverage."""

    __tablename__ = "org_unit"

    id: str = Field(primary_key=True, max_length=64)            # stable code, e.g. "xa-muong-bu"
    parent_id: str | None = Field(default=None, foreign_key="org_unit.id", index=True, max_length=64)
    kind: str = Field(max_length=32)
    name: str = Field(max_length=200)
    authorised_to_admit: bool = False                            # đảng ủy cơ sở được ủy quyền kết nạp
    competent_unit_id: str | None = Field(default=None, foreign_key="org_unit.id", max_length=64)
    committee_size: int | None = None                            # committee members, for 2/3 votes
    has_youth_union: bool = False
    has_trade_union: bool = False
    covered_by_cell_id: str | None = Field(default=None, foreign_key="org_unit.id", max_length=64)


class Member(SQLModel, table=True):
    """A party member (đảng viên), full or probationary."""

    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)                # party card number or local code
    full_name: str = Field(max_length=200)
    gender: str = Field(max_length=8)                            # nam | nu
    birth_date: date | None = None
    ethnicity: str | None = Field(default=None, max_length=64)
    cell_id: str = Field(foreign_key="org_unit.id", index=True, max_length=64)
    admitted_on: date                                            # date of the admission decision
    recognised_on: date | None = None                            # became a full member
    standing: str = Field(default="active", max_length=32)       # active | temporarily_transferred | exempted | left | died
    left_on: date | None = None
