"""Admin: the rule-set versions and their transitional provisions, migrating in-flight files (dry run first),
the migrations applied and reverting them. Candidates appear by id and cell only: the admin reads no file."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketnap import context
from models import ruleset_migration as migration
from models.procedure.loader import all_rulesets
from models.ruleset_versions import known_versions
from models.transitions import local_today
from web.errors import ApiError, from_domain, not_found
from web.pages.admin import party_units
from web.pages.forms import Form, posted
from web.render import page
from web.security import admin_caller

router = APIRouter(prefix="/admin/rulesets")
SHOWN = 1000


def _error(exc: Exception) -> ApiError | None:
    if isinstance(exc, migration.MigrationNotAllowed):
        return ApiError(404 if exc.code == "not_found" else 422, exc.code, exc.message_vi, exc.message)
    return from_domain(exc)


def _labels() -> dict[str, Any]:
    """Stage and clock labels of every version (a report names stages of two versions)."""
    rulesets = all_rulesets()
    return {"stage_labels": {v: {s.id: s.label for s in rs.stages} for v, rs in rulesets.items()},
            "clock_labels": {c.id: c.label for rs in rulesets.values() for c in rs.clocks},
            "outcome_labels": migration.OUTCOME_LABELS, "state_labels": migration.STATE_LABELS}


def _page(request: Request, status: int = 200, **values: Any) -> Response:
    versions = known_versions()
    form = values.pop("form", None) or _default_form(versions)
    return page(request, "rulesets_admin.html", status=status, title="Quy định và chuyển hồ sơ",
                versions=versions, migrations=migration.list_migrations(context.engine()), units=party_units(), form=form,
                **_labels(), **values)


def _default_form(versions: list[dict[str, Any]]) -> dict[str, str]:
    """The newest version that replaces another, proposed with the first version it replaces."""
    newest = next((v for v in reversed(versions) if v["transitional"]), None)
    if newest is None:
        return {"from_version": "", "to_version": "", "unit_id": ""}
    return {"from_version": newest["transitional"]["replaces"][0], "to_version": newest["version"], "unit_id": ""}


@router.get("")
def rulesets_home(request: Request) -> Response:
    admin_caller(request)
    return _page(request)


def _choice(values: Any) -> dict[str, str]:
    return {k: str(values.get(k) or "").strip() for k in ("from_version", "to_version", "unit_id")}


@router.get("/dry-run")
def dry_run(request: Request) -> Response:
    admin_caller(request)
    form = _choice(request.query_params)
    try:
        if not form["from_version"] or not form["to_version"]:
            raise ApiError(422, "bad_input", "Chọn phiên bản cũ và phiên bản mới.", "from_version and to_version are required")
        plan = migration.plan_migration(context.engine(), form["from_version"], form["to_version"],
                                        unit_id=form["unit_id"] or None, today=local_today(context.now()))
    except Exception as exc:  # noqa: BLE001 - shown on the page
        err = _error(exc)
        if err is None:
            raise
        return _page(request, status=err.status, errors=err, form=form)
    report = plan.as_dict()
    # What needs a decision first (blocked, warned, renamed stage), and at most SHOWN rows: the totals count them all.
    rank = {"blocked": 0, "mapped": 2, "stayed": 3, "moved": 4}
    rows = sorted(report["candidates"], key=lambda c: (1 if c["warnings"] else rank.get(c["outcome"], 5), c["candidate_id"]))
    report["shown"], report["candidates"] = len(rows), rows[:SHOWN]
    return _page(request, plan=report, form=form)


@router.post("/migrations")
def apply(request: Request, form: Form) -> Response:
    caller = admin_caller(request)
    posted(request, caller, form)
    choice = _choice(form)
    try:
        result = migration.apply_migration(context.engine(), choice["from_version"], choice["to_version"],
                                           caller.principal.actor("admin"), unit_id=choice["unit_id"] or None,
                                           now=context.now())
    except Exception as exc:  # noqa: BLE001 - shown on the page
        err = _error(exc)
        if err is None:
            raise
        return _page(request, status=err.status, errors=err, form=choice)
    if result.migration_id is None:
        return _page(request, flash=result.message, form=choice)
    return _detail(request, result.migration_id, flash=result.message)


def _detail(request: Request, migration_id: int, status: int = 200, **values: Any) -> Response:
    row = migration.migration_detail(context.engine(), migration_id)
    if row is None:
        raise not_found()
    revertible = [i for i in row["items"] if i["outcome"] in migration.MOVING and i["reverted_at"] is None]
    return page(request, "ruleset_migration.html", status=status, title=f"Chuyển quy định #{migration_id}", row=row,
                revertible=len(revertible), **_labels(), **values)


@router.get("/migrations/{migration_id}")
def migration_page(request: Request, migration_id: int) -> Response:
    admin_caller(request)
    return _detail(request, migration_id)


@router.post("/migrations/{migration_id}/revert")
def revert(request: Request, form: Form, migration_id: int) -> Response:
    caller = admin_caller(request)
    posted(request, caller, form)
    try:
        ids: list[int] | None = None
        if str(form.get("scope") or "") != "all":
            ids = [int(v) for v in form.getlist("candidate") if str(v).isdigit()]
            if not ids:
                raise ApiError(422, "bad_input", "Chưa chọn hồ sơ nào để hoàn tác.", "no candidate selected")
        result = migration.revert_migration(context.engine(), migration_id, caller.principal.actor("admin"),
                                            candidate_ids=ids, now=context.now())
    except Exception as exc:  # noqa: BLE001 - shown on the page
        err = _error(exc)
        if err is None:
            raise
        if err.status == 404:
            raise err from None
        return _detail(request, migration_id, status=err.status, errors=err)
    return _detail(request, migration_id, flash=result.message, refused=list(result.refused))
