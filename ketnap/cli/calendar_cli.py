"""`ketnap calendar correct|corrections|correction|year`: recording a corrected year of days off (admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from ketnap.cli.app_common import As, Json
from ketnap.cli.output import emit, fail, handled
from ketnap.context import cli_actor, engine, now
from models.history import local_time


def register(calendar_app: typer.Typer) -> None:
    calendar_app.command("correct")(correct)
    calendar_app.command("corrections")(corrections)
    calendar_app.command("correction")(correction)
    calendar_app.command("year")(year_file)


def correct(
    file: Annotated[Path, typer.Argument(help="YAML: year, source, days_off, working_days, not_days_off (the whole year)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing")] = False,
    as_name: As = None,
    as_json: Json = False,
) -> None:
    """Record a corrected year of days off and recompute every deadline it touches (audited)."""
    from models.calendar_corrections import correct_calendar, parse_correction

    with handled(as_json):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            fail(2, "bad_input", f"{file.name}: not valid YAML: {exc}", as_json)
        report = correct_calendar(engine(), parse_correction(data), cli_actor(as_name, "admin"), dry_run=dry_run,
                                  now=now())
        emit(report.as_dict(), as_json, lambda: _print_report(report.as_dict()))


def _print_report(r: dict[str, Any]) -> None:
    head = "DRY RUN, nothing changed: " if r["dry_run"] else ""
    typer.echo(f"{head}calendar {r['year']} revision {r['revision']} ({r['source']})")
    typer.echo(f"  now days off:     {', '.join(d['date'] for d in r['days_now_off']) or '-'}")
    typer.echo(f"  now working days: {', '.join(d['date'] for d in r['days_now_working']) or '-'}")
    typer.echo(f"  deadlines moved: {len(r['changes'])} of {r['candidates']} candidate(s); "
               f"reminders withdrawn: {r['reminders_withdrawn']}")
    for c in r["changes"]:
        status = f"  {c['status_before']} -> {c['status_after']}" if c["status_before"] != c["status_after"] else ""
        typer.echo(f"  candidate {c['candidate_id']:>6}  {c['clock']:<22} {c['due_before']} -> {c['due_after']}{status}")
    if r["correction_id"] and not r["dry_run"]:
        typer.echo(f"recorded as correction #{r['correction_id']}")


def corrections(as_json: Json = False) -> None:
    """The corrections recorded, latest first."""
    from models.calendar_corrections import list_corrections

    with handled(as_json):
        rows = list_corrections(engine())
        emit(rows, as_json, lambda: [typer.echo(
            f"#{r['id']:<4} {r['year']} r{r['revision']}  {local_time(r['recorded_at'])}  {r['actor']:<20} "
            f"{r['deadlines_changed']} deadline(s) moved  {r['source']}") for r in rows] or typer.echo("none"))


def correction(correction_id: int, as_json: Json = False) -> None:
    """One correction: the days it changed and every deadline it moved."""
    from models.calendar_corrections import correction_detail

    with handled(as_json):
        row = correction_detail(engine(), correction_id)
        if row is None:
            fail(2, "not_found", f"no calendar correction #{correction_id}", as_json)
        data = {k: row[k] for k in ("id", "year", "revision", "source", "actor", "recorded_at", "calendar_before",
                                    "calendar_after")} | dict(row["summary"])
        emit(data, as_json, lambda: _print_report(data | {"dry_run": False, "correction_id": row["id"]}))


def year_file(year: int) -> None:
    """The year's days off in force, as a YAML file to edit and pass to `ketnap calendar correct`."""
    from models.calendar_corrections import year_in_force

    with handled(False):
        data = year_in_force(engine(), year)
        data["revision"] += 1          # what this file becomes once recorded; refused if someone records one first
        typer.echo(f"# The days off of {year} in force (revision {data['revision'] - 1}), to edit: the whole year, "
                   "not a difference.\n# Set `source` to the announcement, then: ketnap calendar correct FILE --dry-run")
        typer.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), nl=False)
