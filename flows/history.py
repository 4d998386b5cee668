"""A candidate's flow history: audit events joined with the Prefect flow runs behind them.

Our audit table is the record; Prefect's runs (state, start, duration) are supporting evidence,
read from the API. Runs tagged with the candidate that no audit event names (a crashed run, a
run that only replayed) are listed too, so nothing Prefect did for the candidate is hidden.
"""

from __future__ import annotations

from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterTags
from prefect.client.schemas.sorting import FlowRunSort


def _run(r: Any) -> dict[str, Any]:
    return {
        "id": str(r.id), "name": r.name, "state": r.state_name, "state_type": str(r.state_type.value) if r.state_type else None,
        "start": r.start_time, "end": r.end_time,
        "duration_s": round(r.total_run_time.total_seconds(), 3) if r.total_run_time else None, "tags": sorted(r.tags),
    }


async def flow_runs_for(candidate_id: int, run_ids: set[str]) -> dict[str, dict[str, Any]]:
    """Flow runs tagged `candidate:<id>`, plus any named by the audit trail, keyed by run id."""
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
    return runs


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
