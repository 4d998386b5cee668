"""Who is asking: browser sessions (cookie + CSRF token) for pages, bearer tokens for the API.

- The session cookie is HttpOnly, SameSite=Lax, Secure when ketnap is served over HTTPS; the
  database keeps only its SHA-256.
- Every state-changing page request carries the session's CSRF token in a hidden field, and a
  cross-site Origin header is refused. The login form, before any session, uses a double-submit
  cookie.
- The API takes `Authorization: Bearer kn_…` only: no cookie, so no CSRF to defend there.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request

from ketnap import context
from ketnap.settings import get_settings
from models.access import Principal
from web.errors import ApiError, forbidden, unauthenticated

SESSION_COOKIE = "ketnap_session"
LOGIN_CSRF_COOKIE = "ketnap_login_csrf"


@dataclass
class Caller:
    principal: Principal
    csrf_token: str | None = None       # pages only
    via: str = "session"                # session | token


class LoginRequired(Exception):
    """A page needs a logged-in browser: the handler redirects to the login page."""


def secure_cookies() -> bool:
    return get_settings().public_url.startswith("https://")


def set_session_cookie(response: Any, value: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=secure_cookies(), path="/")


def clear_session_cookie(response: Any) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies())


def page_caller(request: Request) -> Caller:
    """The logged-in browser's caller (raises LoginRequired)."""
    from models.accounts import load_session

    loaded = load_session(context.engine(), request.cookies.get(SESSION_COOKIE), now=context.now())
    if loaded is None:
        raise LoginRequired()
    caller = Caller(loaded.principal, loaded.csrf_token, "session")
    request.state.caller = caller
    return caller


def optional_page_caller(request: Request) -> Caller | None:
    try:
        return page_caller(request)
    except LoginRequired:
        return None


def api_caller(request: Request) -> Caller:
    """The API client's caller, from its bearer token (raises a 401 ApiError)."""
    from models.accounts import principal_for_token

    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated()
    principal = principal_for_token(context.engine(), token.strip(), now=context.now())
    if principal is None:
        raise ApiError(401, "invalid_token", "Mã truy cập không hợp lệ, đã hết hạn hoặc đã bị thu hồi.",
                       "the token is unknown, expired or revoked", headers={"WWW-Authenticate": "Bearer"})
    return Caller(principal, None, "token")


def require_role(caller: Caller, *roles: str) -> None:
    if not any(caller.principal.has(r) for r in roles):
        raise forbidden()


def admin_caller(request: Request) -> Caller:
    """The signed-in caller of an admin page (accounts, imports, rule sets, calendar), or 403."""
    caller = page_caller(request)
    require_role(caller, "admin")
    return caller


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


def check_csrf(request: Request, caller: Caller, form: Any) -> None:
    """Refuse a page POST without this session's CSRF token or from another site."""
    sent = str(form.get("csrf_token") or "")
    if not same_origin(request) or not caller.csrf_token or not hmac.compare_digest(sent, caller.csrf_token):
        raise ApiError(403, "csrf_failed", "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Vui lòng tải lại trang.",
                       "missing or wrong CSRF token, or a cross-site request")


def login_csrf_token(request: Request) -> tuple[str, bool]:
    """The login form's double-submit token and whether the cookie must be set."""
    existing = request.cookies.get(LOGIN_CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 64:
        return existing, False
    return secrets.token_urlsafe(24), True


def check_login_csrf(request: Request, form: Any) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    sent = str(form.get("csrf_token") or "")
    if not same_origin(request) or not cookie or not hmac.compare_digest(cookie, sent):
        raise ApiError(403, "csrf_failed", "Biểu mẫu đăng nhập đã hết hạn. Vui lòng thử lại.",
                       "missing or wrong login CSRF token, or a cross-site request")


def client_address(request: Request) -> str:
    """The caller's address for login limits (the proxy's X-Forwarded-For only when configured to trust it)."""
    if get_settings().trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return (request.client.host if request.client else "?")[:64]
