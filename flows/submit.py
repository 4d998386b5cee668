"""Submitting a step: store the request, run the transition flow in-process, fall back when Prefect is down.

1. The request is stored first (status queued) with an idempotency key.
2. If the Prefect API answers, the transition flow runs in this process (about a tenth of a
   second; going through a deployment and a worker costs seconds and is kept for bulk work).
3. If it does not answer, or fails before finishing, the step is applied directly with the same
   key, so it is applied once whatever happened inside the flow; the user is told it is
   recorded and will be linked to a flow run when Prefect is back (the reconciler does that).
4. Either way the caller gets the full result (with the Vietnamese reasons of a refusal) by
   replaying the stored key: nothing is recomputed and nothing is applied twice.

Cost on the interactive path (bench/http_transition.py): Prefect builds a TLS context for every
client it creates, loading the whole CA bundle (20-60 ms of CPU, even for an http:// API), and
the flow engine makes an async and a sync client per flow run, httpx one per health check. The
flow run's clients are therefore made here with one TLS context per process, and Prefect's
settings are copied (`temporary_settings`, pydantic-settings re-reading the environment) only
when the API URL is not already Prefect's own.

A deadline bounds the wait for the flow run (`FLOW_DEADLINE_SECONDS`). The embedded Prefect
server (SQLite) can stop answering for about a minute: its event loop stalls while one of its
connections waits out SQLite's busy_timeout (60 s) for a write lock held by a transaction that
needs that same loop to commit. Its client times out after 60 s and retries up to five times (and
retries each 503 after 2, 4, 8, 16 s), so without a deadline one step could hold the secretary's
request for minutes. Past the deadline the flow keeps running in its
own thread (it links the step to its run when it finishes; the reconciler links it otherwise),
the step is applied directly as in 3., and further steps go the direct way for
`FLOW_COOLDOWN_SECONDS` instead of each waiting out the deadline.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import ssl
import threading
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import Engine, select

from ketnap.settings import get_settings
from models.requests import record_outcome, store_request
from models.snapshot import CANDIDATE
from models.transitions import TransitionRequest, TransitionResult, apply_transition

log = logging.getLogger("ketnap.orchestration")
FLOW_DEADLINE_SECONDS = 10.0      # the longest a step waits for its flow run before it is applied directly
FLOW_COOLDOWN_SECONDS = 30.0      # after a missed deadline, steps skip the flow run for this long
_health: dict[str, tuple[float, bool]] = {}
_stalled: dict[str, float] = {}   # API URL → monotonic time until which steps skip the flow run
_tls: dict[tuple[bool, str | None], ssl.SSLContext] = {}


class FlowDeadlineExceeded(TimeoutError):
    """The transition flow did not finish within FLOW_DEADLINE_SECONDS (it goes on in the background)."""


@dataclass(frozen=True)
class Submitted:
    result: TransitionResult
    request_id: str
    orchestration: str            # "flow_run": handled by a flow run · "deferred": Prefect unreachable, linked later
    flow_run_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return self.result.as_dict() | {"request_id": self.request_id, "orchestration": self.orchestration,
                                        "flow_run_id": self.flow_run_id}


def prefect_api_url() -> str | None:
    """The Prefect API to use: Prefect's own setting if set (env, profile, test harness), else ketnap's."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else get_settings().prefect_api_url


def prefect_reachable(url: str | None, *, cache_seconds: float = 5.0) -> bool:
    if not url or get_settings().orchestration == "off":
        return False
    now = time.monotonic()
    cached = _health.get(url)
    if cached and now - cached[0] < cache_seconds:
        return cached[1]
    try:
        ok = httpx.get(url.rstrip("/") + "/health", timeout=1.5, verify=_tls_context()).status_code == 200
    except httpx.HTTPError:
        ok = False
    _health[url] = (now, ok)
    return ok


def submit_transition(engine: Engine, request: TransitionRequest, *, now: datetime | None = None) -> Submitted:
    request_id, request, new = store_request(engine, request, now=now)
    url = prefect_api_url()
    if prefect_reachable(url) and not _cooling_down(url):
        with engine.connect() as conn:
            cell_id = conn.execute(select(CANDIDATE.c.cell_id).where(CANDIDATE.c.id == request.candidate_id)).scalar()
        if cell_id is not None:
            try:
                _run_flow_within_deadline(url, request_id, request.candidate_id, cell_id, request.event)
            except Exception as exc:  # noqa: BLE001 - any orchestration failure falls back to the direct path
                log.warning("transition flow for request %s failed (%s); applying directly", request_id,
                            type(exc).__name__)
                _health.pop(url or "", None)
    result = apply_transition(engine, request, now=now)     # a replay when the flow applied it
    if new and result.replayed:
        result = replace(result, replayed=False)            # the flow applied *this* request
    linked_run = record_outcome(engine, request_id, result, flow_run_id=None, now=now)
    if linked_run is None and result.applied and result.forms:
        # Prefect did not run it: the forms are still rendered now, so the secretary can print them;
        # the reconciler's flow run finds them there (a step's documents are rendered once).
        from models.dossier.store import render_step

        try:
            render_step(engine, result.candidate_id, result.audit_event_id, result.forms, now=now)
        except Exception as exc:  # noqa: BLE001 - the step is recorded; the flow run renders them later
            log.warning("rendering the forms of request %s failed (%s); the linking run will retry",
                        request_id, type(exc).__name__)
    return Submitted(result, request_id, "flow_run" if linked_run else "deferred", linked_run)


def _cooling_down(url: str | None) -> bool:
    return _stalled.get(url or "", 0.0) > time.monotonic()


def _run_flow_within_deadline(url: str | None, request_id: str, candidate_id: int, cell_id: str, event: str) -> None:
    """Run the transition flow in a thread of its own; wait for it at most FLOW_DEADLINE_SECONDS.

    The thread gets a copy of this thread's context (Prefect's settings and tags are context
    variables). Past the deadline it is left to finish on its own and FlowDeadlineExceeded is raised.
    """
    done, abandoned = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_run_flow(url, request_id, candidate_id, cell_id, event))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            failure.append(exc)
        finally:
            done.set()
            if abandoned.is_set():
                log.info("the transition flow of request %s ended after its deadline (%s)", request_id,
                         type(failure[0]).__name__ if failure else "finished")

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(run,), name=f"ketnap-flow-{request_id[:8]}", daemon=True).start()
    if not done.wait(FLOW_DEADLINE_SECONDS):
        abandoned.set()
        _stalled[url or ""] = time.monotonic() + FLOW_COOLDOWN_SECONDS
        raise FlowDeadlineExceeded(f"the transition flow of request {request_id} did not finish within "
                                   f"{FLOW_DEADLINE_SECONDS:g} s")
    if failure:
        raise failure[0]


async def _run_flow(url: str | None, request_id: str, candidate_id: int, cell_id: str, event: str) -> str | None:
    """Run the transition flow in this process; returns its run id."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    from flows.transition import run_transition_flow

    with ExitStack() as stack:
        current = get_current_settings().api.url
        if url != (str(current) if current else None):
            stack.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))
        async with _prefect_clients():
            outcome = await run_transition_flow(request_id, candidate_id, cell_id, event)
    return outcome.get("flow_run_id")


def _tls_context() -> ssl.SSLContext:
    """The TLS context Prefect's client builds for its API (same settings, same CA bundle), built once per process."""
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_TLS_INSECURE_SKIP_VERIFY

    key = (bool(PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value()), PREFECT_API_SSL_CERT_FILE.value() or None)
    context = _tls.get(key)
    if context is None:
        if key[0]:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            import certifi

            context = ssl.create_default_context(cafile=key[1] or certifi.where())
        _tls[key] = context
    return context


@asynccontextmanager
async def _prefect_clients() -> AsyncIterator[None]:
    """The flow run's Prefect clients (async, and sync for the result store), made with the shared TLS context.

    Entered as Prefect's client contexts, so the flow and task engines use them as they would clients of
    their own. `model_construct` leaves the contexts' httpx settings unset, as the engines' `get_client()`
    calls require to reuse them (the constructors would record the settings, and those calls would then
    build clients of their own). If this Prefect does not allow it, the engines make their own clients.
    """
    try:
        from prefect.client.orchestration import get_client
        from prefect.context import AsyncClientContext, SyncClientContext

        settings = {"verify": _tls_context()}
        sync_context = SyncClientContext.model_construct(client=get_client(settings, sync_client=True))
        async_context = AsyncClientContext.model_construct(client=get_client(settings, sync_client=False))
    except Exception as exc:  # noqa: BLE001 - only slower without them
        log.debug("Prefect clients not shared (%s); the flow engine makes its own", exc)
        yield
        return
    with sync_context:
        async with async_context:
            yield
