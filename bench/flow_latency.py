"""Benchmark: latency of one step through a Prefect flow run, against an empty flow in the same run.

Everything runs in this process against a fresh local Prefect server (`prefect server start` on a
free port, its own PREFECT_HOME in a temporary directory) and a fresh SQLite ketnap database with
the demo organisation:
- baseline: an empty async flow (`@flow async def empty(i)`), started the way the submit path
  starts one (`asyncio.run` from synchronous code), after a few warm-up runs.
- transition: `flows.submit.submit_transition` for `nominate_for_course`, one candidate per run:
  store the request, check the API's health (cached 5 s), run the transition flow in-process
  (apply the step, audit event, Prefect event, forms task, follow-ups task), then replay the key
  for the full result. The empty flow and the transition are timed alternately so background
  load on a shared machine falls on both alike.
- domain only: `models.transitions.apply_transition` for the same step on other candidates, no
  Prefect: what the flow adds is the difference.
- sync vs async: an empty synchronous flow (`def`, not `async def`) against the empty async flow;
  a small sample, each may take about a second. As a control, the same sync flow with flow-run
  heartbeats switched off (PREFECT_FLOWS_HEARTBEAT_FREQUENCY unset): a sync flow joins its
  heartbeat thread on exit, which sleeps in one-second steps.

Prints p50/p95 in seconds (absolute figures are noisy on shared machines) and ratios against the
empty async flow; also how many runs took over a second and how many API requests the Prefect
client retried (the embedded server answers 503 when its SQLite database is locked, and the client
waits about 2 s before trying again: this is what the p95 of a short run is made of).
Usage: python bench/flow_latency.py [--runs 60] [--sync-runs 8]
"""

from __future__ import annotations

import os

os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"           # before prefect is imported anywhere

import argparse  # noqa: E402
import asyncio  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prefect import flow  # noqa: E402
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings  # noqa: E402
from sqlalchemy import Engine  # noqa: E402

from flows.submit import submit_transition  # noqa: E402
from ketnap.context import use_engine  # noqa: E402
from ketnap.prefect_server import LocalPrefectServer  # noqa: E402
from models.calendar.working_days import vietnam_calendar  # noqa: E402
from models.database import make_engine, migrate  # noqa: E402
from models.imports.candidates import add_candidates  # noqa: E402
from models.transitions import TransitionRequest, apply_transition  # noqa: E402
from tests.support import NOW, SECRETARY, candidate, import_demo_org  # noqa: E402

WARM_UP = 3
STALL = 1.0                                # a run slower than this (seconds) is counted as a stall
EVENT, ON = "nominate_for_course", date(2025, 10, 1)


class RetryCounter(logging.Filter):
    """Counts the Prefect client's retried requests (a debug record) per phase; lets only warnings through."""

    def __init__(self) -> None:
        super().__init__()
        self.phase = ""
        self.counts: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if "retryable" in record.getMessage():
            self.counts[self.phase] += 1
        return False


RETRIES = RetryCounter()


@flow(name="bench-empty-async", persist_result=False)
async def empty(i: int) -> int:
    return i


@flow(name="bench-empty-sync", persist_result=False)
def empty_sync(i: int) -> int:
    return i


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def timed(fn: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def run_empty(i: int) -> None:
    assert asyncio.run(empty(i)) == i


def run_submit(engine: Engine, cid: int) -> None:
    submitted = submit_transition(engine, TransitionRequest(cid, EVENT, ON, SECRETARY), now=NOW)
    assert submitted.result.applied and submitted.orchestration == "flow_run", submitted.as_dict()


def run_domain(engine: Engine, cid: int) -> None:
    assert apply_transition(engine, TransitionRequest(cid, EVENT, ON, SECRETARY), now=NOW).applied


def prepare_database(path: Path, count: int) -> tuple[Engine, list[int]]:
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    import_demo_org(engine)
    ids = add_candidates(engine, [(0, candidate(full_name=f"Người Thứ {i}")) for i in range(count)], SECRETARY, now=NOW)
    vietnam_calendar()                     # built once per process; not part of a step
    return engine, ids


def measure(runs: int, sync_runs: int, tmp: Path) -> dict[str, list[float]]:
    engine, ids = prepare_database(tmp / "ketnap.db", 2 * (runs + WARM_UP))
    through_flow, direct = ids[: runs + WARM_UP], ids[runs + WARM_UP:]
    samples: dict[str, list[float]] = {"empty": [], "flow": [], "domain": [], "sync": [], "sync_nohb": []}
    try:
        with use_engine(engine):
            RETRIES.phase = "warm-up"
            for i in range(WARM_UP):                       # registers the flows and tasks, warms clients
                run_empty(-1 - i)
                run_submit(engine, through_flow[i])
                run_domain(engine, direct[i])
            for i in range(runs):
                RETRIES.phase = "empty"
                samples["empty"].append(timed(run_empty, i))
                RETRIES.phase = "flow"
                samples["flow"].append(timed(run_submit, engine, through_flow[WARM_UP + i]))
            RETRIES.phase = "domain"
            for cid in direct[WARM_UP:]:
                samples["domain"].append(timed(run_domain, engine, cid))
            RETRIES.phase = "sync"
            assert empty_sync(-1) == -1                    # warm-up
            for i in range(sync_runs):
                samples["sync"].append(timed(empty_sync, i))
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                for i in range(sync_runs):
                    samples["sync_nohb"].append(timed(empty_sync, i))
    finally:
        engine.dispose()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60, help="timed runs of the empty async flow, the transition "
                                                            "through the flow and the domain step (default 60)")
    parser.add_argument("--sync-runs", type=int, default=8, help="timed runs of the empty sync flow (default 8)")
    args = parser.parse_args()
    client_log = logging.getLogger("prefect.client")
    client_log.setLevel(logging.DEBUG)                  # the retry notice is a debug record; the filter drops it
    client_log.addFilter(RETRIES)
    with tempfile.TemporaryDirectory(prefix="ketnap-bench-") as tmp:
        server = LocalPrefectServer(Path(tmp) / "prefect-home", "127.0.0.1", free_port())
        try:
            print(f"starting a Prefect server at {server.api_url} …", flush=True)
            server.start()
            with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
                s = measure(args.runs, args.sync_runs, Path(tmp))
        finally:
            server.stop()

    e50, e95 = pct(s["empty"], 0.50), pct(s["empty"], 0.95)
    f50, f95 = pct(s["flow"], 0.50), pct(s["flow"], 0.95)
    d50, d95 = pct(s["domain"], 0.50), pct(s["domain"], 0.95)
    y50, n50 = pct(s["sync"], 0.50), pct(s["sync_nohb"], 0.50)

    def stalls(key: str) -> str:
        slow = sum(1 for x in s[key] if x > STALL)
        return f"{slow}/{len(s[key])} runs over {STALL:.0f} s, {RETRIES.counts[key]} client retries"

    print(f"runs: {args.runs} each after {WARM_UP} warm-up, {args.sync_runs} of the sync flow; {os.cpu_count()} cores")
    print(f"empty async flow (baseline):         p50 {e50:.3f} s, p95 {e95:.3f} s   ({stalls('empty')})")
    print(f"transition through the flow:         p50 {f50:.3f} s, p95 {f95:.3f} s "
          f"= {f50 / e50:.1f} × / {f95 / e95:.1f} × an empty async flow   ({stalls('flow')})")
    print(f"same step, domain only (no Prefect): p50 {d50:.4f} s, p95 {d95:.4f} s "
          f"(the flow and the submit path add {f50 - d50:.3f} s at p50)")
    print(f"empty sync flow:                     p50 {y50:.3f} s = {y50 / e50:.1f} × the empty async flow's p50 "
          f"(max {max(s['sync']):.3f} s)")
    print(f"same, flow-run heartbeats off:       p50 {n50:.3f} s = {n50 / e50:.1f} × (control: the heartbeat join)")
    print(f"target: p95 ≤ 0.25 s end to end ({'met' if f95 <= 0.25 else 'NOT met'} in this run)")


if __name__ == "__main__":
    main()
