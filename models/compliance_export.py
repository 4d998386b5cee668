"""The compliance report as files: CSV (UTF-8 with BOM, for Excel) and a printable PDF (WeasyPrint, A4).

Both print `ComplianceReport.tables()`, the same rows as the page, so the three always agree.
"""

from __future__ import annotations

from html import escape
from typing import Any

from models.compliance import ComplianceReport
from models.spreadsheet_csv import csv_bytes
from models.vietnamese import date_short

TITLE = "Báo cáo kiểm tra việc chấp hành quy trình kết nạp đảng viên"


def heading(report: ComplianceReport) -> list[list[str]]:
    """The lines above the tables: which unit, which period, as of which day."""
    return [
        [TITLE],
        ["Đơn vị", report.unit_name],
        ["Từ ngày", date_short(report.start)],
        ["Đến ngày", date_short(report.end)],
        ["Tính đến ngày", date_short(report.today)],
        ["Ngày làm việc theo lịch", report.calendar_version],
    ]


def to_csv(report: ComplianceReport) -> bytes:
    """Every table one after the other (title, header, rows, an empty line), UTF-8 with a BOM."""
    lines: list[list[Any]] = [*heading(report), []]
    for title, header, rows in report.tables():
        lines += [[title], header, *rows, []]
    return csv_bytes(lines)


def file_stem(report: ComplianceReport) -> str:
    """An ASCII file name: 'kiem-tra-xa-muong-bu-2026-01-01-2026-12-31'."""
    return f"kiem-tra-{report.unit_id}-{report.start.isoformat()}-{report.end.isoformat()}"


_STYLE = """
@page { size: A4 landscape; margin: 14mm 12mm; @bottom-right { content: counter(page) "/" counter(pages); font-size: 9pt; } }
body { font-family: "Liberation Serif", "Times New Roman", serif; font-size: 10.5pt; color: #000; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 4mm; text-transform: uppercase; }
h2 { font-size: 12pt; margin: 6mm 0 2mm; }
p.meta { margin: 0 0 1mm; }
table { width: 100%; border-collapse: collapse; page-break-inside: auto; }
th, td { border: 0.5pt solid #444; padding: 1mm 1.5mm; vertical-align: top; text-align: left; }
th { background: #eee; }
tr { page-break-inside: avoid; }
p.none { font-style: italic; }
"""


def to_html(report: ComplianceReport) -> str:
    """A standalone printable page of the report."""
    parts = [f"<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{escape(TITLE)}</title>"
             f"<style>{_STYLE}</style></head><body>", f"<h1>{escape(TITLE)}</h1>"]
    for line in heading(report)[1:]:
        parts.append(f"<p class=\"meta\"><strong>{escape(line[0])}:</strong> {escape(line[1])}</p>")
    for title, header, rows in report.tables():
        parts.append(f"<h2>{escape(title)}</h2>")
        if not rows:
            parts.append("<p class=\"none\">Không có.</p>")
            continue
        parts.append("<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead><tbody>")
        parts += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def to_pdf(report: ComplianceReport) -> bytes:
    from models.dossier.pdf import pdf

    return pdf(to_html(report))
