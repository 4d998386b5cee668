"""A secretary's step over HTTP runs the transition flow on a real Prefect server; when Prefect is down the
page still records it and says so, and the reconciler links it later."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime, FlowRunFilterTags
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import Engine, select

from flows import submit as submit_module
from ketnap.context import use_clock, use_engine
from ketnap.settings import get_settings
from models.database import make_engine, migrate
from models.tables import AuditEvent, Document
from tests.orchestration.conftest import forget_prefect_services, free_port
from tests.web.conftest import SECRETARY_NA_LA, WEB_NOW, bearer, build_demo, csrf_of, session_for, token_for

AUDIT = AuditEvent.__table__
DOCUMENT = Document.__table__
VOTE = {"event": "cell_approves", "on": "2026-11-05", "inputs": {"approve": 3, "excused_absent": 1}}


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web-flow") / "demo.db"
    migrate(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    build_demo(engine)
    engine.dispose()
    return path


@pytest.fixture
def web(demo_file: Path, tmp_path: Path, prefect_server, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Engine]]:
    monkeypatch.setenv("KETNAP_ORCHESTRATION", "auto")
    monkeypatch.setenv("KETNAP_SECRET_KEY", "test-secret-key-for-signed-links-0123456789")
    get_settings.cache_clear()
    submit_module._health.clear()
    path = tmp_path / "demo.db"
    with closing(sqlite3.connect(demo_file)) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    engine = make_engine(f"sqlite:///{path}")
    from web.app import create_app

    with use_engine(engine), use_clock(WEB_NOW), TestClient(create_app()) as client:
        yield client, engine
    engine.dispose()
    get_settings.cache_clear()


def _runs(tag: str, since: datetime) -> list:
    async def read() -> list:
        async with get_client() as client:
            return await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    tags=FlowRunFilterTags(all_=[tag]), start_time=FlowRunFilterStartTime(after_=since)
                ),
                sort=FlowRunSort.START_TIME_ASC, limit=50)
    return asyncio.run(read())


def test_a_step_over_the_api_is_one_flow_run_linked_to_its_audit_event(web: tuple[TestClient, Engine]) -> None:
    client, engine = web
    started = datetime.now(UTC)
    response = client.post("/api/v1/candidates/2/transitions", json=VOTE | {"idempotency_key": "web-flow-1"},
                           headers=bearer(token_for(engine, SECRETARY_NA_LA)))
    body = response.json()
    assert response.status_code == 201 and body["orchestration"] == "flow_run" and body["flow_run_id"]
    [run] = [r for r in _runs("candidate:2", started) if "event:cell_approves" in r.tags]
    assert str(run.id) == body["flow_run_id"] and run.state_name == "Completed"
    assert set(run.parameters) <= {"request_id", "candidate_id", "cell_id", "event"}
    assert "Cà Văn Dũng" not in str(run.parameters) and "Cà Văn Dũng" not in run.name
    with engine.connect() as conn:
        event = conn.execute(select(AUDIT.c.flow_run_id, AUDIT.c.actor, AUDIT.c.role)
                             .where(AUDIT.c.id == body["audit_event_id"])).one()
        query = select(DOCUMENT.c.form_id).where(DOCUMENT.c.audit_event_id == body["audit_event_id"])
        forms = conn.execute(query).scalars().all()
    assert tuple(event) == (body["flow_run_id"], "user:bithu.nala", "secretary")
    assert forms == ["6-KNĐ"]


def test_with_prefect_down_the_page_records_the_step_and_says_it_will_be_linked(web: tuple[TestClient, Engine]) -> None:
    client, engine = web
    session_for(client, engine, SECRETARY_NA_LA)
    page = client.get("/candidates/2/act/cell_approves")
    key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
    forget_prefect_services()
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):
        submit_module._health.clear()
        response = client.post("/candidates/2/act/cell_approves", headers={"Origin": "http://testserver"}, data={
            "csrf_token": csrf_of(page.text), "key": key, "on": "2026-11-05", "in_approve": "3", "in_excused_absent": "1",
            "intent": "submit"})
        forget_prefect_services()
    submit_module._health.clear()
    assert response.status_code == 200 and "sẽ tự gắn với lượt chạy quy trình" in response.text
    with engine.connect() as conn:
        linked = conn.execute(select(AUDIT.c.flow_run_id).where(AUDIT.c.candidate_id == 2, AUDIT.c.kind == "transition")
                              .order_by(AUDIT.c.seq.desc())).scalars().first()
    assert linked is None                                    # applied, not yet linked: the reconciler will
    from flows.sweeps import link_pending_requests

    with use_engine(engine), use_clock(WEB_NOW):
        asyncio.run(link_pending_requests(max_age_hours=24, min_age_seconds=0))
    with engine.connect() as conn:
        flow_runs = conn.execute(select(AUDIT.c.flow_run_id).where(AUDIT.c.candidate_id == 2, AUDIT.c.kind == "flow_linked")
                                 ).scalars().all()
        forms = conn.execute(select(DOCUMENT.c.form_id).where(DOCUMENT.c.candidate_id == 2)).scalars().all()
    assert flow_runs and all(flow_runs) and "6-KNĐ" in forms
