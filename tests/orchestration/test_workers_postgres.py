"""The "at scale" topology on loopback: a Prefect server on PostgreSQL, two process workers, one killed.

What runs here is what deploy/compose.yaml runs in containers: a Prefect server whose database is a
fresh PostgreSQL database (with pg_trgm), ketnap's own data in another PostgreSQL database, the
`transition/bulk` deployment of deploy/prefect.yaml on a process work pool, and two
`prefect worker start --pool … --type process` processes. One transition request is stored per
candidate and submitted in a burst with `run_deployment`; in the middle of the burst, once a few
runs have completed and at a moment when it holds a Running flow run, one worker is killed with
SIGKILL together with the flow-run processes it had started (what a machine or container dying
looks like: killing the worker alone leaves its children, which run in sessions of their own, to
finish normally). The other worker carries on; the runs the dead worker held stay Pending/Running
in Prefect, their requests are still `queued` (unless the step was recorded just before the kill),
and the product's `link_pending_requests` flow re-runs them with their idempotency keys. In the
end every candidate has exactly one `transition` event, every request is `applied` and linked to a
flow run, and every audit chain verifies.

Deployment creation: `prefect deploy` and `Flow.deploy()` call the server's
`/work_pools/{name}/workers/filter` with `limit: null`, which FastAPI ≥ 0.151 rejects with a 422
(prefect 3.8.8's server declares `limit: int = Body(None)`), so this test registers the `bulk`
entry of deploy/prefect.yaml through the client's `create_deployment`, with the file's own
entrypoint, pull step and tags.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from flows.transition import tags_for, transition_flow
from ketnap.context import use_engine
from ketnap.prefect_server import LocalPrefectServer
from models.audit.trail import timeline, verify
from models.database import make_engine
from models.requests import store_request
from models.tables import TransitionRequestRow
from models.transitions import TransitionRequest
from tests.conftest import PG_ADMIN_URL
from tests.orchestration.conftest import free_port
from tests.support import SECRETARY, add, import_demo_org

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "deploy" / "prefect.yaml"
REQUEST = TransitionRequestRow.__table__
CELL = "cb-ban-na-la"
EVENT = "nominate_for_course"
GIVEN_NAMES = ["An", "Bình", "Chiến", "Dũng", "Giang", "Hải", "Hiếu", "Hoàng", "Hùng", "Khánh", "Khoa", "Lâm",
               "Long", "Mạnh", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Tâm", "Thắng", "Tuấn"]
N = len(GIVEN_NAMES)                 # candidates, one transition request each
WORKER_LIMIT = 4                     # concurrent flow runs per worker (`prefect worker start --limit`)
BUDGET = 400.0                       # a bound against hanging for ever (not a timing claim): a loaded machine needs minutes
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


# --------------------------------------------------------------------------- helpers

def _pg_admin():
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _children() -> dict[int, list[int]]:
    """Parent pid → child pids, from /proc (no psutil here)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _freeze_tree(pid: int) -> list[int]:
    """SIGSTOP a process and everything it started (flow runs live in their own sessions, so a
    process-group signal would miss them), repeating until nothing new appears. Returns the pids."""
    _signal_all([pid], signal.SIGSTOP)
    frozen: set[int] = set()
    while True:
        found = set(_descendants(pid)) - frozen
        if not found:
            break
        _signal_all(sorted(found), signal.SIGSTOP)
        frozen |= found
    return [pid, *sorted(frozen)]


def _kill_tree(pid: int) -> int:
    """SIGKILL a process and everything it started; returns how many descendants died with it."""
    pids = _freeze_tree(pid)
    _signal_all(pids, signal.SIGKILL)
    return len(pids) - 1


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _bulk_spec() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The `transition/bulk` entry of deploy/prefect.yaml and the file's pull steps."""
    spec = yaml.safe_load(PREFECT_YAML.read_text())
    [bulk] = [d for d in spec["deployments"] if d["entrypoint"] == "flows/transition.py:transition_flow"]
    return bulk, spec["pull"]


async def _deploy_bulk(pool: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.workers.process import ProcessWorker

    bulk, pull = _bulk_spec()
    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(
            name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
        flow_id = await client.create_flow_from_name(transition_flow.name)
        await client.create_deployment(
            flow_id=flow_id, name=bulk["name"], entrypoint=bulk["entrypoint"], work_pool_name=pool,
            work_queue_name=bulk["work_pool"].get("work_queue_name"), tags=bulk["tags"], pull_steps=pull,
            job_variables=bulk["work_pool"].get("job_variables") or {},
            parameter_openapi_schema=transition_flow.parameters.model_dump_for_openapi(),
        )
    return f"{transition_flow.name}/{bulk['name']}"


async def _online_workers(pool: str) -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import WorkerFilter, WorkerFilterStatus

    async with get_client() as client:
        # limit and offset explicit: FastAPI 0.154 refuses the client's default nulls (see the module doc).
        workers = await client.read_workers_for_work_pool(
            pool, worker_filter=WorkerFilter(status=WorkerFilterStatus(any_=["ONLINE"])), limit=10, offset=0)
    return len(workers)


async def _run_states(tag: str) -> dict[str, tuple[str, int | None]]:
    """flow run id → (state type, pid of its process), for the runs of this test (all carry `tag`)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.client.schemas.sorting import FlowRunSort

    async with get_client() as client:
        # sort, limit and offset explicit: FastAPI 0.154 refuses the client's default nulls.
        runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[tag])),
                                           sort=FlowRunSort.ID_DESC, limit=200, offset=0)
    out: dict[str, tuple[str, int | None]] = {}
    for r in runs:
        pid = r.infrastructure_pid.rsplit(":", 1)[-1] if r.infrastructure_pid else ""
        out[str(r.id)] = (r.state_type.value if r.state_type else "NONE", int(pid) if pid.isdigit() else None)
    return out


def _types(states: dict[str, tuple[str, int | None]]) -> Counter[str]:
    return Counter(state for state, _ in states.values())


def _statuses(engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(conn.execute(select(REQUEST.c.status)).scalars())


# --------------------------------------------------------------------------- fixtures

@pytest.fixture
def prefect_pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the Prefect server, with the pg_trgm extension it needs."""
    name = f"ketnap_prefect_{os.getpid()}_{free_port()}"
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - no server: the pg_url fixture's policy applies (skip, or fail in CI)
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        db = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg", database=name)
        eng = create_engine(db, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        eng.dispose()
        yield (make_url(PG_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
               .render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def prefect_on_postgres(prefect_pg_database: str, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalPrefectServer]:
    """`prefect server start` on a free port with PREFECT_SERVER_DATABASE_CONNECTION_URL on PostgreSQL
    (LocalPrefectServer copies this process's environment into the server's)."""
    server = LocalPrefectServer(tmp_path / "prefect-server", "127.0.0.1", free_port())
    try:
        with monkeypatch.context() as m:
            m.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", prefect_pg_database)
            server.start(timeout=90)
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- the test

def test_two_process_workers_on_postgres_one_killed_mid_burst_every_request_applied_once(
        pg_url: str, prefect_on_postgres: LocalPrefectServer, tmp_path: Path) -> None:
    from prefect.deployments import run_deployment
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.sweeps import link_pending_requests

    started = time.monotonic()
    deadline = started + BUDGET
    timings: dict[str, float] = {}                   # seconds; (b), the server on PostgreSQL, is the fixture
    api_url = prefect_on_postgres.api_url
    pool = "ketnap"                                   # deploy/prefect.yaml's pool, on this test's own server
    run_tag = f"test-run:{os.getpid()}-{int(time.time())}"
    engine = make_engine(pg_url)
    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        # (a) ketnap's data: the demo commune and N candidates of one cell, one queued request each.
        import_demo_org(engine)
        candidates = [add(engine, full_name=f"Lò Văn {given}") for given in GIVEN_NAMES]
        requests: dict[int, str] = {}
        for cid in candidates:
            request_id, _, is_new = store_request(engine, TransitionRequest(cid, EVENT, date(2025, 10, 1), SECRETARY))
            assert is_new
            requests[cid] = request_id
        timings["data"] = time.monotonic() - started

        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            # (c) the process work pool and the `transition/bulk` deployment of deploy/prefect.yaml.
            deployment = asyncio.run(_deploy_bulk(pool))

            # (d) two workers; the ketnap database and the checkout come from *their* environment.
            for i in range(2):
                log = tmp_path / f"worker-{i}.log"
                env = os.environ | {
                    "PREFECT_API_URL": api_url,
                    "PREFECT_HOME": str(tmp_path / f"worker-{i}-home"),
                    "PREFECT_WORKER_QUERY_SECONDS": "1",
                    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "KETNAP_DATABASE_URL": pg_url,
                    "KETNAP_CHECKOUT": str(REPO),
                }
                env.pop("PREFECT_SERVER_DATABASE_CONNECTION_URL", None)
                with open(log, "ab") as out:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process",
                         "--name", f"test-worker-{i}", "--limit", str(WORKER_LIMIT)],
                        cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
                workers.append((proc, log))
            while asyncio.run(_online_workers(pool)) < 2:
                for proc, log in workers:
                    assert proc.poll() is None, f"a worker exited early:\n{_tail(log)}"
                assert time.monotonic() < deadline, "the workers did not come online"
                time.sleep(0.5)
            timings["workers_online"] = time.monotonic() - started

            # (e) the burst: one run per request, ids only, the candidate's tags, the request as idempotency key.
            burst_start = time.monotonic()
            run_ids: dict[int, str] = {}
            for cid, request_id in requests.items():
                run = run_deployment(deployment, parameters={"request_id": request_id, "cell_id": CELL},
                                     tags=[*tags_for(cid, CELL, EVENT), run_tag], timeout=0, as_subflow=False,
                                     idempotency_key=f"transition-request:{request_id}")
                run_ids[cid] = str(run.id)
            # Submitting the same request again is recognised by Prefect too (same flow, same key).
            again = run_deployment(deployment, parameters={"request_id": requests[candidates[0]], "cell_id": CELL},
                                   tags=[run_tag], timeout=0, as_subflow=False,
                                   idempotency_key=f"transition-request:{requests[candidates[0]]}")
            assert str(again.id) == run_ids[candidates[0]]
            timings["burst_submitted"] = time.monotonic() - burst_start

            # (f) once a few runs have completed, freeze the victim with its flow-run processes; if it then
            # holds a Running run (its own process, by infrastructure_pid) kill them all with SIGKILL,
            # otherwise let it go on and look again. After many looks a Pending run will do.
            victim, victim_log = workers[0]
            looks = 0
            while True:
                states = asyncio.run(_run_states(run_tag))
                done = sum(state in TERMINAL for state, _ in states.values())
                assert victim.poll() is None, f"the worker to kill exited by itself:\n{_tail(victim_log)}"
                assert done < N, "every run finished before a worker could be killed mid-burst"
                assert time.monotonic() < deadline, f"no run finished in time: {_types(states)}"
                if done >= 3:
                    looks += 1
                    frozen = _freeze_tree(victim.pid)
                    time.sleep(0.3)                                 # let requests already sent land
                    states = asyncio.run(_run_states(run_tag))      # the victim's runs cannot move now
                    held = {rid: state for rid, (state, pid) in states.items()
                            if state in ("PENDING", "RUNNING") and pid in frozen}
                    if "RUNNING" in held.values() or (held and looks > 50):
                        break
                    _signal_all(frozen, signal.SIGCONT)
                time.sleep(0.1)
            killed_children = _kill_tree(victim.pid)
            victim.wait(10)
            at_kill = _types(states)
            timings["killed_at"] = time.monotonic() - burst_start

            # (g) the survivor drains the queue; what the dead worker held stays Pending/Running for ever.
            survivor, survivor_log = workers[1]
            quiet_since = None
            while True:
                states = asyncio.run(_run_states(run_tag))
                waiting = sum(state == "SCHEDULED" for state, _ in states.values())
                busy = _descendants(survivor.pid)
                assert survivor.poll() is None, f"the surviving worker died:\n{_tail(survivor_log)}"
                if waiting == 0 and not busy:
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since > 3:
                        break
                else:
                    quiet_since = None
                assert time.monotonic() < deadline, (
                    f"the surviving worker did not drain the queue: {_types(states)}\n{_tail(survivor_log)}")
                time.sleep(0.5)
            after_drain = _types(states)
            stuck = {rid for rid, (state, _) in states.items() if state not in TERMINAL}
            # What the dead worker held never finishes in Prefect (no heartbeat automation here).
            assert set(held) <= stuck, (held, stuck)
            before_link = _statuses(engine)
            timings["drained"] = time.monotonic() - burst_start

            # The remedy for runs a dead worker took with it: the product's reconciler, in this process.
            with use_engine(engine):
                linked = asyncio.run(link_pending_requests(max_age_hours=24, min_age_seconds=0))
            timings["linked"] = time.monotonic() - burst_start
            # Send this process's queued logs and events now, while the server is still up.
            APILogWorker.drain_all(timeout=10)
            EventsWorker.drain_all(timeout=10)

        # (h) exactly once, all applied, every chain intact.
        with engine.connect() as conn:
            rows = conn.execute(select(REQUEST.c.candidate_id, REQUEST.c.status, REQUEST.c.linked,
                                       REQUEST.c.flow_run_id)).all()
            transitions = {cid: [e for e in timeline(conn, cid) if e["kind"] == "transition" and e["event"] == EVENT]
                           for cid in candidates}
        assert {cid: len(events) for cid, events in transitions.items()} == {cid: 1 for cid in candidates}
        assert all(events[0]["stage_after"] != events[0]["stage_before"] for events in transitions.values())
        assert len(rows) == N and {r.status for r in rows} == {"applied"}, Counter(r.status for r in rows)
        assert all(r.linked and r.flow_run_id for r in rows)          # each step names the flow run that made it
        assert all(events[0]["flow_run_id"] for events in transitions.values())
        assert verify(engine).ok
        # The reconciler ran exactly the requests left queued by the dead runs (applied or replayed now).
        assert linked == {"linked": before_link["queued"], "expired": 0}
        timings["total"] = time.monotonic() - started
        print(f"\n[workers-postgres] {N} requests, worker limit {WORKER_LIMIT}; killed worker took "
              f"{killed_children} processes with it (after {looks} look(s)) holding runs {dict(Counter(held.values()))}; "
              f"Prefect states at the kill {dict(at_kill)}, after the "
              f"drain {dict(after_drain)}; runs left unfinished {len(stuck)}; requests before linking "
              f"{dict(before_link)}; link_pending_requests {linked}; timings (s) "
              + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    except BaseException:
        for proc, log in workers:
            print(f"\n--- {log.name} (exit {proc.poll()}) ---\n{_tail(log)}")
        print(f"\n--- prefect server ---\n{_tail(prefect_on_postgres.home / 'server.log')}")
        raise
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                _kill_tree(proc.pid)
                proc.wait(10)
        engine.dispose()
