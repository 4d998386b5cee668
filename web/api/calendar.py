"""Admin API: the working-day calendar's corrections (the twin of /admin/calendar)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from ketnap import context
from models import calendar_corrections as corrections
from web.api.common import ApiCaller, Strict, errors
from web.errors import not_found
from web.security import require_role

router = APIRouter(prefix="/admin/calendar", tags=["admin"])


class CorrectionBody(Strict):
    """A whole year's arrangement, as in models/calendar/vn/<year>.yaml; the revision is the next one unless given."""

    year: int = Field(examples=[2027])
    revision: int | None = Field(default=None, ge=1)
    source: str = Field(max_length=300, examples=["Thông báo số …/TB-VPCP"])
    days_off: dict[date, str] = Field(default_factory=dict, max_length=366)
    working_days: dict[date, str] = Field(default_factory=dict, max_length=366)
    not_days_off: dict[date, str] = Field(default_factory=dict, max_length=366)
    dry_run: bool = Field(default=True, description="Report what would change; change nothing (the default)")


@router.get("/corrections", responses=errors(401, 403))
def list_corrections(caller: ApiCaller) -> list[dict[str, Any]]:
    require_role(caller, "admin")
    return corrections.list_corrections(context.engine())


@router.get("/corrections/{correction_id}", responses=errors(401, 403, 404))
def correction(correction_id: int, caller: ApiCaller) -> dict[str, Any]:
    require_role(caller, "admin")
    row = corrections.correction_detail(context.engine(), correction_id)
    if row is None:
        raise not_found()
    return row


@router.post("/corrections", responses=errors(401, 403, 422), status_code=status.HTTP_200_OK)
def correct(body: CorrectionBody, caller: ApiCaller) -> dict[str, Any]:
    """Record a corrected year (or, with dry_run, report what it would move) and recompute the deadlines it touches."""
    require_role(caller, "admin")
    data = body.model_dump(exclude={"dry_run"}, exclude_none=True)
    return corrections.correct_calendar(context.engine(), corrections.parse_correction(data),
                                        caller.principal.actor("admin"), dry_run=body.dry_run,
                                        now=context.now()).as_dict()
