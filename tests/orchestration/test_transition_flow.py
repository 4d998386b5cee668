"""Every step is one flow run: tags, ids only, the run id on the audit event, events, fallbacks."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, date, datetime

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime, FlowRunFilterTags
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import select

from flows import submit as submit_module
from flows.submit import submit_transition
from flows.sweeps import link_pending_requests
from models.audit.trail import timeline, verify
from models.tables import Candidate, TransitionRequestRow
from models.transitions import TransitionRequest
from tests.orchestration.conftest import free_port
from tests.support import NOW, SECRETARY, TO_CELL_REVIEW, add

REQUEST = TransitionRequestRow.__table__


@pytest.fixture(autouse=True)
def _test_start(request):
    """The Prefect server is shared by the session's fresh databases, whose ids restart at 1:
    only runs started during this test belong to it."""
    request.node.started = datetime.now(UTC)


def _runs(tag: str, since: datetime):
    async def read():
        async with get_client() as client:
            return await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag]),
                                              start_time=FlowRunFilterStartTime(after_=since)),
                sort=FlowRunSort.START_TIME_ASC, limit=200)
    return asyncio.run(read())


def _submit(engine, cid, event, on, now=NOW, **inputs):
    return submit_transition(engine, TransitionRequest(cid, event, date.fromisoformat(on), SECRETARY, inputs=inputs),
                             now=now)


def test_a_step_is_one_flow_run_with_ids_only_and_its_id_on_the_audit_event(orchestrated, request):
    cid = add(orchestrated)
    submitted = _submit(orchestrated, cid, "nominate_for_course", "2025-10-01")
    assert submitted.orchestration == "flow_run" and submitted.result.applied and not submitted.result.replayed
    [run] = _runs(f"candidate:{cid}", request.node.started)
    assert str(run.id) == submitted.flow_run_id
    assert set(run.tags) >= {f"candidate:{cid}", "cell:cb-ban-na-la", "event:nominate_for_course"}
    assert run.state_name == "Completed"
    assert run.name == f"transition-{submitted.request_id}"
    assert set(run.parameters) == {"request_id", "cell_id"}
    assert run.parameters["request_id"] == submitted.request_id
    with orchestrated.connect() as conn:
        last = timeline(conn, cid)[-1]
    assert last["kind"] == "transition" and last["flow_run_id"] == submitted.flow_run_id


def test_a_refusal_is_a_flow_run_too_and_reports_every_reason(orchestrated, request):
    cid = add(orchestrated)
    for event, on, inputs in TO_CELL_REVIEW:
        assert _submit(orchestrated, cid, event, on, **inputs).result.applied
    refused = _submit(orchestrated, cid, "cell_approves", "2026-07-06", approve=2)
    assert refused.result.status == "refused" and refused.orchestration == "flow_run"
    assert [f.code for f in refused.result.failures] == ["vote.below_two_thirds"]
    assert "2/5" in refused.result.failures[0].message          # the secretary still gets the Vietnamese reason
    runs = _runs(f"candidate:{cid}", request.node.started)
    assert len(runs) == len(TO_CELL_REVIEW) + 1
    with orchestrated.connect() as conn:
        last = timeline(conn, cid)[-1]
    assert last["kind"] == "refusal" and last["flow_run_id"] == refused.flow_run_id


def test_custom_events_are_emitted_for_transitions_and_refusals(orchestrated, prefect_server):
    cid = add(orchestrated)
    _submit(orchestrated, cid, "nominate_for_course", "2025-10-01")
    _submit(orchestrated, cid, "fail_course", "2025-12-01")
    resource = f"ketnap.candidate.{cid}"
    deadline = time.monotonic() + 30
    names: set[str] = set()
    while time.monotonic() < deadline and not {"ketnap.candidate.nominate_for_course",
                                                "ketnap.candidate.fail_course"} <= names:
        body = {"filter": {"resource": {"id": [resource]}, "occurred": {"since": "2000-01-01T00:00:00Z"}}, "limit": 50}
        found = httpx.post(prefect_server.api_url + "/events/filter", json=body, timeout=10).json()
        names = {e["event"] for e in found["events"]}
        time.sleep(0.5)
    assert {"ketnap.candidate.nominate_for_course", "ketnap.candidate.fail_course"} <= names
    event = next(e for e in found["events"] if e["event"] == "ketnap.candidate.fail_course")
    assert event["payload"]["stage_after"] == "source" and event["payload"]["status"] == "applied"


def test_with_prefect_unreachable_the_step_is_recorded_then_linked_once_it_is_back(orchestrated, prefect_server):
    cid = add(orchestrated)
    down = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: down}):
        deferred = _submit(orchestrated, cid, "nominate_for_course", "2025-10-01", now=None)
    assert deferred.result.applied and deferred.orchestration == "deferred" and deferred.flow_run_id is None
    with orchestrated.connect() as conn:
        row = conn.execute(select(REQUEST).where(REQUEST.c.id == deferred.request_id)).mappings().one()
    assert (row["status"], row["linked"]) == ("applied", False)

    submit_module._health.clear()
    outcome = asyncio.run(_link_now())
    assert outcome["linked"] == 1
    with orchestrated.connect() as conn:
        row = conn.execute(select(REQUEST).where(REQUEST.c.id == deferred.request_id)).mappings().one()
        events = timeline(conn, cid)
    assert row["linked"] and row["flow_run_id"]
    kinds = [e["kind"] for e in events]
    assert kinds.count("transition") == 1                       # applied once
    assert kinds[-1] == "flow_linked" and events[-1]["flow_run_id"] == row["flow_run_id"]
    assert events[-1]["payload"]["audit_event_id"] == deferred.result.audit_event_id
    assert asyncio.run(_link_now())["linked"] == 0              # nothing left to link
    assert verify(orchestrated).ok


async def _link_now():
    return await link_pending_requests(max_age_hours=24, min_age_seconds=0)


def test_no_personal_data_reaches_prefect(orchestrated, prefect_server, request):
    """After a full walk through flows, no candidate name or CV value is anywhere in Prefect's database."""
    cid = add(orchestrated, full_name="Hà Thị Mỹ Duyên", ethnicity="Tày", religion="Phật giáo",
              work_unit="Hợp tác xã Chè Tà Xùa", qualification="Trung cấp nông nghiệp")
    steps = [*TO_CELL_REVIEW,
             ("cell_approves", "2026-07-06", {"approve": 4}),
             ("grassroots_approves", "2026-07-20", {"approve": 12}),
             ("admit", "2026-08-03", {"decision_number": "125-QĐ/ĐU"}),
             ("hold_ceremony", "2026-08-19", {"helper": "NL03"}),
             ("record_new_member_certificate", "2026-12-04", {"certificate_number": "BD-2026-5"}),
             ("open_recognition", "2027-08-19", {}),
             ("record_recognition_documents", "2027-08-23", {"self_review_on": "2027-08-19",
                                                             "helper_review_on": "2027-08-20",
                                                             "recognition_opinions_on": "2027-08-23"}),
             ("cell_recognises", "2027-08-30", {"approve": 4}),
             ("grassroots_recognises", "2027-09-13", {"approve": 12}),
             ("recognise", "2027-09-27", {"decision_number": "240-QĐ/ĐU"})]
    for event, on, inputs in steps:
        assert _submit(orchestrated, cid, event, on, **inputs).result.applied, event
    with orchestrated.connect() as conn:
        person = conn.execute(select(Candidate.__table__).where(Candidate.__table__.c.id == cid)).mappings().one()
    assert person["stage"] == "full_member"
    sensitive = [person["full_name"], "Mỹ Duyên", person["religion"], person["work_unit"], person["qualification"],
                 person["birth_date"].isoformat(), person["birth_date"].strftime("%d/%m/%Y"),
                 "Cà Thị Hương", "Vì Văn Lả"]             # sponsors' and the helper's names too
    db = prefect_server.home / "prefect.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    hits = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        for row in conn.execute(f'SELECT * FROM "{table}"'):
            text = " ".join(str(v) for v in row if v is not None)
            hits += [(table, s) for s in sensitive if s in text]
    conn.close()
    assert hits == []
    assert len(_runs(f"candidate:{cid}", request.node.started)) == len(steps)
