"""The transition flow: every step a secretary takes is one short async flow run.

Its only parameter is the id of a stored transition request; its run name and tags carry ids
(`candidate:<id>`, `cell:<id>`, `event:<name>`), never names or CV facts. It applies the step
with the one transition function, emits `ketnap.candidate.<event>` (or `….refused`), then, as
tasks, renders the documents of the new stage and schedules what follows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import anyio
from prefect import flow, tags, task
from prefect.context import TagsContext
from prefect.events import emit_event
from prefect.runtime import flow_run

from ketnap.context import engine as default_engine
from ketnap.context import now as clock
from models.actors import SYSTEM
from models.procedure.engine import InputError, StageConflict
from models.requests import link_flow_run, load_request, record_failure, record_outcome
from models.transitions import (
    CandidateNotFound,
    IdempotencyKeyReused,
    TransitionResult,
    VersionConflict,
    apply_transition,
)

REJECTIONS = (InputError, StageConflict, VersionConflict, IdempotencyKeyReused, CandidateNotFound)

# Hooks the dossier and notification issues fill in. Their task runs only exist when there is a
# hook to run (a task run costs API round trips on the interactive path).
DocumentRenderer = Callable[[int, int, tuple[str, ...]], Awaitable[list[str]]]
DOCUMENT_RENDERERS: list[DocumentRenderer] = []      # (candidate_id, audit_event_id, forms) -> document hashes
FollowUp = Callable[[int, int], Awaitable[int]]
FOLLOW_UPS: list[FollowUp] = []                      # (candidate_id, audit_event_id) -> things scheduled


async def store_step_documents(candidate_id: int, audit_event_id: int, forms: tuple[str, ...]) -> list[str]:
    """The dossier's renderer: render the step's forms to HTML, store them, audit them."""
    from models.dossier.store import render_step

    return await anyio.to_thread.run_sync(
        lambda: render_step(default_engine(), candidate_id, audit_event_id, forms, now=clock()))


DOCUMENT_RENDERERS.append(store_step_documents)


def tags_for(candidate_id: int, cell_id: str, event: str) -> list[str]:
    return [f"candidate:{candidate_id}", f"cell:{cell_id}", f"event:{event}"]


@task(name="render-documents", persist_result=False)
async def render_documents(candidate_id: int, audit_event_id: int, forms: tuple[str, ...]) -> list[str]:
    """Render the forms the step produces; returns document hashes (the dossier issue supplies renderers)."""
    hashes: list[str] = []
    for renderer in DOCUMENT_RENDERERS:
        hashes += await renderer(candidate_id, audit_event_id, forms)
    return hashes


@task(name="schedule-follow-ups", persist_result=False)
async def schedule_follow_ups(candidate_id: int, audit_event_id: int) -> int:
    """Schedule what follows the step (reminders: the notification issue supplies the hooks).
    Statutory deadlines are stored by the transition itself and watched by the deadline sweep."""
    return sum([await hook(candidate_id, audit_event_id) for hook in FOLLOW_UPS])


def emit_transition_event(result: TransitionResult, cell_id: str) -> None:
    name = f"ketnap.candidate.{result.event}" + ("" if result.applied else ".refused")
    emit_event(
        event=name,
        resource={"prefect.resource.id": f"ketnap.candidate.{result.candidate_id}"},
        related=[{"prefect.resource.id": f"ketnap.cell.{cell_id}", "prefect.resource.role": "cell"}],
        payload={
            "status": result.status, "stage_before": result.stage_before, "stage_after": result.stage_after,
            "audit_event_id": result.audit_event_id, "ruleset": result.ruleset_version,
            "failure_codes": [f.code for f in result.failures],
        },
    )


@flow(name="transition", flow_run_name="transition-{request_id}", persist_result=False, log_prints=False)
async def transition_flow(request_id: str, cell_id: str = "") -> dict[str, Any]:
    """Apply one stored transition request. Returns ids and codes only."""
    engine = default_engine()
    run_id = str(flow_run.id)
    _, request = await anyio.to_thread.run_sync(load_request, engine, request_id)
    try:
        result = await anyio.to_thread.run_sync(
            lambda: apply_transition(engine, replace(request, flow_run_id=run_id), now=clock()))
    except REJECTIONS as exc:
        message, kind = str(exc), type(exc).__name__
        await anyio.to_thread.run_sync(lambda: record_failure(engine, request_id, message, flow_run_id=run_id))
        return {"status": "failed", "error": kind, "flow_run_id": run_id}
    linked = await anyio.to_thread.run_sync(lambda: record_outcome(engine, request_id, result, flow_run_id=run_id))
    if linked is None:
        # The step was applied before (Prefect was unreachable then): this run records the link.
        await anyio.to_thread.run_sync(
            lambda: link_flow_run(engine, request_id, result.audit_event_id, run_id, SYSTEM))
    emit_transition_event(result, cell_id or "unknown")
    documents: list[str] = []
    if result.applied and (not result.replayed or linked is None):
        # a new step, or one applied while Prefect was down that this run now links: its documents and
        # follow-ups are made here (both are idempotent: a step's documents are rendered once)
        # The candidate's tags belong to the flow run. Task runs carrying a fresh set of tags each
        # would make every task ask the server for tag concurrency slots (a round trip, and on the
        # embedded SQLite server an occasional 503 and a 2 s client retry).
        with TagsContext(current_tags=set()):
            if DOCUMENT_RENDERERS and result.forms:
                documents = await render_documents(result.candidate_id, result.audit_event_id, result.forms)
            if FOLLOW_UPS:
                await schedule_follow_ups(result.candidate_id, result.audit_event_id)
    return {"status": result.status, "audit_event_id": result.audit_event_id, "stage_after": result.stage_after,
            "replayed": result.replayed, "documents": len(documents), "flow_run_id": run_id}


async def run_transition_flow(request_id: str, candidate_id: int, cell_id: str, event: str) -> dict[str, Any]:
    """Run the flow in this process with the candidate's tags (an interactive step)."""
    with tags(*tags_for(candidate_id, cell_id, event)):
        return await transition_flow(request_id, cell_id)
