"""Admin: the working-day calendar in force, recording a corrected year (preview first), past corrections."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketnap import context
from models import calendar_corrections as corrections
from models.vietnamese import date_short
from web.errors import from_domain, not_found
from web.pages.forms import Form, posted
from web.render import page
from web.security import admin_caller

router = APIRouter(prefix="/admin/calendar")
FIELDS = ("days_off", "working_days", "not_days_off")


def _as_lines(days: dict[str, str]) -> str:
    return "\n".join(f"{date_short(date.fromisoformat(d))} {name}" for d, name in sorted(days.items()))


def _labels() -> dict[str, Any]:
    from models.history import DEADLINE_STATUS
    from models.procedure.loader import all_rulesets

    clocks = {c.id: c.label for rs in all_rulesets().values() for c in rs.clocks}
    return {"clock_labels": clocks, "deadline_status": DEADLINE_STATUS}


def _page(request: Request, status: int = 200, **values: Any) -> Response:
    engine = context.engine()
    year = values.pop("year", None) or context.now().year + 1
    form = values.pop("form", None)
    if form is None:
        current = corrections.year_in_force(engine, int(year))
        form = {"year": str(year), "source": "", **{f: _as_lines(current[f]) for f in FIELDS}}
    return page(request, "calendar_admin.html", status=status, title="Lịch ngày làm việc",
                years=corrections.years_in_force(engine), corrections=corrections.list_corrections(engine),
                form=form, **_labels(), **values)


@router.get("")
def calendar_home(request: Request, year: int | None = None) -> Response:
    admin_caller(request)
    return _page(request, year=year)


def _correction_from(form: Any) -> Any:
    problems, data = [], {}
    for name in FIELDS:
        data[name], found = corrections.parse_day_lines(str(form.get(name) or ""), name)
        problems += found
    raw_year = str(form.get("year") or "").strip()
    if not raw_year.isdigit():
        problems.append(corrections.CorrectionProblem("year", "is not a year", "Năm chưa đúng."))
    if problems:
        raise corrections.CorrectionRejected(problems)
    return corrections.parse_correction({"year": int(raw_year), "source": str(form.get("source") or "").strip(), **data})


@router.post("")
def calendar_correct(request: Request, form: Form) -> Response:
    caller = admin_caller(request)
    posted(request, caller, form)
    dry_run = str(form.get("action") or "preview") != "apply"
    keep = {k: str(form.get(k) or "") for k in ("year", "source", *FIELDS)}
    try:
        report = corrections.correct_calendar(context.engine(), _correction_from(form),
                                              caller.principal.actor("admin"), dry_run=dry_run, now=context.now())
    except Exception as exc:  # noqa: BLE001 - shown on the page
        err = from_domain(exc)
        if err is None:
            raise
        return _page(request, status=err.status, errors=err, form=keep)
    flash = None if dry_run else f"Đã ghi nhận điều chỉnh lịch năm {report.year} (lần {report.revision})."
    return _page(request, report=report.as_dict(), form=keep, flash=flash)


@router.get("/{correction_id}")
def calendar_correction(request: Request, correction_id: int) -> Response:
    admin_caller(request)
    row = corrections.correction_detail(context.engine(), correction_id)
    if row is None:
        raise not_found()
    report = dict(row["summary"]) | {k: row[k] for k in ("year", "revision", "source", "calendar_before",
                                                          "calendar_after")} | {"dry_run": False, "correction_id": row["id"]}
    return page(request, "calendar_correction.html", title=f"Điều chỉnh lịch #{row['id']}", row=row, report=report,
                **_labels())


