"""Sponsors: my candidates and their notes; the note form a reminder's link opens without logging in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ketnap import context
from ketnap.settings import secret_key
from models import notes
from models.casefile import record_read
from models.scope import sponsored_candidates
from web import services
from web.errors import ApiError, FieldProblem, forbidden, from_domain
from web.pages.forms import Form, form_date, posted
from web.render import page
from web.security import Caller, page_caller, same_origin

router = APIRouter()


@router.get("/sponsor")
def my_candidates(request: Request) -> Response:
    caller = page_caller(request)
    if not caller.principal.has("sponsor"):
        raise forbidden()
    rows = sponsored_candidates(context.engine(), caller.principal)
    for r in rows:
        meetings = services.note_meetings(r["cell_id"])
        written = {n["meeting_on"] for n in notes.notes_of(context.engine(), r["id"], caller.principal.member_id)}
        r["meetings"] = [{"on": m, "written": m in written} for m in meetings]
    return page(request, "sponsor.html", title="Người tôi giới thiệu, giúp đỡ", rows=rows)


def sponsor_candidate_page(request: Request, caller: Caller, candidate_id: int, status: int = 200,
                           **values: Any) -> Response:
    acc = services.access(caller, candidate_id)
    record_read(context.engine(), candidate_id, caller.principal.actor("sponsor"), "sponsor view", now=context.now())
    cand = services._candidate(candidate_id)
    from models.procedure.loader import get_ruleset
    from models.snapshot import UNIT

    with context.engine().connect() as conn:
        cell_name = conn.execute(UNIT.select().with_only_columns(UNIT.c.name).where(UNIT.c.id == acc.cell_id)).scalar()
    mine = notes.notes_of(context.engine(), candidate_id, caller.principal.member_id)
    return page(request, "sponsor_candidate.html", status=status, title=cand["full_name"], cand=cand, cell_name=cell_name,
                stage_label=get_ruleset(cand["ruleset_version"]).stage(cand["stage"]).label,
                meetings=services.note_meetings(acc.cell_id), notes=mine, **values)


@router.post("/sponsor/candidates/{candidate_id}/notes")
def write_note(request: Request, form: Form, candidate_id: int) -> Response:
    caller = page_caller(request)
    posted(request, caller, form)
    text = str(form.get("text") or "")
    try:
        meeting_on = form_date(form, "meeting_on", "Cuộc họp")
        services.sponsor_note(caller, candidate_id, meeting_on, text)
    except ApiError as err:
        if err.status in (403, 404):
            raise
        return sponsor_candidate_page(request, caller, candidate_id, status=err.status, errors=err, text=text)
    return RedirectResponse(f"/candidates/{candidate_id}?saved=1", status_code=303)


# --- the reminder's link: no account needed, the signed token is the permission --------------------

@router.get("/n/{token}")
def short_link(token: str) -> Response:
    """The short form the reminders carry (fits an SMS): the same note form."""
    return RedirectResponse(f"/notes/{token}", status_code=303)


@router.get("/notes/{token}")
def note_form(request: Request, token: str) -> Response:
    form = notes.open_form(context.engine(), token, secret_key(), now=context.now())
    return page(request, "note_link.html", title="Nhận xét người vào Đảng", form=form, token=token, text=form["text"] or "")


@router.post("/notes/{token}")
def note_submit(request: Request, form: Form, token: str) -> Response:
    if not same_origin(request):
        raise ApiError(403, "csrf_failed", "Biểu mẫu không hợp lệ.", "cross-site request")
    text = str(form.get("text") or "")
    try:
        saved = notes.submit(context.engine(), token, text, secret_key(), now=context.now())
    except ValueError as exc:
        err = from_domain(exc)
        if err is not None:
            raise err from None
        form = notes.open_form(context.engine(), token, secret_key(), now=context.now())
        problem = ApiError(422, "bad_input", "Thông tin nhập chưa đúng.", "the request is not valid",
                           [FieldProblem("text", "invalid", "Nhận xét không được để trống và không quá 4000 ký tự.",
                                         str(exc))])
        return page(request, "note_link.html", status=422, title="Nhận xét người vào Đảng", form=form, token=token,
                    text=text, errors=problem)
    return page(request, "note_link.html", title="Đã gửi nhận xét", form=saved, token=token, text=saved["text"],
                saved=True)
