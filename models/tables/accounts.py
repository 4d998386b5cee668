"""Accounts of the web app and the API: who logs in, in which roles over which part of the tree.

A password is stored only as an Argon2 hash; a session or API token only as the SHA-256 of
the random value the browser or the client holds, so a copy of the database opens no session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Account(SQLModel, table=True):
    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)            # lower case, [a-z0-9._-]
    display_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)                   # Argon2id, PHC string
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)  # the party member, for sponsors
    email: str | None = Field(default=None, max_length=254)
    active: bool = True
    created_at: datetime
    password_changed_at: datetime


class AccountGrant(SQLModel, table=True):
    """One role of an account over one unit's subtree (admin and sponsor grants have no unit)."""

    __tablename__ = "account_grant"
    __table_args__ = (UniqueConstraint("account_id", "role", "unit_id", name="uq_grant"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    role: str = Field(max_length=32)             # admin | organisation_department | committee | secretary | sponsor
    unit_id: str | None = Field(default=None, foreign_key="org_unit.id", max_length=64)
    created_at: datetime


class WebSession(SQLModel, table=True):
    """A logged-in browser. Logging out everywhere deletes every row of the account."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)             # SHA-256 of the cookie value
    account_id: int = Field(foreign_key="account.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None = Field(default=None, max_length=200)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(unique=True, max_length=64)          # SHA-256 of the token
    prefix: str = Field(max_length=16)                           # shown in lists: "kn_ab12cd"
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class LoginAttempt(SQLModel, table=True):
    """Failed logins, counted per username and per address to rate-limit guessing."""

    __tablename__ = "login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = Field(index=True)
