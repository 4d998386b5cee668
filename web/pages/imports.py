"""Admin: day one, importing files already in progress on paper (upload, dry run, row errors, past batches) and the
blank template. The work is done by models/imports/files_in_progress.py; this page only carries it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketnap import context
from models.casefile import UNVERIFIED_LABEL
from models.imports.files_in_progress import batches
from models.imports.files_template import template_csv, template_xlsx
from models.procedure.loader import all_rulesets
from web import admin_actions
from web.errors import ApiError, from_domain
from web.pages.forms import Form, posted
from web.render import download, page
from web.security import admin_caller

router = APIRouter(prefix="/admin/imports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _labels() -> dict[str, Any]:
    rulesets = all_rulesets().values()
    return {"stage_labels": {s.id: s.label for rs in rulesets for s in rs.stages},
            "clock_labels": {c.id: c.label for rs in rulesets for c in rs.clocks},
            "event_labels": {e.id: e.label for rs in rulesets for e in rs.events}}


def _page(request: Request, status: int = 200, **values: Any) -> Response:
    return page(request, "imports.html", status=status, title="Nhập hồ sơ đang làm", batches=batches(context.engine()),
                form=values.pop("form", {"mode": "refuse"}), unverified_label=UNVERIFIED_LABEL, **_labels(), **values)


@router.get("")
def imports_home(request: Request) -> Response:
    admin_caller(request)
    return _page(request)


@router.post("")
def upload(request: Request, form: Form) -> Response:
    caller = admin_caller(request)
    posted(request, caller, form)
    upload = form.get("file")
    keep = {"authority": str(form.get("authority") or ""), "mode": str(form.get("mode") or "refuse")}
    dry_run = str(form.get("action") or "dry_run") != "import"
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise ApiError(422, "bad_input", "Chưa chọn tệp.", "no file", [])
        content = upload.file.read(admin_actions.MAX_IMPORT_BYTES + 1)
        report = admin_actions.import_files_in_progress(caller, upload.filename, content, authority=keep["authority"],
                                                        mode=keep["mode"], dry_run=dry_run)
    except Exception as exc:  # noqa: BLE001 - every bad row is listed on the page
        err = from_domain(exc)
        if err is None:
            raise
        rows = getattr(exc, "errors", None) if not isinstance(exc, ApiError) else None
        return _page(request, status=err.status, errors=err, row_errors=rows, form=keep)
    flash = (f"Nhập thử: {len(report.lines)} hồ sơ sẽ được tạo; chưa ghi gì." if report.dry_run
             else f"Đã nhập {len(report.lines)} hồ sơ (lô số {report.batch_id}).")
    return _page(request, flash=flash, report=report, form=keep)


@router.get("/template.xlsx")
def template_xlsx_file(request: Request) -> Response:
    admin_caller(request)
    return download(template_xlsx(context.now().date()), XLSX, "mau-nhap-ho-so-dang-lam.xlsx")


@router.get("/template.csv")
def template_csv_file(request: Request) -> Response:
    admin_caller(request)
    return download(template_csv(), "text/csv; charset=utf-8", "mau-nhap-ho-so-dang-lam.csv")


@router.get("/example.xlsx")
def example_xlsx_file(request: Request) -> Response:
    """The demo commune's example sheet (one row breaks a rule on purpose), to try the import in one click."""
    admin_caller(request)
    from ketnap.demo.files_example import example_xlsx

    return download(example_xlsx(context.now().date()), XLSX, "vi-du-ho-so-dang-lam-xa-muong-bu.xlsx")
