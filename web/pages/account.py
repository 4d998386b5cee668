"""Login, logout (here or everywhere), the account page: password and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ketnap import context
from models import accounts
from models.accounts import SESSION_MAX
from web.errors import ApiError, FieldProblem, from_domain
from web.pages.forms import Form, form_int, posted
from web.render import page
from web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_login_csrf,
    clear_session_cookie,
    client_address,
    login_csrf_token,
    optional_page_caller,
    page_caller,
    secure_cookies,
    set_session_cookie,
)

router = APIRouter()


def safe_next(target: str | None) -> str | None:
    """Only a path on this site (no scheme, no //host): login never redirects elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@router.get("/")
def home(request: Request) -> Response:
    caller = optional_page_caller(request)
    return RedirectResponse(caller.principal.home if caller else "/login", status_code=303)


def _login_page(request: Request, next_: str | None, status: int = 200, **values: object) -> Response:
    token, new = login_csrf_token(request)
    response = page(request, "login.html", status=status, title="Đăng nhập", login_csrf=token, next=next_ or "",
                    **values)
    if new:
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                            secure=secure_cookies(), path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the query parameter's name
    caller = optional_page_caller(request)
    if caller is not None:
        return RedirectResponse(safe_next(next) or caller.principal.home, status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/login")
def login(request: Request, form: Form) -> Response:
    check_login_csrf(request, form)
    username = str(form.get("username") or "")
    next_ = safe_next(str(form.get("next") or ""))
    try:
        principal = accounts.authenticate(context.engine(), username, str(form.get("password") or ""),
                                          client_address(request), now=context.now())
    except accounts.LoginRefused as exc:
        err = from_domain(exc)
        assert err is not None
        response = _login_page(request, next_, status=err.status, error=err, username=username[:64])
        response.headers.update(err.headers)
        return response
    opened = accounts.open_session(context.engine(), principal, user_agent=request.headers.get("user-agent"),
                                   now=context.now())
    response = RedirectResponse(next_ or principal.home, status_code=303)
    set_session_cookie(response, opened.cookie, int(SESSION_MAX.total_seconds()))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, form: Form) -> Response:
    caller = page_caller(request)
    posted(request, caller, form)
    accounts.close_session(context.engine(), request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/logout-everywhere")
def logout_everywhere(request: Request, form: Form) -> Response:
    caller = page_caller(request)
    posted(request, caller, form)
    accounts.close_all_sessions(context.engine(), caller.principal.account_id,
                                caller.principal.actor(_any_role(caller)), now=context.now())
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


def _any_role(caller: object) -> str:
    principal = caller.principal  # type: ignore[attr-defined]
    return principal.grants[0].role if principal.grants else "sponsor"


def _account_page(request: Request, status: int = 200, **values: object) -> Response:
    caller = request.state.caller
    tokens = accounts.list_tokens(context.engine(), caller.principal.account_id)
    return page(request, "account.html", status=status, title="Tài khoản", tokens=tokens, **values)


@router.get("/account")
def account_page(request: Request) -> Response:
    page_caller(request)
    return _account_page(request)


@router.post("/account/password")
def change_password(request: Request, form: Form) -> Response:
    caller = page_caller(request)
    posted(request, caller, form)
    new, again = str(form.get("new_password") or ""), str(form.get("new_password_again") or "")
    try:
        if new != again:
            raise ApiError(422, "bad_input", "Thông tin nhập chưa đúng.", "the request is not valid", [
                FieldProblem("new_password_again", "mismatch", "Hai lần nhập mật khẩu mới không giống nhau.",
                             "the two new passwords differ")])
        accounts.set_password(context.engine(), caller.principal.account_id, new, caller.principal.actor(_any_role(caller)),
                              current=str(form.get("current_password") or ""), now=context.now())
    except Exception as exc:  # noqa: BLE001 - shown next to the field
        err = from_domain(exc)
        if err is None:
            raise
        return _account_page(request, status=err.status, errors=err)
    response = RedirectResponse("/login", status_code=303)     # every session ended: log in again
    clear_session_cookie(response)
    return response


@router.post("/account/tokens")
def new_token(request: Request, form: Form) -> Response:
    caller = page_caller(request)
    posted(request, caller, form)
    try:
        _, token = accounts.issue_token(context.engine(), caller.principal.account_id, str(form.get("name") or ""),
                                        caller.principal.actor(_any_role(caller)),
                                        days=form_int(form, "days", "Thời hạn (ngày)") or 365, now=context.now())
    except Exception as exc:  # noqa: BLE001
        err = from_domain(exc)
        if err is None:
            raise
        return _account_page(request, status=err.status, errors=err)
    return _account_page(request, new_token=token, flash="Đã tạo mã truy cập. Hãy lưu lại ngay: mã chỉ hiện một lần.")


@router.post("/account/tokens/{token_id}/revoke")
def revoke(request: Request, form: Form, token_id: int) -> Response:
    caller = page_caller(request)
    posted(request, caller, form)
    accounts.revoke_token(context.engine(), caller.principal.account_id, token_id,
                          caller.principal.actor(_any_role(caller)), now=context.now())
    return RedirectResponse("/account", status_code=303)
