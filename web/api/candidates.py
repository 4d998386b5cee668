"""Candidates: list in scope, the file (an audited read), the steps open now, a step, documents and the dossier."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field

from ketnap import context
from models.scope import candidates_in_scope, sponsored_candidates
from web import services
from web.api.cells import _jsonable
from web.api.common import COMMON, ApiCaller, Id, Strict, errors
from web.render import download

router = APIRouter(tags=["candidates"])


class TransitionBody(Strict):
    event: str = Field(min_length=1, max_length=64, examples=["cell_approves"])
    on: date = Field(description="the step's effective date (the meeting or the decision)")
    inputs: dict[str, str | int | bool | None] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, min_length=8, max_length=128,
                                        description="a replay with the same key returns the first result")
    expected_version: int | None = Field(default=None, ge=1, description="refused (409) if someone acted since")
    reason: str | None = Field(default=None, max_length=2000)
    dry_run: bool = Field(default=False, description="check the guards without recording anything")


class NoteBody(Strict):
    meeting_on: date
    text: str = Field(min_length=1, max_length=4000)
    member_code: str | None = Field(default=None, max_length=64,
                                    description="the secretary records a sponsor's note: whose note it is")


@router.get("/candidates", responses=errors(401, 422))
def list_candidates(caller: ApiCaller, cell: str | None = Query(default=None, max_length=64),
                    stage: str | None = Query(default=None, max_length=48),
                    q: str | None = Query(default=None, max_length=100, description="name (diacritics ignored) or id"),
                    include_closed: bool = False) -> list[dict[str, Any]]:
    """Candidates in this account's scope (for a sponsor: the candidates it sponsors or helps)."""
    rows = candidates_in_scope(context.engine(), caller.principal, cell_id=cell, stage=stage, query=q,
                               include_closed=include_closed)
    if caller.principal.has("sponsor"):
        seen = {r["id"] for r in rows}
        rows += [r for r in sponsored_candidates(context.engine(), caller.principal) if r["id"] not in seen]
    keep = ("id", "full_name", "cell_id", "stage", "stage_label", "ruleset_version", "version")
    return [{k: r.get(k) for k in keep} for r in rows]


@router.get("/candidates/{candidate_id}", responses=COMMON)
def read_candidate(candidate_id: Id, caller: ApiCaller) -> dict[str, Any]:
    """The whole file: CV, stage, sponsors, deadlines, next steps, timeline. Every read is audited."""
    return _jsonable(services.casefile(caller, candidate_id, purpose="api read"))


@router.get("/candidates/{candidate_id}/actions", responses=COMMON)
def candidate_actions(candidate_id: Id, caller: ApiCaller,
                      on: date | None = Query(default=None, description="check as of this date (default today)")
                      ) -> list[dict[str, Any]]:
    """The steps open from the current stage: who records each, whether this account may, what already blocks it."""
    return services.actions(caller, candidate_id, on)


@router.post("/candidates/{candidate_id}/transitions", responses=errors(401, 403, 404, 409, 422))
def transition(candidate_id: Id, body: TransitionBody, caller: ApiCaller, response: Response) -> dict[str, Any]:
    """Record one step through the transition flow (or check it with dry_run). A refusal by the rules is
    answered 422 with `status: refused` and every failing guard's Vietnamese reason and citation."""
    out = services.transition(caller, candidate_id, body.event, body.on, dict(body.inputs),
                              key=body.idempotency_key, expected_version=body.expected_version, reason=body.reason,
                              dry_run=body.dry_run)
    if out["status"] in ("refused", "would_refuse"):
        response.status_code = 422
    elif out["status"] == "applied" and not out.get("replayed"):
        response.status_code = 201
    return _jsonable(out)


@router.get("/candidates/{candidate_id}/documents", responses=COMMON)
def list_documents(candidate_id: Id, caller: ApiCaller) -> list[dict[str, Any]]:
    """The forms rendered at each step, with their digests and versions."""
    return services.documents(caller, candidate_id)


@router.get("/candidates/{candidate_id}/documents/{document_id}", responses=COMMON,
            response_class=Response)
def download_document(candidate_id: Id, document_id: Id, caller: ApiCaller,
                      format: Literal["html", "pdf", "docx"] = "pdf") -> Response:  # noqa: A002
    """One stored form as HTML, PDF or DOCX (an audited read)."""
    content, media, name = services.document_file(caller, candidate_id, document_id, format)
    return download(content, media, name)


@router.get("/candidates/{candidate_id}/dossier", responses=COMMON, response_class=Response)
def download_dossier(candidate_id: Id, caller: ApiCaller, format: Literal["pdf", "zip"] = "pdf") -> Response:  # noqa: A002
    """The whole file: one PDF, or a ZIP of every form in HTML, PDF and DOCX with the checklist (an audited read)."""
    content, media, name = services.dossier_file(caller, candidate_id, format)
    return download(content, media, name)


@router.post("/candidates/{candidate_id}/notes", status_code=201, responses=COMMON)
def write_note(candidate_id: Id, body: NoteBody, caller: ApiCaller) -> dict[str, Any]:
    """A sponsor writes its note for a meeting; or the secretary records one a sponsor gave (member_code)."""
    if body.member_code:
        saved = services.secretary_note(caller, candidate_id, body.member_code, body.meeting_on, body.text)
    else:
        saved = services.sponsor_note(caller, candidate_id, body.meeting_on, body.text)
    return _jsonable({k: saved[k] for k in ("candidate_id", "member_id", "meeting_on", "audit_event_id")})


@router.get("/candidates/{candidate_id}/history", responses=COMMON)
def candidate_history(candidate_id: Id, caller: ApiCaller) -> dict[str, Any]:
    """The full history (an audited read): every audit event with its flow run, documents, notifications,
    sponsors' notes, deadlines, reads, and the candidate's hash chain verified (`verification.first_break`)."""
    from web.pages.history import history_for

    return _jsonable(history_for(caller, candidate_id, "api history"))
