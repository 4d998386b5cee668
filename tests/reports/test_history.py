"""A candidate's full history: every record, the chain check, the page, CSV and PDF, the CLI, Prefect.

One candidate is walked from the cell's review to probation with a refusal, documents (one signed),
sponsors' notes, notifications (two sent, one pending), deadlines met, missed and still open, and reads.
Expected values are written by hand (dates counted on the calendar, times in Hà Nội) or read from the
raw tables with plain SQL; a second candidate's records must never show up in the first one's history.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pypdf
import pypdfium2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from ketnap.context import use_clock
from ketnap.settings import get_settings
from models.actors import Actor
from models.casefile import record_read
from models.dossier.store import mark_signed, render_step
from models.history import candidate_history, verify_candidate
from models.notes import record, record_for_member
from models.outbox import deliver, enqueue
from models.tables import AuditEvent, Deadline, Document, Member, Notification, Recipient
from models.transitions import TransitionRequest, apply_transition
from models.transports import MaildirTransport
from tests.orchestration import conftest as orchestration_fixtures
from tests.support import NOW, TO_CELL_REVIEW, add, drop_audit_triggers, walk
from tests.web import conftest as web_fixtures
from tests.web.conftest import WEB_NOW, session_for

# the demo commune of the web tests and the Prefect server of the orchestration tests, shared with them
demo_template, demo = web_fixtures.demo_template, web_fixtures.demo
prefect_server = orchestration_fixtures.prefect_server

AUDIT, DOCUMENT, DEADLINE = AuditEvent.__table__, Document.__table__, Deadline.__table__
NOTIFICATION, RECIPIENT, MEMBER = Notification.__table__, Recipient.__table__, Member.__table__
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

SECRETARY = Actor("user:bithu.nala", "secretary")
COMMITTEE = Actor("user:vanphong", "committee")
ORG_DEPT = Actor("user:bantochuc", "organisation_department")
SPONSOR = Actor("user:huong.nl02", "sponsor")
REASON = "Cấp ủy họp muộn vì lũ quét ở bản Nà La"
NOTE_JULY = "Đồng chí Dũng tích cực tham gia sinh hoạt đoàn, giúp bà con gặt lúa."
NOTE_AUGUST = "Gương mẫu chấp hành chủ trương của Đảng, chính sách, pháp luật của Nhà nước."


@dataclass
class Built:
    cid: int
    other: int
    base: datetime                   # the first action is recorded one second after it
    notification_ids: list[int]      # sponsor_note (sent), deadline_overdue (sent), missing_notes (pending)
    other_notification: int
    note_member: int

    def at(self, k: int) -> datetime:
        return self.base + timedelta(seconds=k)


def _step(engine: Engine, cid: int, event: str, on: str, actor: Actor, now: datetime, reason: str | None = None,
          **inputs: Any) -> Any:
    return apply_transition(engine, TransitionRequest(cid, event, date.fromisoformat(on), actor, inputs=inputs,
                                                      reason=reason), now=now)


def _recipient(engine: Engine, key: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(RECIPIENT.c.id).where(RECIPIENT.c.key == key)).scalar_one()


def _member(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(MEMBER.c.id).where(MEMBER.c.code == code)).scalar_one()


def enrich(engine: Engine, cid: int, other: int, base: datetime, mail: Path) -> Built:
    """From the cell's review (last step 15/06/2026) to probation, with everything a history holds."""
    b = Built(cid, other, base, [], 0, _member(engine, "NL02"))
    refused = _step(engine, cid, "cell_approves", "2026-06-16", SECRETARY, b.at(1), approve=1)
    assert refused.status == "refused"
    # 60 working days after 16/06/2026: due 10/09/2026 (counted in tests/scenarios/test_full_walks.py).
    steps = [("cell_approves", "2026-06-16", SECRETARY, None, {"approve": 4}),
             ("grassroots_approves", "2026-07-01", COMMITTEE, None, {"approve": 10}),
             # decided 15/09, three working days late (Fri 11, Mon 14, Tue 15/09); received 16/09:
             # the ceremony is due 30 working days later: 17-18/9 (2), five whole weeks to 23/10 (27), 26-28/10 (30).
             ("admit", "2026-09-15", COMMITTEE, REASON, {"decision_number": "125-QĐ/ĐU", "received_on": "2026-09-16"})]
    k = 2
    for event, on, actor, reason, inputs in steps:
        result = _step(engine, cid, event, on, actor, b.at(k), reason, **inputs)
        assert result.applied, [f.message for f in result.failures]
        render_step(engine, cid, result.audit_event_id, result.forms, now=b.at(k + 1))
        k += 2
    mark_signed(engine, cid, "6-KNĐ", date(2026, 6, 20), SECRETARY, now=b.at(8))
    held = _step(engine, cid, "hold_ceremony", "2026-10-20", SECRETARY, b.at(9), helper="NL03")
    assert held.applied
    record(engine, cid, "NL02", date(2026, 7, 6), NOTE_JULY, SECRETARY, now=b.at(10))
    record_for_member(engine, cid, b.note_member, date(2026, 8, 5), NOTE_AUGUST, SPONSOR, via="account", now=b.at(11))
    member_key = f"member:{b.note_member}"
    with engine.connect() as conn:
        admission = conn.execute(select(DEADLINE.c.id).where(DEADLINE.c.candidate_id == cid,
                                                             DEADLINE.c.clock == "admission_decision")).scalar_one()
    rows = [
        {"recipient_id": _recipient(engine, member_key), "reason": "sponsor_note", "candidate_id": cid,
         "period_key": f"2026-07-06/{cid}",
         "context": {"meeting_on": "2026-07-06", "member_id": b.note_member, "cell_id": "cb-ban-na-la"}},
        {"recipient_id": _recipient(engine, "orgdept:xa-muong-bu"), "reason": "deadline_overdue", "candidate_id": cid,
         "period_key": f"deadline:{admission}:2026-09-10",
         "context": {"label": "Thời hạn cấp ủy có thẩm quyền quyết định kết nạp", "due_on": "2026-09-10",
                     "cite": "Quy định 294-QĐ/TW", "working_days_left": -1}},
        {"recipient_id": _recipient(engine, member_key), "reason": "sponsor_note", "candidate_id": other,
         "period_key": f"2026-07-06/{other}",
         "context": {"meeting_on": "2026-07-06", "member_id": b.note_member, "cell_id": "cb-ban-na-la"}},
    ]
    assert enqueue(engine, rows, now=b.at(12)) == 3
    sent = deliver(engine, MaildirTransport(mail), now=b.at(13), secret="test-secret-key-for-signed-links-0123456789")
    assert sent.sent == 3, sent
    assert enqueue(engine, [{"recipient_id": _recipient(engine, "secretary:cb-ban-na-la"), "reason": "missing_notes",
                             "candidate_id": cid, "period_key": f"2026-08-05/{b.note_member}/{cid}",
                             "context": {"meeting_on": "2026-08-05", "member_id": b.note_member, "missed": 2}}],
                   now=b.at(14)) == 1
    record_read(engine, cid, ORG_DEPT, "web view", now=b.at(15))
    record_read(engine, cid, COMMITTEE, "download 6-KNĐ pdf", now=b.at(16))
    record_read(engine, other, ORG_DEPT, "web view", now=b.at(17))
    with engine.connect() as conn:
        ids = conn.execute(select(NOTIFICATION.c.id, NOTIFICATION.c.candidate_id).order_by(NOTIFICATION.c.id)).all()
    b.notification_ids = [i for i, c in ids if c == cid]
    b.other_notification = next(i for i, c in ids if c == other)
    return b


def _raw_chain(engine: Engine, cid: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(AUDIT).where(AUDIT.c.chain_key == f"candidate:{cid}")
                                              .order_by(AUDIT.c.seq)).mappings()]


# --- the history as data, on SQLite and PostgreSQL ----------------------------------------------------

@pytest.fixture
def walked(org: Engine, tmp_path: Path) -> Built:
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    other = add(org, full_name="Lò Văn Khánh")
    return enrich(org, cid, other, NOW + timedelta(minutes=1), tmp_path / "mail")


def test_every_record_appears_in_the_history_with_its_values(org: Engine, walked: Built) -> None:
    b = walked
    h = candidate_history(org, b.cid, reader_role="organisation_department", today=date(2027, 12, 15))
    raw = _raw_chain(org, b.cid)

    # every audit event once: reads in their own section, the rest as events, each with its stored fields
    assert sorted([e["seq"] for e in h["events"]] + [r["seq"] for r in h["reads"]]) == [r["seq"] for r in raw]
    by_seq = {e["seq"]: e for e in h["events"]}
    for r in raw:
        if r["kind"] == "read":
            continue
        e = by_seq[r["seq"]]
        assert (e["kind"], e["event"], e["actor"], e["role"], e["effective_on"], e["hash"], e["flow_run_id"],
                e["reason"], e["stage_before"], e["stage_after"]) == (
            r["kind"], r["event"], r["actor"], r["role"], r["effective_on"], r["hash"], r["flow_run_id"], r["reason"],
            r["stage_before"], r["stage_after"])
        assert e["recorded_at"] == r["recorded_at"] and e["recorded_at"].tzinfo == HANOI
    labels = [(e["kind"], e["label"]) for e in h["events"] if e["recorded_at"] > b.base]
    assert labels == [
        ("refusal", "Chi bộ biểu quyết đề nghị kết nạp (bị từ chối)"),
        ("transition", "Chi bộ biểu quyết đề nghị kết nạp"), ("documents", "Lập văn bản"),
        ("transition", "Đảng ủy cơ sở biểu quyết đề nghị kết nạp"), ("documents", "Lập văn bản"),
        ("transition", "Cấp ủy có thẩm quyền quyết định kết nạp"), ("documents", "Lập văn bản"),
        ("document_signed", "Lưu bản đã ký"), ("transition", "Tổ chức lễ kết nạp và phân công đảng viên giúp đỡ"),
        ("note_received", "Nhận xét của người giới thiệu, giúp đỡ"),
        ("note_received", "Nhận xét của người giới thiệu, giúp đỡ"),
        ("notification_sent", "Đã gửi thông báo"), ("notification_sent", "Đã gửi thông báo"),
    ]
    refusal = next(e for e in h["events"] if e["kind"] == "refusal")
    assert refusal["failures"][0].startswith("Chỉ có 1/5 đảng viên chính thức tán thành")
    vote = next(e for e in h["events"] if e["event"] == "cell_approves" and e["kind"] == "transition")
    assert (vote["stage_before_label"], vote["stage_after_label"]) == ("Chi bộ xét, đề nghị kết nạp",
                                                                       "Đảng ủy cơ sở xét, đề nghị")
    assert (vote["actor"], vote["role_label"], vote["effective_on"]) == ("user:bithu.nala", "Bí thư chi bộ",
                                                                         date(2026, 6, 16))
    admit = next(e for e in h["events"] if e["event"] == "admit")
    assert admit["reason"] == REASON and admit["role_label"] == "Văn phòng cấp ủy"
    # NOW is 31/12/2039 12:00 UTC: 19:01:06 in Hà Nội for the sixth action after NOW + 1 minute
    assert admit["recorded_at"].strftime("%d/%m/%Y %H:%M:%S") == "31/12/2039 19:01:06"

    # documents: every stored one, with its hash, versions, the step that made it and where to download it
    with org.connect() as conn:
        docs = conn.execute(select(DOCUMENT.c.id, DOCUMENT.c.form_id, DOCUMENT.c.doc_index, DOCUMENT.c.content_hash,
                                   DOCUMENT.c.template_version, DOCUMENT.c.ruleset_version, DOCUMENT.c.signed_on,
                                   AUDIT.c.seq)
                            .join(AUDIT, AUDIT.c.id == DOCUMENT.c.audit_event_id)
                            .where(DOCUMENT.c.candidate_id == b.cid).order_by(DOCUMENT.c.id)).all()
    assert [d.form_id for d in docs] == ["6-KNĐ", "8-KNĐ", "9-KNĐ"]
    assert [(d["id"], d["form_id"], d["doc_index"], d["content_hash"], d["template_version"], d["ruleset_version"],
             d["signed_on"], d["event_seq"], d["download"]) for d in h["documents"]] == [
        (d.id, d.form_id, d.doc_index, d.content_hash, d.template_version, d.ruleset_version, d.signed_on, d.seq,
         f"/candidates/{b.cid}/documents/{d.id}.pdf") for d in docs]
    assert h["documents"][0]["signed_on"] == date(2026, 6, 20)
    assert h["documents"][0]["rendered_at"].strftime("%H:%M:%S") == "19:01:03"

    # notifications about this candidate only: role, masked address, reason, period, status, time; no body
    n = h["notifications"]
    assert [x["id"] for x in n] == b.notification_ids and b.other_notification not in [x["id"] for x in n]
    assert [(x["reason"], x["recipient_role_label"], x["address"], x["status"], x["status_label"]) for x in n] == [
        ("sponsor_note", "Đảng viên (người giới thiệu, giúp đỡ)", "c***@muongbu.example", "sent", "đã gửi"),
        ("deadline_overdue", "Ban Tổ chức", "b***@muongbu.example", "sent", "đã gửi"),
        ("missing_notes", "Bí thư chi bộ", "b***@muongbu.example", "pending", "chờ gửi"),
    ]
    assert [x["period"] for x in n][0] == f"2026-07-06/{b.cid}"
    assert [x["sent_at"] and x["sent_at"].strftime("%d/%m/%Y %H:%M:%S") for x in n] == [
        "31/12/2039 19:01:13", "31/12/2039 19:01:13", None]
    flat = repr(n)
    assert "ca.thi.huong" not in flat and "bantochuc@" not in flat and "Kính gửi" not in flat

    # notes: author, meeting, submitted time; the text for a role that reads the file, not for a sponsor
    assert [(x["author"], x["author_code"], x["meeting_on"], x["via"], x["text"]) for x in h["notes"]] == [
        ("Cà Thị Hương", "NL02", date(2026, 7, 6), "secretary", NOTE_JULY),
        ("Cà Thị Hương", "NL02", date(2026, 8, 5), "account", NOTE_AUGUST)]
    assert h["notes"][1]["submitted_at"].strftime("%H:%M:%S") == "19:01:11"
    hidden = candidate_history(org, b.cid, reader_role="sponsor", today=date(2027, 12, 15))
    assert [x["text"] for x in hidden["notes"]] == [None, None] and not hidden["notes_text_shown"]

    # deadlines: missed by 3 working days, met, a period running, and one overdue on 15/12/2027
    d = {x["clock"]: x for x in h["deadlines"]}
    assert (d["admission_decision"]["status"], d["admission_decision"]["due_on"], d["admission_decision"]["closed_on"],
            d["admission_decision"]["days_late"], d["admission_decision"]["status_label"]) == (
        "late", date(2026, 9, 10), date(2026, 9, 15), 3, "trễ hạn")
    assert (d["ceremony"]["status"], d["ceremony"]["due_on"], d["ceremony"]["closed_on"], d["ceremony"]["days_late"]) == (
        "met", date(2026, 10, 28), date(2026, 10, 20), 0)
    assert (d["probation"]["kind"], d["probation"]["status"], d["probation"]["days_late"]) == ("period", "open", None)
    vote_due = d["recognition_vote"]["due_on"]
    with org.connect() as conn:
        assert conn.execute(select(DEADLINE.c.due_on).where(DEADLINE.c.candidate_id == b.cid,
                                                            DEADLINE.c.clock == "recognition_vote")).scalar_one() == vote_due
    # weekdays after the due day up to Wed 15/12/2027 (no day off in December before the 15th)
    by_hand = sum(1 for i in range(1, (date(2027, 12, 15) - vote_due).days + 1)
                  if (vote_due + timedelta(i)).weekday() < 5)
    assert by_hand > 0
    assert (d["recognition_vote"]["status"], d["recognition_vote"]["overdue"], d["recognition_vote"]["days_late"],
            d["recognition_vote"]["status_label"]) == ("open", True, by_hand, "quá hạn")

    # reads of the personal file: who, when, why
    assert [(r["actor"], r["role"], r["purpose"], r["purpose_label"], r["recorded_at"].strftime("%H:%M:%S"))
            for r in h["reads"]] == [
        ("user:bantochuc", "organisation_department", "web view", "Xem trang hồ sơ", "19:01:15"),
        ("user:vanphong", "committee", "download 6-KNĐ pdf", "Tải văn bản mẫu 6-KNĐ (PDF)", "19:01:16")]

    # the chain, checked on the same rows
    assert h["verification"] == {"ok": True, "events": len(raw), "head_seq": raw[-1]["seq"], "first_break": None}


@pytest.mark.parametrize("tamper", ["field", "payload", "tail"])
def test_tampering_with_one_audit_row_is_named_by_the_candidate_check(org: Engine, walked: Built, tamper: str) -> None:
    b = walked
    raw = _raw_chain(org, b.cid)
    admit = next(r for r in raw if r["event"] == "admit" and r["kind"] == "transition")
    drop_audit_triggers(org)
    with org.begin() as conn:
        if tamper == "field":
            conn.execute(text("UPDATE audit_event SET effective_on = :d WHERE id = :id"), {"d": "2026-09-09",
                                                                                          "id": admit["id"]})
        elif tamper == "payload":
            conn.execute(text("UPDATE audit_event SET payload = '{}' WHERE id = :id"), {"id": admit["id"]})
        else:
            conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": raw[-1]["id"]})
    checked = verify_candidate(org, b.cid)
    h = candidate_history(org, b.cid, reader_role="organisation_department", today=date(2026, 12, 1))
    assert not checked["ok"] and not h["verification"]["ok"]
    first = checked["first_break"]
    assert h["verification"]["first_break"] == {k: v for k, v in first.items()}
    if tamper == "tail":
        assert (first["event_id"], first["seq"]) == (None, raw[-1]["seq"])
        assert f"chain ends at {raw[-2]['seq']}" in first["problem"]
        assert "các sự kiện cuối đã bị xóa" in first["problem_vi"]
    else:
        assert (first["event_id"], first["seq"], first["kind"], first["label"]) == (
            admit["id"], admit["seq"], "transition", "Cấp ủy có thẩm quyền quyết định kết nạp")
        assert first["problem_vi"] == ("một trường của sự kiện đã bị sửa (không khớp mã băm)" if tamper == "field"
                                       else "nội dung chi tiết đã bị sửa (không khớp mã băm)")
        assert [e["seq"] for e in h["events"] if e["broken"]] == [admit["seq"]]
    # the other candidate's chain is untouched
    assert verify_candidate(org, b.other)["ok"]


# --- the page, its exports and the API, over the demo commune ------------------------------------------

@pytest.fixture
def web(demo: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[TestClient, Built]]:
    """The demo's Cà Văn Dũng (#2) enriched; the app with orchestration off, an hour after the enrichment."""
    monkeypatch.setenv("KETNAP_ORCHESTRATION", "off")
    monkeypatch.setenv("KETNAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KETNAP_SECRET_KEY", "test-secret-key-for-signed-links-0123456789")
    get_settings.cache_clear()
    built = enrich(demo, 2, 3, WEB_NOW + timedelta(minutes=1), tmp_path / "mail")
    from web.app import create_app

    with use_clock(WEB_NOW + timedelta(hours=1)), TestClient(create_app(), base_url="http://testserver") as client:
        yield client, built
    get_settings.cache_clear()


def _page_rows(page: str) -> dict[str, str]:
    """data-ref → the row's text, tags stripped, whitespace collapsed."""
    found = {}
    for m in re.finditer(r'<(tr|li) id="([^"]+)" data-ref="([^"]+)"[^>]*>(.*?)</\1>', page, re.S):
        assert m.group(2) == m.group(3)
        found[m.group(3)] = " ".join(unescape(re.sub(r"<[^>]+>", " ", m.group(4))).split())
    return found


def _expected_refs(engine: Engine, cid: int) -> list[str]:
    """Every record of the candidate, by plain SQL, in the page's order of sections."""
    with engine.connect() as conn:
        chain = conn.execute(select(AUDIT.c.seq, AUDIT.c.kind).where(AUDIT.c.chain_key == f"candidate:{cid}")
                             .order_by(AUDIT.c.seq)).all()
        docs = conn.execute(select(DOCUMENT.c.id).where(DOCUMENT.c.candidate_id == cid).order_by(DOCUMENT.c.id)).scalars()
        notices = conn.execute(select(NOTIFICATION.c.id).where(NOTIFICATION.c.candidate_id == cid)
                               .order_by(NOTIFICATION.c.id)).scalars()
        notes = conn.execute(text("SELECT id FROM sponsor_note WHERE candidate_id = :c ORDER BY meeting_on"),
                             {"c": cid}).scalars()
        deadlines = conn.execute(select(DEADLINE.c.id).where(DEADLINE.c.candidate_id == cid)
                                 .order_by(DEADLINE.c.starts_on, DEADLINE.c.id)).scalars()
        return ([f"event-{s}" for s, k in chain if k != "read"] + [f"document-{i}" for i in docs]
                + [f"notification-{i}" for i in notices] + [f"note-{i}" for i in notes]
                + [f"deadline-{i}" for i in deadlines] + [f"read-{s}" for s, k in chain if k == "read"])


def _last_read(engine: Engine, cid: int) -> tuple[str, str, str]:
    with engine.connect() as conn:
        row = conn.execute(select(AUDIT.c.kind, AUDIT.c.actor, AUDIT.c.role, AUDIT.c.payload)
                           .where(AUDIT.c.chain_key == f"candidate:{cid}").order_by(AUDIT.c.seq.desc()).limit(1)).one()
    assert row.kind == "read"
    return row.actor, row.role, row.payload


def test_the_page_shows_every_record_and_is_an_audited_read(web: tuple[TestClient, Built], demo: Engine) -> None:
    client, b = web
    session_for(client, demo, "bantochuc")
    assert 'href="/candidates/2/history"' in client.get("/candidates/2").text
    response = client.get("/candidates/2/history")
    assert response.status_code == 200 and "<script" not in response.text
    assert _last_read(demo, 2) == ("user:bantochuc", "organisation_department", '{"purpose":"history"}')
    page = response.text
    rows = _page_rows(page)
    assert list(rows) == _expected_refs(demo, 2)
    assert 'data-chain="ok"' in page and "Kiểm tra chuỗi" in page and "Chuỗi nhật ký toàn vẹn." in page
    assert page.index("Kiểm tra chuỗi") < page.index('id="events"')          # the check comes first
    assert 'data-flow-runs="off"' in page                                    # no Prefect on this server: said so
    raw = {r["event"]: r for r in _raw_chain(demo, 2) if r["kind"] == "transition"}
    admit = rows[f"event-{raw['admit']['seq']}"]
    for value in ("Cấp ủy có thẩm quyền quyết định kết nạp", "15/09/2026", "23/11/2026 10:01:06", "user:vanphong",
                  "Văn phòng cấp ủy", f"Lý do: {REASON}", "Chờ cấp ủy có thẩm quyền quyết định kết nạp → Chờ tổ chức lễ",
                  raw["admit"]["hash"][:16]):
        assert value in admit, value
    with demo.connect() as conn:
        docs = conn.execute(select(DOCUMENT.c.id, DOCUMENT.c.content_hash, DOCUMENT.c.form_id)
                            .where(DOCUMENT.c.candidate_id == 2)).all()
    for d in docs:
        assert f'href="/candidates/2/documents/{d.id}.pdf"' in page and d.content_hash in rows[f"document-{d.id}"]
    assert client.get(f"/candidates/2/documents/{docs[0].id}.pdf").headers["content-type"] == "application/pdf"
    notice = rows[f"notification-{b.notification_ids[0]}"]
    assert "Nhắc viết nhận xét trước kỳ họp chi bộ" in notice and "c***@muongbu.example" in notice
    assert "đã gửi" in notice and "23/11/2026 10:01:13" in notice
    assert "chờ gửi" in rows[f"notification-{b.notification_ids[2]}"]
    assert f"notification-{b.other_notification}" not in rows
    assert NOTE_JULY in page and NOTE_AUGUST in page and "ca.thi.huong@" not in page
    with demo.connect() as conn:
        late = conn.execute(select(DEADLINE.c.id).where(DEADLINE.c.candidate_id == 2,
                                                        DEADLINE.c.clock == "admission_decision")).scalar_one()
    assert all(x in rows[f"deadline-{late}"] for x in ("trễ hạn", "trễ 3 ngày làm việc", "10/09/2026", "15/09/2026"))
    reads = [rows[r] for r in rows if r.startswith("read-")]
    assert "Xem trang hồ sơ user:bantochuc (Ban Tổ chức) 23/11/2026 10:01:15" in reads[-4]
    assert reads[-1].endswith("Xem lịch sử hồ sơ user:bantochuc (Ban Tổ chức) 23/11/2026 11:00:00")
    assert len(response.content) < 100_000


def test_the_csv_has_the_same_rows_as_the_page(web: tuple[TestClient, Built], demo: Engine) -> None:
    client, _ = web
    session_for(client, demo, "bithu.nala")
    response = client.get("/candidates/2/history.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="lich-su-ho-so-2.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert _last_read(demo, 2) == ("user:bithu.nala", "secretary", '{"purpose":"history csv"}')
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert list(table[0]) == ["Phần", "Mã", "Ngày", "Thời điểm ghi (giờ Hà Nội)", "Nội dung",
                              "Người thực hiện / người nhận", "Vai trò", "Tình trạng", "Chi tiết",
                              "Lượt chạy quy trình", "Mã băm"]
    page_response = client.get("/candidates/2/history")               # one more read: the page's own
    rows = _page_rows(page_response.text)
    own_read = list(rows)[-1]
    assert [r["Mã"] for r in table] == [ref for ref in rows if ref != own_read]
    for r in table:
        shown = rows[r["Mã"]]
        for column in ("Ngày", "Thời điểm ghi (giờ Hà Nội)", "Nội dung", "Người thực hiện / người nhận", "Vai trò",
                       "Tình trạng"):
            assert " ".join(r[column].split()) in shown, (r["Mã"], column, r[column], shown)
    sections = {r["Phần"] for r in table}
    assert sections == {"Sự kiện", "Văn bản", "Thông báo", "Nhận xét", "Thời hạn", "Lượt xem hồ sơ"}
    events = [r for r in table if r["Phần"] == "Sự kiện"]
    raw = [r for r in _raw_chain(demo, 2) if r["kind"] != "read"]
    assert [r["Mã băm"] for r in events] == [r["hash"] for r in raw]          # full hashes in the export


def test_the_pdf_opens_and_holds_the_vietnamese_text_exactly(web: tuple[TestClient, Built], demo: Engine) -> None:
    client, _ = web
    session_for(client, demo, "vanphong")
    response = client.get("/candidates/2/history.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert _last_read(demo, 2) == ("user:vanphong", "committee", '{"purpose":"history pdf"}')
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    first = reader.pages[0]
    assert (round(float(first.mediabox.width)), round(float(first.mediabox.height))) == (595, 842)    # A4
    extracted = "\n".join(p.extract_text() for p in reader.pages)
    assert unicodedata.is_normalized("NFC", extracted)
    flat = " ".join(extracted.split())
    for phrase in ("LỊCH SỬ HỒ SƠ NGƯỜI VÀO ĐẢNG", "Cà Văn Dũng", "Chi bộ bản Nà La", "Kiểm tra chuỗi",
                   "Chuỗi nhật ký toàn vẹn.", "Cấp ủy có thẩm quyền quyết định kết nạp", f"Lý do: {REASON}",
                   NOTE_JULY, "Cà Thị Hương", "Thời hạn cấp ủy có thẩm quyền quyết định kết nạp",
                   "trễ 3 ngày làm việc", "Nhắc viết nhận xét trước kỳ họp chi bộ", "c***@muongbu.example",
                   "Tải văn bản mẫu 6-KNĐ (PDF)", "Văn phòng Đảng ủy xã Mường Bú (vanphong)"):
        assert unicodedata.normalize("NFC", phrase) in flat, phrase
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "history.pdf").write_bytes(response.content)
    image = pypdfium2.PdfDocument(response.content)[0].render(scale=1.5).to_pil()
    image.save(ARTIFACTS / "history-pdf.png")
    top = image.convert("L").crop((0, 0, image.width, image.height // 8))
    assert top.getextrema()[0] < 80, "no ink where the title is"


def test_the_api_gives_the_same_history_as_json(web: tuple[TestClient, Built], demo: Engine) -> None:
    from tests.web.conftest import bearer, token_for

    client, b = web
    response = client.get("/api/v1/candidates/2/history", headers=bearer(token_for(demo, "bantochuc")))
    assert response.status_code == 200
    data = response.json()
    assert _last_read(demo, 2) == ("user:bantochuc", "organisation_department", '{"purpose":"api history"}')
    assert data["verification"]["ok"] is True and data["verification"]["first_break"] is None
    assert data["flow_runs"]["status"] == "off"
    assert [n["id"] for n in data["notifications"]] == b.notification_ids
    assert data["reads"][-1]["purpose"] == "api history" and data["reads"][-1]["recorded_at"] == "2026-11-23T11:00:00+07:00"
    assert [x["text"] for x in data["notes"]] == [NOTE_JULY, NOTE_AUGUST]


def test_tampering_is_named_by_the_page_the_api_and_the_cli(web: tuple[TestClient, Built], demo: Engine,
                                                             tmp_path: Path) -> None:
    from ketnap.cli.app import app
    from models.audit.trail import verify
    from tests.web.conftest import bearer, token_for

    client, _ = web
    token = token_for(demo, "bantochuc")
    session_for(client, demo, "bantochuc")
    admit = next(r for r in _raw_chain(demo, 2) if r["event"] == "admit" and r["kind"] == "transition")
    drop_audit_triggers(demo)
    with demo.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'user:someone-else' WHERE id = :id"), {"id": admit["id"]})
    assert verify(demo).first_break.event_id == admit["id"]                  # the trail-wide check agrees

    page = client.get("/candidates/2/history").text
    assert 'data-chain="broken"' in page and f'data-break-seq="{admit["seq"]}"' in page
    assert f'data-break-event="{admit["id"]}"' in page
    assert (f'Sự kiện hỏng đầu tiên: <a href="#event-{admit["seq"]}">số {admit["seq"]}</a> — '
            "Cấp ủy có thẩm quyền quyết định kết nạp") in page
    assert "một trường của sự kiện đã bị sửa (không khớp mã băm)" in page
    assert "⚠ chuỗi hỏng tại đây" in _page_rows(page)[f"event-{admit['seq']}"]
    api = client.get("/api/v1/candidates/2/history", headers=bearer(token)).json()
    assert (api["verification"]["first_break"]["seq"], api["verification"]["first_break"]["event_id"]) == (
        admit["seq"], admit["id"])

    runner = CliRunner()
    broken = runner.invoke(app, ["audit", "verify", "--candidate", "2"])
    assert broken.exit_code == 1, broken.output
    assert f"first broken event: id {admit['id']}, seq {admit['seq']}, transition " \
           "'Cấp ủy có thẩm quyền quyết định kết nạp'" in broken.output
    as_json = runner.invoke(app, ["audit", "verify", "--candidate", "2", "--json"])
    assert as_json.exit_code == 1 and f'"seq": {admit["seq"]}' in as_json.output
    intact = runner.invoke(app, ["audit", "verify", "--candidate", "3"])
    assert intact.exit_code == 0 and "chain intact" in intact.output, intact.output
    export = runner.invoke(app, ["history", "2", "--export", "csv", "--out", str(tmp_path / "h.csv")])
    assert export.exit_code == 0 and f"BROKEN at event seq {admit['seq']}" in export.output, export.output
    table = list(csv.DictReader(io.StringIO((tmp_path / "h.csv").read_text(encoding="utf-8-sig"), newline="")))
    assert [r["Mã"] for r in table if r["Tình trạng"] == "chuỗi hỏng"] == [f"event-{admit['seq']}"]
    unknown = runner.invoke(app, ["audit", "verify", "--candidate", "999"])
    assert unknown.exit_code == 2 and "999" in unknown.output


def test_the_cli_exports_pdf_and_csv_and_refuses_bad_options(web: tuple[TestClient, Built], demo: Engine,
                                                             tmp_path: Path) -> None:
    from ketnap.cli.app import app

    runner = CliRunner()
    out = tmp_path / "out" / "lich-su.csv"
    done = runner.invoke(app, ["history", "2", "--export", "csv", "--out", str(out), "--as", "cli:kiemtra"])
    assert done.exit_code == 0, done.output
    assert "chain intact" in done.output and "flow runs not read" in done.output
    assert _last_read(demo, 2) == ("cli:kiemtra", "organisation_department", '{"purpose":"cli history csv"}')
    table = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    assert [r["Mã"] for r in table] == _expected_refs(demo, 2)
    pdf = tmp_path / "lich-su.pdf"
    assert runner.invoke(app, ["history", "2", "--export", "pdf", "--out", str(pdf)]).exit_code == 0
    flat = " ".join("\n".join(p.extract_text() for p in pypdf.PdfReader(pdf).pages).split())
    assert "Cà Văn Dũng" in flat and NOTE_AUGUST in flat
    wrong = runner.invoke(app, ["history", "2", "--export", "xlsx", "--out", str(tmp_path / "x.xlsx")])
    assert wrong.exit_code == 2 and "--export: 'xlsx' is not a format of the history; use pdf or csv" in wrong.output
    nowhere = runner.invoke(app, ["history", "2", "--export", "pdf"])
    assert nowhere.exit_code == 2 and "--out" in nowhere.output
    missing = runner.invoke(app, ["history", "999", "--export", "csv", "--out", str(tmp_path / "m.csv")])
    assert missing.exit_code == 2 and "no candidate with id 999" in missing.output and not (tmp_path / "m.csv").exists()


# --- flow runs from a real Prefect server, and without one --------------------------------------------

@pytest.fixture
def orchestrated_demo(demo: Engine, prefect_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    from flows import submit as submit_module

    monkeypatch.setenv("KETNAP_ORCHESTRATION", "auto")
    monkeypatch.setenv("KETNAP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KETNAP_SECRET_KEY", "test-secret-key-for-signed-links-0123456789")
    get_settings.cache_clear()
    submit_module._health.clear()
    yield demo
    get_settings.cache_clear()
    submit_module._health.clear()


def _vote_through_the_flow(engine: Engine, api_url: str) -> str:
    """The cell's vote on Cà Văn Dũng as a transition flow run on the test server, its logs shipped to the API."""
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    from flows.submit import submit_transition

    with temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_LOGGING_TO_API_ENABLED: True}):
        try:
            submitted = submit_transition(engine, TransitionRequest(2, "cell_approves", date(2026, 6, 16), SECRETARY,
                                                                    inputs={"approve": 4}), now=WEB_NOW)
        finally:
            APILogWorker.drain_all(timeout=15)
    assert submitted.orchestration == "flow_run" and submitted.result.applied, submitted.as_dict()
    return str(submitted.flow_run_id)


def _prefect_record(run_id: str) -> tuple[Any, list[Any]]:
    """The run and its logs as Prefect itself has them (read here, not through the code under test)."""
    import asyncio
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    async def read() -> tuple[Any, list[Any]]:
        async with get_client() as client:
            run = await client.read_flow_run(UUID(run_id))
            logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(run_id)])),
                                          sort=LogSort.TIMESTAMP_ASC)
            return run, logs
    return asyncio.run(read())


def test_flow_runs_show_state_duration_and_logs_from_a_real_prefect_server(orchestrated_demo: Engine,
                                                                           prefect_server: Any) -> None:
    from tests.web.conftest import bearer, token_for
    from web.app import create_app

    run_id = _vote_through_the_flow(orchestrated_demo, prefect_server.api_url)
    run, logs = _prefect_record(run_id)
    assert run.state_name == "Completed" and logs, "the flow run logged nothing to the API"
    with use_clock(WEB_NOW + timedelta(hours=1)), TestClient(create_app(), base_url="http://testserver") as client:
        data = client.get("/api/v1/candidates/2/history", headers=bearer(token_for(orchestrated_demo, "bantochuc"))).json()
        session_for(client, orchestrated_demo, "bantochuc")
        page = client.get("/candidates/2/history").text
        printed = client.get("/candidates/2/history.pdf").content
    assert data["flow_runs"]["status"] == "ok" and data["flow_runs"]["note"] is None
    [event] = [e for e in data["events"] if e["flow_run_id"] == run_id and e["kind"] == "transition"]
    shown = event["flow_run"]
    assert (shown["state"], shown["duration_s"]) == ("Completed", round(run.total_run_time.total_seconds(), 3))
    assert datetime.fromisoformat(shown["start"]) == run.start_time
    assert [line["message"] for line in shown["logs"]["lines"]] == [entry.message for entry in logs][:50]
    assert shown["logs"]["truncated"] == (len(logs) > 50)
    assert 'data-flow-runs=' not in page
    row = _page_rows(page)[f"event-{event['seq']}"]
    # the page shows the API's duration (rounded to the millisecond) at two decimals: format that, not the raw
    # seconds (0.4649 s is 0.465 s, shown "0.47", where the raw value would give "0.46")
    shown_seconds = round(run.total_run_time.total_seconds(), 3)
    assert run_id[:8] in row and "Completed" in row and f"{shown_seconds:.2f} giây" in row
    assert " ".join(logs[0].message.split()) in row and f"Nhật ký ({min(len(logs), 50)} dòng" in row
    (ARTIFACTS / "history-with-flow-runs.pdf").write_bytes(printed)
    flat = " ".join("\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(printed)).pages).split())
    assert f"Sự kiện {event['seq']} · lượt chạy {run_id} · Completed" in flat
    assert " ".join(logs[-1].message.split()) in flat


def test_with_prefect_down_the_history_is_still_shown_with_a_note(orchestrated_demo: Engine, prefect_server: Any) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.orchestration.conftest import free_port
    from tests.web.conftest import bearer, token_for
    from web.app import create_app

    run_id = _vote_through_the_flow(orchestrated_demo, prefect_server.api_url)
    dead = f"http://127.0.0.1:{free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: dead}), use_clock(WEB_NOW + timedelta(hours=1)), \
            TestClient(create_app(), base_url="http://testserver") as client:
        session_for(client, orchestrated_demo, "bantochuc")
        page = client.get("/candidates/2/history")
        exports = [client.get("/candidates/2/history.csv"), client.get("/candidates/2/history.pdf")]
        data = client.get("/api/v1/candidates/2/history", headers=bearer(token_for(orchestrated_demo, "bantochuc"))).json()
    assert page.status_code == 200 and [r.status_code for r in exports] == [200, 200]
    assert 'data-flow-runs="unreachable"' in page.text
    assert "Không đọc được các lượt chạy quy trình: hệ thống điều phối (Prefect) không phản hồi." in page.text
    rows = _page_rows(page.text)
    assert list(rows)[:-1] == [r for r in _expected_refs(orchestrated_demo, 2) if r in rows][:-1]
    [event] = [e for e in data["events"] if e["flow_run_id"] == run_id and e["kind"] == "transition"]
    assert event["flow_run"] is None and data["flow_runs"]["status"] == "unreachable"
    assert run_id[:8] in rows[f"event-{event['seq']}"] and "chưa đọc được" in rows[f"event-{event['seq']}"]
    flat = " ".join("\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(exports[1].content)).pages).split())
    assert "hệ thống điều phối (Prefect) không phản hồi" in flat
