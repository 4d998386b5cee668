"""Certificates recorded in bulk, each as a step of the procedure submitted as a flow run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select

from models.actors import Actor
from models.audit.trail import AUDIT
from models.courses.common import (
    CERTIFICATE_EVENTS,
    ENROLMENT,
    SESSION,
)
from models.database import reading
from models.imports.rows import ImportRejected, RowError, read_rows, validate_rows
from models.procedure.engine import InputError, Refused, StageConflict
from models.snapshot import CANDIDATE
from models.transitions import TransitionRequest, local_today, preview_transition

# --- certificates ---------------------------------------------------------------------------

class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate_id: int
    certificate_number: str = Field(min_length=1, max_length=64)
    certificate_on: date


class CertificateRow(NamedTuple):
    candidate_id: int
    certificate_number: str
    certificate_on: date
    line: int = 0


@dataclass(frozen=True)
class _Planned:
    row: CertificateRow
    enrolment_id: int
    session_id: int
    kind: str
    request: TransitionRequest | None          # None: recorded already with this number and date


def read_certificates(path: Path) -> tuple[list[CertificateRow], list[RowError]]:
    """Rows of a certificates file (CSV: candidate_id,certificate_number,certificate_on), with their lines."""
    valid, errors = validate_rows(read_rows(path, "certificates"), CertificateIn)
    return [CertificateRow(c.candidate_id, c.certificate_number.strip(), c.certificate_on, line)
            for line, c in valid], errors


def record_certificates_from_file(engine: Engine, path: Path, actor: Actor, *,
                                  now: datetime | None = None) -> list[dict[str, Any]]:
    rows, errors = read_certificates(path)
    return record_certificates(engine, rows, actor, now=now, source=path.name, errors=errors)


def record_certificates(engine: Engine, rows: Sequence[CertificateRow | tuple[int, str, date]], actor: Actor, *,
                        now: datetime | None = None, source: str = "input",
                        errors: list[RowError] | None = None) -> list[dict[str, Any]]:
    """Record certificates of learners who attended, all or nothing (ImportRejected names every bad line).

    Each becomes the step `record_awareness_certificate` or `record_new_member_certificate`,
    submitted as a flow run (applied directly when Prefect is down, linked later); its
    idempotency key is the enrolment's, so recording the same file again changes nothing.
    Plain tuples (candidate id, number, date) are numbered 1, 2, … for the error messages.
    """
    now = now or datetime.now(UTC)
    normalised = [r if isinstance(r, CertificateRow) else CertificateRow(*r, line=i + 1) for i, r in enumerate(rows)]
    errors = list(errors or [])
    planned = _check_certificates(engine, normalised, actor, local_today(now), errors)
    if errors:
        raise ImportRejected(source, errors)
    return [_apply_certificate(engine, p, now) for p in planned]


def _check_certificates(engine: Engine, rows: list[CertificateRow], actor: Actor, today: date,
                        errors: list[RowError]) -> list[_Planned]:
    planned: list[_Planned] = []
    first_line: dict[int, int] = {}
    for row in rows:
        if row.candidate_id in first_line:
            errors.append(RowError(row.line, "candidate_id",
                                   f"candidate {row.candidate_id} is already on line {first_line[row.candidate_id]}"))
            continue
        first_line[row.candidate_id] = row.line
        if row.certificate_on > today:
            errors.append(RowError(row.line, "certificate_on", f"{row.certificate_on.isoformat()} is in the future"))
            continue
        with reading(engine) as conn:
            cand = conn.execute(select(CANDIDATE.c.id, CANDIDATE.c.last_event_on)
                                .where(CANDIDATE.c.id == row.candidate_id)).first()
            enrolments = conn.execute(
                select(ENROLMENT.c.id, ENROLMENT.c.session_id, ENROLMENT.c.status, ENROLMENT.c.certificate_number,
                       ENROLMENT.c.certificate_on, SESSION.c.kind, SESSION.c.starts_on)
                .join(SESSION, SESSION.c.id == ENROLMENT.c.session_id)
                .where(ENROLMENT.c.candidate_id == row.candidate_id)
                .order_by(SESSION.c.starts_on.desc(), SESSION.c.id.desc())).all()
        if cand is None:
            errors.append(RowError(row.line, "candidate_id", f"no candidate {row.candidate_id}"))
            continue
        same = next((e for e in enrolments if e.status == "certified" and e.certificate_number == row.certificate_number
                     and e.certificate_on == row.certificate_on), None)
        if same is not None:
            planned.append(_Planned(row, same.id, same.session_id, same.kind, None))
            continue
        attended = next((e for e in enrolments if e.status == "attended"), None)
        if attended is None:
            seen = ", ".join(f"session {e.session_id}: {e.status}" for e in enrolments) or "not enrolled in any session"
            errors.append(RowError(row.line, "candidate_id",
                                   f"candidate {row.candidate_id} did not attend a course session ({seen})"))
            continue
        if row.certificate_on < attended.starts_on:
            errors.append(RowError(row.line, "certificate_on",
                                   f"{row.certificate_on.isoformat()} is before session {attended.session_id} "
                                   f"started ({attended.starts_on.isoformat()})"))
            continue
        on = max(row.certificate_on, cand.last_event_on or row.certificate_on)
        request = TransitionRequest(
            row.candidate_id, CERTIFICATE_EVENTS[attended.kind], on, actor,
            inputs={"certificate_number": row.certificate_number, "certificate_on": row.certificate_on.isoformat()},
            idempotency_key=f"course:enrolment:{attended.id}:certificate",
            reason=f"course session {attended.session_id}")
        errors += _preview_errors(engine, row, request)
        planned.append(_Planned(row, attended.id, attended.session_id, attended.kind, request))
    return planned


def _preview_errors(engine: Engine, row: CertificateRow, request: TransitionRequest) -> list[RowError]:
    """What the step would refuse (nothing is stored); none if the step is already stored under its key."""
    with reading(engine) as conn:
        if conn.execute(select(AUDIT.c.id).where(AUDIT.c.idempotency_key == request.idempotency_key)).first():
            return []                       # applied before the enrolment was marked: a replay completes it
    try:
        decision = preview_transition(engine, request)
    except StageConflict as exc:
        return [RowError(row.line, "candidate_id", f"candidate {row.candidate_id} is at stage {exc.stage!r}; "
                                                   f"{exc.event} applies to {', '.join(exc.allowed_from)}")]
    except InputError as exc:
        return [RowError(row.line, p.field, f"{p.message} — {p.message_vi}") for p in exc.problems]
    if isinstance(decision, Refused):
        return [RowError(row.line, "candidate_id", f"{request.event} refused: {f.message}") for f in decision.failures]
    return []


class CertificateNotApplied(Exception):
    """A step valid when checked was refused when applied (someone acted in between)."""

    def __init__(self, line: int, candidate_id: int, reasons: list[str]):
        self.line, self.candidate_id, self.reasons = line, candidate_id, reasons
        super().__init__(f"line {line}: the certificate of candidate {candidate_id} was refused when applied "
                         f"(earlier lines are recorded; fix and record the file again): {'; '.join(reasons)}")


def _apply_certificate(engine: Engine, p: _Planned, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"line": p.row.line, "candidate_id": p.row.candidate_id, "session_id": p.session_id,
                           "course": p.kind, "certificate_number": p.row.certificate_number,
                           "certificate_on": p.row.certificate_on}
    if p.request is None:
        return out | {"status": "unchanged"}
    from flows.submit import submit_transition

    submitted = submit_transition(engine, p.request, now=now)
    if not submitted.result.applied:
        raise CertificateNotApplied(p.row.line, p.row.candidate_id, [f.message for f in submitted.result.failures])
    with engine.begin() as conn:
        conn.execute(ENROLMENT.update().where(ENROLMENT.c.id == p.enrolment_id, ENROLMENT.c.status == "attended")
                     .values(status="certified", certificate_number=p.row.certificate_number,
                             certificate_on=p.row.certificate_on))
    return out | {"status": "certified", "event": p.request.event, "stage_after": submitted.result.stage_after,
                  "audit_event_id": submitted.result.audit_event_id, "orchestration": submitted.orchestration,
                  "flow_run_id": submitted.flow_run_id}
