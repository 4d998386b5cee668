"""A candidate's full history: the page, its CSV and PDF exports. Each is an audited read of the file.

Readers are those of the candidate page (the organisation department and committees over the
cell, the cell's secretary); a sponsor is refused, an id out of scope is "not found". The flow
runs come from Prefect when it answers; otherwise the page says so and shows the rest.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from flows.history import attach, read_flow_runs
from ketnap import context
from models.casefile import record_read
from models.history import candidate_history, export_csv, export_pdf, local_date, local_time
from web import services
from web.errors import forbidden
from web.render import download, page
from web.security import Caller, page_caller

router = APIRouter()


def history_for(caller: Caller, candidate_id: int, purpose: str) -> dict[str, Any]:
    """The whole history of a candidate in this caller's scope; the read is recorded first (and so is listed)."""
    acc = services.access(caller, candidate_id)
    if acc.read_role == "sponsor":
        raise forbidden("Người giới thiệu chỉ xem được phần nhận xét của mình.", "sponsors see their own notes only")
    engine = context.engine()
    record_read(engine, candidate_id, caller.principal.actor(acc.read_role), purpose, now=context.now())
    history = candidate_history(engine, candidate_id, reader_role=acc.read_role, today=services.today())
    run_ids = {e["flow_run_id"] for e in history["events"] if e["flow_run_id"]}
    return attach(history, read_flow_runs(candidate_id, run_ids))


@router.get("/candidates/{candidate_id}/history")
def history_page(request: Request, candidate_id: int) -> Response:
    caller = page_caller(request)
    history = history_for(caller, candidate_id, "history")
    return page(request, "history.html", title=f"Lịch sử hồ sơ: {history['candidate']['full_name']}", h=history,
                t=local_time, day=local_date)


@router.get("/candidates/{candidate_id}/history.csv")
def history_csv(request: Request, candidate_id: int) -> Response:
    caller = page_caller(request)
    history = history_for(caller, candidate_id, "history csv")
    return download(export_csv(history), "text/csv; charset=utf-8", f"lich-su-ho-so-{candidate_id}.csv")


@router.get("/candidates/{candidate_id}/history.pdf")
def history_pdf(request: Request, candidate_id: int) -> Response:
    caller = page_caller(request)
    history = history_for(caller, candidate_id, "history pdf")
    reader = f"{caller.principal.display_name} ({caller.principal.username})"
    content = export_pdf(history, reader=reader, generated_at=context.now())
    return download(content, "application/pdf", f"lich-su-ho-so-{candidate_id}.pdf")
