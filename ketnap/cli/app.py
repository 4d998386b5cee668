"""The `ketnap` command line. Scriptable: `--json` everywhere; exit 0 ok, 2 bad input, 3 refused, 4 conflict."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from ketnap.cli import (
    accounts,
    calendar_cli,
    courses,
    documents,
    imports_cli,
    notifications,
    orchestration,
    reports,
    rule_changes,
    views,
)
from ketnap.cli.app_common import As, Json, Role, safe_url
from ketnap.cli.output import EXIT_REFUSED, emit, fail, handled, to_json
from ketnap.context import cli_actor, engine
from ketnap.settings import get_settings
from models.audit.trail import verify
from models.calendar.working_days import WorkingCalendar, vietnam_calendar
from models.calendar_in_force import current_calendar
from models.casefile import open_casefile
from models.database import migrate
from models.imports.candidates import add_candidates_from_file
from models.imports.organisation import import_organisation
from models.procedure import diagram
from models.procedure.engine import Refused
from models.procedure.loader import all_rulesets, get_ruleset, load_file
from models.transitions import TransitionRequest, apply_transition, local_today, preview_transition

app = typer.Typer(help="ketnap: the party admission procedure (kết nạp đảng viên) as a workflow engine.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
org_app = typer.Typer(help="The organisation tree and the member register.", no_args_is_help=True)
candidate_app = typer.Typer(help="Candidates (người vào Đảng).", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
procedure_app = typer.Typer(help="The procedure definitions (rule sets).", no_args_is_help=True)
calendar_app = typer.Typer(help="The Vietnamese working-day calendar.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(candidate_app, name="candidate")
app.add_typer(audit_app, name="audit")
app.add_typer(procedure_app, name="procedure")
app.add_typer(calendar_app, name="calendar")
notifications.register(app)
accounts.register(app)
orchestration.register(app)
documents.register(app)
courses.register(app)
imports_cli.register(app)
reports.register(app)
calendar_cli.register(calendar_app)
rule_changes.register(procedure_app)



def _parse_sets(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


@app.command()
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Also load the demo commune and candidates.")] = False,
    as_json: Json = False,
    as_: As = None,
) -> None:
    """Create or upgrade the database (SQLite in KETNAP_HOME by default), optionally with demo data."""
    with handled(as_json):
        url = get_settings().db_url
        migrate(url)
        result: dict = {"database": safe_url(url), "migrated": True}
        if demo:
            from ketnap.demo import load_demo

            result["demo"] = load_demo(engine(), cli_actor(as_, "admin"))
        emit(result, as_json, lambda: views.print_init(result))


@org_app.command("import")
def org_import(file: Path, as_json: Json = False, as_: As = None) -> None:
    """Import units and/or members from YAML or CSV (all or nothing; every bad row is reported)."""
    with handled(as_json):
        summary = import_organisation(engine(), file, cli_actor(as_, "admin"))
        emit(summary.as_dict(), as_json, lambda: typer.echo(
            f"imported {file.name}: units +{summary.units_created} ~{summary.units_updated}, "
            f"members +{summary.members_created} ~{summary.members_updated} (audit event {summary.audit_event_id})"))


@org_app.command("tree")
def org_tree(root: Annotated[str | None, typer.Argument(help="Unit id to start from")] = None, as_json: Json = False) -> None:
    """Show the organisation tree with the competent committee of every party cell."""
    with handled(as_json):
        data = views.org_tree(engine(), root, local_today(datetime.now(UTC)))
        emit(data, as_json, lambda: views.print_tree(data))


@candidate_app.command("add")
def candidate_add(file: Path, as_json: Json = False, as_: As = None, role: Role = "secretary") -> None:
    """Add candidates with their CV facts and sponsors from YAML or CSV (all or nothing)."""
    with handled(as_json):
        ids = add_candidates_from_file(engine(), file, cli_actor(as_, role))
        emit({"created": ids}, as_json, lambda: typer.echo(f"added {len(ids)} candidate(s): {', '.join(map(str, ids))}"))


@candidate_app.command("list")
def candidate_list(
    cell: Annotated[str | None, typer.Option(help="Only this cell (unit id)")] = None,
    stage: Annotated[str | None, typer.Option(help="Only this stage")] = None,
    as_json: Json = False,
) -> None:
    """List candidates: id, name, cell, stage (names sorted the Vietnamese way)."""
    with handled(as_json):
        rows = views.candidate_rows(engine(), cell, stage)
        emit(rows, as_json, lambda: views.print_candidates(rows))


@app.command()
def show(candidate_id: int, as_json: Json = False, as_: As = None, role: Role = "secretary") -> None:
    """A candidate's file: CV, stage, sponsors, deadlines, next steps, history. The read is audited."""
    with handled(as_json):
        data = open_casefile(engine(), candidate_id, cli_actor(as_, role), purpose="cli show")
        emit(data, as_json, lambda: views.print_casefile(data))


@app.command()
def advance(
    candidate_id: int,
    event: str,
    on: Annotated[str, typer.Option("--on", help="Effective date of the step (meeting or decision), YYYY-MM-DD.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="An input of the step, key=value (repeatable).")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Idempotency key: a replay returns the first result.")] = None,
    expect_version: Annotated[int | None, typer.Option("--expect-version", help="Refuse if someone acted since.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit trail).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the guards without recording anything.")] = False,
    as_json: Json = False,
    as_: As = None,
    role: Role = "secretary",
) -> None:
    """Move a candidate to the next stage with EVENT, on the date it happened. Exit 3 when a guard refuses."""
    with handled(as_json):
        try:
            day = date.fromisoformat(on)
        except ValueError:
            fail(2, "bad_input", f"--on: {on!r} is not a date (YYYY-MM-DD)", as_json)
        request = TransitionRequest(candidate_id, event, day, cli_actor(as_, role), inputs=_parse_sets(set_ or []),
                                    idempotency_key=key, expected_version=expect_version, reason=reason)
        if dry_run:
            decision = preview_transition(engine(), request)
            data = views.preview_dict(decision)
            emit(data, as_json, lambda: views.print_preview(data))
            if isinstance(decision, Refused):
                raise typer.Exit(EXIT_REFUSED)
            return
        if get_settings().orchestration == "off":
            result = apply_transition(engine(), request)
            if result.applied and result.forms and not result.replayed:     # what the flow's task does
                from models.dossier.store import render_step

                render_step(engine(), result.candidate_id, result.audit_event_id, result.forms)
            emit(result.as_dict(), as_json, lambda: views.print_result(result))
        else:
            from flows.submit import submit_transition

            submitted = submit_transition(engine(), request)
            result = submitted.result
            emit(submitted.as_dict(), as_json, lambda: views.print_submitted(submitted))
        if not result.applied:
            raise typer.Exit(EXIT_REFUSED)


@audit_app.command("verify")
def audit_verify(as_json: Json = False, candidate: Annotated[int | None, typer.Option(
        "--candidate", help="Check only this candidate's chain (by its index: fast on any size of trail)")] = None) -> None:
    """Check every hash chain (or one candidate's); name the first broken event. Exit 1 if a chain is broken."""
    with handled(as_json):
        if candidate is not None:
            from ketnap.cli.orchestration import print_candidate_verification
            from models.history import verify_candidate

            checked = verify_candidate(engine(), candidate)
            emit(checked, as_json, lambda: print_candidate_verification(checked))
            if not checked["ok"]:
                raise typer.Exit(1)
            return
        result = verify(engine())
        data = {"ok": result.ok, "events": result.events, "chains": result.chains,
                "first_break": result.first_break.as_dict() if result.first_break else None,
                "breaks": [b.as_dict() for b in result.breaks]}
        emit(data, as_json, lambda: views.print_verification(data))
        if not result.ok:
            raise typer.Exit(1)


@audit_app.command("log")
def audit_log(candidate_id: int, as_json: Json = False, as_: As = None, role: Role = "organisation_department") -> None:
    """Every audit event of a candidate, in order (the read is audited)."""
    with handled(as_json):
        data = open_casefile(engine(), candidate_id, cli_actor(as_, role), purpose="cli audit log")["timeline"]
        emit(data, as_json, lambda: views.print_timeline(data))


@procedure_app.command("list")
def procedure_list(as_json: Json = False) -> None:
    """The known rule sets and their effective dates."""
    with handled(as_json):
        data = [{"version": rs.version, "title": rs.title, "effective_from": rs.effective_from,
                 "stages": len(rs.stages), "events": len(rs.events)} for rs in all_rulesets().values()]
        emit(data, as_json, lambda: [typer.echo(f"{d['version']:<12} from {d['effective_from']}  {d['title']}") for d in data])


@procedure_app.command("diagram")
def procedure_diagram(
    fmt: Annotated[str, typer.Option("--format", help="mermaid, dot or svg")] = "mermaid",
    version: Annotated[str, typer.Option(help="Rule-set version")] = "qd294-2025",
) -> None:
    """The procedure diagram, generated from the definition."""
    with handled(False):
        rs = get_ruleset(version)
        renderers = {"mermaid": diagram.mermaid, "dot": diagram.dot, "svg": diagram.svg}
        if fmt not in renderers:
            fail(2, "bad_input", f"--format must be one of {', '.join(renderers)}", False)
        typer.echo(renderers[fmt](rs), nl=False)


@procedure_app.command("table")
def procedure_table(version: Annotated[str, typer.Option(help="Rule-set version")] = "qd294-2025") -> None:
    """The transition table (Markdown), generated from the definition."""
    with handled(False):
        typer.echo(diagram.transition_table(get_ruleset(version)), nl=False)


@procedure_app.command("docs")
def procedure_docs(out: Annotated[Path, typer.Argument(help="Folder to write into")] = Path("docs")) -> None:
    """Write the diagram (Mermaid, SVG) and the transition table of every rule set into OUT."""
    with handled(False):
        for path in write_docs(out):
            typer.echo(f"wrote {path}")


def write_docs(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for rs in all_rulesets().values():
        for name, text in ((f"procedure-{rs.version}.mmd", diagram.mermaid(rs)),
                           (f"procedure-{rs.version}.svg", diagram.svg(rs)),
                           (f"transitions-{rs.version}.md", diagram.transition_table(rs))):
            (out / name).write_text(text, encoding="utf-8")
            written.append(out / name)
    return written


@procedure_app.command("check")
def procedure_check(file: Path, as_json: Json = False) -> None:
    """Validate a procedure definition file; exit 2 naming every problem."""
    with handled(as_json):
        rs = load_file(file)
        emit({"ok": True, "version": rs.version}, as_json, lambda: typer.echo(f"{file.name}: {rs.version} is valid"))


def _calendar() -> WorkingCalendar:
    """The calendar in force: with the corrections recorded in the database, when there is one."""
    from sqlalchemy import inspect

    eng = engine()
    return current_calendar(eng) if inspect(eng).has_table("calendar_correction") else vietnam_calendar()


@calendar_app.command("due")
def calendar_due(
    start: str,
    working_days: Annotated[int | None, typer.Option("--working-days")] = None,
    months: Annotated[int | None, typer.Option("--months")] = None,
    as_json: Json = False,
) -> None:
    """The last day of a period counted from START (the day itself not counted)."""
    with handled(as_json):
        cal = _calendar()
        day = date.fromisoformat(start)
        if (working_days is None) == (months is None):
            fail(2, "bad_input", "give exactly one of --working-days or --months", as_json)
        due = cal.add_working_days(day, working_days) if working_days is not None else \
            cal.add_months(day, months or 0, roll_to_working_day=True)
        emit({"start": day, "due": due, "calendar": cal.version}, as_json, lambda: typer.echo(due.isoformat()))


@calendar_app.command("days-off")
def calendar_days_off(year: int, as_json: Json = False) -> None:
    """Public holidays and days off in YEAR, and make-up working Saturdays."""
    with handled(as_json):
        cal = _calendar()
        off = sorted((d, n) for d, n in cal.days_off.items() if d.year == year)
        extra = sorted(d for d in cal.extra_working_days if d.year == year)
        data = {"year": year, "calendar": cal.version, "days_off": [{"date": d, "name": n} for d, n in off],
                "working_saturdays": extra}
        emit(data, as_json, lambda: views.print_days_off(data))


def main() -> None:
    app()


if __name__ == "__main__":
    main()


__all__ = ["app", "main", "to_json"]
