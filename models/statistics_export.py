"""The yearly statistics as files: an Excel workbook (one sheet per table) and CSV.

Both print `StatisticsReport.tables()`, the same tables the page shows, so the three cannot disagree.

- **Excel**: one sheet per table, titled as on the page; row 1 is the header (bold, frozen), then the rows.
  Numbers stay numbers: counts with a thousands separator, medians with one decimal, percentages as
  fractions formatted `0.0%` (176,7% is stored as 1.767). The workbook's title names the unit and year.
- **CSV**: UTF-8 with a byte-order mark so that Excel reads the Vietnamese letters; comma-separated, numbers
  written plainly (dot decimal, percentages as 176.7 under a "(%)" header). One table: its header and rows.
  All tables: one file of sections, each a line with the table's title, its header, its rows and an empty
  line (a spreadsheet opens it as one sheet; a program splits on the title lines).
"""

from __future__ import annotations

import io
from typing import Any

from models.spreadsheet_csv import csv_bytes
from models.statistics import Percent, StatisticsReport, Table

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
_FORBIDDEN_IN_SHEET_TITLES = str.maketrans({c: " " for c in "[]:*?/\\"})


def file_stem(report: StatisticsReport) -> str:
    """'thong-ke-xa-muong-bu-2026': ASCII letters, digits and hyphens only, for download names."""
    unit = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in report.unit_id)
    return f"thong-ke-{unit}-{report.year}"


def sheet_title(title: str, taken: set[str]) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\ , unique in the workbook."""
    base = title.translate(_FORBIDDEN_IN_SHEET_TITLES).strip()[:31] or "Bảng"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def to_xlsx(report: StatisticsReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = f"Thống kê kết nạp đảng viên năm {report.year} — {report.unit_name}"
    wb.properties.creator = "ketnap"
    taken: set[str] = set()
    bold = Font(bold=True)
    for table in report.tables():
        ws = wb.create_sheet(sheet_title(table.title, taken))
        ws.append(list(table.header))
        for cell in ws[1]:
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        widths = [len(str(h)) for h in table.header]
        for r, row in enumerate(table.rows, start=2):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c, value=_excel_value(value))
                fmt = _excel_format(value)
                if fmt:
                    cell.number_format = fmt
                widths[c - 1] = max(widths[c - 1], len(_shown(value)))
        for c, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(c)].width = min(max(width + 2, 8), 60)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _excel_value(value: Any) -> Any:
    if isinstance(value, Percent):
        return float(value) / 100
    return value


def _excel_format(value: Any) -> str | None:
    if isinstance(value, Percent):
        return "0.0%"
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return "#,##0"
    if isinstance(value, float):
        return "0.0"
    return None


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Percent):
        return f"{float(value):.1f}%"
    return str(value)


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{float(value):.1f}"
    return value


def find_table(report: StatisticsReport, key: str) -> Table:
    """A table by its key (the folded title, e.g. 'ket-nap-va-chi-tieu') or its number from 1; LookupError otherwise."""
    tables = report.tables()
    if key.isdigit() and 1 <= int(key) <= len(tables):
        return tables[int(key) - 1]
    for t in tables:
        if t.key == key:
            return t
    raise LookupError(f"no table {key!r}; known: {', '.join(t.key for t in tables)}")


def to_csv(report: StatisticsReport, table: str | None = None) -> bytes:
    """One table (by key or number) or all of them as sections; UTF-8 with a BOM."""
    if table is not None:
        chosen = find_table(report, table)
        return csv_bytes([chosen.header, *([_csv_value(v) for v in row] for row in chosen.rows)])
    lines: list[list[Any]] = []
    for i, t in enumerate(report.tables()):
        lines += [[]] if i else []
        lines += [[t.title], t.header, *([_csv_value(v) for v in row] for row in t.rows)]
    return csv_bytes(lines)
