"""The organisation department's and committees' read-only views across their subtree."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ketnap import context
from models.board import unit_summary
from web import services
from web.errors import forbidden, not_found
from web.render import page
from web.security import Caller, page_caller

router = APIRouter()


def unit_in_scope(caller: Caller, unit_id: str) -> str:
    """The role in which `caller` sees this unit (committee or organisation department above or at it)."""
    roots = caller.principal.units("committee", "organisation_department")
    if not roots:
        raise forbidden()
    with context.engine().connect() as conn:
        from sqlalchemy import select

        from models.snapshot import UNIT

        if conn.execute(select(UNIT.c.id).where(UNIT.c.id == unit_id)).first() is None:
            raise not_found("unit")
        path = set(_path(conn, unit_id))
    for g in caller.principal.grants:
        if g.role in ("committee", "organisation_department") and g.unit_id in path:
            return g.role
    raise not_found("unit")


def _path(conn: object, unit_id: str) -> tuple[str, ...]:
    from models.snapshot import unit_path

    tree = unit_path(conn, unit_id)  # type: ignore[arg-type]
    return (unit_id, *(u.id for u in tree.ancestors(unit_id))) if unit_id in tree.units else ()


@router.get("/units")
def units(request: Request) -> Response:
    caller = page_caller(request)
    roots = caller.principal.units("committee", "organisation_department")
    if not roots:
        raise forbidden()
    if len(roots) == 1:
        return RedirectResponse(f"/units/{roots[0]}", status_code=303)
    return page(request, "units.html", title="Tổ chức", roots=roots)


@router.get("/units/{unit_id}")
def unit(request: Request, unit_id: str) -> Response:
    caller = page_caller(request)
    role = unit_in_scope(caller, unit_id)
    summary = unit_summary(context.engine(), unit_id, services.today())
    parent = summary["unit"]["parent_id"]
    up = parent if _sees(caller, parent) else None
    return page(request, "unit.html", title=summary["unit"]["name"], s=summary, role=role, up=up)


def _sees(caller: Caller, unit_id: str | None) -> bool:
    if unit_id is None:
        return False
    try:
        unit_in_scope(caller, unit_id)
        return True
    except Exception:  # noqa: BLE001
        return False
