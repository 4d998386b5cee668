"""CLI for accounts: the first admin on a fresh install, roles, password resets, API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from sqlalchemy import select

from ketnap.cli.app_common import Json
from ketnap.cli.output import EXIT_BAD_INPUT, emit, fail, handled
from ketnap.context import cli_actor, engine
from ketnap.context import now as clock
from models import accounts
from models.access import GRANT_ROLES, Grant

account_app = typer.Typer(help="Accounts of the web app and the API: roles over the organisation tree, tokens.",
                          no_args_is_help=True)

RoleOpt = Annotated[list[str] | None, typer.Option(
    "--role", help=f"A role, optionally over a unit: ROLE or ROLE:UNIT (repeatable). Roles: {', '.join(GRANT_ROLES)}")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")]


def _grants(values: list[str] | None) -> tuple[Grant, ...]:
    out = []
    for value in values or []:
        role, _, unit = value.partition(":")
        out.append(Grant(role.strip(), unit.strip() or None))
    return tuple(out)


def _password(from_stdin: bool, as_json: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        fail(EXIT_BAD_INPUT, "bad_input", "password: give it with --password-stdin (no terminal to ask on)", as_json)
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _account_id(username: str, as_json: bool) -> int:
    with engine().connect() as conn:
        found = conn.execute(select(accounts.ACCOUNT.c.id).where(accounts.ACCOUNT.c.username == username.lower())).scalar()
    if found is None:
        fail(EXIT_BAD_INPUT, "not_found", f"no account {username!r}", as_json)
    return int(found)


@account_app.command("add")
def account_add(
    username: str,
    name: Annotated[str, typer.Option("--name", help="Full name, as pages greet the person")],
    role: RoleOpt = None,
    member: Annotated[str | None, typer.Option("--member", help="The party member's code (sponsors need one)")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    password_stdin: PasswordStdin = False,
    as_json: Json = False,
) -> None:
    """Create an account (e.g. the first admin: `ketnap account add admin --name "…" --role admin`)."""
    with handled(as_json):
        password = _password(password_stdin, as_json)
        account_id = accounts.create_account(engine(), accounts.NewAccount(username, name, password, _grants(role), member,
                                                                           email), cli_actor(None, "admin"), now=clock())
        emit({"account_id": account_id, "username": username.lower()}, as_json,
             lambda: typer.echo(f"account #{account_id} {username.lower()} created"))


@account_app.command("list")
def account_list(as_json: Json = False) -> None:
    """Accounts, their roles and how many browser sessions each has open."""
    with handled(as_json):
        rows = accounts.list_accounts(engine())

        def human() -> None:
            for a in rows:
                grants = ", ".join(g["role"] + (f":{g['unit_id']}" if g["unit_id"] else "") for g in a["grants"]) or "—"
                state = "" if a["active"] else " (disabled)"
                typer.echo(f"#{a['id']:<4} {a['username']:<18} {a['display_name']:<28} {grants}{state}")

        emit(rows, as_json, human)


@account_app.command("grant")
def account_grant(username: str, role: Annotated[str, typer.Argument(help="ROLE or ROLE:UNIT")],
                  as_json: Json = False) -> None:
    """Give an account a role (over a unit's subtree for organisation_department, committee, secretary)."""
    with handled(as_json):
        (grant,) = _grants([role])
        accounts.add_grant(engine(), _account_id(username, as_json), grant, cli_actor(None, "admin"), now=clock())
        emit({"username": username, "role": grant.role, "unit_id": grant.unit_id}, as_json,
             lambda: typer.echo(f"{username}: {role} granted"))


@account_app.command("password")
def account_password(username: str, password_stdin: PasswordStdin = False, as_json: Json = False) -> None:
    """Set a new password (every browser session of the account ends)."""
    with handled(as_json):
        account_id = _account_id(username, as_json)
        accounts.set_password(engine(), account_id, _password(password_stdin, as_json), cli_actor(None, "admin"),
                              now=clock())
        emit({"username": username, "password_set": True}, as_json, lambda: typer.echo(f"{username}: password set"))


@account_app.command("disable")
def account_disable(username: str, as_json: Json = False) -> None:
    """Disable an account: its sessions end and its API tokens are revoked."""
    with handled(as_json):
        accounts.set_active(engine(), _account_id(username, as_json), False, cli_actor(None, "admin"), now=clock())
        emit({"username": username, "active": False}, as_json, lambda: typer.echo(f"{username}: disabled"))


@account_app.command("logout")
def account_logout(username: str, as_json: Json = False) -> None:
    """Log an account out everywhere (every browser session ends)."""
    with handled(as_json):
        closed = accounts.close_all_sessions(engine(), _account_id(username, as_json), cli_actor(None, "admin"),
                                             now=clock())
        emit({"username": username, "closed": closed}, as_json, lambda: typer.echo(f"{username}: {closed} session(s) ended"))


@account_app.command("token")
def account_token(username: str, name: Annotated[str, typer.Option("--name", help="What the token is for")],
                  days: Annotated[int, typer.Option("--days", help="Valid for this many days")] = 365,
                  as_json: Json = False) -> None:
    """Issue an API token for an account (printed once; send it as `Authorization: Bearer …`)."""
    with handled(as_json):
        token_id, token = accounts.issue_token(engine(), _account_id(username, as_json), name, cli_actor(None, "admin"),
                                               days=days, now=clock())
        emit({"token_id": token_id, "token": token}, as_json, lambda: typer.echo(token))


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account")
