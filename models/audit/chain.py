"""Hash chaining of audit events, pure.

Each event's hash covers every recorded field, the digest of its payload and the hash of the
previous event in its chain (one chain per candidate, plus chains for organisation-wide
events). Fields are encoded with a length prefix so that no two different rows encode alike.
`verify_chains` walks rows in (chain, seq) order and reports, per chain, the first event
whose link, hash, payload or position is wrong, and a chain whose last event is not the
head recorded on the candidate (a deleted tail).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

GENESIS = "0" * 64

# The fields a hash covers, in order. `hash` itself and the payload text (covered through
# payload_digest) are not in the list.
HASHED_FIELDS: tuple[str, ...] = (
    "chain_key", "seq", "candidate_id", "kind", "event", "actor", "role", "effective_on",
    "recorded_at", "stage_before", "stage_after", "reason", "ruleset_version", "flow_run_id",
    "idempotency_key", "request_digest", "payload_digest", "documents", "prev_hash",
)


def _text(value: Any) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def link_hash(values: Sequence[Any]) -> str:
    """sha256 over the length-prefixed HASHED_FIELDS values (prev_hash is the last of them)."""
    parts = []
    for value in values:
        text = _text(value)
        parts.append(f"{len(text)}:{text}")
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def canonical_json(obj: Any) -> str:
    """The one JSON encoding used for payloads: sorted keys, no spaces, UTF-8 kept, dates ISO."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot encode {type(value).__name__} in an audit payload")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first wrong event of a chain."""

    event_id: int | None
    chain_key: str
    seq: int | None
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "chain": self.chain_key, "seq": self.seq, "problem": self.problem}


@dataclass
class Verification:
    events: int
    chains: int
    breaks: list[Break]

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        return min(self.breaks, key=lambda b: (b.event_id is None, b.event_id or 0)) if self.breaks else None


def verify_chains(rows: Iterable[Sequence[Any]], heads: Mapping[str, tuple[int, str]] | None = None) -> Verification:
    """Check rows given as (id, *HASHED_FIELDS, payload, hash), sorted by (chain_key, seq).

    `heads` maps a chain to the (seq, hash) its owner records as the latest event.
    """
    heads = heads or {}
    breaks: list[Break] = []
    events = chains = 0
    chain: str | None = None
    expected_seq, prev, broken = 1, GENESIS, False
    seen_heads: dict[str, tuple[int, str]] = {}
    i_chain, i_seq, i_digest, i_prev = 1, 2, 1 + HASHED_FIELDS.index("payload_digest"), 1 + HASHED_FIELDS.index("prev_hash")
    n = len(HASHED_FIELDS)
    for row in rows:
        events += 1
        event_id, key, seq = row[0], row[i_chain], row[i_seq]
        if key != chain:
            chain, expected_seq, prev, broken = key, 1, GENESIS, False
            chains += 1
        if broken:
            continue
        values = row[1 : 1 + n]
        payload, stored_hash = row[1 + n], row[2 + n]
        problem = None
        if seq != expected_seq:
            problem = f"sequence number {seq} where {expected_seq} was expected (an event is missing)"
        elif row[i_prev] != prev:
            problem = "does not link to the previous event's hash"
        elif digest(payload) != row[i_digest]:
            problem = "payload does not match its digest (the payload was altered)"
        elif link_hash(values) != stored_hash:
            problem = "hash does not match the event's fields (a field was altered)"
        if problem:
            breaks.append(Break(event_id, key, seq, problem))
            broken = True
            continue
        expected_seq, prev = seq + 1, stored_hash
        seen_heads[key] = (seq, stored_hash)
    for key, (seq, head) in heads.items():
        if any(b.chain_key == key for b in breaks) or (seq == 0 and key not in seen_heads):
            continue
        if seen_heads.get(key) != (seq, head):
            last = seen_heads.get(key, (0, ""))[0]
            breaks.append(Break(None, key, seq, f"the owner records {seq} events but the chain ends at {last}"))
    return Verification(events, chains, breaks)
