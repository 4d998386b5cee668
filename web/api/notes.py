"""The sponsor's note through a reminder's signed link (no account: the link is the permission)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from ketnap import context
from ketnap.settings import secret_key
from models import notes
from web.api.cells import _jsonable
from web.api.common import Strict, errors
from web.errors import bad_field

router = APIRouter(tags=["notes"])


class LinkNote(Strict):
    text: str = Field(min_length=1, max_length=4000)


def _public(form: dict[str, Any]) -> dict[str, Any]:
    keep = ("member", "candidate", "cell", "meeting_on", "text")
    return _jsonable({k: form.get(k) for k in keep})


@router.get("/notes/{token}", responses=errors(404, 410))
def open_note(token: str) -> dict[str, Any]:
    """The one note form a reminder's link opens: whose note, on whom, for which meeting."""
    return _public(notes.open_form(context.engine(), token, secret_key(), now=context.now()))


@router.post("/notes/{token}", responses=errors(404, 410, 422))
def submit_note(token: str, body: LinkNote) -> dict[str, Any]:
    """Submit (or replace) the note for that meeting."""
    try:
        saved = notes.submit(context.engine(), token, body.text, secret_key(), now=context.now())
    except ValueError as exc:
        if str(exc).startswith("text:"):
            raise bad_field("text", "invalid", "Nhận xét không được để trống và không quá 4000 ký tự.", str(exc)) from None
        raise
    return _public(saved) | {"audit_event_id": saved["audit_event_id"]}
