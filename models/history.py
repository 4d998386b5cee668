"""One candidate's full history, read from the database in one consistent snapshot.

Everything the organisation department audits about a file, in one structure: every audit event
of the candidate's chain (with the rule set's event label, actor, role, effective date, time
recorded in Hà Nội time, stages, reason, flow-run id and hash), the documents rendered at each
step, the notifications sent about the candidate (recipient role and a masked address, never a
message body), the sponsors' notes (their text only for a role that reads the file), the
statutory deadlines (days late counted in working days) and every read of the personal file.

The candidate's own hash chain is verified on the same rows (`verification`), naming the first
broken event. Everything is fetched by index: the chain by (chain_key, seq), the rest by
candidate_id, so one history costs the same with millions of audit events stored.

Flow runs live in Prefect, not here: `flows/history.py` attaches them when Prefect answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from models.access import ROLE_LABELS
from models.audit.chain import HASHED_FIELDS, Break, verify_chains
from models.audit.trail import candidate_chain
from models.calendar.working_days import WorkingCalendar
from models.calendar_in_force import current_calendar
from models.casefile import KIND_LABELS, UNVERIFIED_LABEL
from models.procedure.loader import get_ruleset
from models.snapshot import CANDIDATE, DEADLINE, MEMBER, UNIT
from models.tables import AuditEvent, Document, Notification, Recipient, SponsorNote
from models.transitions import LOCAL_TZ, CandidateNotFound

AUDIT = AuditEvent.__table__
DOCUMENT = Document.__table__
NOTIFICATION = Notification.__table__
RECIPIENT = Recipient.__table__
NOTE = SponsorNote.__table__

# The roles that read a whole file (and so the sponsors' notes in it). A sponsor sees only its own notes.
FILE_READERS = ("secretary", "committee", "organisation_department")

SECTIONS = {"event": "Sự kiện", "document": "Văn bản", "notification": "Thông báo", "note": "Nhận xét",
            "deadline": "Thời hạn", "read": "Lượt xem hồ sơ", "run": "Lượt chạy quy trình"}

RECIPIENT_KINDS = {"member": "Đảng viên (người giới thiệu, giúp đỡ)", "candidate": "Người vào Đảng",
                   "cell_secretary": "Bí thư chi bộ", "organisation_department": "Ban Tổ chức"}
REASONS = {"sponsor_note": "Nhắc viết nhận xét trước kỳ họp chi bộ",
           "missing_notes": "Báo người giới thiệu chưa gửi nhận xét",
           "deadline_due": "Nhắc sắp đến hạn", "deadline_overdue": "Báo quá hạn",
           "probation_ending": "Báo sắp hết thời gian dự bị",
           "probation_self_review": "Nhắc chuẩn bị bản tự kiểm điểm",
           "probation_helper_review": "Nhắc viết bản nhận xét đảng viên dự bị",
           "course_enrolled": "Báo lịch học lớp bồi dưỡng"}
OUTBOX_STATUS = {"pending": "chờ gửi", "sending": "đang gửi", "sent": "đã gửi", "dead": "không gửi được",
                 "withdrawn": "đã rút (thời hạn đã thay đổi)"}
DEADLINE_STATUS = {"open": "đang chạy", "met": "đúng hạn", "late": "trễ hạn", "cancelled": "đã hủy",
                   "elapsed": "đã hết", "overdue": "quá hạn"}
NOTE_VIA = {"link": "qua đường dẫn", "account": "qua tài khoản", "secretary": "bí thư ghi"}
ROLES = ROLE_LABELS | {"system": "Hệ thống", "operator": "Người vận hành"}
ACTING_BODIES = {"cell": "Chi bộ", "cell_committee": "Chi ủy", "intermediate_committee": "Đảng ủy bộ phận",
                 "grassroots_committee": "Đảng ủy cơ sở", "competent_committee": "Cấp ủy có thẩm quyền",
                 "political_centre": "Trung tâm chính trị", "candidate": "Người vào Đảng"}
READ_PURPOSES = {"web view": "Xem trang hồ sơ", "api read": "Đọc hồ sơ qua API", "cli show": "Xem hồ sơ (dòng lệnh)",
                 "cli history": "Xem lịch sử hồ sơ (dòng lệnh)", "cli audit log": "Xem nhật ký hồ sơ (dòng lệnh)",
                 "history": "Xem lịch sử hồ sơ", "history csv": "Tải lịch sử hồ sơ (CSV)",
                 "history pdf": "Tải lịch sử hồ sơ (PDF)", "api history": "Đọc lịch sử hồ sơ qua API",
                 "cli history csv": "Xuất lịch sử hồ sơ (CSV, dòng lệnh)",
                 "cli history pdf": "Xuất lịch sử hồ sơ (PDF, dòng lệnh)",
                 "dossier": "Tải cả hồ sơ", "sponsor view": "Người giới thiệu xem"}
_DOWNLOAD = re.compile(r"^download (\S+) (\w+)$")

_CHAIN_COLUMNS = [AUDIT.c.id, *(AUDIT.c[f] for f in HASHED_FIELDS), AUDIT.c.payload, AUDIT.c.hash]


def local_time(value: datetime | None) -> str:
    """A recorded moment as people read it: Hà Nội time, to the second."""
    return value.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M:%S") if value else ""


def local_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction: the chain and the head on the candidate row are read from the same snapshot,
    so a read appended meanwhile is never mistaken for a broken chain."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            conn.execution_options(readonly=True)
        with conn.begin():
            yield conn


def candidate_history(engine: Engine, candidate_id: int, *, reader_role: str, today: date,
                      calendar: WorkingCalendar | None = None) -> dict[str, Any]:
    """The whole history of one candidate (see the module docstring). Raises CandidateNotFound."""
    with _snapshot(engine) as conn:
        calendar = calendar or current_calendar(conn)
        cand = conn.execute(
            select(CANDIDATE.c.id, CANDIDATE.c.full_name, CANDIDATE.c.cell_id, CANDIDATE.c.stage,
                   CANDIDATE.c.ruleset_version, CANDIDATE.c.audit_seq, CANDIDATE.c.audit_head,
                   CANDIDATE.c.import_batch_id, CANDIDATE.c.imported_unverified, UNIT.c.name.label("cell_name"))
            .select_from(CANDIDATE.outerjoin(UNIT, UNIT.c.id == CANDIDATE.c.cell_id))
            .where(CANDIDATE.c.id == candidate_id)).first()
        if cand is None:
            raise CandidateNotFound(candidate_id)
        chain = conn.execute(select(*_CHAIN_COLUMNS).where(AUDIT.c.chain_key == candidate_chain(candidate_id))
                             .order_by(AUDIT.c.seq)).all()
        documents = conn.execute(
            select(DOCUMENT.c.id, DOCUMENT.c.form_id, DOCUMENT.c.doc_index, DOCUMENT.c.title, DOCUMENT.c.content_hash,
                   DOCUMENT.c.template_version, DOCUMENT.c.ruleset_version, DOCUMENT.c.created_at,
                   DOCUMENT.c.signed_on, DOCUMENT.c.audit_event_id)
            .where(DOCUMENT.c.candidate_id == candidate_id).order_by(DOCUMENT.c.id)).mappings().all()
        notifications = conn.execute(
            select(NOTIFICATION.c.id, NOTIFICATION.c.reason, NOTIFICATION.c.period_key, NOTIFICATION.c.status,
                   NOTIFICATION.c.attempts, NOTIFICATION.c.created_at, NOTIFICATION.c.sent_at,
                   NOTIFICATION.c.channel_used, RECIPIENT.c.kind, RECIPIENT.c.email, RECIPIENT.c.apprise_urls,
                   RECIPIENT.c.channel)
            .select_from(NOTIFICATION.join(RECIPIENT, RECIPIENT.c.id == NOTIFICATION.c.recipient_id))
            .where(NOTIFICATION.c.candidate_id == candidate_id)
            .order_by(NOTIFICATION.c.created_at, NOTIFICATION.c.id)).mappings().all()
        notes = conn.execute(
            select(NOTE.c.id, NOTE.c.member_id, MEMBER.c.full_name, MEMBER.c.code, NOTE.c.meeting_on, NOTE.c.text,
                   NOTE.c.via, NOTE.c.recorded_by, NOTE.c.recorded_at)
            .select_from(NOTE.join(MEMBER, MEMBER.c.id == NOTE.c.member_id))
            .where(NOTE.c.candidate_id == candidate_id)
            .order_by(NOTE.c.meeting_on, NOTE.c.recorded_at, NOTE.c.id)).mappings().all()
        deadlines = conn.execute(select(DEADLINE).where(DEADLINE.c.candidate_id == candidate_id)
                                 .order_by(DEADLINE.c.starts_on, DEADLINE.c.id)).mappings().all()
    key = candidate_chain(candidate_id)
    verification = verify_chains(chain, {key: (cand.audit_seq, cand.audit_head)})
    broken = verification.first_break
    rs = _ruleset(cand.ruleset_version)
    events: list[dict[str, Any]] = []
    reads: list[dict[str, Any]] = []
    for row in chain:
        e = _event(row._mapping, rs)
        e["broken"] = broken is not None and broken.event_id == e["id"]
        (reads if e["kind"] == "read" else events).append(e)
    seq_of = {row.id: row.seq for row in chain}
    show_text = reader_role in FILE_READERS
    return {
        "candidate": {"id": cand.id, "full_name": cand.full_name, "cell_id": cand.cell_id, "cell": cand.cell_name,
                      "stage": cand.stage, "stage_label": _stage_label(rs, cand.stage),
                      "ruleset_version": cand.ruleset_version, "import_batch_id": cand.import_batch_id,
                      "imported_unverified": bool(cand.imported_unverified),
                      "unverified_label": UNVERIFIED_LABEL if cand.imported_unverified else None},
        "reader_role": reader_role,
        "as_of": today,
        "verification": _verification(verification.events, broken, chain, rs, cand.audit_seq),
        "events": events,
        "documents": [_document(d, candidate_id, seq_of) for d in documents],
        "notifications": [_notification(n) for n in notifications],
        "notes": [_note(n, show_text) for n in notes],
        "notes_text_shown": show_text,
        "deadlines": [_deadline(d, rs, today, calendar) for d in deadlines],
        "reads": [_read(e) for e in reads],
        "flow_runs": {"status": "not_read", "note": "Chưa đọc các lượt chạy quy trình.", "other": [], "count": 0},
    }


def verify_candidate(engine: Engine, candidate_id: int) -> dict[str, Any]:
    """Re-verify one candidate's chain (by its index) against the head on the candidate row.

    {"ok", "candidate_id", "events", "chains": 1, "head_seq", "first_break": {...} or None, "breaks": [...]}:
    the first break names the event (id, seq, kind, label, time recorded) and the problem in English
    and Vietnamese. Reads no personal data, so it is not a read of the file."""
    with _snapshot(engine) as conn:
        cand = conn.execute(select(CANDIDATE.c.ruleset_version, CANDIDATE.c.audit_seq, CANDIDATE.c.audit_head)
                            .where(CANDIDATE.c.id == candidate_id)).first()
        if cand is None:
            raise CandidateNotFound(candidate_id)
        key = candidate_chain(candidate_id)
        chain = conn.execute(select(*_CHAIN_COLUMNS).where(AUDIT.c.chain_key == key).order_by(AUDIT.c.seq)).all()
    result = verify_chains(chain, {key: (cand.audit_seq, cand.audit_head)})
    check = _verification(result.events, result.first_break, chain, _ruleset(cand.ruleset_version), cand.audit_seq)
    return check | {"candidate_id": candidate_id, "chains": 1, "breaks": [b.as_dict() for b in result.breaks]}


def _ruleset(version: str | None) -> Any:
    try:
        return get_ruleset(version or "")
    except (KeyError, ValueError, LookupError):
        return None


def _stage_label(rs: Any, stage: str | None) -> str | None:
    if not stage or rs is None:
        return stage
    try:
        return rs.stage(stage).label
    except KeyError:
        return stage


def _event_label(rs: Any, kind: str, event: str | None) -> str:
    if kind in KIND_LABELS:
        return KIND_LABELS[kind]
    if event and rs is not None:
        try:
            label = rs.event(event).label
        except KeyError:
            label = event
        return f"{label} (bị từ chối)" if kind == "refusal" else label
    return event or kind


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None          # a tampered payload may not even be JSON: verification says so


def _event(m: Any, candidate_rs: Any) -> dict[str, Any]:
    rs = candidate_rs if m["ruleset_version"] in (None, getattr(candidate_rs, "version", None)) \
        else _ruleset(m["ruleset_version"]) or candidate_rs
    payload = _json(m["payload"])
    payload = payload if isinstance(payload, dict) else {}
    imported = payload.get("imported") if isinstance(payload.get("imported"), dict) else None
    failures = payload.get("failures") or (imported or {}).get("failures") or []
    docs = _json(m["documents"])
    return {
        "id": m["id"], "seq": m["seq"], "kind": m["kind"], "event": m["event"],
        "label": _event_label(rs, m["kind"], m["event"]), "actor": m["actor"], "role": m["role"],
        "role_label": ROLES.get(m["role"], m["role"]),
        "effective_on": m["effective_on"], "recorded_at": m["recorded_at"].astimezone(LOCAL_TZ),
        "stage_before": m["stage_before"], "stage_before_label": _stage_label(rs, m["stage_before"]),
        "stage_after": m["stage_after"], "stage_after_label": _stage_label(rs, m["stage_after"]),
        "reason": m["reason"], "ruleset_version": m["ruleset_version"], "flow_run_id": m["flow_run_id"],
        "hash": m["hash"], "documents": docs if isinstance(docs, list) else [],
        "failures": [f.get("message", "") for f in failures if isinstance(f, dict)],
        "purpose": payload.get("purpose") if m["kind"] == "read" else None,
        "flow_run": None,
        "imported": _imported_note(imported, m["actor"]),
    }


def _imported_note(imported: dict[str, Any] | None, actor: str) -> str | None:
    """A step replayed from a paper file: it happened before ketnap, on someone's authority, entered by an admin."""
    if not imported or not imported.get("before_ketnap"):
        return None
    note = f"Trước khi dùng ketnap; theo {imported.get('authority') or '—'}; {actor} nhập (lô {imported.get('batch')})"
    return note + ("; chưa xác minh" if imported.get("failures") else "")


def _read(e: dict[str, Any]) -> dict[str, Any]:
    purpose = e["purpose"] or ""
    return {"id": e["id"], "seq": e["seq"], "actor": e["actor"], "role": e["role"], "role_label": e["role_label"],
            "recorded_at": e["recorded_at"],
            "purpose": purpose, "purpose_label": purpose_label(purpose), "hash": e["hash"], "broken": e["broken"]}


def purpose_label(purpose: str) -> str:
    if purpose in READ_PURPOSES:
        return READ_PURPOSES[purpose]
    if m := _DOWNLOAD.match(purpose):
        return f"Tải văn bản mẫu {m.group(1)} ({m.group(2).upper()})"
    return purpose or "—"


PROBLEMS = (
    (re.compile(r"sequence number (\d+) where (\d+) was expected"),
     "số thứ tự {0} trong khi phải là {1}: thiếu sự kiện trước đó (đã bị xóa)"),
    (re.compile(r"does not link to the previous event's hash"),
     "không nối với mã băm của sự kiện trước (sự kiện trước đã bị sửa hoặc bị xóa)"),
    (re.compile(r"payload does not match its digest"), "nội dung chi tiết đã bị sửa (không khớp mã băm)"),
    (re.compile(r"hash does not match the event's fields"), "một trường của sự kiện đã bị sửa (không khớp mã băm)"),
    (re.compile(r"the owner records (\d+) events but the chain ends at (\d+)"),
     "hồ sơ ghi nhận {0} sự kiện nhưng chuỗi chỉ có đến sự kiện số {1}: các sự kiện cuối đã bị xóa"),
)


def problem_vi(problem: str) -> str:
    """The Vietnamese sentence for a chain problem reported by models.audit.chain."""
    for pattern, text in PROBLEMS:
        if m := pattern.search(problem):
            return text.format(*m.groups())
    return problem


def _verification(events: int, broken: Break | None, chain: Sequence[Any], rs: Any, head_seq: int) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": broken is None, "events": events, "head_seq": head_seq, "first_break": None}
    if broken is None:
        return out
    row = next((r for r in chain if r.id == broken.event_id), None)
    where: dict[str, Any] = {"event_id": broken.event_id, "seq": broken.seq, "chain": broken.chain_key,
                             "problem": broken.problem, "problem_vi": problem_vi(broken.problem),
                             "kind": None, "label": None, "recorded_at": None, "effective_on": None}
    if row is not None:
        m = row._mapping
        where |= {"kind": m["kind"], "label": _event_label(rs, m["kind"], m["event"]),
                  "recorded_at": m["recorded_at"].astimezone(LOCAL_TZ), "effective_on": m["effective_on"]}
    out["first_break"] = where
    return out


def _document(d: Any, candidate_id: int, seq_of: dict[int, int]) -> dict[str, Any]:
    return {"id": d["id"], "form_id": d["form_id"], "doc_index": d["doc_index"], "title": d["title"],
            "content_hash": d["content_hash"], "template_version": d["template_version"],
            "ruleset_version": d["ruleset_version"], "rendered_at": d["created_at"].astimezone(LOCAL_TZ),
            "signed_on": d["signed_on"], "audit_event_id": d["audit_event_id"],
            "event_seq": seq_of.get(d["audit_event_id"]),
            "download": f"/candidates/{candidate_id}/documents/{d['id']}.pdf"}


def mask_email(address: str | None) -> str | None:
    """c***@muongbu.example: enough to tell two recipients apart, not enough to write to them."""
    if not address or "@" not in address:
        return None
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_url(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return f"{scheme}://***" if sep else "***"


def _notification(n: Any) -> dict[str, Any]:
    addresses = []
    if n["channel"] in ("email", "both") and (masked := mask_email(n["email"])):
        addresses.append(masked)
    if n["channel"] in ("apprise", "both"):
        addresses += [mask_url(u) for u in (n["apprise_urls"] or [])]
    return {"id": n["id"], "recipient_role": n["kind"], "recipient_role_label": RECIPIENT_KINDS.get(n["kind"], n["kind"]),
            "address": ", ".join(addresses) or "—", "reason": n["reason"],
            "reason_label": REASONS.get(n["reason"], n["reason"]), "period": n["period_key"], "status": n["status"],
            "status_label": OUTBOX_STATUS.get(n["status"], n["status"]), "attempts": n["attempts"],
            "queued_at": n["created_at"].astimezone(LOCAL_TZ),
            "sent_at": n["sent_at"].astimezone(LOCAL_TZ) if n["sent_at"] else None, "channel": n["channel_used"]}


def _note(n: Any, show_text: bool) -> dict[str, Any]:
    return {"id": n["id"], "member_id": n["member_id"], "author": n["full_name"], "author_code": n["code"],
            "meeting_on": n["meeting_on"], "submitted_at": n["recorded_at"].astimezone(LOCAL_TZ), "via": n["via"],
            "via_label": NOTE_VIA.get(n["via"], n["via"]), "recorded_by": n["recorded_by"],
            "text": n["text"] if show_text else None}


def _working_days(calendar: WorkingCalendar, start: date, end: date) -> int | None:
    try:
        return calendar.working_days_between(start, end)
    except ValueError:          # outside the calendar's years
        return None


def _deadline(d: Any, rs: Any, today: date, calendar: WorkingCalendar) -> dict[str, Any]:
    clock = next((c for c in rs.clocks if c.id == d["clock"]), None) if rs is not None else None
    status, due, closed = d["status"], d["due_on"], d["closed_on"]
    overdue = d["kind"] == "deadline" and status == "open" and today > due
    days_late: int | None = None
    if d["kind"] == "deadline" and status != "cancelled":
        end = closed if closed is not None else (today if status == "open" else None)
        if end is not None:
            days_late = max(0, _working_days(calendar, due, end) or 0) if end > due else 0
    shown = "overdue" if overdue else status
    out = {"id": d["id"], "clock": d["clock"], "label": clock.label if clock else d["clock"], "kind": d["kind"],
           "who_acts": d["who_acts"],
           "who_acts_label": ACTING_BODIES.get(d["who_acts"], d["who_acts"]), "starts_on": d["starts_on"],
           "due_on": due, "extended_days": d["extended_days"],
           "closed_on": closed, "status": status, "overdue": overdue, "status_label": DEADLINE_STATUS.get(shown, shown),
           "days_late": days_late, "flagged_on": d["flagged_on"], "cite": clock.cite if clock else None,
           "working_days_left": None}
    if status == "open" and not overdue:
        out["working_days_left"] = _working_days(calendar, today, due)
    return out


# --- one row per record, for the CSV export ---------------------------------------------------------

COLUMNS = (("section", "Phần"), ("ref", "Mã"), ("on", "Ngày"), ("recorded_at", "Thời điểm ghi (giờ Hà Nội)"),
           ("what", "Nội dung"), ("who", "Người thực hiện / người nhận"), ("role", "Vai trò"), ("status", "Tình trạng"),
           ("details", "Chi tiết"), ("flow_run", "Lượt chạy quy trình"), ("hash", "Mã băm"))


def ref(section: str, record: dict[str, Any]) -> str:
    """The id of a record's row: the same on the page (id attribute), in the CSV and in the JSON."""
    key = record["seq"] if section in ("event", "read") else record["id"]
    return f"{section}-{key}"


def run_text(run: dict[str, Any] | None, run_id: str | None) -> str:
    if run_id is None:
        return ""
    if not run:
        return run_id
    duration = f", {run['duration_s']:.2f} giây" if run.get("duration_s") is not None else ""
    return f"{run_id} ({run.get('state') or '—'}{duration})"


def rows(history: dict[str, Any]) -> list[dict[str, str]]:
    """Every record of the history as one flat row (COLUMNS), in the page's order of sections."""
    out: list[dict[str, str]] = []

    def add(section: str, record: dict[str, Any], **values: Any) -> None:
        row = {k: "" for k, _ in COLUMNS} | {"section": SECTIONS[section], "ref": ref(section, record)}
        row |= {k: "" if v is None else str(v) for k, v in values.items()}
        out.append(row)

    for e in history["events"]:
        stages = ""
        if e["stage_before"] != e["stage_after"] and e["stage_after"]:
            stages = f"{e['stage_before_label'] or '—'} → {e['stage_after_label']}"
        docs = e["documents"] and f"{len(e['documents'])} văn bản"
        reason = e["reason"] and not e["imported"] and f"Lý do: {e['reason']}"
        details = "; ".join(x for x in [e["imported"], stages, reason, docs, *e["failures"]] if x)
        add("event", e, on=local_date(e["effective_on"]), recorded_at=local_time(e["recorded_at"]), what=e["label"],
            who=e["actor"], role=e["role_label"], status="chuỗi hỏng" if e["broken"] else "", details=details,
            flow_run=run_text(e.get("flow_run"), e["flow_run_id"]), hash=e["hash"])
    for d in history["documents"]:
        add("document", d, on=local_date(d["signed_on"]), recorded_at=local_time(d["rendered_at"]),
            what=f"Mẫu {d['form_id']} ({d['doc_index']}): {d['title']}", status="đã lưu bản ký" if d["signed_on"] else "",
            details=f"Mẫu văn bản {d['template_version']}; quy trình {d['ruleset_version']}; sự kiện số {d['event_seq']}; "
                    f"tải: {d['download']}", hash=d["content_hash"])
    for n in history["notifications"]:
        add("notification", n, on="", recorded_at=local_time(n["sent_at"]), what=n["reason_label"], who=n["address"],
            role=n["recipient_role_label"], status=n["status_label"],
            details=f"Kỳ: {n['period']}; đưa vào hàng đợi {local_time(n['queued_at'])}; {n['attempts']} lần gửi")
    for n in history["notes"]:
        add("note", n, on=local_date(n["meeting_on"]), recorded_at=local_time(n["submitted_at"]),
            what=n["text"] if n["text"] is not None else "(chỉ người được xem hồ sơ đọc được)",
            who=f"{n['author']} ({n['author_code']})", role=n["via_label"], details="Nhận xét cho kỳ họp chi bộ")
    for d in history["deadlines"]:
        late = f"trễ {d['days_late']} ngày làm việc" if d["days_late"] else ""
        add("deadline", d, on=local_date(d["due_on"]), what=d["label"], who=d["who_acts_label"], status=d["status_label"],
            details="; ".join(x for x in [f"Bắt đầu {local_date(d['starts_on'])}",
                                           d["closed_on"] and f"kết thúc {local_date(d['closed_on'])}", late,
                                           d["extended_days"] and f"gia hạn {d['extended_days']} ngày làm việc"] if x))
    for r in history["reads"]:
        add("read", r, recorded_at=local_time(r["recorded_at"]), what=r["purpose_label"], who=r["actor"],
            role=r["role_label"], status="chuỗi hỏng" if r["broken"] else "", hash=r["hash"])
    for run in (history.get("flow_runs") or {}).get("other") or []:
        add("run", {"id": run["id"]}, recorded_at=local_time(run.get("start")), what=run.get("name") or "",
            status=run.get("state") or "", flow_run=run_text(run, run["id"]))
    return out


def export_csv(history: dict[str, Any]) -> bytes:
    """The rows as CSV (models/spreadsheet_csv.py: BOM, CRLF, formula-safe), with a Vietnamese header."""
    from models.spreadsheet_csv import csv_bytes

    return csv_bytes([[label for _, label in COLUMNS], *([row[k] for k, _ in COLUMNS] for row in rows(history))])


def export_html(history: dict[str, Any], *, reader: str, generated_at: datetime) -> str:
    """The print layout (templates/web/history_print.html) the PDF is made from."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from models.dossier.render import templates_dir

    env = Environment(loader=FileSystemLoader(str(templates_dir() / "web")), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    logged = [e for e in history["events"] if (e.get("flow_run") or {}).get("logs")]
    return env.get_template("history_print.html").render(
        h=history, t=local_time, day=local_date, reader=reader, generated_at=generated_at, logged=logged,
        reader_role_label=ROLES.get(history["reader_role"], history["reader_role"]))


def export_pdf(history: dict[str, Any], *, reader: str, generated_at: datetime) -> bytes:
    """The history as an A4 PDF (WeasyPrint, Liberation fonts: every Vietnamese glyph)."""
    from models.dossier.pdf import pdf

    return pdf(export_html(history, reader=reader, generated_at=generated_at))
