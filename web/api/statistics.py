"""The organisation department's yearly statistics of a unit's subtree, as JSON (the page's figures and tables)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from models.statistics import Percent
from web.api.common import COMMON, ApiCaller
from web.pages.statistics import parse_year, report_for
from web.pages.units import unit_in_scope

router = APIRouter(tags=["statistics"])


def _cell(value: Any) -> Any:
    return float(value) if isinstance(value, Percent) else value


@router.get("/units/{unit_id}/statistics", responses=COMMON)
def statistics(unit_id: str, caller: ApiCaller,
               year: int | None = Query(default=None, ge=1, le=9999, description="the year (default: this year)")
               ) -> dict[str, Any]:
    """Admissions against the year's and the term's targets, per subordinate unit with its rank; who was
    admitted (women, Youth Union, ethnic minorities, religion, age 18–30, students, education, occupation);
    villages and cells; members; courses; people and days per stage, bottlenecks, overdue deadlines. `tables`
    holds the same tables as the page and the Excel file (percentages as numbers, 176.7 = 176,7 %)."""
    unit_in_scope(caller, unit_id)
    report = report_for(unit_id, parse_year(None if year is None else str(year)))
    return report.as_dict() | {"tables": [
        {"key": t.key, "title": t.title, "header": list(t.header), "rows": [[_cell(v) for v in row] for row in t.rows]}
        for t in report.tables()]}
