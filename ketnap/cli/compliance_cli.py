"""`ketnap report compliance UNIT --from D --to D [--json] [--csv FILE] [--pdf FILE]`: the compliance report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ketnap.cli.app_common import Json
from ketnap.cli.output import emit, handled
from ketnap.cli.reports import report_app
from ketnap.context import engine
from models.compliance import (
    DEFAULT_AT_RISK_WORKING_DAYS,
    DEFAULT_LATE_ENTRY_WORKING_DAYS,
    ComplianceReport,
    compliance_report,
    default_period,
    parse_day,
)
from models.transitions import local_today


def _print(report: ComplianceReport) -> None:
    typer.echo(f"{report.unit_name}: {report.start:%d/%m/%Y} – {report.end:%d/%m/%Y} (as of {report.today:%d/%m/%Y}; "
               "days late in working days)")
    for title, header, rows in report.tables():
        typer.echo("")
        typer.echo(f"== {title} ({len(rows)})")
        if not rows:
            continue
        widths = [min(40, max(len(h), *(len(r[i]) for r in rows))) for i, h in enumerate(header)]
        typer.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        for row in rows:
            typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


@report_app.command("compliance")
def compliance(
    unit: Annotated[str, typer.Argument(help="Unit id: the report covers the cells under it")],
    from_: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default 1 January this year)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default 31 December this year)")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Count open deadlines as of this day (default today)")] = None,
    risk_days: Annotated[int, typer.Option("--risk-days", help="At risk: due within N working days")] = (
        DEFAULT_AT_RISK_WORKING_DAYS),
    late_days: Annotated[int, typer.Option("--late-days", help="Late entry: recorded more than N working days after "
                                                              "the effective date")] = DEFAULT_LATE_ENTRY_WORKING_DAYS,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write the tables as CSV (UTF-8 with BOM)")] = None,
    pdf_file: Annotated[Path | None, typer.Option("--pdf", help="Also write a printable PDF")] = None,
    as_json: Json = False,
) -> None:
    """Deadlines missed or at risk by committee (working days late), late entries, files missing a form,
    refusals (ketnap has no guard override), re-admissions and removals, for a subtree and a period."""
    with handled(as_json):
        today = parse_day(as_of, "as-of") or local_today(datetime.now(UTC))
        first, last = default_period(today)
        report = compliance_report(engine(), unit, parse_day(from_, "from") or first, parse_day(to, "to") or last,
                                   today=today, at_risk_working_days=risk_days, late_entry_working_days=late_days)
        written = []
        if csv_file is not None:
            from models.compliance_export import to_csv

            csv_file.write_bytes(to_csv(report))
            written.append(str(csv_file))
        if pdf_file is not None:
            from models.compliance_export import to_pdf

            pdf_file.write_bytes(to_pdf(report))
            written.append(str(pdf_file))

        def human() -> None:
            _print(report)
            for path in written:
                typer.echo(f"\nwritten: {path}")

        emit(report.as_dict() | ({"written": written} if written else {}), as_json, human)
