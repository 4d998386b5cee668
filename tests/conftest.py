"""Shared fixtures: a fresh, migrated database per test, on SQLite and on PostgreSQL.

PostgreSQL is taken from KETNAP_TEST_POSTGRES_URL (default: postgresql://postgres@127.0.0.1:5432/postgres).
Without a server the PostgreSQL half of the suite is skipped with a message saying how to enable
it; when CI is set, a missing server fails the run instead.
"""

from __future__ import annotations

import itertools
import os

# Flows in tests run against servers the tests start and stop; shipping their logs to a stopped
# server makes the interpreter wait at exit. Nothing asserts on Prefect's logs.
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from models.database import make_engine, migrate

PG_ADMIN_URL = os.environ.get("KETNAP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
HOW_TO = ("PostgreSQL is not reachable at {url} ({error}). Start a server there or set "
          "KETNAP_TEST_POSTGRES_URL to one (user with CREATEDB); in CI this is a failure.")
_counter = itertools.count()


def _pg_admin() -> Engine:
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        message = HOW_TO.format(url=PG_ADMIN_URL, error=type(exc).__name__)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"ketnap_tmpl_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name)
    migrate(url.render_as_string(hide_password=False))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to a fresh, migrated, empty database of each backend."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "ketnap.db"
        with closing(sqlite3.connect(template)) as src, closing(sqlite3.connect(path)) as dst:
            src.backup(dst)          # a consistent copy, WAL content included
        yield f"sqlite:///{path}"
        return
    yield request.getfixturevalue("pg_url")


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database only (for what exists on PostgreSQL alone)."""
    name = f"ketnap_t_{os.getpid()}_{next(_counter)}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
        # Tests do not crash the server: commits need not wait for the WAL flush (the scenario test commits
        # thousands of times). Durability itself is PostgreSQL's; what is tested here is ketnap's SQL.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def org(engine: Engine) -> Engine:
    """The demo commune's organisation and members, imported."""
    from tests.support import import_demo_org

    import_demo_org(engine)
    return engine
