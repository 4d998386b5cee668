"""The audit trail in the database: append an event, read a timeline, verify every chain."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

from models.actors import Actor
from models.audit.chain import (
    GENESIS,
    HASHED_FIELDS,
    Verification,
    canonical_json,
    digest,
    link_hash,
    verify_chains,
)
from models.database import reading
from models.tables import AuditEvent, Candidate

AUDIT = AuditEvent.__table__
CANDIDATE = Candidate.__table__
INSERT_EVENT = AUDIT.insert().returning(AUDIT.c.id)
MOVE_HEAD = (CANDIDATE.update()
             .where(CANDIDATE.c.id == bindparam("b_id"), CANDIDATE.c.audit_seq == bindparam("b_seq"))
             .values(audit_seq=bindparam("seq"), audit_head=bindparam("head")))


def candidate_chain(candidate_id: int) -> str:
    return f"candidate:{candidate_id}"


@dataclass(frozen=True)
class Appended:
    id: int
    seq: int
    hash: str
    recorded_at: datetime


def append(
    conn: Connection,
    *,
    chain_key: str,
    prev: tuple[int, str],
    kind: str,
    actor: Actor,
    payload: Mapping[str, Any],
    candidate_id: int | None = None,
    event: str | None = None,
    effective_on: date | None = None,
    stage_before: str | None = None,
    stage_after: str | None = None,
    reason: str | None = None,
    ruleset_version: str | None = None,
    flow_run_id: str | None = None,
    idempotency_key: str | None = None,
    request_digest: str | None = None,
    documents: Iterable[str] = (),
    now: datetime | None = None,
) -> Appended:
    """Insert one event after `prev` = (seq, hash) of its chain's current head. Inserts only."""
    recorded_at = (now or datetime.now(UTC)).astimezone(UTC)
    payload_text = canonical_json(payload)
    row: dict[str, Any] = {
        "chain_key": chain_key, "seq": prev[0] + 1, "candidate_id": candidate_id, "kind": kind,
        "event": event, "actor": actor.name, "role": actor.role, "effective_on": effective_on,
        "recorded_at": recorded_at, "stage_before": stage_before, "stage_after": stage_after,
        "reason": reason, "ruleset_version": ruleset_version, "flow_run_id": flow_run_id,
        "idempotency_key": idempotency_key, "request_digest": request_digest,
        "payload_digest": digest(payload_text), "documents": canonical_json(sorted(documents)),
        "prev_hash": prev[1] or GENESIS,
    }
    row["hash"] = link_hash([row[f] for f in HASHED_FIELDS])
    row["payload"] = payload_text
    event_id = conn.execute(INSERT_EVENT, row).scalar_one()
    return Appended(event_id, row["seq"], row["hash"], recorded_at)


def chain_tail(conn: Connection, chain_key: str) -> tuple[int, str]:
    """(seq, hash) of the latest event of a chain not owned by a candidate row."""
    row = conn.execute(
        select(AUDIT.c.seq, AUDIT.c.hash).where(AUDIT.c.chain_key == chain_key).order_by(AUDIT.c.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def append_to_chain(conn: Connection, chain_key: str, **fields: Any) -> Appended:
    """Append to a chain whose head is read from the audit table itself (organisation events)."""
    return append(conn, chain_key=chain_key, prev=chain_tail(conn, chain_key), **fields)


def append_for_candidate(conn: Connection, candidate_id: int, head: tuple[int, str], *, move_head: bool = True,
                         **fields: Any) -> Appended:
    """Append to a candidate's chain and move the head recorded on the candidate row.

    With move_head=False the caller moves the head in its own update of the candidate row.
    """
    appended = append(conn, chain_key=candidate_chain(candidate_id), prev=head, candidate_id=candidate_id, **fields)
    if move_head:
        conn.execute(MOVE_HEAD, {"b_id": candidate_id, "b_seq": head[0], "seq": appended.seq, "head": appended.hash})
    return appended


def timeline(conn: Connection, candidate_id: int) -> list[dict[str, Any]]:
    """A candidate's events in order, payloads decoded."""
    rows = conn.execute(
        select(AUDIT).where(AUDIT.c.chain_key == candidate_chain(candidate_id)).order_by(AUDIT.c.seq)
    ).mappings()
    return [dict(r) | {"payload": json.loads(r["payload"]), "documents": json.loads(r["documents"])} for r in rows]


def verify(engine: Engine, batch: int = 20_000) -> Verification:
    """Walk every chain in order and check every link; compare candidate chains to their heads."""
    columns = [AUDIT.c.id, *(AUDIT.c[f] for f in HASHED_FIELDS), AUDIT.c.payload, AUDIT.c.hash]
    with reading(engine) as conn:
        heads = {
            candidate_chain(r.id): (r.audit_seq, r.audit_head)
            for r in conn.execute(select(CANDIDATE.c.id, CANDIDATE.c.audit_seq, CANDIDATE.c.audit_head))
        }
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(
            select(*columns).order_by(AUDIT.c.chain_key, AUDIT.c.seq)
        )
        return verify_chains(result, heads)
