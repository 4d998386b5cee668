"""Reading HTML forms: dates and numbers with the field named in the error."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request

from web.errors import bad_field
from web.security import Caller, check_csrf


async def _form_data(request: Request) -> Any:
    return await request.form()


# The handlers are plain functions (run in a thread: they call the database and the transition flow,
# which runs its own event loop); only reading the body is async, as this dependency.
Form = Annotated[Any, Depends(_form_data)]


def posted(request: Request, caller: Caller, form: Any) -> Any:
    """The submitted form, after the CSRF check."""
    check_csrf(request, caller, form)
    return form


def form_date(form: Any, name: str, label: str) -> date:
    raw = str(form.get(name) or "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise bad_field(name, "invalid_date", f"“{label}”: chưa nhập hoặc không phải ngày hợp lệ.",
                        f"{raw!r} is not a date (YYYY-MM-DD)") from None


def form_int(form: Any, name: str, label: str) -> int | None:
    raw = str(form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_field(name, "invalid_number", f"“{label}” phải là số nguyên.", f"{raw!r} is not a whole number") from None
