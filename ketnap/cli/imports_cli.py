"""`ketnap import files FILE --authority "…" [--unverified] [--dry-run] [--json]`, `ketnap import template --out FILE`,
`ketnap import verify ID --reason "…"`: day one of a committee (files already in progress on paper)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ketnap.cli.app_common import As, Json, Role
from ketnap.cli.output import EXIT_BAD_INPUT, emit, fail, handled
from ketnap.context import cli_actor, engine
from models.history import local_time
from models.imports.files_in_progress import ImportReport, NotUnverified, batches, import_files, verify_imported
from models.imports.files_template import template_csv, template_xlsx
from models.transitions import local_today

import_app = typer.Typer(help="Import files already in progress on paper (day one).", no_args_is_help=True)


def _print(report: ImportReport) -> None:
    head = "DRY RUN (nothing written)" if report.dry_run else f"imported as batch {report.batch_id}"
    typer.echo(f"{report.source}: {len(report.lines)} file(s), {report.unverified} unverified — {head}")
    for r in report.lines:
        due = ", ".join(f"{x['clock']} {x['due_on']}" for x in r.deadlines) or "-"
        flag = "  UNVERIFIED: " + "; ".join(f"{f['event']}/{f['rule']}" for f in r.unverified) if r.unverified else ""
        typer.echo(f"  line {r.line}: {r.stage} ({r.ruleset_version}); deadlines: {due}{flag}")


@import_app.command("files")
def files(
    file: Annotated[Path, typer.Argument(help="XLSX or CSV with the Vietnamese headers of the template")],
    authority: Annotated[str, typer.Option("--authority", help="On whose authority the paper steps are entered")],
    unverified: Annotated[bool, typer.Option("--unverified", help="Accept rows breaking a rule, marked not verified")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report, write nothing")] = False,
    as_json: Json = False,
    as_: As = None,
    role: Role = "admin",
) -> None:
    """All or nothing: any bad row and nothing is imported (exit 2, every bad row listed with its rule)."""
    with handled(as_json):
        if role != "admin":
            fail(EXIT_BAD_INPUT, "forbidden", "importing files in progress is for administrators", as_json)
        report = import_files(engine(), file.read_bytes(), file.name, cli_actor(as_, role), authority=authority,
                              mode="unverified" if unverified else "refuse", dry_run=dry_run)
        emit(report.as_dict(), as_json, lambda: _print(report))


@import_app.command("template")
def template(
    out: Annotated[Path, typer.Option("--out", help="FILE.xlsx or FILE.csv")],
    example: Annotated[bool, typer.Option("--example", help="Filled in with example files of the demo commune")] = False,
) -> None:
    """Write the blank template (Vietnamese headers, instructions, lists of allowed values), or with --example the
    demo commune's example sheet (one row breaks a rule on purpose: try it with and without --unverified)."""
    csv_out = out.suffix.lower() == ".csv"
    today = local_today(datetime.now(UTC))
    if example:
        from ketnap.demo.files_example import example_csv, example_rows, example_xlsx

        data = example_csv() if csv_out else example_xlsx(today)
    else:
        data = template_csv() if csv_out else template_xlsx(today)
    out.write_bytes(data)
    typer.echo(f"wrote {out}")
    if example:
        typer.echo(f"{len(example_rows())} example file(s) of the demo commune; the last row breaks a rule on purpose.\n"
                   f'try: ketnap import files {out} --authority "Công văn 12-CV/ĐU" --dry-run  (refused: line, rule)\n'
                   f'then: ketnap import files {out} --authority "Công văn 12-CV/ĐU" --unverified --dry-run')


@import_app.command("verify")
def verify(
    candidate_id: Annotated[int, typer.Argument(help="Candidate id")],
    reason: Annotated[str, typer.Option("--reason", help="What was checked, by whom")],
    as_json: Json = False,
    as_: As = None,
    role: Role = "admin",
) -> None:
    """Clear the "imported, not verified" mark once the paper file has been checked (audited)."""
    with handled(as_json):
        if role not in ("admin", "organisation_department"):
            fail(EXIT_BAD_INPUT, "forbidden", "only an administrator or the organisation department may verify", as_json)
        try:
            event_id = verify_imported(engine(), candidate_id, cli_actor(as_, role), reason)
        except (LookupError, NotUnverified, ValueError) as exc:
            fail(EXIT_BAD_INPUT, "not_verifiable", str(exc), as_json)
        emit({"candidate_id": candidate_id, "audit_event_id": event_id}, as_json,
             lambda: typer.echo(f"candidate {candidate_id}: marked verified (audit event {event_id})"))


@import_app.command("batches")
def list_batches(as_json: Json = False) -> None:
    """The latest import batches."""
    rows = batches(engine())
    emit(rows, as_json, lambda: [typer.echo(
        f"{r['id']}: {local_time(r['recorded_at'])} {r['source_name']} {r['mode']} {r['candidates']} file(s), "
        f"{r['unverified']} unverified, by {r['actor']}") for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
