"""Files in progress: what a hostile or broken sheet must not do (a 500, a huge cell stored, a formula evaluated),
on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile

import pytest

from models.imports.files_in_progress import import_files
from models.imports.rows import ImportRejected
from tests.changes.test_files_in_progress import ADMIN, AUTHORITY, COMMITTEE, NOW, table_counts, xlsx

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
