"""Options shared by every command module of the CLI."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import make_url

Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
As = Annotated[str | None, typer.Option("--as", help="Who acts (recorded in the audit trail).")]
Role = Annotated[str, typer.Option("--role", help="Role acted in: admin, secretary, organisation_department, operator.")]


def safe_url(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)
