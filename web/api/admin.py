"""Admin API: accounts, roles, sessions, organisation imports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, UploadFile
from pydantic import Field

from ketnap import context
from models import accounts
from models.access import Grant
from web import admin_actions
from web.api.common import COMMON, ApiCaller, Id, Strict, errors
from web.security import Caller, require_role

router = APIRouter(prefix="/admin", tags=["admin"])


class GrantBody(Strict):
    role: str = Field(max_length=32, examples=["secretary"])
    unit_id: str | None = Field(default=None, max_length=64)


class AccountBody(Strict):
    username: str = Field(max_length=64)
    display_name: str = Field(max_length=200)
    password: str = Field(max_length=200)
    member_code: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)
    grants: list[GrantBody] = Field(default_factory=list, max_length=20)


class ActiveBody(Strict):
    active: bool


class PasswordBody(Strict):
    password: str = Field(max_length=200)


def _admin(caller: Caller) -> Caller:
    require_role(caller, "admin")
    return caller


@router.get("/accounts", responses=errors(401, 403))
def list_accounts(caller: ApiCaller) -> list[dict[str, Any]]:
    _admin(caller)
    return accounts.list_accounts(context.engine())


@router.post("/accounts", status_code=201, responses=COMMON)
def create_account(body: AccountBody, caller: ApiCaller) -> dict[str, int]:
    _admin(caller)
    account_id = accounts.create_account(context.engine(), accounts.NewAccount(
        body.username, body.display_name, body.password, tuple(Grant(g.role, g.unit_id) for g in body.grants),
        body.member_code, body.email), caller.principal.actor("admin"), now=context.now())
    return {"account_id": account_id}


@router.post("/accounts/{account_id}/grants", status_code=204, responses=COMMON)
def add_grant(account_id: Id, body: GrantBody, caller: ApiCaller) -> None:
    _admin(caller)
    accounts.add_grant(context.engine(), account_id, Grant(body.role, body.unit_id), caller.principal.actor("admin"),
                       now=context.now())


@router.delete("/accounts/{account_id}/grants/{grant_id}", status_code=204, responses=errors(401, 403, 409, 422))
def remove_grant(account_id: Id, grant_id: Id, caller: ApiCaller) -> None:
    _admin(caller)
    admin_actions.refuse_last_admin(caller, account_id, grant_id)
    accounts.remove_grant(context.engine(), account_id, grant_id, caller.principal.actor("admin"), now=context.now())


@router.post("/accounts/{account_id}/active", status_code=204, responses=errors(401, 403, 409, 422))
def set_active(account_id: Id, body: ActiveBody, caller: ApiCaller) -> None:
    """Disable (every session and token ends) or enable an account."""
    _admin(caller)
    if not body.active:
        admin_actions.refuse_self(caller, account_id)
    accounts.set_active(context.engine(), account_id, body.active, caller.principal.actor("admin"), now=context.now())


@router.post("/accounts/{account_id}/password", status_code=204, responses=COMMON)
def reset_password(account_id: Id, body: PasswordBody, caller: ApiCaller) -> None:
    _admin(caller)
    accounts.set_password(context.engine(), account_id, body.password, caller.principal.actor("admin"), now=context.now())


@router.post("/accounts/{account_id}/sessions/close", responses=COMMON)
def close_sessions(account_id: Id, caller: ApiCaller) -> dict[str, int]:
    _admin(caller)
    closed = accounts.close_all_sessions(context.engine(), account_id, caller.principal.actor("admin"), now=context.now())
    return {"closed": closed}


@router.post("/organisation/import", responses=errors(401, 403, 413, 422))
def import_organisation(file: UploadFile, caller: ApiCaller) -> dict[str, Any]:
    """Units, members, contacts and meeting rules from a YAML or CSV file: all or nothing, every bad row with its line."""
    _admin(caller)
    content = file.file.read(admin_actions.MAX_IMPORT_BYTES + 1)
    return admin_actions.import_organisation(caller, file.filename or "import.yaml", content)


@router.post("/imports/files", responses=errors(401, 403, 413, 422))
def import_files_in_progress(file: UploadFile, caller: ApiCaller, authority: Annotated[str, Form()] = "",
                             mode: Annotated[str, Form()] = "refuse", dry_run: Annotated[bool, Form()] = True) -> dict[str, Any]:
    """Files already in progress on paper, from XLSX or CSV (the template's Vietnamese headers): all or nothing;
    a dry run (the default) reports per line the stage, rule set, deadlines and unverified rules it would create."""
    _admin(caller)
    content = file.file.read(admin_actions.MAX_IMPORT_BYTES + 1)
    report = admin_actions.import_files_in_progress(caller, file.filename or "import.xlsx", content, authority=authority,
                                                    mode=mode, dry_run=dry_run)
    return dict(report.as_dict())
