"""Every endpoint against every role: the role × endpoint matrix, for the API and for the pages.

The target of each request is the demo's candidate #2 (Cà Văn Dũng, cell cb-ban-na-la), its cell,
its commune and its documents. Callers: nobody, the admin, the commune's organisation department,
the commune's committee office, the cell's own secretary, another cell's secretary (who guesses the
id), the candidate's sponsor, and the helper of another candidate. A file out of scope answers 404
exactly like a file that does not exist. Every request runs on a fresh copy of the demo, so a case
that changes something (a step, a password) does not influence the next.

The test fails when an endpoint exists that the matrix does not list: a new endpoint must say who
may call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from ketnap.settings import secret_key
from models.links import make_token, slot_for
from models.tables import Document, Member
from tests.web.conftest import (
    ADMIN_USER,
    COMMITTEE,
    DEMO_PASSWORD,
    HELPER_PC03,
    ORG_DEPARTMENT,
    SECRETARY_NA_LA,
    SECRETARY_PA_CONG,
    SPONSOR_NL02,
    bearer,
    csrf_of,
    session_for,
    token_for,
)

CANDIDATE, CELL, UNIT, NEXT_MEETING = 2, "cb-ban-na-la", "xa-muong-bu", date(2026, 12, 7)
CALLERS = {
    "anonymous": None, "admin": ADMIN_USER, "org_department": ORG_DEPARTMENT, "committee": COMMITTEE,
    "own_secretary": SECRETARY_NA_LA, "other_secretary": SECRETARY_PA_CONG, "sponsor": SPONSOR_NL02,
    "other_helper": HELPER_PC03,
}
ALL = tuple(CALLERS)
SIGNED_IN = tuple(c for c in ALL if c != "anonymous")


def statuses(default: int, **by_caller: int) -> dict[str, int]:
    return {c: by_caller.get(c, default) for c in ALL}


# who may read the file of candidate #2 (and in which way the others are turned away)
READ_FILE = statuses(404, anonymous=401, org_department=200, committee=200, own_secretary=200, sponsor=403)
CELL_ACT = statuses(404, anonymous=401, org_department=403, committee=403, own_secretary=200, sponsor=403)


@dataclass
class Case:
    expected: dict[str, int]
    body: Callable[[Engine, str], dict[str, Any]] | None = None    # JSON body (or files) for the caller
    files: bool = False
    params: dict[str, Any] = field(default_factory=dict)


def _document_id(engine: Engine) -> int:
    table = Document.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return conn.execute(select(table.c.id).where(table.c.candidate_id == CANDIDATE).order_by(table.c.id)).scalars().first()


def _note_token(engine: Engine) -> str:
    table = Member.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        member_id = conn.execute(select(table.c.id).where(table.c.code == "NL02")).scalar_one()
    return make_token(secret_key(), slot_for(member_id, CANDIDATE, NEXT_MEETING))


def _account_id(engine: Engine, username: str) -> int:
    from models.accounts import ACCOUNT

    with engine.connect() as conn:
        return conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.username == username)).scalar_one()


def _grant_id(engine: Engine, username: str) -> int:
    from models.accounts import GRANT

    with engine.connect() as conn:
        return conn.execute(select(GRANT.c.id).where(GRANT.c.account_id == _account_id(engine, username))).scalars().first()


VOTE = {"event": "cell_approves", "on": "2026-11-05", "inputs": {"approve": 3, "excused_absent": 1}}

# (method, path template) → case. Path parameters are filled by `fill`.
API: dict[tuple[str, str], Case] = {
    ("GET", "/healthz"): Case(statuses(200)),
    ("POST", "/api/v1/auth/token"): Case(statuses(201), body=lambda e, u: {"username": SECRETARY_NA_LA,
                                                                            "password": DEMO_PASSWORD, "name": "x"}),
    ("GET", "/api/v1/me"): Case(statuses(200, anonymous=401)),
    ("GET", "/api/v1/me/tokens"): Case(statuses(200, anonymous=401)),
    ("POST", "/api/v1/me/tokens"): Case(statuses(201, anonymous=401), body=lambda e, u: {"name": "máy tính bảng"}),
    ("DELETE", "/api/v1/me/tokens/{token_id}"): Case(statuses(204, anonymous=401)),
    ("POST", "/api/v1/me/password"): Case(statuses(204, anonymous=401), body=lambda e, u: {
        "current_password": DEMO_PASSWORD, "new_password": "mat-khau-moi-2027"}),
    ("POST", "/api/v1/me/sessions/close"): Case(statuses(200, anonymous=401)),
    ("GET", "/api/v1/cells"): Case(statuses(200, anonymous=401)),
    ("GET", "/api/v1/cells/{cell_id}/board"): Case(statuses(404, anonymous=401, org_department=200, committee=200,
                                                            own_secretary=200)),
    ("POST", "/api/v1/cells/{cell_id}/meeting-results"): Case(
        statuses(404, anonymous=401, org_department=403, committee=403, own_secretary=200),
        body=lambda e, u: {"on": "2026-11-05", "results": [{"candidate_id": CANDIDATE, "event": "cell_approves",
                                                            "inputs": {"approve": 3, "excused_absent": 1}}]}),
    ("GET", "/api/v1/units/{unit_id}/summary"): Case(statuses(403, anonymous=401, org_department=200, committee=200)),
    ("GET", "/api/v1/units/{unit_id}/statistics"): Case(statuses(403, anonymous=401, org_department=200, committee=200)),
    ("GET", "/api/v1/units/{unit_id}/compliance"): Case(statuses(403, anonymous=401, org_department=200, committee=200)),
    ("GET", "/api/v1/candidates"): Case(statuses(200, anonymous=401)),
    ("GET", "/api/v1/candidates/{candidate_id}"): Case(READ_FILE),
    ("GET", "/api/v1/candidates/{candidate_id}/actions"): Case(READ_FILE),
    ("POST", "/api/v1/candidates/{candidate_id}/transitions"): Case(CELL_ACT | {"own_secretary": 201},
                                                                    body=lambda e, u: VOTE),
    ("GET", "/api/v1/candidates/{candidate_id}/documents"): Case(READ_FILE),
    ("GET", "/api/v1/candidates/{candidate_id}/documents/{document_id}"): Case(READ_FILE),
    ("GET", "/api/v1/candidates/{candidate_id}/dossier"): Case(READ_FILE),
    ("GET", "/api/v1/candidates/{candidate_id}/history"): Case(READ_FILE),
    ("POST", "/api/v1/candidates/{candidate_id}/notes"): Case(
        statuses(404, anonymous=401, org_department=403, committee=403, own_secretary=403, sponsor=201),
        body=lambda e, u: {"meeting_on": NEXT_MEETING.isoformat(), "text": "Tích cực tham gia sinh hoạt."}),
    ("GET", "/api/v1/notes/{token}"): Case(statuses(200)),
    ("POST", "/api/v1/notes/{token}"): Case(statuses(200), body=lambda e, u: {"text": "Gương mẫu, nhiệt tình."}),
    ("GET", "/api/v1/admin/accounts"): Case(statuses(403, anonymous=401, admin=200)),
    ("POST", "/api/v1/admin/accounts"): Case(statuses(403, anonymous=401, admin=201), body=lambda e, u: {
        "username": "bithu.moi", "display_name": "Bí thư mới", "password": "mat-khau-du-dai-1",
        "grants": [{"role": "secretary", "unit_id": "cb-ban-huoi-hao"}]}),
    ("POST", "/api/v1/admin/accounts/{account_id}/grants"): Case(statuses(403, anonymous=401, admin=204),
                                                                  body=lambda e, u: {"role": "sponsor"}),
    ("DELETE", "/api/v1/admin/accounts/{account_id}/grants/{grant_id}"): Case(statuses(403, anonymous=401, admin=204)),
    ("POST", "/api/v1/admin/accounts/{account_id}/active"): Case(statuses(403, anonymous=401, admin=204),
                                                                  body=lambda e, u: {"active": False}),
    ("POST", "/api/v1/admin/accounts/{account_id}/password"): Case(statuses(403, anonymous=401, admin=204),
                                                                    body=lambda e, u: {"password": "dat-lai-mat-khau-9"}),
    ("POST", "/api/v1/admin/accounts/{account_id}/sessions/close"): Case(statuses(403, anonymous=401, admin=200)),
    ("POST", "/api/v1/admin/organisation/import"): Case(statuses(403, anonymous=401, admin=200), files=True),
    # an organisation file is not a sheet of files in progress: the admin reaches the handler (422), nobody else does
    ("POST", "/api/v1/admin/imports/files"): Case(statuses(403, anonymous=401, admin=422), files=True),
    ("GET", "/api/v1/admin/calendar/corrections"): Case(statuses(403, anonymous=401, admin=200)),
    ("GET", "/api/v1/admin/calendar/corrections/{correction_id}"): Case(statuses(403, anonymous=401, admin=404)),
    ("POST", "/api/v1/admin/calendar/corrections"): Case(statuses(403, anonymous=401, admin=200), body=lambda e, u: {
        "year": 2027, "source": "Thông báo (kiểm thử quyền)", "days_off": {"2027-02-11": "Tết Nguyên đán"}}),
}


def fill(path: str, engine: Engine, token_id: int | None) -> str:
    values = {"candidate_id": CANDIDATE, "cell_id": CELL, "unit_id": UNIT, "token_id": token_id or 999_999,
              "account_id": _account_id(engine, HELPER_PC03), "grant_id": _grant_id(engine, HELPER_PC03),
              "correction_id": 1, "migration_id": 1}
    if "{document_id}" in path:
        values["document_id"] = _document_id(engine)
    if "{token}" in path:
        values["token"] = _note_token(engine)
    return path.format(**values)


def _api_routes() -> set[tuple[str, str]]:
    from web.app import create_app

    app = create_app()
    found = set()
    for path, item in app.openapi()["paths"].items():
        for method in item:
            found.add((method.upper(), path))
    return found


def test_the_matrix_lists_every_api_endpoint() -> None:
    routes = _api_routes()
    assert routes - set(API) == set(), "endpoints missing from the permission matrix"
    assert set(API) - routes == set(), "the matrix lists endpoints that no longer exist"


def _organisation_file() -> bytes:
    from importlib import resources

    return (resources.files("ketnap.demo") / "organisation.yaml").read_bytes()


@pytest.mark.parametrize("caller", ALL)
@pytest.mark.parametrize(("method", "path"), sorted(API))
def test_api_permissions(client: TestClient, demo: Engine, method: str, path: str, caller: str) -> None:
    case = API[(method, path)]
    headers, token_id = {}, None
    if CALLERS[caller]:
        token = token_for(demo, CALLERS[caller])
        headers = bearer(token)
        from models.accounts import TOKEN, _sha

        with demo.connect() as conn:
            token_id = conn.execute(select(TOKEN.c.id).where(TOKEN.c.token_hash == _sha(token))).scalar_one()
    url = fill(path, demo, token_id)
    kwargs: dict[str, Any] = {"headers": headers}
    if case.files:
        kwargs["files"] = {"file": ("organisation.yaml", _organisation_file(), "application/x-yaml")}
    elif case.body:
        kwargs["json"] = case.body(demo, caller)
    response = client.request(method, url, **kwargs)
    expected = case.expected[caller]
    assert response.status_code == expected, f"{caller} {method} {url}: {response.status_code} {response.text[:300]}"
    if expected >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"] and error["message_en"]
        if expected == 404:
            assert "Cà Văn Dũng" not in response.text


# --- pages ----------------------------------------------------------------------------------------

PAGE_READ = statuses(404, anonymous=303, org_department=200, committee=200, own_secretary=200, sponsor=403)


@dataclass
class PageCase:
    expected: dict[str, int]
    form: dict[str, Any] | None = None          # a POST's fields (the caller's CSRF token is added)
    files: bool = False


PAGES: dict[tuple[str, str], PageCase] = {
    ("GET", "/"): PageCase(statuses(303)),
    ("GET", "/login"): PageCase(statuses(303, anonymous=200)),
    ("POST", "/login"): PageCase(statuses(303)),               # a fresh login form: tested in test_pages
    ("POST", "/logout"): PageCase(statuses(303), form={}),
    ("POST", "/logout-everywhere"): PageCase(statuses(303), form={}),
    ("GET", "/account"): PageCase(statuses(200, anonymous=303)),
    ("POST", "/account/password"): PageCase(statuses(303), form={
        "current_password": DEMO_PASSWORD, "new_password": "mat-khau-moi-2027", "new_password_again": "mat-khau-moi-2027"}),
    ("POST", "/account/tokens"): PageCase(statuses(200, anonymous=303), form={"name": "điện thoại", "days": "30"}),
    ("POST", "/account/tokens/{token_id}/revoke"): PageCase(statuses(303), form={}),
    ("GET", "/cells"): PageCase(statuses(200, anonymous=303, own_secretary=303, other_secretary=303)),
    ("GET", "/cells/{cell_id}"): PageCase(statuses(404, anonymous=303, org_department=200, committee=200,
                                                   own_secretary=200)),
    ("GET", "/cells/{cell_id}/meeting"): PageCase(statuses(404, anonymous=303, org_department=403, committee=403,
                                                           own_secretary=200)),
    ("POST", "/cells/{cell_id}/meeting"): PageCase(
        statuses(404, anonymous=303, org_department=403, committee=403, own_secretary=200),
        form={"event": "cell_approves", "on": "2026-11-05", "intent": "submit", "batch_key": "matrix-batch-1",
              "include": str(CANDIDATE), f"c{CANDIDATE}.approve": "3", f"c{CANDIDATE}.excused_absent": "1"}),
    ("GET", "/candidates"): PageCase(statuses(200, anonymous=303)),
    ("GET", "/candidates/{candidate_id}"): PageCase(PAGE_READ | {"sponsor": 200}),
    ("GET", "/candidates/{candidate_id}/act/{event}"): PageCase(statuses(404, anonymous=303, org_department=403,
                                                                         committee=403, own_secretary=200, sponsor=403)),
    ("POST", "/candidates/{candidate_id}/act/{event}"): PageCase(
        statuses(404, anonymous=303, org_department=403, committee=403, own_secretary=303, sponsor=403),
        form={"on": "2026-11-05", "in_approve": "3", "in_excused_absent": "1", "intent": "submit", "key": "matrix-1"}),
    ("GET", "/candidates/{candidate_id}/documents/{document_id}.{fmt}"): PageCase(PAGE_READ),
    ("GET", "/candidates/{candidate_id}/dossier.{fmt}"): PageCase(PAGE_READ),
    ("GET", "/candidates/{candidate_id}/history"): PageCase(PAGE_READ),
    ("GET", "/candidates/{candidate_id}/history.csv"): PageCase(PAGE_READ),
    ("GET", "/candidates/{candidate_id}/history.pdf"): PageCase(PAGE_READ),
    ("POST", "/candidates/{candidate_id}/notes"): PageCase(
        statuses(404, anonymous=303, org_department=403, committee=403, own_secretary=303, sponsor=403),
        form={"member_code": "NL02", "meeting_on": NEXT_MEETING.isoformat(), "text": "Đồng chí Hương nhận xét miệng."}),
    ("GET", "/sponsor"): PageCase(statuses(403, anonymous=303, sponsor=200, other_helper=200)),
    ("POST", "/sponsor/candidates/{candidate_id}/notes"): PageCase(
        statuses(404, anonymous=303, org_department=403, committee=403, own_secretary=403, sponsor=303),
        form={"meeting_on": NEXT_MEETING.isoformat(), "text": "Tích cực, gương mẫu."}),
    ("GET", "/n/{token}"): PageCase(statuses(303)),                # the short link of the reminders
    ("GET", "/notes/{token}"): PageCase(statuses(200)),
    ("POST", "/notes/{token}"): PageCase(statuses(200), form={"text": "Chấp hành tốt."}),
    ("GET", "/units"): PageCase(statuses(403, anonymous=303, org_department=303, committee=303)),
    ("GET", "/units/{unit_id}"): PageCase(statuses(403, anonymous=303, org_department=200, committee=200)),
    ("GET", "/units/{unit_id}/statistics"): PageCase(statuses(403, anonymous=303, org_department=200, committee=200)),
    ("GET", "/units/{unit_id}/statistics.xlsx"): PageCase(statuses(403, anonymous=303, org_department=200, committee=200)),
    ("GET", "/units/{unit_id}/statistics.csv"): PageCase(statuses(403, anonymous=303, org_department=200, committee=200)),
    ("GET", "/units/{unit_id}/register.{fmt}"): PageCase(statuses(403, anonymous=303, org_department=200, committee=200)),
    ("GET", "/units/{unit_id}/compliance"): PageCase(statuses(403, anonymous=303, org_department=200, committee=200)),
    ("GET", "/units/{unit_id}/compliance.{fmt}"): PageCase(statuses(403, anonymous=303, org_department=200, committee=200)),
    ("GET", "/admin"): PageCase(statuses(403, anonymous=303, admin=200)),
    ("POST", "/admin/accounts"): PageCase(statuses(403, anonymous=303, admin=200), form={
        "username": "bithu.moi", "display_name": "Bí thư mới", "password": "mat-khau-du-dai-1", "role": "secretary",
        "unit_id": "cb-ban-huoi-hao"}),
    ("POST", "/admin/accounts/{account_id}/grants"): PageCase(statuses(403, anonymous=303, admin=200),
                                                              form={"role": "sponsor", "unit_id": ""}),
    ("POST", "/admin/accounts/{account_id}/grants/{grant_id}/delete"): PageCase(statuses(403, anonymous=303, admin=200),
                                                                                form={}),
    ("POST", "/admin/accounts/{account_id}/active"): PageCase(statuses(403, anonymous=303, admin=200), form={"active": "0"}),
    ("POST", "/admin/accounts/{account_id}/password"): PageCase(statuses(403, anonymous=303, admin=200),
                                                                form={"password": "dat-lai-mat-khau-9"}),
    ("POST", "/admin/accounts/{account_id}/logout-everywhere"): PageCase(statuses(403, anonymous=303, admin=200), form={}),
    ("POST", "/admin/import"): PageCase(statuses(403, anonymous=303, admin=200), form={}, files=True),
    ("GET", "/admin/imports"): PageCase(statuses(403, anonymous=303, admin=200)),
    ("POST", "/admin/imports"): PageCase(statuses(403, anonymous=303, admin=422), form={"authority": "Kiểm thử quyền"},
                                         files=True),
    ("GET", "/admin/imports/template.xlsx"): PageCase(statuses(403, anonymous=303, admin=200)),
    ("GET", "/admin/imports/template.csv"): PageCase(statuses(403, anonymous=303, admin=200)),
    ("GET", "/admin/imports/example.xlsx"): PageCase(statuses(403, anonymous=303, admin=200)),
    ("GET", "/admin/calendar"): PageCase(statuses(403, anonymous=303, admin=200)),
    ("POST", "/admin/calendar"): PageCase(statuses(403, anonymous=303, admin=200), form={
        "year": "2027", "source": "Thông báo (kiểm thử quyền)", "days_off": "11/02/2027 Tết Nguyên đán",
        "action": "preview"}),
    # the demo holds no correction: the admin reaches the handler (404), everybody else is turned away first
    ("GET", "/admin/calendar/{correction_id}"): PageCase(statuses(403, anonymous=303, admin=404)),
    ("GET", "/admin/rulesets"): PageCase(statuses(403, anonymous=303, admin=200)),
    # without a choice of versions the admin is asked for one (422); nobody else reaches the handler
    ("GET", "/admin/rulesets/dry-run"): PageCase(statuses(403, anonymous=303, admin=422)),
    # the demo has no file on qd24-2021: nothing moves, the admin is told so
    ("POST", "/admin/rulesets/migrations"): PageCase(statuses(403, anonymous=303, admin=200),
                                                     form={"from_version": "qd24-2021", "to_version": "qd294-2025"}),
    # the demo holds no migration: the admin reaches the handler (404)
    ("GET", "/admin/rulesets/migrations/{migration_id}"): PageCase(statuses(403, anonymous=303, admin=404)),
    ("POST", "/admin/rulesets/migrations/{migration_id}/revert"): PageCase(statuses(403, anonymous=303, admin=404),
                                                                          form={"scope": "all"}),
}


def _all_routes() -> list[tuple[str, str]]:
    """(method, path) of every route, walking the included routers (FastAPI includes them lazily)."""
    from web.app import create_app

    def walk(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
        out = []
        for route in routes:
            if isinstance(route, APIRoute):
                out += [(m, prefix + route.path) for m in route.methods - {"HEAD"}]
            elif hasattr(route, "original_router"):
                out += walk(route.original_router.routes, prefix + route.include_context.prefix)
        return out

    return walk(create_app().router.routes)


def _page_routes() -> set[tuple[str, str]]:
    return {(m, p) for m, p in _all_routes() if not p.startswith("/api/") and p != "/healthz"}


def test_the_matrix_lists_every_page() -> None:
    routes = _page_routes()
    assert routes, "no page routes found"
    assert routes - set(PAGES) == set(), "pages missing from the permission matrix"
    assert set(PAGES) - routes == set(), "the matrix lists pages that no longer exist"


@pytest.mark.parametrize("caller", ALL)
@pytest.mark.parametrize(("method", "path"), sorted(PAGES))
def test_page_permissions(client: TestClient, demo: Engine, method: str, path: str, caller: str) -> None:
    case = PAGES[(method, path)]
    if path == "/login" and method == "POST":
        pytest.skip("the login form itself is tested in test_pages (CSRF cookie, limits)")
    token_id = None
    if CALLERS[caller]:
        session_for(client, demo, CALLERS[caller])
        if "{token_id}" in path:
            csrf = csrf_of(client.get("/account").text)
            page = client.post("/account/tokens", data={"name": "x", "days": "5", "csrf_token": csrf})
            from models.accounts import TOKEN

            with demo.connect() as conn:
                token_id = conn.execute(select(TOKEN.c.id).order_by(TOKEN.c.id.desc())).scalars().first()
            assert page.status_code == 200
    url = fill(path.replace("{event}", "cell_approves").replace("{fmt}", "pdf"), demo, token_id)
    if method == "GET":
        response = client.get(url, follow_redirects=False)
    else:
        data = dict(case.form or {})
        if CALLERS[caller]:
            data["csrf_token"] = csrf_of(client.get("/account").text)
        files = {"file": ("organisation.yaml", _organisation_file(), "application/x-yaml")} if case.files else None
        response = client.post(url, data=data, files=files, headers={"Origin": "http://testserver"}, follow_redirects=False)
    expected = case.expected[caller]
    assert response.status_code == expected, f"{caller} {method} {url}: {response.status_code} {response.text[:400]}"
    if expected == 303 and caller == "anonymous":
        if path == "/n/{token}":                  # the reminder's short link opens its note form, no login needed
            assert response.headers["location"].startswith("/notes/")
        else:
            assert response.headers["location"].startswith("/login") or path in ("/", "/logout", "/logout-everywhere")
    if expected == 404:
        assert "Cà Văn Dũng" not in response.text


def test_guessing_ids_reveals_nothing(client: TestClient, demo: Engine) -> None:
    """Another cell's secretary walks every id: each answers exactly like a file that does not exist."""
    headers = bearer(token_for(demo, SECRETARY_PA_CONG))
    own = {r["id"] for r in client.get("/api/v1/candidates", headers=headers).json()}
    assert own == {1, 7}                                   # bản Pá Công's open files
    answers = {}
    for candidate_id in range(1, 12):                      # 1-8 exist, 9-11 do not
        response = client.get(f"/api/v1/candidates/{candidate_id}", headers=headers)
        answers[candidate_id] = (response.status_code, response.json().get("error"))
    missing = answers[11]
    for candidate_id, answer in answers.items():
        if candidate_id in own:
            assert answer[0] == 200
        else:
            assert answer == missing, f"candidate {candidate_id} answers differently from a missing one"
