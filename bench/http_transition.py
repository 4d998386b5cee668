"""Benchmark: a secretary's transition over HTTP under concurrent load, against GET /healthz under the same load.

Set-up, all fresh for the run and removed after it: a local Prefect server (`prefect server
start` on a free port, its own PREFECT_HOME), a SQLite ketnap database with the demo
organisation, candidates at stage `opinions` (taken there by the core transition function, no
Prefect) spread over three cells (Pá Công, Nà La, Huổi Hao)
and one secretary account per cell with an API token. The web app runs as `ketnap serve` runs
it (`ketnap.web_server.WebServer`: uvicorn in a background thread) in a child process of its
own, so that the load generator does not share the server's GIL; orchestration is on (the
default `auto`), PREFECT_API_URL points at the local server.

Load: for each concurrency level C (`--clients`), C clients in this process (asyncio, one
keep-alive `httpx.AsyncClient` each, so one connection each) send requests back to back over
loopback:
- transition: `POST /api/v1/candidates/{id}/transitions` with `summarise_opinions`, a different
  candidate each time, the token of that candidate's cell's secretary and an idempotency key.
  Timed from sending the request to having the whole 201 response: the request stored, the
  async transition flow run in the request's worker thread (flow run and task runs recorded in
  Prefect, step applied, audit event, Prefect event), the outcome recorded, the result replayed.
  `summarise_opinions` produces form 5-KNĐ, so the timed request includes rendering and storing
  that document (the design target: "first document rendered").
- baseline: `GET /healthz` (one `SELECT 1` in a worker thread), the same number of requests at
  the same concurrency. The two alternate in `--rounds` blocks so that background load on a
  shared machine falls on both alike.
A warm-up (a few transitions one at a time, then one block of each at the highest concurrency)
comes first and is not counted.

Afterwards the benchmark checks, in the ketnap database, that every timed and warm-up
transition was committed exactly once: one stored request per candidate (status applied,
linked, the flow run id the response gave), one `transition` audit event per candidate that
names the same flow run, and the candidate at `awareness_course`; and, in Prefect, that each
of those flow runs exists and is COMPLETED. Responses are counted by their `orchestration`
value ("flow_run", or "deferred" when the step fell back to the direct path); the server
process also counts the Prefect client's retried requests (the embedded server answers 503
when its SQLite database is locked; the client waits about 2 s before trying again) and the
fallback warnings of flows.submit.

Prints per level p50 / p95 / max in milliseconds, throughput (requests/s over the blocks'
wall time) and ratios against /healthz (absolute figures are noisy on shared machines), and
whether the design target (p95 ≤ 250 ms) is met at each level.
Usage: python bench/http_transition.py [--clients 4 8] [--requests 200] [--rounds 4]
"""

from __future__ import annotations

import os

os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"           # before prefect is imported anywhere

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import faulthandler  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from ketnap.prefect_server import LocalPrefectServer  # noqa: E402

TARGET_P95 = 0.250
EVENT, ON = "summarise_opinions", date(2026, 1, 5)
FORM = "5-KNĐ"
# untimed steps that bring each candidate from `source` to `opinions`
PREPARE = (
    ("nominate_for_course", date(2025, 10, 1), {}),
    ("record_awareness_certificate", date(2025, 11, 3), {"certificate_number": "CN-1"}),
    ("complete_file", date(2025, 12, 1), {"application_on": date(2025, 11, 10), "cv_certified_on": date(2025, 11, 20),
                                          "background_verified_on": date(2025, 11, 25)}),
)
WARM_UP_SEQUENTIAL = 3
SECRET_KEY = "bench-secret-key-for-signed-links-0123456789"
# cell → (village, two sponsoring members of the cell)
CELLS = {
    "cb-ban-pa-cong": ("ban-pa-cong", "PC01", "PC02"),
    "cb-ban-na-la": ("ban-na-la", "NL01", "NL02"),
    "cb-ban-huoi-hao": ("ban-huoi-hao", "HH01", "HH02"),
}


# --- the server process ---------------------------------------------------------------------------

class Counting(logging.Filter):
    """Counts the Prefect client's retried requests and the submit path's fallbacks; lets warnings through."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "retryable" in message:
            self.counts["client_retries"] += 1
        if record.name == "ketnap.orchestration" and "applying directly" in message:
            self.counts["fallbacks"] += 1
        return record.levelno >= logging.WARNING


def serve(port: int) -> None:
    """The child process: the web app (settings from the environment) until stdin closes; then its counts."""
    from prefect import flow  # noqa: F401 - configures Prefect's loggers (before the counter is attached)

    from ketnap.web_server import WebServer

    counter = Counting()
    client_log = logging.getLogger("prefect.client")
    client_log.setLevel(logging.DEBUG)                  # the retry notice is a debug record; the filter drops it
    client_log.addFilter(counter)
    logging.getLogger("ketnap.orchestration").addFilter(counter)
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # Ctrl-C reaches the parent, which stops us
    faulthandler.register(signal.SIGUSR1)              # `kill -USR1 <pid>` prints every thread's stack (a stuck run)
    server = WebServer("127.0.0.1", port).start(timeout=60)
    print("ready", flush=True)
    sys.stdin.read()                                    # the parent closes our stdin to stop us
    server.stop()
    print(json.dumps(dict(counter.counts)), flush=True)


class ServerProcess:
    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=os.environ | env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"the web app process did not start (said {line!r}, exit {self.process.poll()})")

    def stop(self) -> dict[str, int]:
        if self.process.poll() is not None:
            return {}
        try:
            out, _ = self.process.communicate(input="", timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return {}
        lines = [x for x in out.splitlines() if x.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


# --- preparing the data ---------------------------------------------------------------------------

@dataclass
class Target:
    candidate_id: int
    cell: str


def prepare_database(url: str, per_cell: int) -> tuple[list[Target], dict[str, str]]:
    """Demo organisation, `per_cell` candidates at `opinions` in each cell, a secretary with a token per cell."""
    from models.access import Grant
    from models.accounts import NewAccount, create_account, issue_token
    from models.actors import Actor
    from models.database import make_engine, migrate
    from models.imports.candidates import CandidateIn, add_candidates
    from models.transitions import TransitionRequest, apply_transition
    from tests.support import candidate, import_demo_org

    admin = Actor("bench:admin", "admin")
    now = datetime.now(UTC)
    migrate(url)
    engine = make_engine(url)
    try:
        import_demo_org(engine)
        per_cell_ids: list[list[Target]] = []
        tokens: dict[str, str] = {}
        for n, (cell, (village, first, second)) in enumerate(CELLS.items()):
            items: list[tuple[int, CandidateIn]] = [(0, candidate(
                full_name=f"Người Thứ {n}-{i}", cell=cell, residence_village=village,
                sponsors=[{"member": first, "together_since": date(2015, 1, 1), "relation": "residence"},
                          {"member": second, "together_since": date(2016, 1, 1), "relation": "residence"}],
            )) for i in range(per_cell)]
            ids = add_candidates(engine, items, admin, now=now)
            for cid in ids:
                for event, on, inputs in PREPARE:
                    result = apply_transition(engine, TransitionRequest(cid, event, on, admin, inputs=inputs), now=now)
                    if not result.applied:
                        raise SystemExit(f"preparing candidate {cid}: {event} refused: {result.failures}")
            per_cell_ids.append([Target(cid, cell) for cid in ids])
            account_id = create_account(engine, NewAccount(
                f"bench.{village}", f"Bí thư {village}", f"bench-password-{n}-{uuid.uuid4().hex[:8]}",
                grants=(Grant("secretary", cell),)), admin, now=now)
            _, tokens[cell] = issue_token(engine, account_id, "bench", admin, now=now)
    finally:
        engine.dispose()
    # interleave the cells, so that concurrent requests come from different secretaries
    return [t for group in zip(*per_cell_ids, strict=True) for t in group], tokens


# --- load -----------------------------------------------------------------------------------------

def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process and its reaped children so far (Linux /proc; 0 elsewhere)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@dataclass
class Processes:
    """The pids whose CPU time is charged to each block: the web app, the Prefect server, this process."""
    web: int | None
    prefect: int | None

    def sample(self) -> tuple[float, float, float]:
        return cpu_seconds(self.web), cpu_seconds(self.prefect), time.process_time()


@dataclass
class Level:
    clients: int
    transition: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    transition_wall: float = 0.0
    health_wall: float = 0.0
    transition_cpu: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])    # web, Prefect, clients


@dataclass
class Outcomes:
    orchestration: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    runs: dict[int, tuple[str, str | None]] = field(default_factory=dict)   # candidate → (request id, flow run)


async def _transition(client: httpx.AsyncClient, target: Target, tokens: dict[str, str], out: Outcomes) -> float:
    body = {"event": EVENT, "on": ON.isoformat(), "inputs": {},
            "idempotency_key": f"bench:{target.candidate_id}:{uuid.uuid4().hex[:12]}"}
    start = time.perf_counter()
    response = await client.post(f"/api/v1/candidates/{target.candidate_id}/transitions", json=body,
                                 headers={"Authorization": f"Bearer {tokens[target.cell]}"})
    elapsed = time.perf_counter() - start
    out.statuses[response.status_code] += 1
    data = response.json()
    if response.status_code != 201 or data.get("status") != "applied":
        out.errors.append(f"candidate {target.candidate_id}: HTTP {response.status_code} {str(data)[:300]}")
    else:
        out.orchestration[data.get("orchestration")] += 1
        out.runs[target.candidate_id] = (data.get("request_id"), data.get("flow_run_id"))
    return elapsed


async def _health(client: httpx.AsyncClient, out: Outcomes) -> float:
    start = time.perf_counter()
    response = await client.get("/healthz")
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        out.errors.append(f"/healthz: HTTP {response.status_code}")
    return elapsed


async def _block(clients: list[httpx.AsyncClient], jobs: list[object], run: object) -> tuple[list[float], float]:
    """Run `jobs` with len(clients) clients taking the next job as soon as they are free; (latencies, wall)."""
    queue = list(reversed(jobs))
    samples: list[float] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            samples.append(await run(client, queue.pop()))  # type: ignore[operator]

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in clients))
    return samples, time.perf_counter() - start


async def load(base_url: str, targets: list[Target], tokens: dict[str, str], levels: list[int], requests: int,
               rounds: int, warm_up: int, out: Outcomes, procs: Processes) -> list[Level]:
    todo = iter(targets)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=4.0)  # uvicorn: 5 s
    timeout = httpx.Timeout(60.0)

    def transition_job(client: httpx.AsyncClient, target: Target) -> object:
        return _transition(client, target, tokens, out)

    def health_job(client: httpx.AsyncClient, _: object) -> object:
        return _health(client, out)

    clients = [httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) for _ in range(max(levels))]
    try:
        # warm-up: imports, the flow's and tasks' registration, connection pools, the health cache
        await _block(clients[:1], [next(todo) for _ in range(WARM_UP_SEQUENTIAL)], transition_job)
        top = clients[:max(levels)]
        await _block(top, [None] * warm_up, health_job)
        await _block(top, [next(todo) for _ in range(warm_up)], transition_job)
        results = []
        for n in levels:
            level = Level(n)
            sizes = [requests // rounds + (1 if r < requests % rounds else 0) for r in range(rounds)]
            for size in sizes:
                samples, wall = await _block(clients[:n], [None] * size, health_job)
                level.health += samples
                level.health_wall += wall
                before = procs.sample()
                samples, wall = await _block(clients[:n], [next(todo) for _ in range(size)], transition_job)
                level.transition_cpu = [t + b - a for t, a, b in zip(level.transition_cpu, before, procs.sample(),
                                                                       strict=True)]
                level.transition += samples
                level.transition_wall += wall
            results.append(level)
            print(f"  {n} clients: done", flush=True)
        return results
    finally:
        for c in clients:
            await c.aclose()


# --- checking ---------------------------------------------------------------------------------------

def verify(db_url: str, api_url: str, sent: list[int], out: Outcomes) -> list[str]:
    """Problems found: every sent transition committed exactly once, linked to a COMPLETED flow run."""
    from sqlalchemy import func, select

    from models.database import make_engine
    from models.tables import AuditEvent, Candidate, TransitionRequestRow
    from models.tables import Document as DocumentRow

    problems = list(out.errors[:10])
    request_t, audit_t, cand_t = TransitionRequestRow.__table__, AuditEvent.__table__, Candidate.__table__
    doc_t = DocumentRow.__table__
    engine = make_engine(db_url)
    try:
        with engine.connect().execution_options(readonly=True) as conn:
            requests = {r.candidate_id: r for r in conn.execute(
                select(request_t).where(request_t.c.candidate_id.in_(sent)))}
            per_candidate = dict(conn.execute(select(request_t.c.candidate_id, func.count())
                                              .where(request_t.c.candidate_id.in_(sent))
                                              .group_by(request_t.c.candidate_id)).all())
            audits: dict[int, list[str | None]] = {}
            for row in conn.execute(select(audit_t.c.candidate_id, audit_t.c.flow_run_id)
                                    .where(audit_t.c.candidate_id.in_(sent), audit_t.c.kind == "transition",
                                           audit_t.c.event == EVENT)):
                audits.setdefault(row.candidate_id, []).append(row.flow_run_id)
            stages = dict(conn.execute(select(cand_t.c.id, cand_t.c.stage).where(cand_t.c.id.in_(sent))).all())
            forms: dict[int, list[str]] = {}
            for row in conn.execute(select(doc_t.c.candidate_id, doc_t.c.form_id).where(doc_t.c.candidate_id.in_(sent))):
                forms.setdefault(row.candidate_id, []).append(row.form_id)
    finally:
        engine.dispose()
    for cid in sent:
        got = out.runs.get(cid)
        if got is None:
            continue                                   # already reported as an error response
        request_id, run_id = got
        row = requests.get(cid)
        if per_candidate.get(cid) != 1 or row is None or row.id != request_id:
            problems.append(f"candidate {cid}: {per_candidate.get(cid, 0)} stored requests (expected its one)")
        elif row.status != "applied" or not row.linked or not row.flow_run_id or row.flow_run_id != run_id:
            problems.append(f"candidate {cid}: request {row.status}, linked={row.linked}, run {row.flow_run_id} "
                            f"(response said {run_id})")
        if audits.get(cid) != [run_id] or run_id is None:
            problems.append(f"candidate {cid}: transition audit events {audits.get(cid)} (response's run {run_id})")
        if forms.get(cid) != [FORM]:
            problems.append(f"candidate {cid}: documents of the step {forms.get(cid)} (expected [{FORM}])")
        if stages.get(cid) != "cell_review":
            problems.append(f"candidate {cid}: stage {stages.get(cid)}")
    run_ids = [r for _, r in out.runs.values() if r]
    states: Counter[str] = Counter()
    with httpx.Client(base_url=api_url.rstrip("/") + "/", timeout=30) as prefect:
        for i in range(0, len(run_ids), 200):
            chunk = run_ids[i:i + 200]
            response = prefect.post("flow_runs/filter", json={"flow_runs": {"id": {"any_": chunk}}, "limit": 200})
            response.raise_for_status()
            found = {r["id"]: r.get("state_type") for r in response.json()}
            states.update(found.get(r, "MISSING") for r in chunk)
    if set(states) - {"COMPLETED"}:
        problems.append(f"flow runs in Prefect by state: {dict(states)}")
    return problems


# --- report -------------------------------------------------------------------------------------------

def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def report(levels: list[Level], requests: int, rounds: int, warm_up: int, out: Outcomes, counts: dict[str, int],
           problems: list[str], sent: int) -> None:
    print(f"\n{requests} transitions and {requests} /healthz per level in {rounds} alternating blocks, after "
          f"{WARM_UP_SEQUENTIAL} + {warm_up} warm-up transitions; {os.cpu_count()} cores; latencies in ms")
    for lv in levels:
        h50, h95, hmax = pct(lv.health, .5), pct(lv.health, .95), max(lv.health)
        t50, t95, tmax = pct(lv.transition, .5), pct(lv.transition, .95), max(lv.transition)
        h_rate, t_rate = len(lv.health) / lv.health_wall, len(lv.transition) / lv.transition_wall
        print(f"{lv.clients} concurrent clients")
        print(f"  GET /healthz (baseline):   p50 {h50 * 1e3:7.1f}  p95 {h95 * 1e3:7.1f}  max {hmax * 1e3:7.1f}   "
              f"{h_rate:7.1f} req/s")
        print(f"  POST …/transitions:        p50 {t50 * 1e3:7.1f}  p95 {t95 * 1e3:7.1f}  max {tmax * 1e3:7.1f}   "
              f"{t_rate:7.1f} req/s   = {t50 / h50:.0f} × / {t95 / h95:.0f} × /healthz (p50 / p95)")
        over = sum(1 for x in lv.transition if x > TARGET_P95)
        web_cpu, prefect_cpu, client_cpu = (x / len(lv.transition) * 1e3 for x in lv.transition_cpu)
        print(f"  CPU per transition: web app {web_cpu:.0f} ms, Prefect server {prefect_cpu:.0f} ms, "
              f"clients {client_cpu:.0f} ms; {sum(lv.transition_cpu) / lv.transition_wall:.2f} of "
              f"{os.cpu_count()} cores busy with them")
        print(f"  target p95 ≤ {TARGET_P95 * 1e3:.0f} ms: {'met' if t95 <= TARGET_P95 else 'NOT met'} "
              f"({over}/{len(lv.transition)} over {TARGET_P95 * 1e3:.0f} ms; "
              f"{t_rate / lv.clients:.2f} req/s per client → {lv.clients / t_rate * 1e3:.0f} ms mean by Little's law)")
    print(f"responses: HTTP {dict(out.statuses)}; orchestration {dict(out.orchestration)} "
          f"(of {sent} transitions sent, warm-up included)")
    print(f"server process: {counts.get('client_retries', 0)} Prefect client retries, "
          f"{counts.get('fallbacks', 0)} fallbacks to the direct path")
    if problems:
        print(f"CHECK FAILED ({len(problems)} problems):")
        for p in problems[:20]:
            print("  " + p)
    else:
        print(f"check: all {sent} transitions committed exactly once, each linked to its COMPLETED flow run")


@contextlib.contextmanager
def prefect_database(kind: str) -> Iterator[str | None]:
    """A fresh PostgreSQL database (with pg_trgm) for the Prefect server, dropped afterwards; None for SQLite."""
    if kind == "sqlite":
        yield None
        return
    from sqlalchemy import create_engine, make_url, text

    base = make_url(os.environ.get("KETNAP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    base = base.set(drivername="postgresql+psycopg")
    name = f"ketnap_bench_prefect_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        fresh = create_engine(base.set(database=name), isolation_level="AUTOCOMMIT")
        with fresh.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        fresh.dispose()
        yield base.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 8], help="concurrency levels (default 4 8)")
    parser.add_argument("--requests", type=int, default=200, help="timed transitions per level, and as many "
                                                                  "/healthz (default 200)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating blocks per level (default 4)")
    parser.add_argument("--prefect-db", choices=["sqlite", "postgres"], default="sqlite",
                        help="the Prefect server's database: its embedded SQLite (the default `ketnap serve`) or a "
                             "fresh PostgreSQL database (the at-scale topology; KETNAP_BENCH_POSTGRES_URL, default "
                             "postgresql://postgres@127.0.0.1:5432/postgres)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)       # the child process: serve on this port
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if min(args.clients) < 1 or args.requests < args.rounds:
        parser.error("--clients must be ≥ 1 and --requests ≥ --rounds")
    warm_up = 2 * max(args.clients)
    total = WARM_UP_SEQUENTIAL + warm_up + args.requests * len(args.clients)
    per_cell = math.ceil(total / len(CELLS))

    with tempfile.TemporaryDirectory(prefix="ketnap-bench-") as tmp, prefect_database(args.prefect_db) as prefect_db:
        if prefect_db:
            os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = prefect_db
        db_url = f"sqlite:///{Path(tmp) / 'ketnap.db'}"
        print(f"preparing {per_cell * len(CELLS)} candidates in {len(CELLS)} cells …", flush=True)
        targets, tokens = prepare_database(db_url, per_cell)
        prefect = LocalPrefectServer(Path(tmp) / "prefect-home", "127.0.0.1", free_port())
        web: ServerProcess | None = None
        counts: dict[str, int] = {}
        out = Outcomes()
        try:
            print(f"starting a Prefect server ({args.prefect_db}) at {prefect.api_url} …", flush=True)
            prefect.start()
            web = ServerProcess(free_port(), {
                "KETNAP_DATABASE_URL": db_url, "KETNAP_HOME": str(Path(tmp) / "home"),
                "KETNAP_SECRET_KEY": SECRET_KEY, "KETNAP_ORCHESTRATION": "auto",
                "KETNAP_ENVIRONMENT": "development", "PREFECT_API_URL": prefect.api_url,
            })
            web.wait_ready()
            print(f"web app at {web.url}; load: {', '.join(map(str, args.clients))} clients", flush=True)
            procs = Processes(web.process.pid, prefect.process.pid if prefect.process else None)
            levels = asyncio.run(load(web.url, targets, tokens, args.clients, args.requests, args.rounds, warm_up, out,
                                      procs))
            counts = web.stop()
            web = None
            sent = [t.candidate_id for t in targets[:total]]
            problems = verify(db_url, prefect.api_url, sent, out)
        finally:
            if web is not None:
                web.stop()
            prefect.stop()
    report(levels, args.requests, args.rounds, warm_up, out, counts, problems, len(sent))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
