"""Server-rendered pages: one Jinja2 environment over templates/web, Vietnamese filters, no JavaScript needed."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from models.access import ROLE_LABELS
from models.dossier.render import templates_dir
from models.transitions import LOCAL_TZ
from models.vietnamese import date_in_words, date_short

STATUS_LABELS = {"open": "đang chạy", "met": "đúng hạn", "late": "trễ hạn", "cancelled": "đã hủy", "elapsed": "đã hết"}
WHO_ACTS = {"cell": "Chi bộ", "cell_committee": "Chi ủy", "intermediate_committee": "Đảng ủy bộ phận",
            "grassroots_committee": "Đảng ủy cơ sở", "competent_committee": "Cấp ủy có thẩm quyền",
            "political_centre": "Trung tâm chính trị", "candidate": "Người vào Đảng", "system": "Hệ thống",
            "helper": "Người giúp đỡ", "organisation_department": "Ban Tổ chức"}


def _d(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return date_short(value)
    text = str(value)
    try:
        if len(text) > 10:
            return datetime.fromisoformat(text).astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")
        return date_short(date.fromisoformat(text))
    except ValueError:
        return text


def _dw(value: date | None) -> str:
    return date_in_words(value) if value else "—"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(templates_dir() / "web")), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(d=_d, dw=_dw, role_label=lambda r: ROLE_LABELS.get(r) or WHO_ACTS.get(r, r),
                       who=lambda w: WHO_ACTS.get(w, w), status=lambda s: STATUS_LABELS.get(s, s))
    return env


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    caller = getattr(request.state, "caller", None)
    context = {"request": request, "caller": caller, "principal": caller.principal if caller else None,
               "csrf": caller.csrf_token if caller else None, "flash": values.pop("flash", None),
               "title": values.pop("title", "ketnap"), "errors": values.pop("errors", None)}
    html = environment().get_template(template).render(**context, **values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def download(content: bytes, media_type: str, name: str, *, inline: bool = False) -> Response:
    """A file to save (or, inline, to show in the browser): never cached, since most hold personal data."""
    headers = {"Content-Disposition": f'{"inline" if inline else "attachment"}; filename="{name}"',
               "Cache-Control": "no-store"}
    if inline:    # a stored form shown in the browser: no scripts, no outside requests
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return Response(content, media_type=media_type, headers=headers)
