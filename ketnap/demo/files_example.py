"""The example sheet of files in progress for the demo commune: the blank template filled in with the rows of
files_in_progress.yaml, so that a visitor can try the day-one import (dry run, a refused rule, "chưa xác minh")
without typing a spreadsheet. The rows describe the past with fixed dates, so the sheet is valid on any later day.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from importlib import resources
from typing import Any

import yaml

from models.imports.files_template import template_csv, template_xlsx
from models.imports.sheet_columns import BY_KEY, COLUMNS
from models.procedure.loader import get_ruleset

STAGES_OF = "qd294-2025"          # the version the rows' stage ids are written in


def example_rows() -> list[dict[str, Any]]:
    """The rows as stored: column key -> value (dates as dates, the stage as its id)."""
    text = (resources.files("ketnap.demo") / "files_in_progress.yaml").read_text(encoding="utf-8")
    rows: list[dict[str, Any]] = yaml.safe_load(text)["rows"]
    for row in rows:
        unknown = set(row) - set(BY_KEY)
        if unknown:
            raise ValueError(f"files_in_progress.yaml: unknown column keys {sorted(unknown)}")
    return rows


def _cells(row: dict[str, Any], n: int, *, text_dates: bool) -> dict[str, Any]:
    rs = get_ruleset(STAGES_OF)
    out: dict[str, Any] = {"row_number": n}
    for key, value in row.items():
        if key == "stage":
            value = rs.stage(value).label
        elif isinstance(value, date):
            value = f"{value:%d/%m/%Y}" if text_dates else datetime(value.year, value.month, value.day)
        out[key] = value
    return out


def example_xlsx(on: date) -> bytes:
    """The template of `on` (instructions, drop-down lists) with the example rows in its first sheet."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template_xlsx(on)))
    sheet = book["Hồ sơ"]
    column = {c.key: i for i, c in enumerate(COLUMNS, start=1)}
    for n, row in enumerate(example_rows(), start=1):
        for key, value in _cells(row, n, text_dates=False).items():
            cell = sheet.cell(row=n + 1, column=column[key], value=value)
            if isinstance(value, datetime):
                cell.number_format = "DD/MM/YYYY"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def example_csv() -> bytes:
    """The CSV twin: the template's header row (UTF-8 with BOM), dates as dd/mm/yyyy."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for n, row in enumerate(example_rows(), start=1):
        cells = _cells(row, n, text_dates=True)
        writer.writerow(["" if cells.get(c.key) is None else str(cells[c.key]) for c in COLUMNS])
    return template_csv() + buffer.getvalue().encode("utf-8")
