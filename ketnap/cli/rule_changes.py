"""CLI for the next rule change: add a rule-set version, migrate in-flight files to it (dry run first), list and
revert migrations. Registered under `ketnap procedure`. Exit codes as everywhere: 0 ok, 2 bad input, 4 some
candidates failed (migrate) or could not be reverted (revert) — the others are done."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ketnap.cli.app_common import As, Json
from ketnap.cli.output import EXIT_CONFLICT, emit, handled
from ketnap.context import cli_actor, engine
from ketnap.context import now as clock
from models.history import local_time
from models.ruleset_migration import BATCH, STATE_LABELS
from models.transitions import local_today

OUTCOME_WIDTH = 8


def register(procedure_app: typer.Typer) -> None:
    procedure_app.command("add")(procedure_add)
    procedure_app.command("versions")(procedure_versions)
    procedure_app.command("migrate")(procedure_migrate)
    procedure_app.command("migrations")(procedure_migrations)
    procedure_app.command("revert")(procedure_revert)


def procedure_add(file: Path, as_json: Json = False, as_: As = None) -> None:
    """Validate a rule-set file and add it as a new version (copied into KETNAP_RULESETS_DIR, audited)."""
    with handled(as_json):
        from models.ruleset_versions import add_ruleset

        added = add_ruleset(engine(), file.read_bytes(), file.name, cli_actor(as_, "admin"), now=clock())
        emit(added.as_dict(), as_json, lambda: typer.echo(
            f"added {added.version} (in force from {added.effective_from}) as {added.path}\nsha256 {added.sha256}\n"
            f"note: from {added.effective_from} it is the rule set in force: candidates added from then on (and steps "
            f"of files imported from paper dated from then on) follow it; files already in ketnap stay on their version "
            f"until migrated (ketnap procedure migrate --dry-run)"))


def procedure_versions(as_json: Json = False) -> None:
    """The rule-set versions with their effective dates and transitional provisions."""
    with handled(as_json):
        from models.ruleset_versions import known_versions

        data = known_versions()
        emit(data, as_json, lambda: [_print_version(d) for d in data])


def _print_version(d: dict[str, Any]) -> None:
    typer.echo(f"{d['version']:<14} from {d['effective_from']}  {d['title']}")
    tr = d["transitional"]
    if tr:
        typer.echo(f"  replaces {', '.join(tr['replaces'])} — {tr['cite']} [{tr['confidence']}]")
        for p in tr["stay_on_previous"]:
            typer.echo(f"  stay on previous: {', '.join(p['stages'])} — {p['cite']} [{p['confidence']}]")
        for old, new in tr["stage_map"].items():
            typer.echo(f"  stage {old} -> {new}")


def procedure_migrate(
    from_version: Annotated[str, typer.Option("--from", help="Version the files are on")],
    to_version: Annotated[str, typer.Option("--to", help="Version to move them to")],
    unit: Annotated[str | None, typer.Option("--unit", help="Only the files of this unit's subtree")] = None,
    candidate: Annotated[list[int] | None, typer.Option("--candidate", help="Only these candidates (repeat)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would happen; change nothing")] = False,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Files per transaction")] = BATCH,
    as_json: Json = False,
    as_: As = None,
) -> None:
    """Move the in-flight files of one rule-set version to the next, as its transitional provisions say.
    Run again after an interruption: it continues with the files still on the old version."""
    with handled(as_json):
        from models.ruleset_migration import apply_migration, plan_migration

        if dry_run:
            plan = plan_migration(engine(), from_version, to_version, unit_id=unit, only=candidate,
                                  today=local_today(clock()))
            data = plan.as_dict()
            emit(data, as_json, lambda: _print_plan(data))
            return
        result = apply_migration(engine(), from_version, to_version, cli_actor(as_, "admin"), unit_id=unit,
                                 only=candidate, now=clock(), batch=batch)
        out = result.as_dict()
        emit(out, as_json, lambda: _print_result(out))
        if result.totals.get("failed"):
            raise typer.Exit(EXIT_CONFLICT)


def _print_plan(data: dict[str, Any]) -> None:
    typer.echo(f"dry run {data['from_version']} -> {data['to_version']} on {data['today']} "
               f"(calendar {data['calendar_version']})")
    for note in data["notes"]:
        typer.echo(f"note: {note}")
    typer.echo(f"{'candidate':>9}  {'cell':<18} {'outcome':<{OUTCOME_WIDTH}} {'stage':<40} deadlines / why")
    for c in data["candidates"]:
        stage = c["stage_before"] if c["stage_before"] == c["stage_after"] else f"{c['stage_before']} -> {c['stage_after']}"
        moved = [f"{d['clock']} {d['due_before']} -> {d['due_after']}" for d in c["deadlines"] if d["moved"]]
        why = "; ".join(moved) if c["outcome"] in ("moved", "mapped") else (c["message"] or "")
        typer.echo(f"{c['candidate_id']:>9}  {c['cell_id']:<18} {c['outcome']:<{OUTCOME_WIDTH}} {stage:<40} {why}")
        for w in c["warnings"]:
            typer.echo(f"{'':>9}  warning: {w['event']}: {w['message']} ({w['cite']})")
    totals = data["totals"]
    typer.echo("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))


def _print_result(out: dict[str, Any]) -> None:
    typer.echo(out["message"])
    if out["migration_id"] is not None:
        typer.echo(f"migration #{out['migration_id']}: " + ", ".join(f"{k} {v}" for k, v in out["totals"].items()))
    for c in out["candidates"]:
        if c["outcome"] in ("failed", "blocked"):
            typer.echo(f"  {c['candidate_id']}: {c['outcome']}: {c['message']}")


def procedure_migrations(
    migration_id: Annotated[int | None, typer.Argument(help="Show one migration with its candidates")] = None,
    as_json: Json = False,
) -> None:
    """The migrations applied, newest first (or one of them in detail)."""
    with handled(as_json):
        from models.ruleset_migration import list_migrations, migration_detail

        if migration_id is not None:
            detail = migration_detail(engine(), migration_id)
            if detail is None:
                raise LookupError(f"no migration {migration_id}")
            emit(detail, as_json, lambda: _print_detail(detail))
            return
        rows = list_migrations(engine())
        emit(rows, as_json, lambda: [typer.echo(
            f"#{r['id']:<4} {local_time(r['applied_at'])} {r['from_version']} -> {r['to_version']}  by {r['actor']}  "
            + _state(r) + ", ".join(f"{k} {v}" for k, v in r["counts"].items())
            + (f", reverted {r['summary']['reverted']}" if r["summary"].get("reverted") else "")) for r in rows])


def _state(r: dict[str, Any]) -> str:
    """The run's state when it is not simply done, with what an interrupted run had done (its counts follow)."""
    out = ""
    if r["state"] != "done":
        out = f"[{STATE_LABELS[r['state']]} ({r['state']})"
        if r["state"] == "interrupted":
            beat = r["summary"].get("updated_at")
            out += f", last batch {beat[:16].replace('T', ' ')} UTC" if beat else ""
            cont = r["summary"].get("continued_by")
            out += f", continued by #{cont}" if cont else (", closed" if r["summary"].get("status") == "interrupted"
                                                          else ", run the migration again to continue")
        out += f", {r['summary'].get('candidates', '?')} files to process] "
    if r["revert_state"] in ("running", "interrupted"):
        revert = r["summary"]["revert"]
        out += (f"[revert {STATE_LABELS[r['revert_state']]} ({r['revert_state']}), {revert.get('reverted', 0)} "
                "reverted by that run] ")
    return out


def _print_detail(detail: dict[str, Any]) -> None:
    typer.echo(f"#{detail['id']} {detail['from_version']} -> {detail['to_version']} by {detail['actor']} "
               f"at {local_time(detail['applied_at'])}  " + _state(detail)
               + ", ".join(f"{k} {v}" for k, v in detail["counts"].items()))
    for i in detail["items"]:
        reverted = " (reverted)" if i["reverted_at"] else ""
        stages = f"{i['stage_before']} -> {i['stage_after']}"
        typer.echo(f"  {i['candidate_id']:>9} {i['outcome']:<{OUTCOME_WIDTH}} {stages}{reverted}")


def procedure_revert(
    migration_id: int,
    candidate: Annotated[list[int] | None, typer.Option("--candidate", help="Only these candidates (repeat)")] = None,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Files per transaction")] = BATCH,
    as_json: Json = False,
    as_: As = None,
) -> None:
    """Revert a migration for its candidates on which nothing has happened since (the others are named).
    Run again after an interruption: it continues with the files not yet reverted."""
    with handled(as_json):
        from models.ruleset_migration import revert_migration

        result = revert_migration(engine(), migration_id, cli_actor(as_, "admin"), candidate_ids=candidate, now=clock(),
                                 batch=batch)
        out = result.as_dict()
        emit(out, as_json, lambda: [typer.echo(out["message"]),
                                    *[typer.echo(f"  {r['candidate_id']}: {r['reason']}") for r in out["refused"]]])
        if result.refused:
            raise typer.Exit(EXIT_CONFLICT)
