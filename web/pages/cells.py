"""The secretary's pages: the cell board and a meeting's results for several candidates at once."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ketnap import context
from models.access import EVENT_ACTOR_ROLES
from models.procedure.loader import get_ruleset
from models.scope import OutOfScope, cell_access, visible_cells
from web import services
from web.errors import ApiError, forbidden, from_domain, not_found
from web.pages.forms import Form, form_date, posted
from web.render import page
from web.security import Caller, page_caller

router = APIRouter()


@router.get("/cells")
def cells(request: Request) -> Response:
    caller = page_caller(request)
    found = visible_cells(context.engine(), caller.principal)
    if len(found) == 1:
        return RedirectResponse(f"/cells/{found[0]['id']}", status_code=303)
    return page(request, "cells.html", title="Chi bộ", cells=found)


@router.get("/cells/{cell_id}")
def cell_board(request: Request, cell_id: str) -> Response:
    caller = page_caller(request)
    data = services.board(caller, cell_id)
    return page(request, "board.html", title=data["cell"]["name"], board=data,
                meeting_events=_meeting_events(caller, cell_id, data) if data["role"] == "secretary" else [])


def _meeting_events(caller: Caller, cell_id: str, board: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The steps a meeting records (the cell's and the cell committee's), with the candidates each applies to."""
    board = board or services.board(caller, cell_id)
    found: dict[str, dict[str, Any]] = {}
    for group in board["stages"]:
        for cand in group["candidates"]:
            c = services._candidate(cand["id"])
            rs = get_ruleset(c["ruleset_version"])
            for event in rs.events_from(c["stage"]):
                if EVENT_ACTOR_ROLES.get(event.actor) != "secretary":
                    continue
                entry = found.setdefault(event.id, {"event": event.id, "label": event.label, "candidates": [],
                                                    "inputs": event.inputs})
                entry["candidates"].append({"id": c["id"], "full_name": c["full_name"], "version": c["version"],
                                            "stage_label": group["label"]})
    return list(found.values())


def _meeting_page(request: Request, caller: Caller, cell_id: str, event: str | None, status: int = 200,
                  **values: Any) -> Response:
    try:
        role, _ = cell_access(context.engine(), caller.principal, cell_id)
    except OutOfScope:
        raise not_found("cell") from None
    if role != "secretary":
        raise forbidden("Chỉ bí thư chi bộ ghi kết quả họp chi bộ.", "only the cell's secretary records its meeting")
    board = services.board(caller, cell_id)
    events = _meeting_events(caller, cell_id, board)
    chosen = next((e for e in events if e["event"] == event), None)
    default_on = board["last_meeting"] if board["last_meeting"] else services.today()
    if board["next_meeting"] and board["next_meeting"] <= services.today():
        default_on = board["next_meeting"]
    defaults: dict[int, dict[str, Any]] = {}
    if chosen:
        for cand in chosen["candidates"]:
            acts = {a["event"]: a for a in services.actions(caller, cand["id"])}
            action = acts.get(chosen["event"])
            defaults[cand["id"]] = {i["name"]: i["default"] for i in action["inputs"]} if action else {}
            cand["blocked_by"] = action["blocked_by"] if action else []
    return page(request, "meeting.html", status=status, title=f"Ghi kết quả họp — {board['cell']['name']}",
                board=board, events=events, chosen=chosen, defaults=defaults,
                on=values.pop("on", default_on), batch_key=values.pop("batch_key", uuid.uuid4().hex),
                submitted=values.pop("submitted", {}), **values)


@router.get("/cells/{cell_id}/meeting")
def meeting_form(request: Request, cell_id: str, event: str | None = None) -> Response:
    caller = page_caller(request)
    return _meeting_page(request, caller, cell_id, event)


@router.post("/cells/{cell_id}/meeting")
def meeting_submit(request: Request, form: Form, cell_id: str) -> Response:
    caller = page_caller(request)
    posted(request, caller, form)
    event = str(form.get("event") or "")
    intent = str(form.get("intent") or "check")
    batch_key = str(form.get("batch_key") or uuid.uuid4().hex)[:64]
    included = [int(x) for x in form.getlist("include") if str(x).isdigit()]
    submitted: dict[int, dict[str, str]] = {}
    items = []
    for cid in included:
        prefix = f"c{cid}."
        inputs = {k[len(prefix):]: str(v) for k, v in form.multi_items() if k.startswith(prefix) and str(v).strip()}
        version = str(form.get(f"v{cid}") or "")
        submitted[cid] = inputs
        items.append({"candidate_id": cid, "event": event, "inputs": inputs,
                      "expected_version": int(version) if version.isdigit() else None})
    values: dict[str, Any] = {"batch_key": batch_key, "submitted": submitted, "included": set(included)}
    try:
        on = form_date(form, "on", "Ngày họp")
        values["on"] = on
        if intent == "submit":
            outcome = services.meeting_results(caller, cell_id, on, items, key=batch_key)
            return _meeting_page(request, caller, cell_id, event, outcome=outcome,
                                 flash=f"Đã ghi {outcome['applied']} hồ sơ.")
        checks = [_check(caller, cid, event, on, item) for cid, item in zip(included, items, strict=True)]
        if not checks:
            raise ApiError(422, "bad_input", "Chưa chọn hồ sơ nào.", "no candidate chosen")
        return _meeting_page(request, caller, cell_id, event, checks=checks, **values)
    except ApiError as err:
        return _meeting_page(request, caller, cell_id, event, status=err.status, batch_error=err, **values)


def _check(caller: Caller, cid: int, event: str, on: date, item: dict[str, Any]) -> dict[str, Any]:
    try:
        return services.transition(caller, cid, event, on, item["inputs"], expected_version=item["expected_version"],
                                   dry_run=True) | {"full_name": services._candidate(cid)["full_name"]}
    except Exception as exc:  # noqa: BLE001 - shown on the row
        err = from_domain(exc)
        if err is None:
            raise
        return {"candidate_id": cid, "status": "invalid", "error": err.body()["error"],
                "full_name": services._candidate(cid)["full_name"]}
