"""A candidate's flow history: audit events joined with the Prefect flow runs behind them.

Our audit table is the record; Prefect's runs (state, start, duration, logs) are supporting
evidence, read from the API. Runs tagged with the candidate that no audit event names (a crashed
run, a run that only replayed) are listed too, so nothing Prefect did for the candidate is hidden.
`read_flow_runs` never fails: when Prefect is off, does not answer or errs, it says so and the
history is shown from the database alone.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterTags,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.sorting import FlowRunSort, LogSort

log = logging.getLogger(__name__)
LOG_LINES = 50              # log lines kept per flow run
LOG_LINE_CHARS = 1000
READ_TIMEOUT = 15.0         # seconds for all the reads of one history


def _run(r: Any) -> dict[str, Any]:
    return {
        "id": str(r.id), "name": r.name, "state": r.state_name, "state_type": str(r.state_type.value) if r.state_type else None,
        "start": r.start_time, "end": r.end_time,
        "duration_s": round(r.total_run_time.total_seconds(), 3) if r.total_run_time else None, "tags": sorted(r.tags),
    }


async def _logs(client: Any, run_id: str, cap: int) -> dict[str, Any]:
    found = await client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)])),
                                   limit=cap + 1, sort=LogSort.TIMESTAMP_ASC)
    return {"lines": [{"time": entry.timestamp, "level": logging.getLevelName(entry.level), "name": entry.name,
                       "message": entry.message[:LOG_LINE_CHARS]} for entry in found[:cap]],
            "truncated": len(found) > cap}


async def flow_runs_for(candidate_id: int, run_ids: set[str], *, logs: bool = False,
                        log_lines: int = LOG_LINES) -> dict[str, dict[str, Any]]:
    """Flow runs tagged `candidate:<id>`, plus any named by the audit trail, keyed by run id.
    With `logs`, each run also carries its first `log_lines` log lines (and whether there were more)."""
    async with get_client() as client:
        tagged = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"candidate:{candidate_id}"])),
            sort=FlowRunSort.START_TIME_ASC, limit=200)
        runs = {str(r.id): _run(r) for r in tagged}
        missing = [rid for rid in run_ids if rid not in runs]
        if missing:
            named = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=missing)),
                                                sort=FlowRunSort.START_TIME_ASC, limit=200)
            runs |= {str(r.id): _run(r) for r in named}
        if logs and runs:
            found = await asyncio.gather(*(_logs(client, rid, log_lines) for rid in runs))
            for rid, lines in zip(runs, found, strict=True):
                runs[rid]["logs"] = lines
    return runs


NOTES = {
    "off": "Máy chủ này không dùng hệ thống điều phối (Prefect): không có lượt chạy quy trình để đọc.",
    "unreachable": "Không đọc được các lượt chạy quy trình: hệ thống điều phối (Prefect) không phản hồi. "
                   "Lịch sử dưới đây lấy từ cơ sở dữ liệu của ketnap và vẫn đầy đủ.",
    "error": "Không đọc được các lượt chạy quy trình: hệ thống điều phối (Prefect) trả lời lỗi. "
             "Lịch sử dưới đây lấy từ cơ sở dữ liệu của ketnap và vẫn đầy đủ.",
}


def _run_sync(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion from synchronous code, also when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def read_flow_runs(candidate_id: int, run_ids: set[str], *, logs: bool = True, log_lines: int = LOG_LINES,
                   timeout: float = READ_TIMEOUT) -> dict[str, Any]:
    """{"status": ok | off | unreachable | error, "note": a Vietnamese sentence or None, "runs": by id or None}.

    Never raises: the history must render whatever Prefect does."""
    from ketnap.settings import get_settings

    if get_settings().orchestration == "off":
        return {"status": "off", "note": NOTES["off"], "runs": None}
    try:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        from flows.submit import prefect_api_url, prefect_reachable

        url = prefect_api_url()
        if not prefect_reachable(url):
            return {"status": "unreachable", "note": NOTES["unreachable"], "runs": None}
        with temporary_settings(updates={PREFECT_API_URL: url}):
            runs = _run_sync(asyncio.wait_for(flow_runs_for(candidate_id, run_ids, logs=logs, log_lines=log_lines),
                                              timeout))
    except Exception as exc:  # noqa: BLE001 - whatever Prefect does, the history is still shown
        log.warning("flow runs of candidate %s could not be read: %s: %s", candidate_id, type(exc).__name__, exc)
        return {"status": "error", "note": NOTES["error"], "runs": None}
    return {"status": "ok", "note": None, "runs": runs}


def attach(history: dict[str, Any], flow: dict[str, Any]) -> dict[str, Any]:
    """Put each event's flow run (None when Prefect was not read) on the history, and the runs no event names."""
    runs = flow["runs"]
    used: set[str] = set()
    for e in history["events"]:
        e["flow_run"] = None
        if e["flow_run_id"] and runs is not None:
            e["flow_run"] = runs.get(e["flow_run_id"], {"id": e["flow_run_id"], "state": None, "missing": True})
            used.add(e["flow_run_id"])
    others = [] if runs is None else sorted((r for rid, r in runs.items() if rid not in used),
                                            key=lambda r: str(r["start"]))
    history["flow_runs"] = {"status": flow["status"], "note": flow["note"], "other": others,
                            "count": 0 if runs is None else len(runs)}
    return history


def join(timeline: list[dict[str, Any]], runs: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Audit events with their flow run (None when Prefect could not be read), and unmatched runs."""
    used: set[str] = set()
    events = []
    for e in timeline:
        run = None
        if e.get("flow_run_id") and runs is not None:
            run = runs.get(e["flow_run_id"], {"id": e["flow_run_id"], "state": "not found in Prefect"})
            used.add(e["flow_run_id"])
        events.append(e | {"flow_run": run})
    others = [] if runs is None else [r for rid, r in runs.items() if rid not in used]
    return {"events": events, "other_flow_runs": sorted(others, key=lambda r: str(r["start"])),
            "prefect": "unreachable" if runs is None else "ok"}
