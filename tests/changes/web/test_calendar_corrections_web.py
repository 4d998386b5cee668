"""The admin's calendar page: preview a corrected year, record it, read what it moved (the real app, demo data)."""

from __future__ import annotations

from sqlalchemy import func, select

from models.tables import AuditEvent, CalendarCorrection
from tests.web.conftest import ADMIN_USER, csrf_of, session_for

TET_2027 = "\n".join(f"{d:02d}/02/2027 Tết Nguyên đán" for d in (3, 4, 5, 8, 9, 10, 11))
# 2026 as shipped, plus a day off on Thursday 31/12/2026: the demo's recognition vote (#1) moves by one day
DAYS_OFF_2026 = "\n".join(["16/02/2026 Tết", "17/02/2026 Tết", "18/02/2026 Tết", "19/02/2026 Tết", "20/02/2026 Tết",
                           "31/08/2026 Nghỉ bù", "01/09/2026 Quốc khánh", "02/09/2026 Quốc khánh",
                           "31/12/2026 Nghỉ cuối năm (giả định)"])


def _counts(engine):
    with engine.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (CalendarCorrection.__table__, AuditEvent.__table__))


def _post(client, **form):
    csrf = csrf_of(client.get("/admin/calendar").text)
    return client.post("/admin/calendar", data={"csrf_token": csrf, **form}, headers={"Origin": "http://testserver"})


def test_the_admin_previews_then_records_a_corrected_year(client, demo):
    session_for(client, demo, ADMIN_USER)
    page = client.get("/admin/calendar?year=2027")
    assert page.status_code == 200 and "04/02/2027 Tết Nguyên đán" in page.text     # the year in force, to edit
    before = _counts(demo)
    form = {"year": "2026", "source": "Thông báo số 99/TB-VPCP (giả định)", "days_off": DAYS_OFF_2026,
            "working_days": "22/08/2026 Làm bù cho ngày nghỉ 31/8/2026"}
    preview = _post(client, **form, action="preview")
    assert preview.status_code == 200, preview.text[:500]
    assert "Xem trước (chưa ghi gì)" in preview.text and "31/12/2026" in preview.text
    assert "1 thời hạn của 1 hồ sơ được tính lại" in preview.text
    assert _counts(demo) == before
    applied = _post(client, **form, action="apply")
    assert applied.status_code == 200
    assert "Đã ghi nhận điều chỉnh lịch năm 2026 (lần 2)" in applied.text
    with demo.connect() as conn:
        correction_id, summary = conn.execute(select(CalendarCorrection.__table__.c.id,
                                                     CalendarCorrection.__table__.c.summary)).one()
        moved = len(summary["changes"])
    detail = client.get(f"/admin/calendar/{correction_id}")
    assert detail.status_code == 200 and "Điều chỉnh lịch #" in detail.text and "Thông báo số 99/TB-VPCP" in detail.text
    assert moved == 1 and detail.text.count("<tr><td>#") == moved      # one row per deadline the correction moved
    assert "Thời hạn chi bộ xét công nhận chính thức" in detail.text and "19/01/2027" in detail.text


def test_a_bad_line_is_named_and_nothing_is_recorded(client, demo):
    session_for(client, demo, ADMIN_USER)
    before = _counts(demo)
    response = _post(client, year="2027", source="Thông báo", days_off="04/02/2027 Tết\n31/02/2027 Không có ngày này",
                     action="apply")
    assert response.status_code == 422
    assert "Dòng 2" in response.text and "31/02/2027" in response.text
    assert "31/02/2027 Không có ngày này" in response.text            # what was typed is kept
    assert _counts(demo) == before


def test_the_api_previews_by_default_and_records_on_request(client, demo):
    from tests.web.conftest import bearer, token_for

    headers = bearer(token_for(demo, ADMIN_USER))
    body = {"year": 2027, "source": "Thông báo số 99/TB-VPCP (giả định)",
            "days_off": {f"2027-02-{d:02d}": "Tết Nguyên đán" for d in (3, 4, 5, 8, 9, 10, 11)}}
    before = _counts(demo)
    preview = client.post("/api/v1/admin/calendar/corrections", json=body, headers=headers)
    assert preview.status_code == 200 and preview.json()["dry_run"] is True and _counts(demo) == before
    done = client.post("/api/v1/admin/calendar/corrections", json=body | {"dry_run": False}, headers=headers)
    assert done.status_code == 200 and done.json()["revision"] == 2
    listed = client.get("/api/v1/admin/calendar/corrections", headers=headers).json()
    assert [(c["year"], c["revision"]) for c in listed] == [(2027, 2)]
    bad = client.post("/api/v1/admin/calendar/corrections", json=body | {"working_days": {"2027-02-04": "Làm bù"}},
                      headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "correction_rejected"
    assert bad.json()["error"]["fields"][0]["field"] == "working_days"
