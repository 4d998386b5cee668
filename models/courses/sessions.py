"""Sessions of the courses, their rosters and attendance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from models.actors import SYSTEM, Actor
from models.audit.trail import append_for_candidate
from models.courses.common import (
    AREA_KINDS,
    ENROLMENT,
    KINDS,
    SEATED,
    SESSION,
)
from models.database import reading
from models.procedure.engine import InputError, InputProblem
from models.snapshot import CANDIDATE, UNIT
from models.transitions import local_today
from models.vietnamese import name_sort_key

# --- sessions -------------------------------------------------------------------------------

def _problem(field: str, code: str, message: str, message_vi: str) -> InputProblem:
    return InputProblem(field, code, message, message_vi)


def add_session(engine: Engine, kind: str, provider: str, starts_on: date, ends_on: date, place: str,
                capacity: int, area_unit_id: str) -> int:
    """Create a session; every invalid field is named with its rule (InputError)."""
    problems: list[InputProblem] = []
    if kind not in KINDS:
        problems.append(_problem("kind", "unknown_kind", f"{kind!r} is not one of {', '.join(KINDS)}",
                                 f"Loại lớp {kind!r} không hợp lệ (awareness: nhận thức về Đảng; "
                                 "new_member: đảng viên mới)."))
    provider, place = (provider or "").strip(), (place or "").strip()
    for field, value, label in (("provider", provider, "Đơn vị tổ chức"), ("place", place, "Địa điểm")):
        if not value:
            problems.append(_problem(field, "required", f"{field} is required", f"{label} không được để trống."))
        elif len(value) > 200:
            problems.append(_problem(field, "too_long", f"{field} is longer than 200 characters",
                                     f"{label} dài quá 200 ký tự."))
    if ends_on < starts_on:
        problems.append(_problem("ends_on", "before_start",
                                 f"ends_on {ends_on.isoformat()} is before starts_on {starts_on.isoformat()}",
                                 f"Ngày kết thúc {ends_on:%d/%m/%Y} trước ngày khai giảng {starts_on:%d/%m/%Y}."))
    if capacity < 1:
        problems.append(_problem("capacity", "at_least_one", f"capacity must be at least 1, got {capacity}",
                                 f"Số học viên tối đa phải từ 1 trở lên (đã nhập {capacity})."))
    with reading(engine) as conn:
        area_kind = conn.execute(select(UNIT.c.kind).where(UNIT.c.id == area_unit_id)).scalar()
    if area_kind is None:
        problems.append(_problem("area_unit_id", "unknown_unit", f"no unit {area_unit_id!r}",
                                 f"Không có đơn vị {area_unit_id!r}."))
    elif area_kind not in AREA_KINDS:
        problems.append(_problem("area_unit_id", "not_a_committee",
                                 f"{area_unit_id!r} is a {area_kind}; a session serves a committee's cells, "
                                 "not a cell or a village",
                                 f"{area_unit_id!r} không phải là một đảng bộ (cấp ủy): lớp học phục vụ các chi bộ "
                                 "của một đảng bộ, không phải một chi bộ hay một thôn, bản."))
    if problems:
        raise InputError(problems)
    with engine.begin() as conn:
        return conn.execute(SESSION.insert().values(
            kind=kind, provider=provider, starts_on=starts_on, ends_on=ends_on, place=place, capacity=capacity,
            area_unit_id=area_unit_id).returning(SESSION.c.id)).scalar_one()


def _seats_taken() -> Any:
    return (select(ENROLMENT.c.session_id, func.count().label("taken"))
            .where(ENROLMENT.c.status.in_(SEATED)).group_by(ENROLMENT.c.session_id).subquery())


def list_sessions(engine: Engine, kind: str | None = None) -> list[dict[str, Any]]:
    """Sessions (latest first) with their area's name and the seats taken."""
    taken = _seats_taken()
    query = (select(SESSION, UNIT.c.name.label("area"), func.coalesce(taken.c.taken, 0).label("taken"))
             .select_from(SESSION.join(UNIT, UNIT.c.id == SESSION.c.area_unit_id)
                          .outerjoin(taken, taken.c.session_id == SESSION.c.id))
             .order_by(SESSION.c.starts_on.desc(), SESSION.c.id.desc()))
    if kind:
        query = query.where(SESSION.c.kind == kind)
    with reading(engine) as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        r["free"] = max(r["capacity"] - r["taken"], 0)
    return rows


def roster(engine: Engine, session_id: int) -> dict[str, Any]:
    """A session and its learners (Vietnamese name order) with their status and certificate."""
    with reading(engine) as conn:
        session = conn.execute(select(SESSION, UNIT.c.name.label("area"))
                               .join(UNIT, UNIT.c.id == SESSION.c.area_unit_id)
                               .where(SESSION.c.id == session_id)).mappings().first()
        if session is None:
            raise LookupError(f"no course session {session_id}")
        cell = UNIT.alias("cell")
        rows = [dict(r) for r in conn.execute(
            select(ENROLMENT.c.candidate_id, CANDIDATE.c.full_name, CANDIDATE.c.cell_id, cell.c.name.label("cell"),
                   ENROLMENT.c.status, ENROLMENT.c.enrolled_on, ENROLMENT.c.certificate_number,
                   ENROLMENT.c.certificate_on)
            .join(CANDIDATE, CANDIDATE.c.id == ENROLMENT.c.candidate_id)
            .join(cell, cell.c.id == CANDIDATE.c.cell_id)
            .where(ENROLMENT.c.session_id == session_id)).mappings()]
    rows.sort(key=lambda r: (name_sort_key(r["full_name"]), r["candidate_id"]))
    taken = sum(r["status"] in SEATED for r in rows)
    return {"session": dict(session) | {"taken": taken, "free": max(session["capacity"] - taken, 0)}, "learners": rows}


# --- attendance -----------------------------------------------------------------------------

def record_attendance(engine: Engine, session_id: int, present: Sequence[int], absent: Sequence[int], *,
                      actor: Actor = SYSTEM, now: datetime | None = None) -> dict[str, Any]:
    """Mark learners of a session attended or absent (an absentee is back in the queue)."""
    now = now or datetime.now(UTC)
    present, absent = [int(i) for i in present], [int(i) for i in absent]
    if not present and not absent:
        raise ValueError("give at least one learner, present or absent")
    both = sorted(set(present) & set(absent))
    if both:
        raise ValueError(f"candidate(s) {', '.join(map(str, both))} are both present and absent")
    for name, ids in (("present", present), ("absent", absent)):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"{name}: candidate(s) {', '.join(map(str, repeated))} given twice")
    marks = {i: "attended" for i in present} | {i: "absent" for i in absent}
    with engine.begin() as conn:
        session = conn.execute(select(SESSION).where(SESSION.c.id == session_id)).mappings().first()
        if session is None:
            raise LookupError(f"no course session {session_id}")
        today = local_today(now)
        if session["starts_on"] > today:
            raise ValueError(f"session {session_id} starts on {session['starts_on'].isoformat()}, "
                             f"after today ({today.isoformat()}): no attendance yet")
        # Learners' rows are locked in id order (a planner locks one learner, then sessions).
        cands = {r.id: r for r in conn.execute(
            select(CANDIDATE.c.id, CANDIDATE.c.stage, CANDIDATE.c.audit_seq, CANDIDATE.c.audit_head)
            .where(CANDIDATE.c.id.in_(sorted(marks))).order_by(CANDIDATE.c.id).with_for_update())}
        current = {r.candidate_id: r.status for r in conn.execute(
            select(ENROLMENT.c.candidate_id, ENROLMENT.c.status)
            .where(ENROLMENT.c.session_id == session_id, ENROLMENT.c.candidate_id.in_(sorted(marks))))}
        problems = [f"candidate {i} is not on the roster of session {session_id}" for i in sorted(marks)
                    if i not in current]
        problems += [f"candidate {i} is already certified in session {session_id}" for i in sorted(marks)
                     if current.get(i) == "certified"]
        if problems:
            raise ValueError("; ".join(problems))
        changed = 0
        for cid in sorted(marks):
            if current[cid] == marks[cid]:
                continue
            conn.execute(ENROLMENT.update().where(ENROLMENT.c.session_id == session_id,
                                                  ENROLMENT.c.candidate_id == cid).values(status=marks[cid]))
            c = cands[cid]
            append_for_candidate(conn, cid, (c.audit_seq, c.audit_head), kind="course_attendance", actor=actor,
                                 effective_on=min(session["ends_on"], today), stage_before=c.stage,
                                 stage_after=c.stage, now=now,
                                 payload={"session_id": session_id, "course": session["kind"], "status": marks[cid],
                                          "was": current[cid]})
            changed += 1
    return {"session_id": session_id, "attended": sorted(present), "absent": sorted(absent), "changed": changed}
