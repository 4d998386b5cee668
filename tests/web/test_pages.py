"""The pages as a secretary, a sponsor and an admin use them: login, CSRF, steps, meetings, downloads, notes."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from ketnap.context import use_clock
from ketnap.settings import secret_key
from models.links import make_token, slot_for
from models.tables import AuditEvent, Candidate, Document, Member, SponsorNote
from tests.web.conftest import (
    ADMIN_USER,
    DEMO_PASSWORD,
    SECRETARY_HUOI_HAO,
    SECRETARY_NA_LA,
    SPONSOR_NL02,
    WEB_NOW,
    csrf_of,
    login,
    session_for,
)

AUDIT = AuditEvent.__table__
CANDIDATE = Candidate.__table__
NOTE = SponsorNote.__table__
DOCUMENT = Document.__table__
MEMBER = Member.__table__
DUNG = 2                    # Cà Văn Dũng, bản Nà La, waiting for the cell's vote
NEXT_MEETING = date(2026, 12, 7)
ORIGIN = {"Origin": "http://testserver"}


def text(html: str) -> str:
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def stage_of(engine: Engine, candidate_id: int) -> tuple[str, int]:
    with engine.connect() as conn:
        row = conn.execute(select(CANDIDATE.c.stage, CANDIDATE.c.version).where(CANDIDATE.c.id == candidate_id)).one()
    return row.stage, row.version


def kinds(engine: Engine, candidate_id: int) -> list[str]:
    with engine.connect() as conn:
        query = select(AUDIT.c.kind).where(AUDIT.c.candidate_id == candidate_id).order_by(AUDIT.c.seq)
        return conn.execute(query).scalars().all()


# --- login, sessions, CSRF ---------------------------------------------------------------------------

def test_login_sets_a_protected_session_cookie_and_lands_on_the_home_page(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200 and "Đăng nhập" in page.text
    response = client.post("/login", data={"username": SECRETARY_NA_LA, "password": DEMO_PASSWORD,
                                           "csrf_token": csrf_of(page.text), "next": ""}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/cells"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("ketnap_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert client.get("/cells/cb-ban-na-la").status_code == 200


def test_login_refuses_a_wrong_password_in_vietnamese_and_opens_no_session(client: TestClient) -> None:
    page = client.get("/login")
    response = client.post("/login", data={"username": SECRETARY_NA_LA, "password": "sai-mat-khau",
                                           "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in text(response.text)
    assert not any(c.startswith("ketnap_session=") for c in response.headers.get_list("set-cookie"))


def test_login_is_rate_limited_with_a_clear_message(client: TestClient) -> None:
    for _ in range(5):
        page = client.get("/login")
        client.post("/login", data={"username": SECRETARY_NA_LA, "password": "doan-bua-123", "csrf_token": csrf_of(page.text)})
    page = client.get("/login")
    response = client.post("/login", data={"username": SECRETARY_NA_LA, "password": DEMO_PASSWORD,
                                           "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert response.status_code == 429 and int(response.headers["retry-after"]) > 0
    assert "quá nhiều lần" in text(response.text)


def test_login_without_its_csrf_token_or_from_another_site_is_refused(client: TestClient) -> None:
    page = client.get("/login")
    no_token = client.post("/login", data={"username": SECRETARY_NA_LA, "password": DEMO_PASSWORD}, follow_redirects=False)
    assert no_token.status_code == 403
    cross = client.post("/login", data={"username": SECRETARY_NA_LA, "password": DEMO_PASSWORD,
                                        "csrf_token": csrf_of(page.text)}, headers={"Origin": "https://evil.example"},
                        follow_redirects=False)
    assert cross.status_code == 403


@pytest.mark.parametrize(("target", "lands_on"), [
    ("/candidates/2", "/candidates/2"), ("//evil.example/x", "/cells"), ("https://evil.example", "/cells"),
    ("/\\evil.example", "/cells"),
])
def test_login_returns_only_to_a_page_of_this_site(client: TestClient, target: str, lands_on: str) -> None:
    page = client.get("/login", params={"next": target})
    response = client.post("/login", data={"username": SECRETARY_NA_LA, "password": DEMO_PASSWORD,
                                           "csrf_token": csrf_of(page.text), "next": target}, follow_redirects=False)
    assert response.headers["location"] == lands_on


def test_a_page_without_a_session_sends_to_the_login_page_and_back(client: TestClient) -> None:
    response = client.get("/candidates/2", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Fcandidates%2F2"


def test_logout_ends_the_session_and_logout_everywhere_ends_the_others(demo: Engine) -> None:
    from web.app import create_app

    app = create_app()
    with TestClient(app) as phone, TestClient(app) as desk:
        login(phone, SECRETARY_NA_LA)
        login(desk, SECRETARY_NA_LA)
        stolen = dict(phone.cookies)
        phone.post("/logout", data={"csrf_token": csrf_of(phone.get("/account").text)}, headers=ORIGIN)
        assert phone.get("/account", follow_redirects=False).status_code == 303
        with TestClient(app, cookies=stolen) as thief:       # the old cookie opens nothing
            assert thief.get("/account", follow_redirects=False).status_code == 303
        assert desk.get("/account").status_code == 200
        login(phone, SECRETARY_NA_LA)
        phone.post("/logout-everywhere", data={"csrf_token": csrf_of(phone.get("/account").text)}, headers=ORIGIN)
        assert desk.get("/account", follow_redirects=False).status_code == 303
        assert phone.get("/account", follow_redirects=False).status_code == 303


def test_a_post_without_the_session_csrf_token_changes_nothing(client: TestClient, demo: Engine) -> None:
    session_for(client, demo, SECRETARY_NA_LA)
    before = kinds(demo, DUNG)
    form = {"on": "2026-11-05", "in_approve": "3", "in_excused_absent": "1", "intent": "submit", "key": "k-1234567"}
    assert client.post(f"/candidates/{DUNG}/act/cell_approves", data=form, headers=ORIGIN).status_code == 403
    other = TestClient(client.app)
    session_for(other, demo, SECRETARY_NA_LA)
    foreign = csrf_of(other.get("/account").text)            # a valid token, of another session
    assert client.post(f"/candidates/{DUNG}/act/cell_approves", data=form | {"csrf_token": foreign},
                       headers=ORIGIN).status_code == 403
    own = csrf_of(client.get("/account").text)
    assert client.post(f"/candidates/{DUNG}/act/cell_approves", data=form | {"csrf_token": own},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert kinds(demo, DUNG) == before and stage_of(demo, DUNG)[0] == "cell_review"


def test_pages_carry_security_headers_and_are_not_cached(client: TestClient, demo: Engine) -> None:
    session_for(client, demo, SECRETARY_NA_LA)
    response = client.get(f"/candidates/{DUNG}")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY" and response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"     # note links never leave the site


# --- the secretary's steps ---------------------------------------------------------------------------

def test_opening_a_file_is_an_audited_read_by_the_person_in_their_role(client: TestClient, demo: Engine) -> None:
    session_for(client, demo, SECRETARY_NA_LA)
    client.get(f"/candidates/{DUNG}")
    with demo.connect() as conn:
        read = conn.execute(select(AUDIT.c.actor, AUDIT.c.role, AUDIT.c.payload).where(
            AUDIT.c.candidate_id == DUNG, AUDIT.c.kind == "read").order_by(AUDIT.c.seq.desc())).first()
    assert read.actor == "user:bithu.nala" and read.role == "secretary" and "web view" in read.payload


def test_what_already_blocks_a_step_is_shown_before_anything_is_entered(client: TestClient, demo: Engine) -> None:
    session_for(client, demo, SECRETARY_HUOI_HAO)
    page = text(client.get("/candidates/3").text)                  # Giàng A Sùng: 17 years 10 months old
    assert "Nếu ghi hôm nay sẽ bị từ chối vì" in page
    assert "tuổi" in page and "18" in page
    form = text(client.get("/candidates/3/act/cell_approves").text)
    assert "đang vướng" in form and "tuổi" in form


def test_check_writes_nothing_then_a_refused_step_is_explained_and_audited_then_the_fixed_one_applies(
        client: TestClient, demo: Engine) -> None:
    session_for(client, demo, SECRETARY_NA_LA)
    form_page = client.get(f"/candidates/{DUNG}/act/cell_approves")
    csrf, key = csrf_of(form_page.text), re.search(r'name="key" value="([^"]+)"', form_page.text).group(1)
    before_kinds, (_, version) = kinds(demo, DUNG), stage_of(demo, DUNG)
    base = {"csrf_token": csrf, "key": key, "version": str(version), "on": "2026-11-05"}

    check = client.post(f"/candidates/{DUNG}/act/cell_approves", data=base | {"in_approve": "2", "intent": "check"},
                        headers=ORIGIN)
    assert check.status_code == 200 and "Nếu ghi sẽ bị từ chối vì" in text(check.text)
    assert kinds(demo, DUNG) == before_kinds

    refused = client.post(f"/candidates/{DUNG}/act/cell_approves", data=base | {"in_approve": "2", "intent": "submit"},
                          headers=ORIGIN)
    page = text(refused.text)
    assert refused.status_code == 422 and "Chưa ghi được" in page and "hai phần ba" in page
    assert kinds(demo, DUNG)[-1] == "refusal" and stage_of(demo, DUNG) == ("cell_review", version)
    new_key = re.search(r'name="key" value="([^"]+)"', refused.text).group(1)
    assert new_key != key                        # the refusal is recorded under the first key: a new one for the fix

    fixed = {"in_approve": "3", "in_excused_absent": "1", "intent": "submit", "key": new_key}
    applied = client.post(f"/candidates/{DUNG}/act/cell_approves", data=base | fixed, headers=ORIGIN,
                          follow_redirects=False)
    assert applied.status_code == 303 and applied.headers["location"].startswith(f"/candidates/{DUNG}?done=")
    assert stage_of(demo, DUNG)[0] == "grassroots_review"
    with demo.connect() as conn:
        forms = conn.execute(select(DOCUMENT.c.form_id).where(DOCUMENT.c.candidate_id == DUNG)).scalars().all()
    assert "6-KNĐ" in forms
    # the phone sends the form again (a double tap, a retry on a bad connection): nothing is applied twice
    again = client.post(f"/candidates/{DUNG}/act/cell_approves", data=base | fixed, headers=ORIGIN, follow_redirects=False)
    assert again.status_code == 303
    assert kinds(demo, DUNG).count("transition") == before_kinds.count("transition") + 1


def test_a_stale_form_is_refused_with_a_reload_message(client: TestClient, demo: Engine) -> None:
    session_for(client, demo, SECRETARY_NA_LA)
    page = client.get(f"/candidates/{DUNG}/act/cell_approves")
    _, version = stage_of(demo, DUNG)
    response = client.post(f"/candidates/{DUNG}/act/cell_approves", headers=ORIGIN, data={
        "csrf_token": csrf_of(page.text), "key": "stale-12345", "version": str(version - 1), "on": "2026-11-05",
        "in_approve": "3", "in_excused_absent": "1", "intent": "submit"})
    assert response.status_code == 409 and "vừa được người khác cập nhật" in text(response.text)
    assert stage_of(demo, DUNG) == ("cell_review", version)


def test_bad_input_is_named_next_to_the_field_and_nothing_is_written(client: TestClient, demo: Engine) -> None:
    session_for(client, demo, SECRETARY_NA_LA)
    page = client.get(f"/candidates/{DUNG}/act/cell_approves")
    before = kinds(demo, DUNG)
    common = {"csrf_token": csrf_of(page.text), "key": "bad-123456", "intent": "submit"}
    for data, message in (({"on": "2026-11-05", "in_approve": "ba"}, "không phải số nguyên"),
                          ({"on": "05/11/2026", "in_approve": "3"}, "không phải ngày hợp lệ"),
                          ({"on": "2027-01-05", "in_approve": "3"}, "chưa đến"),
                          ({"on": "2026-11-05"}, "Chưa nhập “Số đảng viên chính thức tán thành”")):
        response = client.post(f"/candidates/{DUNG}/act/cell_approves", data=common | data, headers=ORIGIN)
        assert response.status_code == 422 and message in text(response.text), data
    assert kinds(demo, DUNG) == before


def _add_under_age_candidate(demo: Engine) -> int:
    """Another candidate of bản Nà La at the cell's vote, too young to be admitted."""
    from models.actors import Actor
    from models.imports.candidates import CandidateIn, add_candidates
    from models.transitions import TransitionRequest, apply_transition

    actor = Actor("test:secretary", "secretary")
    birth = date(WEB_NOW.year - 17, 6, 1)
    (cid,) = add_candidates(demo, [(0, CandidateIn.model_validate({
        "full_name": "Lò Văn Trẻ", "birth_date": birth, "gender": "nam", "ethnicity": "Thái",
        "general_education_grade": 12, "occupation": "farmer", "cell": "cb-ban-na-la", "residence_village": "ban-na-la",
        "youth_union_member": True, "listed_on": date(2025, 9, 1),
        "sponsors": [{"kind": "youth_union", "body_name": "Đoàn xã", "resolution_ref": "1-NQ", "resolution_on": date(2026, 5, 1)},
                     {"member": "NL03", "together_since": date(2019, 1, 1), "relation": "residence"}]}))], actor, now=WEB_NOW)
    for event, on, inputs in (("nominate_for_course", "2025-10-01", {}),
                              ("record_awareness_certificate", "2025-11-20", {"certificate_number": "CN-1"}),
                              ("complete_file", "2026-06-01", {"application_on": "2026-05-02", "cv_certified_on": "2026-05-20",
                                                               "background_verified_on": "2026-05-25"}),
                              ("summarise_opinions", "2026-06-15", {})):
        result = apply_transition(demo, TransitionRequest(cid, event, date.fromisoformat(on), actor, inputs=inputs), now=WEB_NOW)
        assert result.applied, result.failures
    return cid


def test_a_meeting_records_several_candidates_all_or_nothing_and_never_twice(client: TestClient, demo: Engine) -> None:
    young = _add_under_age_candidate(demo)
    session_for(client, demo, SECRETARY_NA_LA)
    page = client.get("/cells/cb-ban-na-la/meeting", params={"event": "cell_approves"})
    assert page.status_code == 200 and "Lò Văn Trẻ" in page.text and "Cà Văn Dũng" in page.text
    batch = {"csrf_token": csrf_of(page.text), "event": "cell_approves", "on": "2026-11-05", "batch_key": "meeting-2026-11",
             f"c{DUNG}.approve": "3", f"c{DUNG}.excused_absent": "1", f"c{young}.approve": "4", f"c{young}.excused_absent": "1",
             "intent": "submit"}
    refused = client.post("/cells/cb-ban-na-la/meeting", data=batch | {"include": [str(DUNG), str(young)]}, headers=ORIGIN)
    assert refused.status_code == 422
    page_text = text(refused.text)
    assert "chưa ghi hồ sơ nào" in page_text and "Lò Văn Trẻ" in page_text and "tuổi" in page_text
    assert stage_of(demo, DUNG)[0] == "cell_review" and stage_of(demo, young)[0] == "cell_review"

    ok = client.post("/cells/cb-ban-na-la/meeting", data=batch | {"include": [str(DUNG)]}, headers=ORIGIN)
    assert ok.status_code == 200 and "Đã ghi 1 hồ sơ" in text(ok.text)
    assert stage_of(demo, DUNG)[0] == "grassroots_review" and stage_of(demo, young)[0] == "cell_review"
    again = client.post("/cells/cb-ban-na-la/meeting", data=batch | {"include": [str(DUNG)]}, headers=ORIGIN)
    assert again.status_code == 200 and "đã ghi trước đó" in text(again.text)
    assert kinds(demo, DUNG).count("transition") == 5            # four demo steps, then this one: once


def test_the_board_shows_the_meeting_missing_notes_and_deadlines(client: TestClient, demo: Engine) -> None:
    session_for(client, demo, SECRETARY_NA_LA)
    board = text(client.get("/cells/cb-ban-na-la").text)
    assert "ngày 7 tháng 12 năm 2026" in board                    # the 5th is a Saturday: the next working day
    assert "Cà Thị Hương → Cà Văn Dũng" in board                 # her note for that meeting is missing
    assert "E Chi bộ xét, đề nghị kết nạp" in board


# --- documents ---------------------------------------------------------------------------------------

def _first_document(engine: Engine, candidate_id: int, form_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(DOCUMENT.c.id).where(DOCUMENT.c.candidate_id == candidate_id,
                                                        DOCUMENT.c.form_id == form_id)).scalars().first()


def test_forms_download_as_real_pdf_docx_and_html_and_each_download_is_audited(client: TestClient, demo: Engine) -> None:
    from docx import Document as Docx
    from pypdf import PdfReader

    session_for(client, demo, SECRETARY_NA_LA)
    doc_id = _first_document(demo, DUNG, "5-KNĐ")
    pdf = client.get(f"/candidates/{DUNG}/documents/{doc_id}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="05-KND-hs2.pdf"'
    pdf_text = unicodedata.normalize("NFC", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages))
    assert "Cà Văn Dũng" in pdf_text
    docx = client.get(f"/candidates/{DUNG}/documents/{doc_id}.docx")
    body = "\n".join(p.text for p in Docx(io.BytesIO(docx.content)).paragraphs)
    assert "Cà Văn Dũng" in unicodedata.normalize("NFC", body)
    html = client.get(f"/candidates/{DUNG}/documents/{doc_id}.html")
    assert html.headers["content-security-policy"].startswith("default-src 'none'") and "Cà Văn Dũng" in html.text
    with demo.connect() as conn:
        query = select(AUDIT.c.payload).where(AUDIT.c.candidate_id == DUNG, AUDIT.c.kind == "read")
        purposes = conn.execute(query).scalars().all()
    assert sum("download 5-KNĐ" in p for p in purposes) == 3
    assert client.get(f"/candidates/{DUNG}/documents/{doc_id}.exe").status_code == 422
    other = _first_document(demo, 1, "6-KNĐ")                     # a form of another cell's candidate, same id space
    assert client.get(f"/candidates/{DUNG}/documents/{other}.pdf").status_code == 404


def test_the_whole_dossier_downloads_as_one_pdf_and_as_a_zip(client: TestClient, demo: Engine) -> None:
    from pypdf import PdfReader

    session_for(client, demo, SECRETARY_NA_LA)
    pdf = client.get(f"/candidates/{DUNG}/dossier.pdf")
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) >= 5
    first = " ".join(unicodedata.normalize("NFC", reader.pages[0].extract_text()).split())
    assert "DANH MỤC HỒ SƠ" in first
    assert "facts." not in first and "chờ bước “Chi bộ biểu quyết đề nghị kết nạp”" in first
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/candidates/{DUNG}/dossier.zip").content))
    names = set(archive.namelist())
    assert {"00-danh-muc.pdf", "01-KND.pdf", "01-KND.docx", "05-KND.html", "ho-so-2.pdf"} <= names


# --- sponsors ----------------------------------------------------------------------------------------

def _member_id(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(MEMBER.c.id).where(MEMBER.c.code == code)).scalar_one()


def test_a_sponsor_sees_their_candidates_and_writes_the_note_for_the_next_meeting(client: TestClient, demo: Engine) -> None:
    session_for(client, demo, SPONSOR_NL02)
    mine = text(client.get("/sponsor").text)
    assert "Cà Văn Dũng" in mine and "Kỳ họp 07/12/2026" in mine and "Lò Thị Hoa" not in mine
    page = client.get(f"/candidates/{DUNG}")
    assert page.status_code == 200 and "Lý lịch" not in page.text            # no CV for a sponsor
    bad = client.post(f"/sponsor/candidates/{DUNG}/notes", headers=ORIGIN, data={
        "csrf_token": csrf_of(page.text), "meeting_on": "2026-12-08", "text": "Tốt."})
    assert bad.status_code == 422 and "không phải ngày họp chi bộ" in text(bad.text)
    ok = client.post(f"/sponsor/candidates/{DUNG}/notes", headers=ORIGIN, follow_redirects=False, data={
        "csrf_token": csrf_of(page.text), "meeting_on": NEXT_MEETING.isoformat(), "text": "Tích cực, gương mẫu."})
    assert ok.status_code == 303
    with demo.connect() as conn:
        note = conn.execute(select(NOTE.c.text, NOTE.c.via, NOTE.c.recorded_by).where(NOTE.c.candidate_id == DUNG)).one()
    assert tuple(note) == ("Tích cực, gương mẫu.", "account", "user:huong.nl02")
    assert "Cà Thị Hương → Cà Văn Dũng" not in text(TestClient(client.app).get("/login").text)


def test_the_reminder_link_opens_exactly_its_note_form_until_it_expires(client: TestClient, demo: Engine) -> None:
    token = make_token(secret_key(), slot_for(_member_id(demo, "NL02"), DUNG, NEXT_MEETING))
    form = client.get(f"/notes/{token}")
    assert form.status_code == 200 and "Cà Thị Hương" in form.text and "Cà Văn Dũng" in form.text
    empty = client.post(f"/notes/{token}", data={"text": "   "}, headers=ORIGIN)
    assert empty.status_code == 422 and "không được để trống" in text(empty.text)
    saved = client.post(f"/notes/{token}", data={"text": "Chấp hành tốt nghị quyết."}, headers=ORIGIN)
    assert saved.status_code == 200 and "Đã gửi nhận xét" in text(saved.text)
    assert client.post(f"/notes/{token}", data={"text": "x"}, headers={"Origin": "https://evil.example"}).status_code == 403
    tampered = client.get(f"/notes/{token[:-2]}xx")
    assert tampered.status_code == 404 and "không hợp lệ" in text(tampered.text)
    with use_clock(WEB_NOW + timedelta(days=30)):
        assert client.get(f"/notes/{token}").status_code == 410
    with demo.connect() as conn:
        assert conn.execute(select(func.count()).select_from(NOTE).where(NOTE.c.candidate_id == DUNG)).scalar_one() == 1


# --- admin -------------------------------------------------------------------------------------------

def test_admin_creates_accounts_with_field_errors_and_imports_all_or_nothing(client: TestClient, demo: Engine) -> None:
    from models.accounts import ACCOUNT

    session_for(client, demo, ADMIN_USER)
    csrf = csrf_of(client.get("/admin").text)
    bad = client.post("/admin/accounts", headers=ORIGIN, data={
        "csrf_token": csrf, "username": "bithu.moi", "display_name": "Bí thư mới", "password": "ngan", "role": "secretary",
        "unit_id": "cb-ban-huoi-hao"})
    assert bad.status_code == 422 and "ít nhất 10 ký tự" in text(bad.text)
    with demo.connect() as conn:
        assert conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.username == "bithu.moi")).first() is None
    broken = b"units:\n  - {id: x1, kind: cell, name: 'Chi bo X'}\nmembers:\n  - {code: Z1, full_name: '', gender: nam}\n"
    imported = client.post("/admin/import", headers=ORIGIN, data={"csrf_token": csrf},
                           files={"file": ("to-chuc.yaml", broken, "application/x-yaml")})
    page = text(imported.text)
    assert imported.status_code == 422 and "chưa nhập gì" in page and "Dòng 2" in page and "Dòng 4" in page
    from models.snapshot import UNIT

    with demo.connect() as conn:
        assert conn.execute(select(UNIT.c.id).where(UNIT.c.id == "x1")).first() is None
    last_admin = client.get("/admin").text
    grant_ids = re.findall(r'/admin/accounts/(\d+)/grants/(\d+)/delete', last_admin)
    with demo.connect() as conn:
        admin_id = conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.username == ADMIN_USER)).scalar_one()
    admin_grant = next(g for a, g in grant_ids if int(a) == admin_id)
    refused = client.post(f"/admin/accounts/{admin_id}/grants/{admin_grant}/delete", data={"csrf_token": csrf}, headers=ORIGIN)
    assert refused.status_code == 409 and "quản trị cuối cùng" in text(refused.text)


def test_every_page_is_small(client: TestClient, demo: Engine) -> None:
    """Secretaries work from mountain communes: each page under 100 KB (the browser test measures the transfer)."""
    session_for(client, demo, "bantochuc")
    for path in ("/units/xa-muong-bu", "/candidates", "/candidates/1", "/cells/cb-ban-pa-cong", "/account"):
        response = client.get(path)
        assert response.status_code == 200 and len(response.content) < 100_000, path
    css = client.get("/static/ketnap.css")
    assert css.status_code == 200 and len(css.content) < 20_000


def test_the_link_in_the_reminder_email_opens_the_sponsors_note_form(client: TestClient, demo: Engine, tmp_path) -> None:
    """From the outbox to the page: plan the reminder for the next meeting, deliver it to a maildir,
    follow the link the email carries."""
    import email
    from email.policy import default as email_policy

    from models.meetings import Meeting
    from models.outbox import deliver
    from models.reminders import plan_sponsor_notes
    from models.transports import MaildirTransport, Router

    plan_sponsor_notes(demo, [Meeting("cb-ban-na-la", NEXT_MEETING, 3, 2)], now=WEB_NOW)
    mail = tmp_path / "mail"
    sent = deliver(demo, Router(MaildirTransport(mail)), now=WEB_NOW + timedelta(days=11), public_url="https://ketnap.example",
                   secret=secret_key())
    assert sent.sent >= 1
    links = []
    for path in mail.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email_policy)
        if "Cà Văn Dũng" in str(message["subject"]) and "ca.thi.huong" in str(message["to"]):
            links += re.findall(r"https://ketnap\.example(/\S+)", message.get_body(preferencelist=("plain",)).get_content())
    assert len(links) == 1
    with use_clock(WEB_NOW + timedelta(days=11)):
        page = client.get(links[0])                       # the short link redirects to the form
        assert page.status_code == 200 and "Cà Thị Hương" in page.text and "ngày 7 tháng 12 năm 2026" in text(page.text)
        saved = client.post(str(page.url.path), data={"text": "Chăm chỉ, có tinh thần trách nhiệm."}, headers=ORIGIN)
    assert saved.status_code == 200 and "Đã gửi nhận xét" in text(saved.text)
