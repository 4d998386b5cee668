"""The web app over the demo commune: its candidates, walked to every stage, and one account per role.

The demo is built once per session into a SQLite file and copied for each test (building it
hashes eight Argon2 passwords and walks eight files). Tests that need PostgreSQL build it there.
The clock is fixed (Monday 23/11/2026, 10:00 in Hà Nội) so that meetings, deadlines and links
are the same whatever day the suite runs. Orchestration is off here: the transition flow over
HTTP with a real Prefect server is tested in tests/orchestration/test_web_flow.py.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ketnap.context import use_clock, use_engine
from ketnap.settings import get_settings
from models.actors import Actor
from models.database import make_engine, migrate

WEB_NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
DEMO_PASSWORD = "ketnap-demo-2026"
ADMIN = Actor("test:admin", "admin")

# username → (role, scope) of the demo accounts (ketnap/demo/accounts.yaml)
SECRETARY_NA_LA = "bithu.nala"          # cell cb-ban-na-la: Cà Văn Dũng (#2) waits for the cell's vote
SECRETARY_PA_CONG = "bithu.pacong"      # cell cb-ban-pa-cong: Lò Thị Hoa (#1), Lường Văn Tuấn (#7)
SECRETARY_HUOI_HAO = "bithu.huoihao"    # cell cb-ban-huoi-hao: Giàng A Sùng (#3), under age
ORG_DEPARTMENT = "bantochuc"            # organisation department of xa-muong-bu: reads everything
COMMITTEE = "vanphong"                  # committee office of xa-muong-bu: records the committees' acts
SPONSOR_NL02 = "huong.nl02"             # sponsors Cà Văn Dũng (#2)
HELPER_PC03 = "thang.pc03"              # helps Lò Thị Hoa (#1)
ADMIN_USER = "quantri"


@pytest.fixture(autouse=True)
def _web_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("KETNAP_ORCHESTRATION", "off")
    monkeypatch.setenv("KETNAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KETNAP_SECRET_KEY", "test-secret-key-for-signed-links-0123456789")
    monkeypatch.delenv("KETNAP_ENVIRONMENT", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def build_demo(engine: Engine) -> None:
    from ketnap.demo import load_demo

    with use_clock(WEB_NOW):
        load_demo(engine, ADMIN, now=WEB_NOW)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web-demo") / "demo.db"
    url = f"sqlite:///{path}"
    migrate(url)
    os.environ.setdefault("KETNAP_SECRET_KEY", "test-secret-key-for-signed-links-0123456789")
    engine = make_engine(url)
    build_demo(engine)
    engine.dispose()
    return path


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """A fresh copy of the demo database (SQLite), the process pointed at it and at the fixed clock."""
    path = tmp_path / "demo.db"
    with closing(sqlite3.connect(demo_template)) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    engine = make_engine(f"sqlite:///{path}")
    with use_engine(engine), use_clock(WEB_NOW):
        yield engine
    engine.dispose()


@pytest.fixture
def demo_pg(pg_url: str) -> Iterator[Engine]:
    """The demo built in a fresh PostgreSQL database."""
    engine = make_engine(pg_url)
    build_demo(engine)
    with use_engine(engine), use_clock(WEB_NOW):
        yield engine
    engine.dispose()


@pytest.fixture
def client(demo: Engine) -> Iterator[TestClient]:
    from web.app import create_app

    with TestClient(create_app(), base_url="http://testserver") as c:
        yield c


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> TestClient:
    """Log the test client in through the login page (its CSRF cookie included)."""
    page = client.get("/login")
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text),
                                           "next": ""}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def session_for(client: TestClient, engine: Engine, username: str) -> TestClient:
    """Log the client in without the login form (a real session row and cookie; no Argon2 check, which
    costs a quarter of a second here and is tested with the login form itself)."""
    from sqlalchemy import select

    from models.accounts import ACCOUNT, load_principal, open_session
    from web.security import SESSION_COOKIE

    with engine.connect() as conn:
        account_id = conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.username == username)).scalar_one()
        principal = load_principal(conn, account_id)
    assert principal is not None
    client.cookies.set(SESSION_COOKIE, open_session(engine, principal, now=WEB_NOW).cookie)
    return client


def token_for(engine: Engine, username: str) -> str:
    """An API token for a demo account."""
    from sqlalchemy import select

    from models.accounts import ACCOUNT, issue_token

    with engine.connect() as conn:
        account_id = conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.username == username)).scalar_one()
    _, token = issue_token(engine, account_id, "tests", ADMIN, now=WEB_NOW)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
