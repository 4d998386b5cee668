"""Sponsors' monthly notes: opened and submitted through a signed link, or recorded by the secretary.

A link opens exactly the one form it was made for (one sponsor, one candidate, one meeting), and
only while the sponsor still sponsors or helps that candidate. A note is one row per (sponsor,
candidate, meeting): submitting again replaces the text. Every note is an audit event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from models.actors import Actor
from models.casefile import append_for_candidate_locked
from models.links import LinkRefused, NoteSlot, read_token
from models.reminders import note_pairs
from models.snapshot import CANDIDATE, MEMBER, UNIT
from models.tables import SponsorNote
from models.vietnamese import nfc

NOTE = SponsorNote.__table__
MAX_LENGTH = 4000


def _check_slot(engine: Engine, slot: NoteSlot) -> dict[str, Any]:
    with engine.connect() as conn:
        cand = conn.execute(select(CANDIDATE.c.full_name, CANDIDATE.c.cell_id, CANDIDATE.c.stage)
                            .where(CANDIDATE.c.id == slot.candidate_id)).first()
        member = conn.execute(select(MEMBER.c.full_name).where(MEMBER.c.id == slot.member_id)).scalar()
        if cand is None or member is None:
            raise LinkRefused("unknown", "Không tìm thấy hồ sơ của đường dẫn này.")
        cell = conn.execute(select(UNIT.c.name).where(UNIT.c.id == cand.cell_id)).scalar()
        existing = conn.execute(select(NOTE.c.text).where(NOTE.c.member_id == slot.member_id,
                                                          NOTE.c.candidate_id == slot.candidate_id,
                                                          NOTE.c.meeting_on == slot.meeting_on)).scalar()
    if (slot.member_id, slot.candidate_id, cand.cell_id) not in note_pairs(engine, [cand.cell_id]):
        raise LinkRefused("not_sponsor", "Đồng chí không còn là người giới thiệu hoặc giúp đỡ người này.")
    return {"member_id": slot.member_id, "member": member, "candidate_id": slot.candidate_id,
            "candidate": cand.full_name, "cell_id": cand.cell_id, "cell": cell, "meeting_on": slot.meeting_on,
            "text": existing}


def open_form(engine: Engine, token: str, secret: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The one note form a link opens (raises LinkRefused with a Vietnamese reason)."""
    return _check_slot(engine, read_token(secret, token, now=now))


def _clean(text: str) -> str:
    text = nfc(text).strip()
    if not text:
        raise ValueError("text: a note cannot be empty")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"text: a note is at most {MAX_LENGTH} characters")
    return text


def _store(engine: Engine, form: dict[str, Any], text: str, via: str, actor: Actor, now: datetime) -> int:
    values = {"member_id": form["member_id"], "candidate_id": form["candidate_id"], "cell_id": form["cell_id"],
              "meeting_on": form["meeting_on"], "text": text, "via": via, "recorded_by": actor.name,
              "recorded_at": now}
    insert = (sqlite.insert if engine.dialect.name == "sqlite" else postgresql.insert)(NOTE).values(**values)
    statement = insert.on_conflict_do_update(index_elements=["member_id", "candidate_id", "meeting_on"],
                                             set_={"text": text, "via": via, "recorded_by": actor.name,
                                                   "recorded_at": now})
    with engine.begin() as conn:
        conn.execute(statement)
    return append_for_candidate_locked(
        engine, form["candidate_id"], kind="note_received", actor=actor, now=now,
        payload={"member_id": form["member_id"], "meeting_on": form["meeting_on"].isoformat(), "via": via,
                 "length": len(text)})


def submit(engine: Engine, token: str, text: str, secret: str, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    form = open_form(engine, token, secret, now=now)
    clean = _clean(text)
    event_id = _store(engine, form, clean, "link", Actor(f"member:{form['member_id']}", "sponsor"), now)
    return form | {"text": clean, "audit_event_id": event_id}


def record(engine: Engine, candidate_id: int, member_code: str, meeting_on: date, text: str, actor: Actor, *,
           now: datetime | None = None) -> dict[str, Any]:
    """The secretary records a note the sponsor gave at the meeting."""
    with engine.connect() as conn:
        member_id = conn.execute(select(MEMBER.c.id).where(MEMBER.c.code == member_code)).scalar()
    if member_id is None:
        raise ValueError(f"member: no party member with code {member_code!r}")
    return record_for_member(engine, candidate_id, member_id, meeting_on, text, actor, via="secretary", now=now)


def record_for_member(engine: Engine, candidate_id: int, member_id: int, meeting_on: date, text: str, actor: Actor, *,
                      via: str, now: datetime | None = None) -> dict[str, Any]:
    """A note of one sponsor for one meeting: given to the secretary, or written by the sponsor logged in."""
    now = now or datetime.now(UTC)
    form = _check_slot(engine, NoteSlot(member_id, candidate_id, meeting_on, now))
    clean = _clean(text)
    event_id = _store(engine, form, clean, via, actor, now)
    return form | {"text": clean, "audit_event_id": event_id}


def notes_of(engine: Engine, candidate_id: int, member_id: int | None = None) -> list[dict[str, Any]]:
    """The notes on a candidate (one sponsor's, when given), latest meeting first."""
    query = select(NOTE.c.member_id, MEMBER.c.full_name, NOTE.c.meeting_on, NOTE.c.text, NOTE.c.via,
                   NOTE.c.recorded_at).join(MEMBER, MEMBER.c.id == NOTE.c.member_id)
    query = query.where(NOTE.c.candidate_id == candidate_id)
    if member_id is not None:
        query = query.where(NOTE.c.member_id == member_id)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(NOTE.c.meeting_on.desc(), MEMBER.c.full_name)).mappings()]


def missing_with_names(engine: Engine, cell_id: str, meeting_on: date) -> list[dict[str, Any]]:
    """The notes still missing for a meeting, with the sponsor's and the candidate's names."""
    from models.meetings import Meeting
    from models.reminders import missing_notes

    pairs = missing_notes(engine, Meeting(cell_id, meeting_on, 0, 0))
    with engine.connect() as conn:
        wanted = sorted({m for m, _ in pairs})
        members = {r.id: r.full_name for r in conn.execute(select(MEMBER.c.id, MEMBER.c.full_name)
                                                           .where(MEMBER.c.id.in_(wanted)))} if wanted else {}
        candidates = {r.id: r.full_name for r in conn.execute(select(CANDIDATE.c.id, CANDIDATE.c.full_name)
                                                              .where(CANDIDATE.c.cell_id == cell_id))}
    return [{"member_id": m, "member": members.get(m), "candidate_id": c, "candidate": candidates.get(c)}
            for m, c in pairs]
