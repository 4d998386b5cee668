"""CSV files for spreadsheets: UTF-8 with a BOM (Excel then reads the Vietnamese right), CRLF line ends, and
text that a spreadsheet would run as a formula (a reason, a note, a name someone typed) kept as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any


def safe_cell(value: Any) -> Any:
    """Text starting with = + - @ (or a tab, a carriage return) is prefixed with ' ; numbers pass as they are."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([safe_cell(v) for v in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
