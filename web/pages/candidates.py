"""A candidate's page: the file (an audited read), the steps open now with what blocks them, one step's form,
downloads, and the notes the secretary records for sponsors."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ketnap import context
from models.procedure.loader import get_ruleset
from models.scope import candidates_in_scope, visible_cells
from web import services
from web.errors import ApiError, from_domain
from web.pages.forms import Form, form_date, form_int, posted
from web.pages.sponsors import sponsor_candidate_page
from web.render import download, page
from web.security import Caller, page_caller

router = APIRouter()


@router.get("/candidates")
def candidate_list(request: Request, q: str | None = None, cell: str | None = None, stage: str | None = None,
                   closed: bool = False) -> Response:
    caller = page_caller(request)
    rows = candidates_in_scope(context.engine(), caller.principal, cell_id=cell or None, stage=stage or None,
                               query=(q or "")[:100] or None, include_closed=closed)
    stages = get_ruleset("qd294-2025").stages
    return page(request, "candidates.html", title="Hồ sơ", rows=rows, q=q or "", cell=cell or "", stage=stage or "",
                closed=closed, cells=visible_cells(context.engine(), caller.principal), stages=stages)


@router.get("/candidates/{candidate_id}")
def candidate_page(request: Request, candidate_id: int) -> Response:
    caller = page_caller(request)
    acc = services.access(caller, candidate_id)
    if acc.read_role == "sponsor":
        return sponsor_candidate_page(request, caller, candidate_id)
    return _candidate_page(request, caller, candidate_id)


def _candidate_page(request: Request, caller: Caller, candidate_id: int, status: int = 200, **values: Any) -> Response:
    from models.notes import notes_of

    file = services.casefile(caller, candidate_id, purpose="web view")
    return page(request, "candidate.html", status=status, title=file["full_name"], c=file,
                actions=services.actions(caller, candidate_id), documents=services.documents(caller, candidate_id),
                notes=notes_of(context.engine(), candidate_id), meetings=services.note_meetings(file["cell"]["id"]),
                **values)


def _act_page(request: Request, caller: Caller, candidate_id: int, event: str, status: int = 200,
              **values: Any) -> Response:
    acts = services.actions(caller, candidate_id)
    action = next((a for a in acts if a["event"] == event), None)
    cand = services._candidate(candidate_id)
    if action is None:
        raise ApiError(409, "stage_conflict", "Bước này không áp dụng cho giai đoạn hiện tại của hồ sơ.",
                       f"{event} does not apply to stage {cand['stage']}")
    if not action["allowed"]:
        raise ApiError(403, "forbidden", "Tài khoản này không có quyền ghi bước này.", "this account may not record it")
    rs = get_ruleset(cand["ruleset_version"])
    return page(request, "act.html", status=status, title=action["label"], cand=cand, action=action,
                stage_label=rs.stage(cand["stage"]).label, key=values.pop("key", uuid.uuid4().hex),
                values=values.pop("values", {}), on=values.pop("on", services.today()), **values)


@router.get("/candidates/{candidate_id}/act/{event}")
def act_form(request: Request, candidate_id: int, event: str) -> Response:
    caller = page_caller(request)
    services.access(caller, candidate_id)
    return _act_page(request, caller, candidate_id, event)


@router.post("/candidates/{candidate_id}/act/{event}")
def act(request: Request, form: Form, candidate_id: int, event: str) -> Response:
    caller = page_caller(request)
    posted(request, caller, form)
    services.access(caller, candidate_id)
    intent = str(form.get("intent") or "check")
    key = str(form.get("key") or uuid.uuid4().hex)[:64]
    raw = {k[3:]: str(v) for k, v in form.multi_items() if k.startswith("in_") and str(v).strip()}
    reason = str(form.get("reason") or "").strip() or None
    keep: dict[str, Any] = {"key": key, "values": raw | {"reason": reason or ""}}
    try:
        on = form_date(form, "on", "Ngày")
        keep["on"] = on
        version = form_int(form, "version", "Phiên bản")
        outcome = services.transition(caller, candidate_id, event, on, raw, key=key if intent == "submit" else None,
                                      expected_version=version, reason=reason, dry_run=intent != "submit")
    except ApiError as err:
        return _act_page(request, caller, candidate_id, event, status=err.status, errors=err, **keep)
    except Exception as exc:  # noqa: BLE001 - a domain refusal is shown on the form
        err = from_domain(exc)
        if err is None:
            raise
        if err.code in ("stage_conflict", "version_conflict"):
            return _candidate_page(request, caller, candidate_id, status=err.status, errors=err)
        return _act_page(request, caller, candidate_id, event, status=err.status, errors=err, **keep)
    if intent != "submit":
        return _act_page(request, caller, candidate_id, event, preview=outcome, **keep)
    if outcome["status"] != "applied":
        keep["key"] = uuid.uuid4().hex   # the refusal used up the key: the corrected form is a new request
        return _act_page(request, caller, candidate_id, event, status=422, refused=outcome, **keep)
    deferred = "&deferred=1" if outcome.get("orchestration") == "deferred" else ""
    return RedirectResponse(f"/candidates/{candidate_id}?done={outcome['audit_event_id']}{deferred}", status_code=303)


@router.get("/candidates/{candidate_id}/documents/{document_id}.{fmt}")
def document(request: Request, candidate_id: int, document_id: int, fmt: str) -> Response:
    caller = page_caller(request)
    content, media, name = services.document_file(caller, candidate_id, document_id, fmt)
    return download(content, media, name, inline=fmt == "html")


@router.get("/candidates/{candidate_id}/dossier.{fmt}")
def dossier(request: Request, candidate_id: int, fmt: str) -> Response:
    caller = page_caller(request)
    content, media, name = services.dossier_file(caller, candidate_id, fmt)
    return download(content, media, name)


@router.post("/candidates/{candidate_id}/notes")
def record_note(request: Request, form: Form, candidate_id: int) -> Response:
    caller = page_caller(request)
    posted(request, caller, form)
    try:
        meeting_on = form_date(form, "meeting_on", "Ngày họp")
        services.secretary_note(caller, candidate_id, str(form.get("member_code") or "").strip(), meeting_on,
                                str(form.get("text") or ""))
    except Exception as exc:  # noqa: BLE001
        err = from_domain(exc)
        if err is None:
            raise
        if err.status == 404 and err.code == "not_found":
            raise
        return _candidate_page(request, caller, candidate_id, status=err.status, note_errors=err)
    return RedirectResponse(f"/candidates/{candidate_id}?note=1#notes", status_code=303)

