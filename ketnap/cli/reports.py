"""CLI for the organisation department's reports: `ketnap report stats`, `report target`, `report targets`.

`report_app` is the shared `report` group: other modules add their commands to it (e.g. `report compliance`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ketnap.cli.app_common import As, Json, Role
from ketnap.cli.output import emit, fail, handled
from ketnap.context import cli_actor, engine
from ketnap.context import now as clock
from models.transitions import local_today

report_app = typer.Typer(help="The organisation department's reports: statistics, targets, compliance.",
                         no_args_is_help=True)

Unit = Annotated[str, typer.Argument(help="Unit id (a committee), e.g. xa-muong-bu")]


def _text_table(header: tuple[str, ...], rows: tuple[tuple[Any, ...], ...]) -> list[str]:
    """Columns padded to their widest cell: text to the left, numbers to the right."""
    from models.statistics import vn_number

    cells = [list(header), *([vn_number(v) for v in row] for row in rows)]
    numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in rows) for i in range(len(header))]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return ["  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(r, widths, numeric, strict=True)).rstrip()
            for r in cells]


@report_app.command("stats")
def report_stats(
    unit: Unit,
    year: Annotated[int | None, typer.Option("--year", help="The year (default: this year)")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write the Excel workbook (one sheet per table) here")] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write CSV (UTF-8 with BOM) here: all tables as sections")] = None,
    table: Annotated[str | None, typer.Option("--table", help="With --csv: only this table (key or number from 1)")] = None,
    as_json: Json = False,
) -> None:
    """A subtree's yearly statistics: admissions against targets, who was admitted, coverage, courses, pipeline."""
    with handled(as_json):
        from models.statistics import yearly_report
        from models.statistics_export import to_csv, to_xlsx

        today = local_today(clock())
        report = yearly_report(engine(), unit, year if year is not None else today.year, today=today)
        written = []
        if xlsx is not None:
            xlsx.write_bytes(to_xlsx(report))
            written.append(str(xlsx))
        if csv is not None:
            csv.write_bytes(to_csv(report, table))
            written.append(str(csv))
        elif table is not None:
            fail(2, "bad_input", "--table: only with --csv", as_json)

        def human() -> None:
            typer.echo(f"{report.unit_name} — năm {report.year} (đến {report.period_end:%d/%m/%Y})")
            typer.echo(report.summary())
            for t in report.tables():
                typer.echo(f"\n{t.title} [{t.key}]")
                for line in _text_table(t.header, t.rows):
                    typer.echo(f"  {line}")
            for path in written:
                typer.echo(f"\nwritten: {path}")
        emit(report.as_dict() | {"written": written}, as_json, human)


@report_app.command("target")
def report_target(
    unit: Unit,
    count: Annotated[int, typer.Option("--count", help="How many people to admit")],
    year: Annotated[int | None, typer.Option("--year", help="A year's target, e.g. 2026")] = None,
    term: Annotated[str | None, typer.Option("--term", help="A term's target, e.g. 2025-2030")] = None,
    as_json: Json = False,
    as_: As = None,
    role: Role = "organisation_department",
) -> None:
    """Set a committee's admission target (chỉ tiêu kết nạp) for a year or a term; replaces an earlier one (audited)."""
    with handled(as_json):
        from models.targets import parse_term, set_target

        if (year is None) == (term is None):
            fail(2, "bad_input", "give either --year YEAR or --term START-END", as_json)
        if year is not None:
            result = set_target(engine(), unit, "year", year, None, count, cli_actor(as_, role), now=clock())
        else:
            start, end = parse_term(term or "")
            result = set_target(engine(), unit, "term", start, end, count, cli_actor(as_, role), now=clock())
        was = "" if result.previous_count is None else f" (was {result.previous_count})"
        emit(result, as_json, lambda: typer.echo(
            f"target of {result.unit_id} for {'year' if result.period_kind == 'year' else 'term'} {result.period}: "
            f"{result.count}{was}"))


@report_app.command("targets")
def report_targets(unit: Annotated[str | None, typer.Argument(help="Only this unit")] = None, as_json: Json = False) -> None:
    """The admission targets set so far."""
    with handled(as_json):
        from models.targets import list_targets

        rows = list_targets(engine(), [unit] if unit else None)
        emit([r.as_dict() for r in rows], as_json, lambda: [typer.echo(
            f"{r.unit_id:<24} {r.period_kind:<5} {r.period:<10} {r.count:>6}  {r.set_by} {r.set_at:%Y-%m-%d}")
            for r in rows] or typer.echo("(no targets)"))


@report_app.command("register")
def report_register(
    unit: Unit,
    year: Annotated[int | None, typer.Option("--year", help="Ceremonies in this year (default: this year)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the register here (.html, .pdf or .docx)")] = None,
    as_: As = None,
    as_json: Json = False,
) -> None:
    """The register of probationary members (sổ đảng viên dự bị, 18-KNĐ) of a committee. The read is audited."""
    with handled(as_json):
        from models.register_book import probationary_register, record_register_read

        today = local_today(clock())
        chosen = year if year is not None else today.year
        book = probationary_register(engine(), unit, chosen)
        suffix = out.suffix.lower() if out is not None else ""
        if out is not None and suffix not in (".html", ".pdf", ".docx"):
            fail(2, "bad_input", "--out: the file name ends in .html, .pdf or .docx", as_json)
        record_register_read(engine(), unit, chosen, cli_actor(as_, "organisation_department"), "cli register",
                             now=clock())
        if out is not None:
            out.write_bytes(book.file(suffix[1:]))

        def human() -> None:
            typer.echo(f"{book.unit.get('name')} — sổ đảng viên dự bị, năm {chosen}: {len(book.entries)} người")
            for e in book.entries:
                status = (f"chính thức {e['recognised_on']:%d/%m/%Y}" if e["recognised_on"] else
                          f"xóa tên {e['removed_on']:%d/%m/%Y}" if e["removed_on"] else e["note"] or "dự bị")
                typer.echo(f"  {e['number']:>3}  {e['full_name']:<28} kết nạp {e['ceremony_on']:%d/%m/%Y}  {status}"
                           + ("  (kết nạp lại)" if e["readmitted"] else ""))
            if out is not None:
                typer.echo(f"written: {out}")
        emit({"unit_id": unit, "year": chosen, "entries": book.entries, "written": str(out) if out else None},
             as_json, human)


def register(app: typer.Typer) -> None:
    from ketnap.cli import compliance_cli  # noqa: F401 - adds `report compliance` to the group
    app.add_typer(report_app, name="report")
