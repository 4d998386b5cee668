"""A candidate's file (hồ sơ) as one readable structure: CV, stage, sponsors, deadlines, next steps, timeline.

Reading it is an access to sensitive personal data (Decree 13/2023/NĐ-CP): `open_casefile`
records the read in the candidate's audit chain before returning anything.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select

from models.actors import Actor
from models.audit.trail import append_for_candidate, timeline
from models.calendar.working_days import WorkingCalendar
from models.calendar_in_force import current_calendar
from models.database import reading
from models.organisation import Tree
from models.people import EDUCATION_EXEMPTIONS, GENDERS, OCCUPATIONS
from models.procedure.loader import get_ruleset
from models.snapshot import CANDIDATE, DEADLINE, MEMBER, SPONSOR, UNIT, decode_facts, unit_path
from models.transitions import CandidateNotFound, local_today

# Shown wherever a file imported from paper with a step that broke a rule appears (models/imports/files_in_progress.py).
UNVERIFIED_LABEL = "Đã nhập từ hồ sơ giấy – chưa xác minh"


def append_for_candidate_locked(engine: Engine, candidate_id: int, *, kind: str, actor: Actor,
                                payload: dict[str, Any], now: datetime, **fields: Any) -> int:
    """Append one event that changes no state (a read, a flow link) to a candidate's chain."""
    with engine.begin() as conn:
        row = conn.execute(
            select(CANDIDATE.c.audit_seq, CANDIDATE.c.audit_head, CANDIDATE.c.stage)
            .where(CANDIDATE.c.id == candidate_id).with_for_update()
        ).first()
        if row is None:
            raise CandidateNotFound(candidate_id)
        appended = append_for_candidate(
            conn, candidate_id, (row.audit_seq, row.audit_head), kind=kind, actor=actor,
            effective_on=local_today(now), stage_before=row.stage, stage_after=row.stage, now=now,
            payload=payload, **fields,
        )
    return appended.id


def record_read(engine: Engine, candidate_id: int, actor: Actor, purpose: str, *, now: datetime | None = None) -> int:
    """Audit one read of a candidate's personal file; returns the audit event id."""
    return append_for_candidate_locked(engine, candidate_id, kind="read", actor=actor,
                                       payload={"purpose": purpose}, now=now or datetime.now(UTC))


def open_casefile(engine: Engine, candidate_id: int, actor: Actor, *, purpose: str = "view",
                  now: datetime | None = None, calendar: WorkingCalendar | None = None) -> dict[str, Any]:
    record_read(engine, candidate_id, actor, purpose, now=now)
    return casefile(engine, candidate_id, today=local_today(now or datetime.now(UTC)), calendar=calendar)


def casefile(engine: Engine, candidate_id: int, *, today: date, calendar: WorkingCalendar | None = None) -> dict[str, Any]:
    calendar = calendar or current_calendar(engine)
    with reading(engine) as conn:
        cand = conn.execute(select(CANDIDATE).where(CANDIDATE.c.id == candidate_id)).mappings().first()
        if cand is None:
            raise CandidateNotFound(candidate_id)
        rs = get_ruleset(cand["ruleset_version"])
        tree: Tree = unit_path(conn, cand["cell_id"])
        village = None
        if cand["residence_village_id"]:
            village = conn.execute(select(UNIT.c.name).where(UNIT.c.id == cand["residence_village_id"])).scalar()
        sponsors = conn.execute(
            select(SPONSOR, MEMBER.c.full_name, MEMBER.c.code)
            .select_from(SPONSOR.outerjoin(MEMBER, MEMBER.c.id == SPONSOR.c.member_id))
            .where(SPONSOR.c.candidate_id == candidate_id).order_by(SPONSOR.c.id)
        ).mappings().all()
        deadlines = conn.execute(
            select(DEADLINE).where(DEADLINE.c.candidate_id == candidate_id).order_by(DEADLINE.c.id)
        ).mappings().all()
        events = timeline(conn, candidate_id)
    stage = rs.stage(cand["stage"])
    competent = tree.competent_body(cand["cell_id"])
    return {
        "id": cand["id"],
        "full_name": cand["full_name"],
        "cv": {
            "birth_date": cand["birth_date"], "gender": GENDERS[cand["gender"]], "ethnicity": cand["ethnicity"],
            "religion": cand["religion"], "general_education": f"{cand['general_education_grade']}/12",
            "education_exemption": EDUCATION_EXEMPTIONS.get(cand["education_exemption"] or ""),
            "qualification": cand["qualification"], "occupation": OCCUPATIONS[cand["occupation"]],
            "youth_union_member": cand["youth_union_member"], "trade_union_member": cand["trade_union_member"],
            "residence_village": village, "work_unit": cand["work_unit"],
            "readmission": cand["prior_left_on"] is not None,
        },
        "cell": {"id": cand["cell_id"], "name": tree.units[cand["cell_id"]].name},
        "competent_body": competent.describe(tree.units) if competent.unit_id in tree.units else competent.unit_id,
        "ruleset": {"version": rs.version, "title": rs.title},
        "stage": {"id": stage.id, "letter": stage.letter, "label": stage.label, "kind": stage.kind},
        "version": cand["version"],
        # a file imported from paper: which batch, and whether a step broke a rule and is still not verified
        "imported": {"batch_id": cand["import_batch_id"], "unverified": bool(cand["imported_unverified"]),
                     "label": UNVERIFIED_LABEL if cand["imported_unverified"] else None}
        if cand["import_batch_id"] is not None else None,
        "facts": decode_facts(cand),
        "sponsors": [
            {"kind": s["kind"], "role": s["role"], "member": s["full_name"], "member_code": s["code"],
             "together_since": s["together_since"], "body": s["body_name"], "resolution": s["resolution_ref"],
             "resolution_on": s["resolution_on"], "active": s["ended_on"] is None}
            for s in sponsors
        ],
        "deadlines": [_deadline(d, rs, today, calendar) for d in deadlines],
        "next_steps": [
            {"event": e.id, "label": e.label, "actor": e.actor,
             "inputs": {k: {"label": v.label, "type": v.type, "required": v.required and v.default is None}
                        for k, v in e.inputs.items()}}
            for e in rs.events_from(stage.id)
        ],
        "timeline": [
            {"seq": e["seq"], "kind": e["kind"], "event": e["event"], "label": _label(rs, e["kind"], e["event"]),
             "effective_on": e["effective_on"], "recorded_at": e["recorded_at"], "actor": e["actor"], "role": e["role"],
             "stage_before": e["stage_before"], "stage_after": e["stage_after"], "flow_run_id": e["flow_run_id"],
             "failures": [f["message"] for f in e["payload"].get("failures", [])],
             # a step replayed from the paper file (before ketnap), with the rules it broke if accepted unverified
             "before_ketnap": bool(e["payload"].get("imported")),
             "unverified": [f["message"] for f in (e["payload"].get("imported") or {}).get("failures", [])]}
            for e in events
        ],
    }


KIND_LABELS = {"created": "Đưa vào danh sách quần chúng cảm tình Đảng", "read": "Xem hồ sơ",
               "flow_linked": "Gắn với lượt chạy quy trình (Prefect)", "deadline_flagged": "Quá hạn",
               "alert": "Cảnh báo", "documents": "Lập văn bản", "document_signed": "Lưu bản đã ký",
               "note_received": "Nhận xét của người giới thiệu, giúp đỡ", "notification_sent": "Đã gửi thông báo",
               "notification_dead": "Không gửi được thông báo", "course_enrolment": "Xếp lớp bồi dưỡng",
               "course_attendance": "Điểm danh lớp bồi dưỡng",
               "deadline_recomputed": "Tính lại thời hạn theo lịch ngày nghỉ đã điều chỉnh",
               "migration": "Chuyển sang quy định mới", "migration_reverted": "Hoàn tác việc chuyển quy định"}


def _label(rs: Any, kind: str, event: str | None) -> str | None:
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    if not event:
        return None
    try:
        return rs.event(event).label
    except KeyError:
        return None


def _deadline(d: Any, rs: Any, today: date, calendar: WorkingCalendar) -> dict[str, Any]:
    clock = next((c for c in rs.clocks if c.id == d["clock"]), None)
    out = {
        "clock": d["clock"], "label": clock.label if clock else d["clock"], "kind": d["kind"],
        "who_acts": d["who_acts"], "starts_on": d["starts_on"], "due_on": d["due_on"],
        "extended_days": d["extended_days"], "status": d["status"], "closed_on": d["closed_on"],
    }
    if d["status"] == "open" and d["kind"] == "deadline":
        left = calendar.working_days_between(today, d["due_on"])
        out["working_days_left"] = left
        out["overdue"] = today > d["due_on"]
    return out
