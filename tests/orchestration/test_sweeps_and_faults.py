"""Scheduled sweeps as flow runs, a Prefect server that dies mid-transition, `serve` and `history`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import httpx
import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings
from sqlalchemy import func, select

from flows import submit as submit_module
from flows import transition as transition_module
from flows.submit import submit_transition
from flows.sweeps import deadline_sweep
from ketnap.prefect_server import LocalPrefectServer, healthy
from models.audit.trail import timeline, verify
from models.tables import Alert, Candidate, Deadline, TransitionRequestRow
from models.transitions import TransitionRequest
from tests.orchestration.conftest import forget_prefect_services, free_port
from tests.support import NOW, SECRETARY, TO_CELL_REVIEW, add, walk

ROOT = Path(__file__).parents[2]
TO_PROBATION = [*TO_CELL_REVIEW,
                ("cell_approves", "2026-07-06", {"approve": 4}),
                ("grassroots_approves", "2026-07-20", {"approve": 12}),
                ("admit", "2026-08-03", {"decision_number": "125-QĐ/ĐU"}),
                ("hold_ceremony", "2026-08-19", {"helper": "NL03"})]


def _count(engine, table, **where) -> int:
    t = table.__table__
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t).where(*(t.c[k] == v for k, v in where.items()))).scalar_one()


def test_deadline_sweep_flags_each_overdue_deadline_once(orchestrated):
    cid = add(orchestrated)
    walk(orchestrated, cid, [*TO_CELL_REVIEW, ("cell_approves", "2026-07-06", {"approve": 4})])
    # 60 working days after 06/07/2026 end on 30/09/2026 (31/8, 1/9 and 2/9 are off)
    first = asyncio.run(deadline_sweep(as_of="2026-10-01"))
    again = asyncio.run(deadline_sweep(as_of="2026-10-02"))
    assert first["overdue_flagged"] == 1 and again["overdue_flagged"] == 0
    assert _count(orchestrated, Alert, kind="deadline_overdue", candidate_id=cid) == 1
    with orchestrated.connect() as conn:
        flagged = conn.execute(select(Deadline.__table__.c.flagged_on)).scalar_one()
        events = timeline(conn, cid)
    assert flagged == date(2026, 10, 1)
    assert [e["payload"]["alert"] for e in events if e["kind"] == "alert"] == ["deadline_overdue"]


def test_deadline_sweep_is_not_early(orchestrated):
    cid = add(orchestrated)
    walk(orchestrated, cid, [*TO_CELL_REVIEW, ("cell_approves", "2026-07-06", {"approve": 4})])
    assert asyncio.run(deadline_sweep(as_of="2026-09-30"))["overdue_flagged"] == 0     # the last day itself is in time


def test_end_of_probation_opens_recognition_through_a_flow_run_once(orchestrated):
    cid = add(orchestrated)
    walk(orchestrated, cid, TO_PROBATION)                     # probation ends 19/08/2027
    assert asyncio.run(deadline_sweep(as_of="2027-08-18"))["recognition_opened"] == 0
    assert asyncio.run(deadline_sweep(as_of="2027-08-19"))["recognition_opened"] == 1
    assert asyncio.run(deadline_sweep(as_of="2027-08-20"))["recognition_opened"] == 0
    with orchestrated.connect() as conn:
        stage = conn.execute(select(Candidate.__table__.c.stage)).scalar_one()
        opened = [e for e in timeline(conn, cid) if e["event"] == "open_recognition"]
    assert stage == "recognition_review"
    assert len(opened) == 1 and opened[0]["actor"] == "system" and opened[0]["flow_run_id"]
    assert opened[0]["effective_on"] == date(2027, 8, 19)


def test_a_certificate_about_to_expire_before_the_vote_raises_one_alert(orchestrated):
    cid = add(orchestrated)
    walk(orchestrated, cid, [("record_awareness_certificate", "2025-10-01",
                              {"certificate_number": "CN-2021-9", "certificate_on": "2021-12-15"})])
    # valid 60 months: to 15/12/2026; the sweep warns two months ahead
    assert asyncio.run(deadline_sweep(as_of="2026-10-14"))["certificates_expiring"] == 0
    assert asyncio.run(deadline_sweep(as_of="2026-10-15"))["certificates_expiring"] == 1
    assert asyncio.run(deadline_sweep(as_of="2026-11-22"))["certificates_expiring"] == 0
    assert _count(orchestrated, Alert, kind="certificate_expiring", candidate_id=cid) == 1


@pytest.fixture
def own_server(tmp_path):
    """A Prefect server this test may stop and start again."""
    forget_prefect_services()                                  # services bound to the session's server
    server = LocalPrefectServer(tmp_path / "prefect", "127.0.0.1", free_port()).start()
    yield server
    if healthy(server.api_url):
        forget_prefect_services()                              # deliver to this one before it stops
    server.stop()


def test_prefect_server_stopped_during_a_transition_neither_loses_nor_duplicates_it(org, own_server):
    from ketnap.context import use_engine

    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW[:2])                        # complete_file is next: a step with forms

    async def stop_the_server(candidate_id, audit_event_id, forms):
        await asyncio.to_thread(own_server.stop)              # the server dies after the step was committed
        return []

    transition_module.DOCUMENT_RENDERERS.append(stop_the_server)
    submit_module._health.clear()

    try:
        with use_engine(org), temporary_settings(updates={PREFECT_API_URL: own_server.api_url,
                                                           PREFECT_CLIENT_MAX_RETRIES: 2}):
            submitted = submit_transition(org, COMPLETE_FILE(cid), now=NOW)
    finally:
        transition_module.DOCUMENT_RENDERERS.remove(stop_the_server)
    assert not healthy(own_server.api_url)
    assert submitted.result.applied and submitted.result.stage_after == "opinions"
    assert submitted.flow_run_id                               # the audit event names the run that applied it
    own_server.start()                                         # Prefect comes back
    with org.connect() as conn:
        events = timeline(conn, cid)
        request = conn.execute(select(TransitionRequestRow.__table__)).mappings().one()
    steps = [e for e in events if e["kind"] == "transition"]
    assert [e["event"] for e in steps].count("complete_file") == 1
    assert steps[-1]["flow_run_id"] == submitted.flow_run_id
    assert (request["status"], request["linked"]) == ("applied", True)
    # submitting the same request again (a retried click) still applies nothing twice
    with use_engine(org), temporary_settings(updates={PREFECT_API_URL: own_server.api_url}):
        again = submit_transition(org, replace(COMPLETE_FILE(cid), idempotency_key=request["idempotency_key"]), now=NOW)
    assert again.result.replayed and again.result.audit_event_id == submitted.result.audit_event_id
    with org.connect() as conn:
        assert [e["kind"] for e in timeline(conn, cid)].count("transition") == 3    # two walked, one submitted
    assert verify(org).ok


def COMPLETE_FILE(cid: int) -> TransitionRequest:  # noqa: N802 - a request factory, named like a constant
    event, on, inputs = TO_CELL_REVIEW[2]
    return TransitionRequest(cid, event, date.fromisoformat(on), SECRETARY, inputs=inputs)


def _cli_env(tmp_path: Path, db_url: str | None, api_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KETNAP_", "PREFECT_"))}
    env |= {"KETNAP_HOME": str(tmp_path / "home"), "PREFECT_LOGGING_LEVEL": "WARNING"}
    if db_url:
        env["KETNAP_DATABASE_URL"] = db_url
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def test_history_joins_audit_events_with_their_flow_runs(orchestrated, prefect_server, tmp_path):
    cid = add(orchestrated)
    for event, on, inputs in TO_CELL_REVIEW[:2]:
        assert submit_transition(orchestrated, TransitionRequest(cid, event, date.fromisoformat(on), SECRETARY,
                                                                 inputs=inputs), now=NOW).result.applied
    proc = subprocess.run([sys.executable, "-m", "ketnap.cli.app", "history", str(cid), "--json"], cwd=ROOT,
                          env=_cli_env(tmp_path, orchestrated.url.render_as_string(hide_password=False),
                                       prefect_server.api_url), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["prefect"] == "ok"
    steps = [e for e in data["events"] if e["kind"] == "transition"]
    assert [e["event"] for e in steps] == ["nominate_for_course", "record_awareness_certificate"]
    assert all(e["flow_run"]["state"] == "Completed" and e["flow_run"]["duration_s"] is not None for e in steps)
    assert data["events"][-1]["kind"] == "read"               # the history itself is an audited read


@pytest.mark.slow
def test_serve_starts_the_web_app_a_local_prefect_server_the_deployments_and_stops_on_ctrl_c(tmp_path):
    port, web_port = free_port(), free_port()
    env = _cli_env(tmp_path, None, None)
    init = subprocess.run([sys.executable, "-m", "ketnap.cli.app", "init", "--demo"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    proc = subprocess.Popen([sys.executable, "-m", "ketnap.cli.app", "serve", "--port", str(port), "--web-port",
                             str(web_port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    web = f"http://127.0.0.1:{web_port}"
    try:
        names: set[str] = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(names) < 5:
            time.sleep(1)
            if healthy(api):
                found = httpx.post(api + "/deployments/filter", json={"limit": 50}, timeout=5).json()
                names = {d["name"] for d in found}
        assert names == {"daily", "weekly", "every-minute", "every-5-minutes", "bulk"}
        deployments = httpx.post(api + "/deployments/filter", json={"limit": 50}, timeout=5).json()
        schedules = [s["schedule"] for d in deployments for s in d["schedules"]]
        assert {"cron": "0 6 * * *", "timezone": "Asia/Ho_Chi_Minh", "day_or": True} in schedules
        assert {"cron": "0 7 * * *", "timezone": "Asia/Ho_Chi_Minh", "day_or": True} in schedules
        assert httpx.get(web + "/healthz", timeout=5).json() == {"status": "ok"}
        login = httpx.get(web + "/login", timeout=5)
        assert login.status_code == 200 and "Đăng nhập" in login.text
        token = httpx.post(web + "/api/v1/auth/token", json={"username": "bithu.nala", "password": "ketnap-demo-2026"},
                           timeout=10)
        assert token.status_code == 201                        # the demo accounts printed at start log in
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert f"web app: {web}" in out and "demo accounts (password ketnap-demo-2026)" in out and "bithu.nala" in out
    assert "ketnap stopped" in out
    assert not healthy(api)                                    # the embedded server went down with it
    with pytest.raises(httpx.HTTPError):
        httpx.get(web + "/healthz", timeout=2)


def test_the_embedded_prefect_server_does_not_outlive_a_killed_serve(tmp_path):
    port = free_port()
    env = _cli_env(tmp_path, None, None)
    proc = subprocess.Popen([sys.executable, "-m", "ketnap.cli.app", "serve", "--port", str(port), "--no-web",
                             "--no-deployments"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not healthy(api):
            time.sleep(0.5)
        assert healthy(api)
        proc.kill()                                            # SIGKILL: no chance to stop anything itself
        proc.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and healthy(api):
            time.sleep(0.5)
        assert not healthy(api)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
