"""CSV for spreadsheets (models/spreadsheet_csv.py): BOM, CRLF, and typed text never run as a formula."""

from __future__ import annotations

import csv
import io

from models.spreadsheet_csv import csv_bytes, safe_cell


def test_text_a_spreadsheet_would_run_is_kept_as_text_and_numbers_pass():
    assert [safe_cell(v) for v in ("=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "Lò Văn Sáng", "")] == [
        "'=HYPERLINK(\"x\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "Lò Văn Sáng", ""]
    assert [safe_cell(v) for v in (-3, 2.5, None)] == [-3, 2.5, None]


def test_the_file_has_a_bom_crlf_and_reads_back():
    data = csv_bytes([["Họ và tên", "Lý do"], ["Cà Văn Dũng", "=1+1"], [-1, None]])
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["Họ và tên", "Lý do"], ["Cà Văn Dũng", "'=1+1"], ["-1", ""]]
