"""The organisation department's statistics page for a unit's subtree, with its Excel and CSV downloads.

Aggregates only (no personal file is read, so nothing is audited); the organisation department and the
committees see the units of their subtree (`unit_in_scope`), anything else answers 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketnap import context
from models.statistics import StatisticsReport, check_year, vn_number, yearly_report
from models.statistics_export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, file_stem, find_table, to_csv, to_xlsx
from web import services
from web.errors import bad_field
from web.pages.units import unit_in_scope
from web.render import download, page
from web.security import page_caller

router = APIRouter()
YEARS_OFFERED = 6


def parse_year(value: str | None) -> int:
    """The `year` query parameter (default: this year); a 422 naming the field otherwise."""
    today = services.today()
    if value is None or value == "":
        return today.year
    text = value.strip()
    if not text.isdigit() or len(text) != 4:
        raise bad_field("year", "not_a_year", f"Năm “{value[:20]}” không hợp lệ (ví dụ 2026).",
                        f"year: {value[:20]!r} is not a year such as 2026")
    year = int(text)
    check_year(year, today)
    return year


def report_for(unit_id: str, year: int) -> StatisticsReport:
    return yearly_report(context.engine(), unit_id, year, today=services.today())


def charts(report: StatisticsReport) -> list[dict[str, Any]]:
    """The bar charts of the page: each a title, its items (label, value, optional target, text) and its scale."""
    out = []
    if report.committees:
        items = [{"label": c.name, "value": c.admitted, "target": c.target_year,
                  "text": f"{vn_number(c.admitted)}/{vn_number(c.target_year)} · {vn_number(c.percent_year)}"
                  if c.target_year is not None else vn_number(c.admitted)} for c in report.committees]
        scale = max([1, *(c.admitted for c in report.committees), *(c.target_year or 0 for c in report.committees)])
        out.append({"title": f"Kết nạp năm {report.year} so với chỉ tiêu, theo đơn vị",
                    "note": "Thanh đỏ: số đã kết nạp; nền xám và vạch đen: chỉ tiêu năm.", "items": items, "max": scale})
    if report.admitted:
        out.append({"title": "Cơ cấu người được kết nạp (tỷ lệ trên tổng số)", "note": "", "max": 100,
                    "items": [{"label": s.label, "value": float(s.percent or 0), "target": None,
                               "text": f"{vn_number(s.count)} · {vn_number(s.percent)}"} for s in report.composition]})
    active = [s for s in report.stages if s.people or s.stays]
    if active:
        out.append({"title": "Số người ở mỗi bước hiện nay", "note": "", "max": max([1, *(s.people for s in active)]),
                    "items": [{"label": f"{s.letter or '–'} · {s.label}", "value": s.people, "target": None,
                               "text": vn_number(s.people)} for s in active]})
        timed = [s for s in active if s.median_days is not None]
        if timed:
            out.append({"title": "Số ngày ở mỗi bước (trung vị)", "note": "Trong năm và đến ngày cuối kỳ.",
                        "max": max([1.0, *(s.median_days or 0 for s in timed)]),
                        "items": [{"label": f"{s.letter or '–'} · {s.label}", "value": s.median_days, "target": None,
                                   "text": f"{vn_number(s.median_days)} ngày"} for s in timed]})
    return out


@router.get("/units/{unit_id}/statistics")
def statistics_page(request: Request, unit_id: str, year: str | None = None) -> Response:
    caller = page_caller(request)
    role = unit_in_scope(caller, unit_id)
    chosen = parse_year(year)
    report = report_for(unit_id, chosen)
    today = services.today()
    years = list(range(today.year, max(today.year - YEARS_OFFERED, 2000) - 1, -1))
    return page(request, "statistics.html", title=f"Thống kê năm {chosen} · {report.unit_name}", r=report,
                tables=report.tables(), charts=charts(report), role=role, years=years, fmt=vn_number)


@router.get("/units/{unit_id}/statistics.xlsx")
def statistics_xlsx(request: Request, unit_id: str, year: str | None = None) -> Response:
    unit_in_scope(page_caller(request), unit_id)
    report = report_for(unit_id, parse_year(year))
    return download(to_xlsx(report), XLSX_MEDIA_TYPE, f"{file_stem(report)}.xlsx")


@router.get("/units/{unit_id}/statistics.csv")
def statistics_csv(request: Request, unit_id: str, year: str | None = None, table: str | None = None) -> Response:
    unit_in_scope(page_caller(request), unit_id)
    report = report_for(unit_id, parse_year(year))
    if table:
        try:
            chosen = find_table(report, table)
        except LookupError:
            raise bad_field("table", "unknown_table", f"Không có bảng “{table[:60]}”.",
                            f"table: no table {table[:60]!r}") from None
        return download(to_csv(report, chosen.key), CSV_MEDIA_TYPE, f"{file_stem(report)}-{chosen.key}.csv")
    return download(to_csv(report), CSV_MEDIA_TYPE, f"{file_stem(report)}.csv")
