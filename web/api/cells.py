"""Cells and units: the boards a secretary works from, the meeting's results, the committees' summaries."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from ketnap import context
from models.board import unit_summary
from models.scope import visible_cells
from web import services
from web.api.common import COMMON, MAX_ID, ApiCaller, Strict, errors
from web.pages.units import unit_in_scope

router = APIRouter(tags=["cells"])


class MeetingItem(Strict):
    candidate_id: int = Field(ge=1, le=MAX_ID)
    event: str = Field(min_length=1, max_length=64)
    inputs: dict[str, str | int | bool | None] = Field(default_factory=dict)
    expected_version: int | None = Field(default=None, ge=1, le=MAX_ID)
    reason: str | None = Field(default=None, max_length=2000)


class MeetingResults(Strict):
    on: date = Field(description="the meeting's date")
    results: list[MeetingItem] = Field(min_length=1, max_length=200)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=80,
                                        description="sending the same batch again with it records nothing twice")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


@router.get("/cells", responses=errors(401))
def cells(caller: ApiCaller) -> list[dict[str, Any]]:
    """The cells whose boards this account may open."""
    return visible_cells(context.engine(), caller.principal)


@router.get("/cells/{cell_id}/board", responses=COMMON)
def board(cell_id: str, caller: ApiCaller) -> dict[str, Any]:
    """Open files by stage, the next meeting, missing sponsor notes, upcoming and overdue deadlines."""
    return _jsonable(services.board(caller, cell_id))


@router.post("/cells/{cell_id}/meeting-results", responses=errors(401, 403, 404, 409, 422))
def meeting_results(cell_id: str, body: MeetingResults, caller: ApiCaller) -> dict[str, Any]:
    """Record a meeting's results for several candidates. Every step is checked first; if any would be
    refused or is invalid, nothing is recorded and the answer (422 batch_refused) lists each one."""
    items = [i.model_dump() for i in body.results]
    return _jsonable(services.meeting_results(caller, cell_id, body.on, items, key=body.idempotency_key))


@router.get("/units/{unit_id}/summary", responses=COMMON)
def summary(unit_id: str, caller: ApiCaller) -> dict[str, Any]:
    """A committee's subtree: each cell's open files by phase and its overdue deadlines (read-only)."""
    unit_in_scope(caller, unit_id)
    return unit_summary(context.engine(), unit_id, services.today())
