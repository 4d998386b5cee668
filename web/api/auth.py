"""Tokens and the caller's own account: issue a token with a password, list and revoke tokens, log out everywhere."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from ketnap import context
from models import accounts
from web.api.common import COMMON, ApiCaller, Id, Strict, errors
from web.security import client_address

router = APIRouter(tags=["account"])


class TokenRequest(Strict):
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)
    name: str = Field(default="api", min_length=1, max_length=100, description="what the token is for")
    days: int = Field(default=365, ge=1, le=3650)


class NewToken(Strict):
    name: str = Field(min_length=1, max_length=100)
    days: int = Field(default=365, ge=1, le=3650)


class PasswordChange(Strict):
    current_password: str = Field(max_length=200)
    new_password: str = Field(max_length=200)


def _role(caller: Any) -> str:
    return caller.principal.grants[0].role if caller.principal.grants else "sponsor"


def me_dict(caller: Any) -> dict[str, Any]:
    p = caller.principal
    return {"account_id": p.account_id, "username": p.username, "display_name": p.display_name,
            "member_id": p.member_id, "grants": [{"id": g.id, "role": g.role, "unit_id": g.unit_id} for g in p.grants]}


@router.post("/auth/token", status_code=201, responses=errors(401, 422, 429))
def create_token(body: TokenRequest, request: Request) -> dict[str, Any]:
    """Exchange a username and password for an API token (shown once). Failed attempts are rate-limited."""
    principal = accounts.authenticate(context.engine(), body.username, body.password, client_address(request),
                                      now=context.now())
    role = principal.grants[0].role if principal.grants else "sponsor"
    token_id, token = accounts.issue_token(context.engine(), principal.account_id, body.name, principal.actor(role),
                                           days=body.days, now=context.now())
    return {"token": token, "token_id": token_id, "token_type": "bearer"}


@router.get("/me", responses=errors(401))
def me(caller: ApiCaller) -> dict[str, Any]:
    """The account behind the token and its roles."""
    return me_dict(caller)


@router.get("/me/tokens", responses=errors(401))
def my_tokens(caller: ApiCaller) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in t.items()}
            for t in accounts.list_tokens(context.engine(), caller.principal.account_id)]


@router.post("/me/tokens", status_code=201, responses=COMMON)
def issue_token(body: NewToken, caller: ApiCaller) -> dict[str, Any]:
    token_id, token = accounts.issue_token(context.engine(), caller.principal.account_id, body.name,
                                           caller.principal.actor(_role(caller)), days=body.days, now=context.now())
    return {"token": token, "token_id": token_id, "token_type": "bearer"}


@router.delete("/me/tokens/{token_id}", status_code=204, responses=COMMON)
def revoke_token(token_id: Id, caller: ApiCaller) -> None:
    accounts.revoke_token(context.engine(), caller.principal.account_id, token_id, caller.principal.actor(_role(caller)),
                          now=context.now())


@router.post("/me/password", status_code=204, responses=COMMON)
def change_password(body: PasswordChange, caller: ApiCaller) -> None:
    """Set a new password; every browser session of the account ends (tokens stay until revoked)."""
    accounts.set_password(context.engine(), caller.principal.account_id, body.new_password,
                          caller.principal.actor(_role(caller)), current=body.current_password, now=context.now())


@router.post("/me/sessions/close", responses=errors(401))
def logout_everywhere(caller: ApiCaller) -> dict[str, int]:
    """End every browser session of the account."""
    closed = accounts.close_all_sessions(context.engine(), caller.principal.account_id,
                                         caller.principal.actor(_role(caller)), now=context.now())
    return {"closed": closed}
