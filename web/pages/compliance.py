"""The compliance report of a unit's subtree for a period: the page, its CSV and its PDF (read-only).

`/units/{unit_id}/compliance?from=2026-01-01&to=2026-12-31` (the current year by default), for the
organisation department and the committees whose subtree holds the unit.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketnap import context
from models.compliance import (
    DEFAULT_AT_RISK_WORKING_DAYS,
    DEFAULT_LATE_ENTRY_WORKING_DAYS,
    ComplianceReport,
    compliance_report,
    default_period,
    parse_day,
)
from models.procedure.engine import InputError, InputProblem
from web import services
from web.errors import ApiError
from web.pages.units import unit_in_scope
from web.render import download, page
from web.security import Caller, page_caller

router = APIRouter()
PAGE_ROWS = 300            # rows shown per table on the page (the CSV and the PDF hold them all)
FORMATS = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


def _int(text: str | None, name: str, default: int) -> int:
    if text is None or not text.strip():
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise InputError([InputProblem(name, "not_an_integer", f"{name}: {text!r} is not a whole number",
                                       f"“{name}”: “{text}” không phải là số nguyên.")]) from None


def report_for(caller: Caller, unit_id: str, from_: str | None, to: str | None, risk_days: str | None = None,
               late_days: str | None = None) -> ComplianceReport:
    """The report for a caller who sees the unit (404 otherwise); bad parameters are errors naming the field."""
    unit_in_scope(caller, unit_id)
    today = services.today()
    first, last = default_period(today)
    start = parse_day(from_, "from") or first
    end = parse_day(to, "to") or last
    return compliance_report(context.engine(), unit_id, start, end, today=today,
                             at_risk_working_days=_int(risk_days, "risk_days", DEFAULT_AT_RISK_WORKING_DAYS),
                             late_entry_working_days=_int(late_days, "late_days", DEFAULT_LATE_ENTRY_WORKING_DAYS))


def _query(report: ComplianceReport) -> str:
    return urlencode({"from": report.start.isoformat(), "to": report.end.isoformat(),
                      "risk_days": report.at_risk_working_days, "late_days": report.late_entry_working_days})


@router.get("/units/{unit_id}/compliance")
def compliance(request: Request, unit_id: str) -> Response:
    caller = page_caller(request)
    q = request.query_params
    report = report_for(caller, unit_id, q.get("from"), q.get("to"), q.get("risk_days"), q.get("late_days"))
    return page(request, "compliance.html", title=f"Kiểm tra việc chấp hành: {report.unit_name}", r=report,
                tables=report.tables(), query=_query(report), limit=PAGE_ROWS)


@router.get("/units/{unit_id}/compliance.{fmt}")
def compliance_file(request: Request, unit_id: str, fmt: str) -> Response:
    from models.compliance_export import file_stem, to_csv, to_pdf

    caller = page_caller(request)
    if fmt not in FORMATS:
        raise ApiError(404, "not_found", "Không có định dạng này (chọn csv hoặc pdf).", f"no format {fmt!r}: csv or pdf")
    q = request.query_params
    report = report_for(caller, unit_id, q.get("from"), q.get("to"), q.get("risk_days"), q.get("late_days"))
    content = to_csv(report) if fmt == "csv" else to_pdf(report)
    return download(content, FORMATS[fmt], f"{file_stem(report)}.{fmt}")
