"""Importing files in progress through the real app (session, CSRF, multipart upload), and the mark of an unverified
file on every page that shows it: candidate page, board, candidate list, history (and its CSV), compliance."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from models.tables import Candidate, ImportBatch
from tests.changes.test_files_in_progress import AUTHORITY, BAD, COMMITTEE, xlsx
from tests.web.conftest import ADMIN_USER, ORG_DEPARTMENT, SECRETARY_NA_LA, bearer, csrf_of, session_for, token_for

LABEL = "Đã nhập từ hồ sơ giấy – chưa xác minh"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _post(client, data: bytes, *, action: str, mode: str = "refuse", name: str = "muong-bu.xlsx"):
    csrf = csrf_of(client.get("/admin/imports").text)
    return client.post("/admin/imports", data={"csrf_token": csrf, "authority": AUTHORITY, "mode": mode, "action": action},
                       files={"file": (name, data, XLSX)}, headers={"Origin": "http://testserver"})


def test_the_admin_dry_runs_then_imports_and_a_secretary_may_not(client, demo):
    session_for(client, demo, ADMIN_USER)
    data = xlsx(COMMITTEE[:4])
    dry = _post(client, data, action="dry_run")
    assert dry.status_code == 200 and "Nhập thử" in dry.text and "Lấy ý kiến nhận xét" in dry.text
    with demo.connect() as conn:
        assert conn.execute(select(ImportBatch.__table__.c.id)).first() is None
    done = _post(client, data, action="import")
    assert done.status_code == 200 and "Đã nhập 4 hồ sơ" in done.text
    with demo.connect() as conn:
        batch = conn.execute(select(ImportBatch.__table__)).mappings().one()
    assert (batch["candidates"], batch["unverified"], batch["mode"]) == (4, 0, "refuse")
    again = _post(client, data, action="import")
    assert again.status_code == 422 and f"lô số {batch['id']}" in again.text
    template = client.get("/admin/imports/template.xlsx")
    assert template.status_code == 200
    book = load_workbook(io.BytesIO(template.content))
    assert [c.value for c in book["Hồ sơ"][1]][:3] == ["STT", "Họ và tên", "Ngày sinh"]
    assert "Hướng dẫn" in book.sheetnames and book["Hồ sơ"].data_validations.dataValidation

    session_for(client, demo, SECRETARY_NA_LA)
    assert client.get("/admin/imports").status_code == 403
    csrf = csrf_of(client.get("/account").text)
    refused = client.post("/admin/imports", data={"csrf_token": csrf, "authority": AUTHORITY, "action": "import"},
                          files={"file": ("x.xlsx", xlsx(COMMITTEE[4:5]), XLSX)}, headers={"Origin": "http://testserver"})
    assert refused.status_code == 403


def test_row_errors_are_listed_with_rule_and_citation(client, demo):
    session_for(client, demo, ADMIN_USER)
    page = _post(client, xlsx(BAD), action="import")
    assert page.status_code == 422
    assert "Ngày chi bộ xét" in page.text and "Hướng dẫn 06-HD/TW" in page.text and "ZZ99" in page.text
    assert "Cầm Văn Phúc" not in page.text


def test_an_unverified_file_is_marked_on_every_page(client, demo):
    session_for(client, demo, ADMIN_USER)
    done = _post(client, xlsx(BAD[:1]), action="import", mode="unverified", name="bad.xlsx")
    assert done.status_code == 200 and LABEL in done.text
    with demo.connect() as conn:
        table = Candidate.__table__
        cid = conn.execute(select(table.c.id).where(table.c.imported_unverified.is_(True))).scalar_one()
    session_for(client, demo, ORG_DEPARTMENT)           # the commune's organisation department reads the files
    page = client.get(f"/candidates/{cid}").text
    assert LABEL in page and "trước khi dùng ketnap (nhập từ hồ sơ giấy)" in page   # the steps in the timeline
    assert "Chưa xác minh: " in page                                 # and the rule the accepted step broke
    history = client.get(f"/candidates/{cid}/history")
    assert LABEL in history.text and "Trước khi dùng ketnap" in history.text and AUTHORITY in history.text
    assert LABEL in client.get("/cells/cbcs-tram-y-te").text
    assert LABEL in client.get("/candidates").text
    assert LABEL in client.get("/units/xa-muong-bu/compliance?from=2025-01-01&to=2026-12-31").text
    api = client.get(f"/api/v1/candidates/{cid}", headers=bearer(token_for(demo, ORG_DEPARTMENT)))
    assert api.status_code == 200 and api.json()["imported"]["unverified"] is True
    csv_text = client.get(f"/candidates/{cid}/history.csv").content.decode("utf-8-sig")
    assert "Trước khi dùng ketnap" in csv_text and "chưa xác minh" in csv_text


def test_a_file_that_is_not_a_workbook_is_named_on_the_page_not_a_server_error(client, demo):
    session_for(client, demo, ADMIN_USER)
    for data in (b"PK\x03\x04 not really a zip", b"\x00\x01 plain bytes"):
        for action in ("dry_run", "import"):
            page = _post(client, data, action=action, name="ho-so.xlsx")
            assert page.status_code == 422, page.text[:300]
            assert "Không đọc được tệp Excel" in page.text and "Tệp" in page.text
    with demo.connect() as conn:
        assert conn.execute(select(ImportBatch.__table__.c.id)).first() is None
