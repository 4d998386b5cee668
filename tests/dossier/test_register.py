"""The register of probationary members (18-KNĐ): a small hand-made register renders as committed.

Three members: one recognised as a full member, one removed from the list, one re-admitted and
still on probation. To accept a change of the template, run
`KETNAP_UPDATE_GOLDEN=1 python -m pytest tests/dossier/test_register.py` and commit the golden file.
"""

from __future__ import annotations

import os
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from models.dossier.forms import MissingData
from models.dossier.register import render_register

GOLDEN = Path(__file__).parent / "golden" / "form-18.html"

UNIT = {"id": "cty-che-muong-bu", "name": "Đảng bộ Công ty Cổ phần Chè Mường Bú",
        "name_upper": "ĐẢNG BỘ CÔNG TY CỔ PHẦN CHÈ MƯỜNG BÚ", "kind": "grassroots_committee",
        "kind_label": "Đảng bộ cơ sở", "committee": "Đảng ủy Công ty Cổ phần Chè Mường Bú",
        "committee_upper": "ĐẢNG ỦY CÔNG TY CỔ PHẦN CHÈ MƯỜNG BÚ", "committee_size": 9}
SUPERIOR = {"id": "xa-muong-bu", "name": "Đảng bộ xã Mường Bú", "name_upper": "ĐẢNG BỘ XÃ MƯỜNG BÚ",
            "kind": "commune_committee", "kind_label": "Đảng bộ xã, phường, đặc khu",
            "committee": "Đảng ủy xã Mường Bú", "committee_upper": "ĐẢNG ỦY XÃ MƯỜNG BÚ", "committee_size": 15}
ENTRIES = [
    {"number": 2, "full_name": "Lường Văn Đức", "cv_number": None, "ceremony_on": date(2025, 7, 2),
     "readmitted": False, "removed_on": date(2026, 3, 16), "died_on": None, "recognised_on": None,
     "note": "Xóa tên: không đủ điều kiện"},
    {"number": 1, "full_name": "Vì Thị Ngọc Ánh", "cv_number": "LL-0427", "ceremony_on": date(2025, 5, 19),
     "readmitted": False, "removed_on": None, "died_on": None, "recognised_on": date(2026, 5, 19), "note": None},
    {"number": 3, "full_name": "Cầm Thị Hoa", "cv_number": "LL-0431", "ceremony_on": date(2025, 9, 8),
     "readmitted": True, "removed_on": None, "died_on": None, "recognised_on": None, "note": None},
]


def _render(entries=ENTRIES) -> str:
    return render_register(UNIT, SUPERIOR, 2025, entries, "Mường Bú")


def test_register_matches_its_golden_file():
    html = _render()
    if os.environ.get("KETNAP_UPDATE_GOLDEN"):
        GOLDEN.write_text(html, encoding="utf-8")
    assert GOLDEN.exists(), "no golden file form-18.html: run with KETNAP_UPDATE_GOLDEN=1 and review it"
    assert html == GOLDEN.read_text(encoding="utf-8"), "form-18.html changed: review and update the golden file"


def test_rendering_twice_gives_the_same_bytes():
    assert _render() == _render()


def test_register_lists_every_member_in_register_order_with_their_events():
    html = _render()
    assert unicodedata.is_normalized("NFC", html)
    assert "SỔ ĐẢNG VIÊN DỰ BỊ" in html and "Đảng bộ Công ty Cổ phần Chè Mường Bú<br>Năm 2025" in html
    rows = [line for line in html.splitlines() if line.startswith('<tr><td class="num">')]
    assert [r.split("</td>", 1)[0].rsplit(">", 1)[1] for r in rows] == ["1", "2", "3"]
    recognised, removed, readmitted = rows
    assert "Vì Thị Ngọc Ánh" in recognised and "19/05/2025" in recognised and "19/05/2026" in recognised
    assert "16/03/2026" in removed and '<span class="dots">' in removed   # unknown CV number: dotted
    assert '<td class="num">x</td>' in readmitted and "08/09/2025" in readmitted
    assert '<td class="num">x</td>' not in recognised + removed


def test_names_are_escaped_and_an_empty_register_says_so():
    html = render_register(UNIT, None, None, [dict(ENTRIES[1], full_name="<b>{{ x }}</b>")], "Mường Bú")
    assert "&lt;b&gt;{{ x }}&lt;/b&gt;" in html and "<b>" not in html
    assert "ĐẢNG BỘ XÃ" not in html
    assert "Chưa có đảng viên dự bị." in render_register(UNIT, SUPERIOR, 2026, [], "Mường Bú")


def test_an_entry_without_its_ceremony_date_is_refused():
    with pytest.raises(MissingData) as err:
        _render([dict(ENTRIES[0], ceremony_on=None)])
    assert err.value.fields == ["entries[0].ceremony_on"]
