"""The dossier through the transition flows: forms rendered at each step, stored, audited; a complete file."""

from __future__ import annotations

import io
from datetime import date

import pypdf
from sqlalchemy import select

from flows.submit import submit_transition
from models.audit.trail import timeline, verify
from models.dossier.checklist import checklist, complete
from models.dossier.data import gather
from models.dossier.dossier import build, write
from models.dossier.store import mark_signed, stored_documents
from models.procedure.loader import get_ruleset
from models.tables import Document
from models.transitions import TransitionRequest
from tests.support import NOW, SECRETARY, TO_CELL_REVIEW, add

WALK = [*TO_CELL_REVIEW,
        ("cell_approves", "2026-07-06", {"approve": 4}),
        ("grassroots_approves", "2026-07-20", {"approve": 12}),
        ("admit", "2026-08-03", {"decision_number": "125-QĐ/ĐU"}),
        ("hold_ceremony", "2026-08-19", {"helper": "NL03"}),
        ("record_new_member_certificate", "2026-12-04", {"certificate_number": "BD-2026-5"}),
        ("open_recognition", "2027-08-19", {}),
        ("record_recognition_documents", "2027-08-23", {"self_review_on": "2027-08-19", "helper_review_on": "2027-08-20",
                                                        "recognition_opinions_on": "2027-08-23"}),
        ("cell_recognises", "2027-08-30", {"approve": 4}),
        ("grassroots_recognises", "2027-09-13", {"approve": 12}),
        ("recognise", "2027-09-27", {"decision_number": "240-QĐ/ĐU"})]


def _walk(engine, cid, steps):
    for event, on, inputs in steps:
        submitted = submit_transition(engine, TransitionRequest(cid, event, date.fromisoformat(on), SECRETARY,
                                                                inputs=inputs), now=NOW)
        assert submitted.result.applied and submitted.orchestration == "flow_run", event


def test_each_step_renders_stores_and_audits_its_forms(orchestrated):
    cid = add(orchestrated)
    _walk(orchestrated, cid, WALK[:5])                  # through the cell's vote
    docs = stored_documents(orchestrated, cid)
    assert [(d["form_id"], d["doc_index"]) for d in docs] == [
        ("1-KNĐ", 1), ("2-KNĐ", 1), ("3-KNĐ", 1), ("3-KNĐ", 2), ("5-KNĐ", 1), ("6-KNĐ", 1)]
    assert all(d["ruleset_version"] == "qd294-2025" and len(d["template_version"]) == 12 for d in docs)
    with orchestrated.connect() as conn:
        events = timeline(conn, cid)
        html = conn.execute(select(Document.__table__.c.html).where(Document.__table__.c.form_id == "6-KNĐ")).scalar()
    audited = [e for e in events if e["kind"] == "documents"]
    assert sorted(h for e in audited for h in e["documents"]) == sorted(d["content_hash"] for d in docs)
    vote = next(e for e in events if e["event"] == "cell_approves" and e["kind"] == "transition")
    assert any(e["payload"]["for_event"] == vote["id"] for e in audited)
    assert "4/5 đảng viên chính thức" in html and "Cà Văn Dũng" in html
    assert verify(orchestrated).ok


def test_an_admitted_and_recognised_member_has_a_complete_file(orchestrated, tmp_path):
    cid = add(orchestrated)
    _walk(orchestrated, cid, WALK)
    data = gather(orchestrated, cid)
    items = checklist(data, stored_documents(orchestrated, cid))
    issued = {i.form_id for i in items if i.status == "awaiting_signature"}
    assert issued == {"5-KNĐ", "6-KNĐ", "8-KNĐ", "9-KNĐ", "12-KNĐ", "13-KNĐ", "15-KNĐ", "16-KNĐ"}
    assert not [i for i in items if i.status == "missing"]
    for form_id in sorted(issued):
        mark_signed(orchestrated, cid, form_id, date(2027, 10, 1), SECRETARY, now=NOW)
    items = checklist(gather(orchestrated, cid), stored_documents(orchestrated, cid))
    assert complete(items)
    rs = get_ruleset("qd294-2025")
    expected = {f for st in rs.stages for f in st.collects} - {"4-KNĐ", "4A-KNĐ", "7-KNĐ", "14-KNĐ"}
    assert {i.form_id for i in items} == expected

    dossier = build(orchestrated, cid, SECRETARY, now=NOW)
    paths = write(dossier, tmp_path, ("html", "pdf", "docx"))
    whole = tmp_path / f"ho-so-{cid}.pdf"
    assert whole in paths and (tmp_path / f"ho-so-{cid}.docx") in paths
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(whole.read_bytes())).pages)
    assert "DANH MỤC HỒ SƠ" in text and "QUYẾT ĐỊNH" in text and "Cà Văn Dũng" in text
    assert "Còn thiếu" not in dossier.checklist_html.split("<table")[1]
    assert verify(orchestrated).ok


def test_a_replayed_step_stores_no_second_set_of_documents(orchestrated):
    cid = add(orchestrated)
    _walk(orchestrated, cid, WALK[:2])
    event, on, inputs = WALK[2]
    request = TransitionRequest(cid, event, date.fromisoformat(on), SECRETARY, inputs=inputs, idempotency_key="once")
    first = submit_transition(orchestrated, request, now=NOW)
    again = submit_transition(orchestrated, request, now=NOW)
    assert again.result.replayed and again.result.audit_event_id == first.result.audit_event_id
    assert len(stored_documents(orchestrated, cid)) == 4           # 1-, 2-KNĐ and two introductions, once
