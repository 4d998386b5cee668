"""Admin: accounts and their roles, password resets, logging an account out everywhere, organisation imports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ketnap import context
from models import accounts
from models.access import GRANT_ROLES, Grant
from web import admin_actions
from web.errors import ApiError, from_domain
from web.pages.forms import Form, posted
from web.render import page
from web.security import Caller, admin_caller

router = APIRouter(prefix="/admin")


def party_units() -> list[dict[str, str]]:
    """Every unit but villages and residential groups, by name: the admin forms' list of organisations."""
    from models.organisation import COVERAGE
    from models.scope import whole_tree

    with context.engine().connect() as conn:
        tree = whole_tree(conn)
    return sorted(({"id": u.id, "name": u.name} for u in tree.units.values() if u.kind not in COVERAGE),
                  key=lambda u: u["name"])


def _page(request: Request, status: int = 200, **values: Any) -> Response:
    return page(request, "admin.html", status=status, title="Quản trị", accounts=accounts.list_accounts(context.engine()),
                roles=GRANT_ROLES, units=party_units(), form=values.pop("form", {}), **values)


@router.get("")
def admin_home(request: Request) -> Response:
    admin_caller(request)
    return _page(request)


def _grant_from(form: Any) -> Grant:
    return Grant(str(form.get("role") or ""), str(form.get("unit_id") or "").strip() or None)


def _do(request: Request, form: Any, action: Any, done: str, **keep: Any) -> Response:
    caller = admin_caller(request)
    posted(request, caller, form)
    try:
        message = action(caller, form)
    except Exception as exc:  # noqa: BLE001 - shown on the admin page
        err = from_domain(exc)
        if err is None:
            raise
        return _page(request, status=err.status, errors=err, form={k: str(v) for k, v in form.items()
                                                                   if "password" not in k}, **keep)
    return _page(request, flash=message or done)


@router.post("/accounts")
def create(request: Request, form: Form) -> Response:
    def action(caller: Caller, form: Any) -> str:
        grants = (_grant_from(form),) if form.get("role") else ()
        account_id = accounts.create_account(context.engine(), accounts.NewAccount(
            username=str(form.get("username") or ""), display_name=str(form.get("display_name") or ""),
            password=str(form.get("password") or ""), grants=grants,
            member_code=str(form.get("member_code") or "").strip() or None,
            email=str(form.get("email") or "").strip() or None), caller.principal.actor("admin"), now=context.now())
        return f"Đã tạo tài khoản #{account_id}."

    return _do(request, form, action, "")


@router.post("/accounts/{account_id}/grants")
def add_grant(request: Request, form: Form, account_id: int) -> Response:
    def action(caller: Caller, form: Any) -> str:
        accounts.add_grant(context.engine(), account_id, _grant_from(form), caller.principal.actor("admin"),
                           now=context.now())
        return "Đã thêm vai trò."

    return _do(request, form, action, "")


@router.post("/accounts/{account_id}/grants/{grant_id}/delete")
def remove_grant(request: Request, form: Form, account_id: int, grant_id: int) -> Response:
    def action(caller: Caller, form: Any) -> str:
        admin_actions.refuse_last_admin(caller, account_id, grant_id)
        accounts.remove_grant(context.engine(), account_id, grant_id, caller.principal.actor("admin"), now=context.now())
        return "Đã bỏ vai trò."

    return _do(request, form, action, "")


@router.post("/accounts/{account_id}/active")
def set_active(request: Request, form: Form, account_id: int) -> Response:
    def action(caller: Caller, form: Any) -> str:
        active = str(form.get("active")) == "1"
        if not active:
            admin_actions.refuse_self(caller, account_id)
        accounts.set_active(context.engine(), account_id, active, caller.principal.actor("admin"), now=context.now())
        return "Đã mở lại tài khoản." if active else "Đã khóa tài khoản (mọi phiên và mã truy cập đã bị thu hồi)."

    return _do(request, form, action, "")


@router.post("/accounts/{account_id}/password")
def reset_password(request: Request, form: Form, account_id: int) -> Response:
    def action(caller: Caller, form: Any) -> str:
        accounts.set_password(context.engine(), account_id, str(form.get("password") or ""),
                              caller.principal.actor("admin"), now=context.now())
        return "Đã đặt mật khẩu mới; tài khoản đã bị đăng xuất ở mọi nơi."

    return _do(request, form, action, "")


@router.post("/accounts/{account_id}/logout-everywhere")
def logout_everywhere(request: Request, form: Form, account_id: int) -> Response:
    def action(caller: Caller, form: Any) -> str:
        closed = accounts.close_all_sessions(context.engine(), account_id, caller.principal.actor("admin"),
                                             now=context.now())
        return f"Đã đăng xuất {closed} phiên."

    response = _do(request, form, action, "")
    return response


@router.post("/import")
def import_file(request: Request, form: Form) -> Response:
    caller = admin_caller(request)
    posted(request, caller, form)
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise ApiError(422, "bad_input", "Chưa chọn tệp.", "no file", [])
        content = upload.file.read(admin_actions.MAX_IMPORT_BYTES + 1)
        summary = admin_actions.import_organisation(caller, upload.filename, content)
    except Exception as exc:  # noqa: BLE001 - every bad row is listed on the page
        err = from_domain(exc)
        if err is None:
            raise
        return _page(request, status=err.status, import_errors=err)
    return _page(request, flash=f"Đã nhập: {summary['units']} tổ chức, {summary['members']} đảng viên.")

