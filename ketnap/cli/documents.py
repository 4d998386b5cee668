"""CLI for the dossier: `dossier` (every form so far, the checklist, one PDF) and `sign`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from ketnap.cli import views
from ketnap.cli.app_common import As, Json, Role
from ketnap.cli.output import emit, handled
from ketnap.context import cli_actor, engine

commands = typer.Typer()


@commands.command()
def dossier(
    candidate_id: int,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the file into")],
    fmt: Annotated[str, typer.Option("--format", help="Comma-separated: html, pdf, docx")] = "html,pdf,docx",
    as_json: Json = False,
    as_: As = None,
    role: Role = "secretary",
) -> None:
    """Write a candidate's whole file: every form so far, the checklist, one combined PDF (audited read)."""
    with handled(as_json):
        from models.dossier.dossier import build, write

        formats = tuple(f.strip() for f in fmt.split(",") if f.strip())
        built = build(engine(), candidate_id, cli_actor(as_, role))
        paths = write(built, out, formats)
        data = {"written": [str(p) for p in paths], "checklist": [i.as_dict() for i in built.items],
                "skipped": built.skipped}
        emit(data, as_json, lambda: views.print_dossier(data))


@commands.command()
def sign(
    candidate_id: int,
    form: Annotated[str, typer.Argument(help="Form id, e.g. 6-KNĐ")],
    on: Annotated[str, typer.Option("--on", help="Date the signed copy was filed, YYYY-MM-DD")],
    index: Annotated[int, typer.Option(help="Which document of the form (sponsor number for 3-KNĐ)")] = 1,
    as_json: Json = False,
    as_: As = None,
    role: Role = "secretary",
) -> None:
    """Record that the signed copy of a form ketnap rendered is filed (the checklist shows it present)."""
    with handled(as_json):
        from models.dossier.store import mark_signed

        doc_id = mark_signed(engine(), candidate_id, form, date.fromisoformat(on), cli_actor(as_, role), index=index)
        emit({"document_id": doc_id}, as_json, lambda: typer.echo(f"{form} of #{candidate_id}: signed copy filed on {on}"))


def register(app: typer.Typer) -> None:
    for command in commands.registered_commands:
        app.registered_commands.append(command)
