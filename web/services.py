"""What the pages and the API both do, with the same permission checks: one function per action.

Each function takes the caller, checks scope first (a file out of scope is "not found"), then
the role the procedure definition gives the step, then calls the domain: the same transition
flow as the CLI, the same audited reads.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ketnap import context
from ketnap.settings import get_settings
from models.access import act_role, may_see_cell
from models.calendar_in_force import current_calendar
from models.procedure.engine import Failure, Refused
from models.procedure.loader import get_ruleset
from models.scope import CandidateAccess, OutOfScope, candidate_access, cell_access
from models.snapshot import CANDIDATE
from models.transitions import (
    TransitionRequest,
    local_today,
    precheck_transition,
    preview_transition,
    recorded_result,
)
from web.errors import ApiError, FieldProblem, bad_field, forbidden, not_found
from web.security import Caller

NOTE_WINDOW_BEFORE = 62      # a sponsor writes for a meeting up to two months ahead …
NOTE_WINDOW_AFTER = 7        # … or a week after it (as the reminder link allows)


def today() -> date:
    return local_today(context.now())


def access(caller: Caller, candidate_id: int) -> CandidateAccess:
    try:
        return candidate_access(context.engine(), caller.principal, candidate_id)
    except OutOfScope:
        raise not_found() from None


def _candidate(candidate_id: int) -> Any:
    with context.engine().connect() as conn:
        return conn.execute(select(CANDIDATE.c.id, CANDIDATE.c.full_name, CANDIDATE.c.stage, CANDIDATE.c.cell_id,
                                   CANDIDATE.c.ruleset_version, CANDIDATE.c.version, CANDIDATE.c.last_event_on)
                            .where(CANDIDATE.c.id == candidate_id)).mappings().one()


def failure_dict(f: Failure) -> dict[str, Any]:
    return {"rule": f.rule, "code": f.code, "message": f.message, "cite": f.cite, "confidence": f.confidence,
            "details": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in f.details.items()}}


# --- reading ------------------------------------------------------------------------------------

def casefile(caller: Caller, candidate_id: int, purpose: str) -> dict[str, Any]:
    """The whole file (an audited read). Sponsors get the summary of `sponsor_view` instead."""
    from models.casefile import open_casefile

    acc = access(caller, candidate_id)
    if acc.read_role == "sponsor":
        raise forbidden("Người giới thiệu chỉ xem được phần nhận xét của mình.", "sponsors see their own notes only")
    return open_casefile(context.engine(), candidate_id, caller.principal.actor(acc.read_role), purpose=purpose,
                         now=context.now()) | {"read_role": acc.read_role}


def actions(caller: Caller, candidate_id: int, on: date | None = None) -> list[dict[str, Any]]:
    """The steps open from the candidate's stage: who records each, whether this caller may, what already fails."""
    acc = access(caller, candidate_id)
    if acc.read_role == "sponsor":
        raise forbidden("Người giới thiệu chỉ xem được phần nhận xét của mình.", "sponsors see their own notes only")
    cand = _candidate(candidate_id)
    rs = get_ruleset(cand["ruleset_version"])
    on = on or today()
    if cand["last_event_on"] and on < cand["last_event_on"]:
        on = cand["last_event_on"]
    out = []
    for event in rs.events_from(cand["stage"]):
        if event.actor == "system":
            continue
        role = act_role(caller.principal, event.actor, acc.cell_path)
        pre = precheck_transition(context.engine(), candidate_id, event.id, on, now=context.now())
        out.append({
            "event": event.id, "label": event.label, "actor": event.actor, "allowed": role is not None,
            "role": role, "cite": event.cite, "forms": list(event.forms),
            "inputs": [{"name": k, "label": v.label, "type": v.type, "required": v.required,
                        "default": _jsonable(pre.defaults.get(k)), "min": v.min, "max": v.max}
                       for k, v in event.inputs.items()],
            "blocked_by": [failure_dict(f) for f in pre.failures],
            "checked_on": on.isoformat(),
        })
    return out


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def board(caller: Caller, cell_id: str) -> dict[str, Any]:
    from models.board import cell_board

    try:
        role, _ = cell_access(context.engine(), caller.principal, cell_id)
    except OutOfScope:
        raise not_found("cell") from None
    return cell_board(context.engine(), cell_id, today()) | {"role": role}


# --- acting -------------------------------------------------------------------------------------

def _request(caller: Caller, acc: CandidateAccess, cand: Any, event_id: str, on: date, inputs: dict[str, Any], *,
             key: str | None, expected_version: int | None, reason: str | None) -> TransitionRequest:
    rs = get_ruleset(cand["ruleset_version"])
    try:
        event = rs.event(event_id)
    except KeyError:
        raise bad_field("event", "unknown_event", f"Không có bước “{event_id}” trong quy trình {rs.version}.",
                        f"unknown event {event_id!r} in rule set {rs.version}") from None
    role = act_role(caller.principal, event.actor, acc.cell_path)
    if role is None:
        raise forbidden(f"Bước “{event.label}” do {_who(event.actor)} ghi; tài khoản này không có quyền đó.",
                        f"the event {event_id} is recorded by the role for {event.actor}; this account does not hold it")
    if reason is not None and len(reason) > 2000:
        raise bad_field("reason", "too_long", "Lý do không quá 2000 ký tự.", "at most 2000 characters")
    return TransitionRequest(acc.candidate_id, event_id, on, caller.principal.actor(role), inputs=inputs,
                             idempotency_key=key, expected_version=expected_version, reason=reason or None)


def _who(actor: str) -> str:
    from web.render import WHO_ACTS

    return WHO_ACTS.get(actor, actor).lower()


def transition(caller: Caller, candidate_id: int, event: str, on: date, inputs: dict[str, Any], *,
               key: str | None = None, expected_version: int | None = None, reason: str | None = None,
               dry_run: bool = False) -> dict[str, Any]:
    """Check (dry_run) or record one step through the transition flow (applied directly if Prefect is down)."""
    acc = access(caller, candidate_id)
    cand = _candidate(candidate_id)
    request = _request(caller, acc, cand, event, on, inputs, key=key, expected_version=expected_version, reason=reason)
    return _run(request, dry_run)


def _run(request: TransitionRequest, dry_run: bool) -> dict[str, Any]:
    engine = context.engine()
    if dry_run:
        decision = preview_transition(engine, request, now=context.now())
        if isinstance(decision, Refused):
            return {"status": "would_refuse", "candidate_id": request.candidate_id, "event": request.event,
                    "failures": [failure_dict(f) for f in decision.failures]}
        return {"status": "would_apply", "candidate_id": request.candidate_id, "event": request.event,
                "stage_before": decision.stage_before, "stage_after": decision.stage_after, "forms": list(decision.forms),
                "failures": []}
    if get_settings().orchestration == "off":
        from models.transitions import apply_transition

        result = apply_transition(engine, request, now=context.now())
        if result.applied and result.forms and not result.replayed:     # what the flow's task does
            from models.dossier.store import render_step

            render_step(engine, result.candidate_id, result.audit_event_id, result.forms, now=context.now())
        out = result.as_dict() | {"orchestration": "off", "flow_run_id": None, "request_id": None}
    else:
        from flows.submit import submit_transition

        out = submit_transition(engine, request, now=context.now()).as_dict()
    out["failures"] = [_failure_out(f) for f in out["failures"]]
    rs = get_ruleset(out["ruleset_version"])
    out["stage_after_label"] = rs.stage(out["stage_after"]).label
    return out


def _failure_out(f: dict[str, Any]) -> dict[str, Any]:
    return f | {"details": {k: _jsonable(v) for k, v in f.get("details", {}).items()}}


def meeting_results(caller: Caller, cell_id: str, on: date, items: list[dict[str, Any]], *,
                    key: str | None = None) -> dict[str, Any]:
    """Record one meeting's results for several candidates: every step is checked first; if any would be
    refused or is not valid, nothing is recorded. Each step carries `key:<candidate>:<event>`, so
    sending the same batch again records nothing twice."""
    engine = context.engine()
    try:
        _, path = cell_access(engine, caller.principal, cell_id)
    except OutOfScope:
        raise not_found("cell") from None
    if may_see_cell(caller.principal, path) != "secretary":
        raise forbidden("Chỉ bí thư chi bộ ghi kết quả họp chi bộ.", "only the cell's secretary records its meeting")
    if not items:
        raise bad_field("results", "empty", "Chưa chọn hồ sơ nào.", "give at least one result")
    if len(items) > 200:
        raise bad_field("results", "too_many", "Không quá 200 hồ sơ một lần.", "at most 200 results at once")
    seen: set[int] = set()
    requests: list[TransitionRequest] = []
    checked: list[dict[str, Any]] = []
    blocked = False
    for n, item in enumerate(items):
        cid = item["candidate_id"]
        if cid in seen:
            raise bad_field(f"results[{n}].candidate_id", "duplicate", "Một hồ sơ chỉ ghi một lần trong một cuộc họp.",
                            f"candidate {cid} appears twice")
        seen.add(cid)
        acc = access(caller, cid)
        if acc.cell_id != cell_id:
            raise not_found()
        cand = _candidate(cid)
        step_key = f"{key}:{cid}:{item['event']}" if key else None
        request = _request(caller, acc, cand, item["event"], on, item.get("inputs") or {}, key=step_key,
                           expected_version=item.get("expected_version"), reason=item.get("reason"))
        try:
            done = recorded_result(context.engine(), request)      # the same batch sent again
            if done is not None:
                checked.append({"candidate_id": cid, "event": item["event"], "full_name": cand["full_name"],
                                "status": "would_apply" if done.applied else "would_refuse",
                                "failures": [failure_dict(f) for f in done.failures], "replay": True})
                blocked |= not done.applied
                requests.append(request)
                continue
            preview = _run(request, dry_run=True)
        except Exception as exc:  # noqa: BLE001 - each item's problem is reported, then nothing is applied
            from web.errors import from_domain

            err = from_domain(exc)
            if err is None:
                raise
            blocked = True
            checked.append({"candidate_id": cid, "event": item["event"], "full_name": cand["full_name"],
                            "status": "invalid", "error": err.body()["error"]})
            continue
        blocked |= preview["status"] != "would_apply"
        checked.append(preview | {"full_name": cand["full_name"]})
        requests.append(request)
    if blocked:
        raise ApiError(422, "batch_refused", "Có hồ sơ chưa đủ điều kiện hoặc nhập chưa đúng; chưa ghi hồ sơ nào.",
                       "at least one result would be refused or is not valid; nothing was recorded",
                       extra={"results": checked})
    results = []
    for request in requests:
        try:
            results.append(_run(request, dry_run=False) | {"full_name": _candidate(request.candidate_id)["full_name"]})
        except Exception as exc:  # noqa: BLE001 - someone acted between the check and the step
            from web.errors import from_domain

            err = from_domain(exc)
            if err is None:
                raise
            results.append({"candidate_id": request.candidate_id, "event": request.event, "status": "conflict",
                            "error": err.body()["error"]})
    return {"cell_id": cell_id, "on": on.isoformat(), "results": results,
            "applied": sum(1 for r in results if r.get("status") == "applied")}


# --- documents ----------------------------------------------------------------------------------

CONTENT_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
                 "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def documents(caller: Caller, candidate_id: int) -> list[dict[str, Any]]:
    from models.dossier.store import stored_documents

    acc = access(caller, candidate_id)
    if acc.read_role == "sponsor":
        raise forbidden("Người giới thiệu không tải văn bản của hồ sơ.", "sponsors do not download the file's documents")
    return [{k: _jsonable(v) for k, v in d.items()} for d in stored_documents(context.engine(), candidate_id)]


def document_file(caller: Caller, candidate_id: int, document_id: int, fmt: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of one stored form; the download is an audited read."""
    from models.casefile import record_read
    from models.dossier.dossier import file_stem
    from models.tables import Document

    if fmt not in CONTENT_TYPES:
        raise bad_field("format", "unknown_format", "Định dạng là html, pdf hoặc docx.", "format is html, pdf or docx")
    acc = access(caller, candidate_id)
    if acc.read_role == "sponsor":
        raise forbidden("Người giới thiệu không tải văn bản của hồ sơ.", "sponsors do not download the file's documents")
    table = Document.__table__  # type: ignore[attr-defined]
    with context.engine().connect() as conn:
        row = conn.execute(select(table.c.form_id, table.c.doc_index, table.c.html)
                           .where(table.c.id == document_id, table.c.candidate_id == candidate_id)).first()
    if row is None:
        raise not_found("document")
    record_read(context.engine(), candidate_id, caller.principal.actor(acc.read_role), f"download {row.form_id} {fmt}",
                now=context.now())
    stem = f"{file_stem(row.form_id, row.doc_index, row.doc_index > 1)}-hs{candidate_id}"
    if fmt == "html":
        return row.html.encode(), CONTENT_TYPES[fmt], f"{stem}.html"
    if fmt == "pdf":
        from models.dossier.pdf import pdf

        return pdf(row.html), CONTENT_TYPES[fmt], f"{stem}.pdf"
    from models.dossier.docx import docx

    return docx([row.html]), CONTENT_TYPES[fmt], f"{stem}.docx"


def dossier_file(caller: Caller, candidate_id: int, fmt: str) -> tuple[bytes, str, str]:
    """The whole file: one combined PDF, or a ZIP of every form in HTML, PDF and DOCX with the checklist."""
    from models.dossier.dossier import build, write
    from models.dossier.pdf import combined_pdf

    if fmt not in ("pdf", "zip"):
        raise bad_field("format", "unknown_format", "Định dạng là pdf hoặc zip.", "format is pdf or zip")
    acc = access(caller, candidate_id)
    if acc.read_role == "sponsor":
        raise forbidden("Người giới thiệu không tải văn bản của hồ sơ.", "sponsors do not download the file's documents")
    dossier = build(context.engine(), candidate_id, caller.principal.actor(acc.read_role), now=context.now())
    if fmt == "pdf":
        pages = [dossier.checklist_html] + [d.html for d in dossier.documents]
        return combined_pdf(pages), CONTENT_TYPES["pdf"], f"ho-so-{candidate_id}.pdf"
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in write(dossier, Path(tmp)):
            archive.write(path, path.name)
    return buffer.getvalue(), "application/zip", f"ho-so-{candidate_id}.zip"


# --- sponsors' notes ----------------------------------------------------------------------------

def note_meetings(cell_id: str) -> list[date]:
    """The meetings a note may be written for now: from a week ago to two months ahead."""
    from models.meetings import meetings_between

    day = today()
    return [m.on for m in meetings_between(context.engine(), day - timedelta(days=NOTE_WINDOW_AFTER),
                                           day + timedelta(days=NOTE_WINDOW_BEFORE), current_calendar(context.engine()),
                                           [cell_id])]


def sponsor_note(caller: Caller, candidate_id: int, meeting_on: date, text: str) -> dict[str, Any]:
    """A sponsor (logged in) writes the note for one of the cell's meetings."""
    from models import notes

    acc = access(caller, candidate_id)
    member = caller.principal.member_id
    if not caller.principal.has("sponsor") or member is None or member not in acc.sponsor_ids:
        raise forbidden("Chỉ người giới thiệu, giúp đỡ của người này viết nhận xét.",
                        "only a sponsor or helper of this candidate writes a note")
    if meeting_on not in note_meetings(acc.cell_id):
        raise bad_field("meeting_on", "not_a_meeting", "Ngày này không phải ngày họp chi bộ trong thời gian nhận nhận xét.",
                        "not a meeting of the cell within the window for notes")
    try:
        return notes.record_for_member(context.engine(), candidate_id, member, meeting_on, text,
                                       caller.principal.actor("sponsor"), via="account", now=context.now())
    except ValueError as exc:
        if "text:" in str(exc):
            raise ApiError(422, "bad_input", "Thông tin nhập chưa đúng.", "the request is not valid",
                           [FieldProblem("text", "invalid", "Nhận xét không được để trống và không quá 4000 ký tự.",
                                         str(exc))]) from None
        raise


def secretary_note(caller: Caller, candidate_id: int, member_code: str, meeting_on: date, text: str) -> dict[str, Any]:
    """The secretary records a note a sponsor gave at the meeting."""
    from models import notes

    acc = access(caller, candidate_id)
    if acc.read_role != "secretary":
        raise forbidden("Chỉ bí thư chi bộ ghi nhận xét thay người giới thiệu.", "only the cell's secretary records notes")
    try:
        return notes.record(context.engine(), candidate_id, member_code, meeting_on, text,
                            caller.principal.actor("secretary"), now=context.now())
    except ValueError as exc:
        field, _, message = str(exc).partition(":")
        if field in ("text", "member"):
            raise bad_field(field, "invalid", {"text": "Nhận xét không được để trống và không quá 4000 ký tự.",
                                               "member": f"Không có đảng viên có mã “{member_code}”."}[field],
                            message.strip()) from None
        raise
