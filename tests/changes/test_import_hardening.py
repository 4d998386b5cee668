"""Files in progress: what a hostile or broken sheet must not do (a 500, a huge cell stored, a formula evaluated),
on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from importlib import resources

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models.imports.files_in_progress import import_files
from models.imports.rows import ImportRejected
from models.procedure.loader import all_rulesets
from models.tables import Candidate
from tests.changes.rulesets import rulesets_dir
from tests.changes.test_files_in_progress import (
    ADMIN,
    AUTHORITY,
    COMMITTEE,
    HEADERS,
    NOW,
    candidates_by_line,
    csv_of,
    table_counts,
    xlsx,
)

__all__ = ["rulesets_dir"]       # fixture
UNREADABLE = "Không đọc được tệp Excel"


def corrupt_sheet_part(good: bytes) -> bytes:
    """A real workbook whose sheet XML breaks after line 4: openpyxl opens it and fails only while reading rows."""
    source = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = data[:data.index(b'<row r="5"')] + b'<row r="5"><c r="A5" t="n"><v>1</v></c><<<'
            target.writestr(name, data)
    return out.getvalue()


def not_a_workbook_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("readme.txt", "không phải bảng tính")
    return out.getvalue()


@pytest.mark.parametrize("kind", ["text", "truncated", "zip_without_workbook", "corrupt_rows"])
def test_bytes_that_are_not_a_workbook_are_a_named_file_error(org, kind):
    good = xlsx(COMMITTEE[:6])
    data = {"text": "Họ và tên;Ngày sinh\nA;1/1/2000\n".encode(), "truncated": good[: len(good) // 2],
            "zip_without_workbook": not_a_workbook_zip(), "corrupt_rows": corrupt_sheet_part(good)}[kind]
    before = table_counts(org)
    with pytest.raises(ImportRejected) as caught:
        import_files(org, data, "ho-so.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    assert [(e.line, e.field) for e in caught.value.errors] == [(0, "Tệp")]
    assert UNREADABLE in caught.value.errors[0].rule
    assert table_counts(org) == before


def test_a_csv_field_beyond_the_csv_limit_is_a_named_line_error(org):
    huge = "x" * (200 * 1024)                                  # beyond the csv module's 128 KB field limit
    data = csv_of(COMMITTEE[:3], change={(1, "Số giấy chứng nhận nhận thức về Đảng"): huge})
    before = table_counts(org)
    with pytest.raises(ImportRejected) as caught:
        import_files(org, data, "ho-so.csv", ADMIN, authority=AUTHORITY, now=NOW)
    assert [(e.line, e.field) for e in caught.value.errors] == [(3, "Tệp")]     # header line 1, second row line 3
    assert "xxxx" not in str(caught.value)
    assert table_counts(org) == before


def test_a_cell_longer_than_any_real_column_is_refused_naming_its_column(org):
    long_name = "Lò Văn " + "A" * 1200                        # under the csv limit, over 1,000 characters
    long_number = "318-QĐ/ĐU" + "9" * 2000
    data = csv_of(COMMITTEE[:7], change={(0, "Họ và tên"): long_name, (6, "Số quyết định kết nạp"): long_number})
    before = table_counts(org)
    with pytest.raises(ImportRejected) as caught:
        import_files(org, data, "ho-so.csv", ADMIN, authority=AUTHORITY, now=NOW)
    assert [(e.line, e.field) for e in caught.value.errors] == [(2, "Họ và tên"), (8, "Số quyết định kết nạp")]
    assert all("1000 ký tự" in e.rule for e in caught.value.errors)
    assert "AAAA" not in str(caught.value) and "9999" not in str(caught.value)
    assert table_counts(org) == before
    # the same in a workbook
    rows = [dict(r) for r in COMMITTEE[:7]]
    rows[6]["decision_no"] = long_number
    with pytest.raises(ImportRejected) as again:
        import_files(org, xlsx(rows), "ho-so.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    assert [(e.line, e.field) for e in again.value.errors] == [(8, "Số quyết định kết nạp")]


def _with_decision_number(value: str, *, as_text: bool) -> bytes:
    """COMMITTEE[:7] (line 8 is admitted by decision) with its decision number cell replaced: as a formula (what
    Excel stores when one types =1+1) or as a text cell whose text starts with "=" (typed '=1+1)."""
    book = load_workbook(io.BytesIO(xlsx(COMMITTEE[:7])))
    sheet = book["Hồ sơ"]
    cell = sheet.cell(row=8, column=HEADERS.index("Số quyết định kết nạp") + 1)
    cell.value = value
    if as_text:
        cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def decision_number(engine, batch_id: int, line: int) -> str:
    cid = candidates_by_line(engine, batch_id)[line]["id"]
    cand = Candidate.__table__
    with engine.connect() as conn:
        return conn.execute(select(cand.c.facts).where(cand.c.id == cid)).scalar_one()["decision_number"]


def test_a_formula_cell_is_refused_and_formula_looking_text_is_stored_as_typed(org):
    # A formula is refused, never evaluated nor replaced by a value Excel may have cached: the paper decision's
    # number must be what the secretary typed, and openpyxl-written files carry no cached value at all.
    before = table_counts(org)
    with pytest.raises(ImportRejected) as caught:
        import_files(org, _with_decision_number("=1+1", as_text=False), "f.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    assert [(e.line, e.field) for e in caught.value.errors] == [(8, "Số quyết định kết nạp")]
    assert "công thức" in caught.value.errors[0].rule
    assert table_counts(org) == before
    # Text that merely starts with "=", "+", "-" or "@" is kept literally.
    report = import_files(org, _with_decision_number("=1+1", as_text=True), "t.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    assert decision_number(org, report.batch_id, 8) == "=1+1"


@pytest.mark.parametrize("text", ["=1+1", "+84-QĐ", "-12/QĐ", "@SUM(A1)"])
def test_formula_looking_text_in_a_csv_is_stored_literally(org, text):
    data = csv_of(COMMITTEE[:7], change={(6, "Số quyết định kết nạp"): text})
    report = import_files(org, data, "ho-so.csv", ADMIN, authority=AUTHORITY, now=NOW)
    assert decision_number(org, report.batch_id, 8) == text


LOOP_EVENT = """  - id: reopen_file
    label: "Bổ sung hồ sơ"
    actor: cell_committee
    from: [opinions]
    to: file_preparation
    records: {background_verified_on: $on}

"""


def looping_ruleset_text() -> str:
    """qd294-2025 plus an event sending a file from opinions back to its preparation on the day of its background
    check: replayed from a sheet, complete_file and reopen_file would follow each other for ever."""
    text = (resources.files("models.procedure.rulesets") / "qd294-2025.yaml").read_text(encoding="utf-8")
    text = text.replace("version: qd294-2025", "version: qd-loop-2025", 1)
    text = text.replace("effective_from: 2025-07-01", "effective_from: 2025-07-02", 1)
    text = text[:text.index("transitional:")] + text[text.index("\nforms:") + 1:]
    at = text.index("  - id: summarise_opinions")
    return text[:at] + LOOP_EVENT + text[at:]


def test_a_row_that_loops_through_the_rule_set_stops_with_a_row_error(org, rulesets_dir):
    (rulesets_dir / "qd-loop-2025.yaml").write_text(looping_ruleset_text(), encoding="utf-8")
    all_rulesets.cache_clear()
    events = len(all_rulesets()["qd-loop-2025"].events)
    assert events == len(all_rulesets()["qd294-2025"].events) + 1
    before = table_counts(org)
    with pytest.raises(ImportRejected) as caught:
        # line 5: file complete 19/06/2026, listed under qd-loop-2025 (in force from 02/07/2025)
        import_files(org, xlsx(COMMITTEE[:4]), "vong.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    assert [(e.line, e.field) for e in caught.value.errors] == [(4, "Giai đoạn hiện tại"), (5, "Giai đoạn hiện tại")]
    assert all(f"Quá {3 * events} bước" in e.rule for e in caught.value.errors)
    assert table_counts(org) == before


def test_bad_cv_values_are_named_by_column_and_format_only_step_values_are_echoed(org):
    rows = [dict(r) for r in COMMITTEE[:4]]
    rows[0] |= {"born": "31/02/1990", "gender": "Nam giới", "eth": "Kinhh", "grade": "13/12", "job": "Thợ săn",
                "youth": "Hình như có"}
    rows[3] |= {"cell_on": "31/02/2026", "cell_yes": "bốn"}
    with pytest.raises(ImportRejected) as caught:
        import_files(org, xlsx(rows, real_dates=False), "cv.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    by_field = {(e.line, e.field): e.rule for e in caught.value.errors}
    cv = {k: v for (line, k), v in by_field.items() if line == 2}
    assert set(cv) == {"Ngày sinh", "Giới tính", "Trình độ học vấn", "Nghề nghiệp", "Đoàn viên"}
    assert "dd/mm/yyyy" in cv["Ngày sinh"] and "Nam hoặc Nữ" in cv["Giới tính"]
    for raw in ("31/02/1990", "Nam giới", "13/12", "Thợ săn", "Hình như có"):
        assert raw not in str(caught.value)
    # the ethnicity is checked once the other values read: alone on its row
    rows[0] = dict(COMMITTEE[0]) | {"eth": "Kinhh"}
    with pytest.raises(ImportRejected) as again:
        import_files(org, xlsx(rows[:1]), "cv2.xlsx", ADMIN, authority=AUTHORITY, now=NOW)
    assert [(e.line, e.field) for e in again.value.errors] == [(2, "Dân tộc")]
    assert "Kinhh" not in str(again.value) and "54 dân tộc" in again.value.errors[0].rule
    # not CV facts: the step's date and the vote are echoed (the admin finds the cell by its value)
    assert "31/02/2026" in by_field[(5, "Ngày chi bộ xét")] and "bốn" in by_field[(5, "Số tán thành (chi bộ)")]
