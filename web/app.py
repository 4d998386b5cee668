"""The web app: Vietnamese pages for people, a JSON API (OpenAPI at /api/docs) for programs.

Both call web.services, so a page and its API endpoint check the same permissions and run the
same transition flow. `ketnap serve` serves this app beside the embedded Prefect server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from web.errors import ApiError, FieldProblem, domain_exceptions, from_domain
from web.security import LoginRequired

log = logging.getLogger("ketnap.web")
STATIC = Path(__file__).parent / "static"
API_PREFIX = "/api/"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    # Note links carry their token in the path: never sent to another site. Not "no-referrer": with it
    # browsers send `Origin: null` on the site's own form posts, which same_origin() refuses as cross-site.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def error_response(request: Request, err: ApiError) -> Response:
    if _is_api(request):
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)
    from web.render import page

    response = page(request, "error.html", status=err.status, title="Không thực hiện được", error=err)
    response.headers.update(err.headers)
    return response


def create_app() -> FastAPI:
    from web.api import router as api_router
    from web.pages import router as pages_router

    app = FastAPI(
        title="ketnap API",
        version="1",
        description=(
            "The admission procedure of the Communist Party of Vietnam as a workflow engine. Authenticate with "
            "`Authorization: Bearer <token>` (create one with POST /api/v1/auth/token or on the account page). "
            "Errors: `{\"error\": {\"code\", \"message\" (Vietnamese), \"message_en\", \"fields\"}}`."
        ),
        docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json",
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api_router)
    app.include_router(pages_router)

    @app.get("/healthz", tags=["health"], responses={503: {"description": "the database does not answer"}})
    def healthz() -> JSONResponse:
        """Liveness and database check for load balancers (no authentication, no data)."""
        from sqlalchemy import text

        from ketnap import context

        try:
            with context.engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - reported as unhealthy
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for e in exc.errors():
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
            problems.append(FieldProblem(where or "request", e.get("type", "invalid"),
                                         f"“{where or 'yêu cầu'}” chưa đúng: {_vi(e.get('type', ''))}.", e.get("msg", "")))
        return error_response(request, ApiError(422, "bad_input", "Thông tin nhập chưa đúng.",
                                                "the request is not valid", problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            err = ApiError(404, "not_found", "Không tìm thấy trang này.", "no such path")
        elif exc.status_code == 405:
            err = ApiError(405, "method_not_allowed", "Thao tác không hợp lệ cho trang này.", "method not allowed")
        else:
            err = ApiError(exc.status_code, "http_error", "Yêu cầu không hợp lệ.", str(exc.detail))
        return error_response(request, err)

    async def domain_error(request: Request, exc: Exception) -> Response:
        err = from_domain(exc)
        assert err is not None
        return error_response(request, err)

    for exception in domain_exceptions():     # handled here, not by the catch-all (which logs a server error)
        app.add_exception_handler(exception, domain_error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        err = from_domain(exc)
        if err is None:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            err = ApiError(500, "internal_error", "Hệ thống gặp lỗi; thao tác chưa được ghi. Vui lòng thử lại.",
                           "internal error; nothing was recorded")
        return error_response(request, err)

    return app


VI_TYPES = {"missing": "chưa nhập", "int_parsing": "phải là số nguyên", "date_from_datetime_parsing": "phải là ngày",
            "date_parsing": "phải là ngày (YYYY-MM-DD)", "string_too_long": "quá dài", "string_too_short": "quá ngắn",
            "greater_than_equal": "quá nhỏ", "less_than_equal": "quá lớn", "json_invalid": "JSON không hợp lệ",
            "model_attributes_type": "phải là một đối tượng JSON", "dict_type": "phải là một đối tượng JSON",
            "list_type": "phải là một danh sách", "string_type": "phải là chuỗi ký tự", "bool_parsing": "phải là có/không",
            "extra_forbidden": "không có trường này", "int_type": "phải là số nguyên", "bool_type": "phải là có/không",
            "date_type": "phải là ngày", "literal_error": "giá trị không hợp lệ", "string_pattern_mismatch": "sai định dạng",
            "int_from_float": "phải là số nguyên"}


def _vi(kind: str) -> str:
    return VI_TYPES.get(kind, "giá trị không hợp lệ")
