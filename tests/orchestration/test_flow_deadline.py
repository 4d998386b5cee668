"""A stalled Prefect API holds a step no longer than the deadline: the step is applied directly, linked later."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date
from uuid import UUID

from prefect.client.orchestration import get_client
from sqlalchemy import select

from flows import submit as submit_module
from flows import transition as transition_module
from flows.submit import submit_transition
from ketnap.context import use_clock, use_engine
from models.audit.trail import timeline, verify
from models.tables import TransitionRequestRow
from models.transitions import TransitionRequest
from tests.support import NOW, SECRETARY, TO_CELL_REVIEW, add, walk

REQUEST = TransitionRequestRow.__table__


def _request(cid: int, index: int) -> TransitionRequest:
    event, on, inputs = TO_CELL_REVIEW[index]
    return TransitionRequest(cid, event, date.fromisoformat(on), SECRETARY, inputs=inputs)


def test_a_stalled_flow_run_is_left_behind_at_the_deadline_and_later_steps_skip_it(org, monkeypatch):
    release = threading.Event()
    tried: list[str] = []

    async def stalled_flow(url, request_id, candidate_id, cell_id, event):   # the API stops answering
        tried.append(request_id)
        await asyncio.to_thread(release.wait, 30)

    monkeypatch.setattr(submit_module, "prefect_api_url", lambda: "http://127.0.0.1:9/api")
    monkeypatch.setattr(submit_module, "prefect_reachable", lambda url, **_: True)    # /health still answers
    monkeypatch.setattr(submit_module, "_run_flow", stalled_flow)
    monkeypatch.setattr(submit_module, "FLOW_DEADLINE_SECONDS", 0.5)
    monkeypatch.setattr(submit_module, "_stalled", {})
    first, second = add(org), add(org)
    try:
        with use_engine(org), use_clock(NOW):
            start = time.monotonic()
            a = submit_transition(org, _request(first, 0), now=NOW)
            waited = time.monotonic() - start
            b = submit_transition(org, _request(second, 0), now=NOW)     # within the cool-down
    finally:
        release.set()
    assert 0.5 <= waited < 10
    assert tried == [a.request_id]                              # the second step did not wait for Prefect
    for submitted, cid in ((a, first), (b, second)):
        assert submitted.result.applied and submitted.orchestration == "deferred" and submitted.flow_run_id is None
        with org.connect() as conn:
            row = conn.execute(select(REQUEST).where(REQUEST.c.id == submitted.request_id)).mappings().one()
            kinds = [e["kind"] for e in timeline(conn, cid)]
        assert (row["status"], row["linked"]) == ("applied", False)    # the reconciler links it
        assert kinds.count("transition") == 1


def test_a_flow_run_past_its_deadline_finishes_on_its_own_and_the_step_is_applied_once(orchestrated, monkeypatch):
    cid = add(orchestrated)
    walk(orchestrated, cid, TO_CELL_REVIEW[:1])
    assert submit_transition(orchestrated, _request(cid, 1), now=NOW).orchestration == "flow_run"   # flow warmed up
    release = threading.Event()

    async def slow_renderer(candidate_id, audit_event_id, forms):    # Prefect stalls once the step is applied
        await asyncio.to_thread(release.wait, 30)
        return []

    monkeypatch.setattr(submit_module, "FLOW_DEADLINE_SECONDS", 3.0)
    monkeypatch.setattr(submit_module, "_stalled", {})
    monkeypatch.setattr(transition_module, "DOCUMENT_RENDERERS", [*transition_module.DOCUMENT_RENDERERS, slow_renderer])
    try:
        start = time.monotonic()
        submitted = submit_transition(orchestrated, _request(cid, 2), now=NOW)     # complete_file: it has forms
        waited = time.monotonic() - start
    finally:
        release.set()
    assert waited < 20
    assert submitted.result.applied and submitted.result.stage_after == "opinions"
    # normally the flow applied the step before stalling, and the answer names its run; on a slow machine
    # the direct path may have come first, and the late run links the step: either way, once, to one run
    assert submitted.orchestration in ("flow_run", "deferred")

    def request_row():
        with orchestrated.connect() as conn:
            return conn.execute(select(REQUEST).where(REQUEST.c.id == submitted.request_id)).mappings().one()

    async def state_of(run_id: str):
        async with get_client() as client:
            return (await client.read_flow_run(UUID(run_id))).state_name

    deadline = time.monotonic() + 60
    while not (request_row()["linked"] and asyncio.run(state_of(request_row()["flow_run_id"])) == "Completed"):
        assert time.monotonic() < deadline, f"the late flow run did not finish: {dict(request_row())}"
        time.sleep(0.3)
    row = request_row()
    assert row["status"] == "applied" and submitted.flow_run_id in (None, row["flow_run_id"])
    with orchestrated.connect() as conn:
        events = timeline(conn, cid)
    assert [e["event"] for e in events if e["kind"] == "transition"].count("complete_file") == 1
    assert row["flow_run_id"] in {e["flow_run_id"] for e in events}          # the step or its link names the run
    assert verify(orchestrated).ok
