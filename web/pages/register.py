"""The register of probationary members (18-KNĐ) of a committee, as HTML, PDF or DOCX.

It names people (not their CV), so each download is audited on the organisation's chain. The
organisation department and the committees see the units of their subtree (`unit_in_scope`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketnap import context
from models.register_book import probationary_register, record_register_read
from web.errors import bad_field
from web.pages.statistics import parse_year
from web.pages.units import unit_in_scope
from web.render import download
from web.security import page_caller

router = APIRouter()
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
                 "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


@router.get("/units/{unit_id}/register.{fmt}")
def register_file(request: Request, unit_id: str, fmt: str, year: str | None = None) -> Response:
    caller = page_caller(request)
    role = unit_in_scope(caller, unit_id)
    if fmt not in CONTENT_TYPES:
        raise bad_field("format", "unknown_format", "Định dạng là html, pdf hoặc docx.", "format is html, pdf or docx")
    chosen = parse_year(year)
    book = probationary_register(context.engine(), unit_id, chosen)
    record_register_read(context.engine(), unit_id, chosen, caller.principal.actor(role), f"download 18-KNĐ {fmt}",
                         now=context.now())
    content = book.file(fmt)
    return download(content, CONTENT_TYPES[fmt], f"18-KND-{unit_id}-{chosen}.{fmt}", inline=fmt == "html")
