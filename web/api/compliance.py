"""The compliance report of a unit's subtree for a period, as JSON (read-only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from web.api.common import COMMON, ApiCaller
from web.pages.compliance import report_for

router = APIRouter(tags=["reports"])


@router.get("/units/{unit_id}/compliance", responses=COMMON)
def compliance(
    unit_id: str,
    caller: ApiCaller,
    from_: Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD (default: 1 January this year)")] = None,
    to: Annotated[str | None, Query(description="last day, YYYY-MM-DD (default: 31 December this year)")] = None,
    risk_days: Annotated[str | None, Query(description="at risk: due within this many working days (default 5)")] = None,
    late_days: Annotated[str | None, Query(description="late entry: recorded more than this many working days "
                                                       "after the effective date (default 10)")] = None,
) -> dict[str, Any]:
    """Deadlines missed (days late in working days) and at risk by the committee that must act, facts entered
    late, files missing a required form, refusals (ketnap has no guard override), re-admissions and removals."""
    return report_for(caller, unit_id, from_, to, risk_days, late_days).as_dict()
