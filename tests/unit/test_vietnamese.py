"""Vietnamese text conventions (models/vietnamese.py) and ethnic groups (models/people.py)."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from models.people import ETHNIC_GROUPS, ethnic_group, is_ethnic_minority
from models.vietnamese import clean_name, date_in_words, date_short, fold, name_sort_key, nfc

# "Nguyễn Thị Đào" spelt out in decomposed form (base letters + combining marks), by hand:
# ễ = e + circumflex (U+0302) + tilde (U+0303); ị = i + dot below (U+0323);
# à = a + grave (U+0300). Đ has no decomposition.
NGUYEN_NFD = "Nguye\u0302\u0303n"
NGUYEN_NFC = "Nguy\u1ec5n"
NAME_NFD = f"{NGUYEN_NFD} Thi\u0323 \u0110a\u0300o"
NAME_NFC = "Nguy\u1ec5n Th\u1ecb \u0110\u00e0o"


def sort_names(names: list[str]) -> list[str]:
    return sorted(names, key=name_sort_key)


# --- dates ----------------------------------------------------------------------------------


def test_date_in_words_as_written_on_party_documents():
    assert date_in_words(date(2026, 12, 3)) == "ngày 3 tháng 12 năm 2026"


def test_date_in_words_has_no_leading_zeros():
    assert date_in_words(date(2027, 1, 4)) == "ngày 4 tháng 1 năm 2027"


def test_date_short_is_day_month_year_with_zeros():
    assert date_short(date(2026, 12, 3)) == "03/12/2026"


# --- NFC and names --------------------------------------------------------------------------


def test_nfc_composes_decomposed_vietnamese():
    assert nfc(NGUYEN_NFD) == NGUYEN_NFC
    assert len(nfc(NGUYEN_NFD)) == 6


def test_nfc_leaves_composed_text_alone():
    assert nfc(NAME_NFC) == NAME_NFC


def test_clean_name_collapses_runs_of_blanks_and_trims():
    assert clean_name("  Trần   Văn\tAn \n") == "Trần Văn An"


def test_clean_name_turns_decomposed_input_into_composed_text():
    cleaned = clean_name(f"  {NAME_NFD}  ")
    assert cleaned == NAME_NFC
    assert not any(unicodedata.combining(ch) for ch in cleaned)


def test_clean_name_of_a_unit():
    assert clean_name("Chi bộ   thôn  Nà Lừa") == "Chi bộ thôn Nà Lừa"


# --- fold (diacritic-free search) -------------------------------------------------------------


def test_fold_strips_diacritics_and_lowercases():
    assert fold("Nguyễn Thị Đào") == "nguyen thi dao"


def test_fold_of_decomposed_input_is_the_same():
    assert fold(NAME_NFD) == "nguyen thi dao"


def test_fold_turns_d_with_stroke_into_d_in_both_cases():
    assert fold("ĐẶNG đình") == "dang dinh"


def test_fold_handles_horn_and_breve_letters():
    assert fold("Trương Ưng Ắt Ởn") == "truong ung at on"


# --- name sorting: given name first, Vietnamese alphabet --------------------------------------


def test_names_sort_by_given_name_before_family_name():
    assert sort_names(["Lê Thị Bình", "Trần Văn An"]) == ["Trần Văn An", "Lê Thị Bình"]


def test_d_with_stroke_sorts_after_d():
    # đ follows d in the Vietnamese alphabet: Đào after Dũng (and after Dương).
    assert sort_names(["Nguyễn Thị Đào", "Lê Văn Dũng"]) == ["Lê Văn Dũng", "Nguyễn Thị Đào"]
    assert sort_names(["Nguyễn Thị Đào", "Trần Dương"]) == ["Trần Dương", "Nguyễn Thị Đào"]


def test_d_with_stroke_sorts_before_e():
    assert sort_names(["Lê Văn Em", "Nguyễn Thị Đào"]) == ["Nguyễn Thị Đào", "Lê Văn Em"]


def test_letters_with_diacritics_sort_with_their_base_letter_not_by_code_point():
    # In code points 'â' (U+00E2) and 'ú' (U+00FA) come after 'b' and 'v'; in Vietnamese they do not.
    assert sort_names(["Lê Thị Bình", "Trần Thị Ân"]) == ["Trần Thị Ân", "Lê Thị Bình"]
    assert sort_names(["Lê Văn Vinh", "Phạm Thị Út"]) == ["Phạm Thị Út", "Lê Văn Vinh"]


def test_a_plain_letter_sorts_before_the_same_letter_with_a_mark():
    assert sort_names(["Lê Thị Ánh", "Lê Thị Anh"]) == ["Lê Thị Anh", "Lê Thị Ánh"]


def test_same_given_name_sorts_by_family_then_middle_name():
    names = ["Trần Văn An", "Lê Văn An", "Lê Thị An"]
    assert sort_names(names) == ["Lê Thị An", "Lê Văn An", "Trần Văn An"]


def test_sort_key_ignores_case_spacing_and_normal_form():
    assert name_sort_key("  nguyễn   thị đào ") == name_sort_key("Nguyễn Thị Đào")
    assert name_sort_key(NAME_NFD) == name_sort_key(NAME_NFC)


# --- ethnic groups --------------------------------------------------------------------------


def test_there_are_54_distinct_ethnic_groups():
    assert len(ETHNIC_GROUPS) == 54
    assert len(set(ETHNIC_GROUPS)) == 54
    assert "Kinh" in ETHNIC_GROUPS


@pytest.mark.parametrize("name", ETHNIC_GROUPS)
def test_each_official_name_is_recognised_as_itself(name):
    assert ethnic_group(name) == name


@pytest.mark.parametrize("name", ETHNIC_GROUPS)
def test_each_official_name_is_recognised_without_diacritics_or_case(name):
    assert ethnic_group(fold(name)) == name


@pytest.mark.parametrize(
    ("typed", "official"),
    [
        ("H'Mông", "Mông"),
        ("Hmông", "Mông"),
        ("hmong", "Mông"),
        ("Ê-đê", "Ê Đê"),
        ("Gia-rai", "Gia Rai"),
        ("Khơ-mú", "Khơ Mú"),
        ("Stiêng", "Xtiêng"),
        ("Bru Vân Kiều", "Bru - Vân Kiều"),
        ("Bru-Vân Kiều", "Bru - Vân Kiều"),
        ("Ba-na", "Ba Na"),
        ("kinh", "Kinh"),
    ],
)
def test_common_spellings_map_to_the_official_name(typed, official):
    assert ethnic_group(typed) == official


def test_mnong_is_not_confused_with_mong():
    assert ethnic_group("Mnông") == "Mnông"
    assert ethnic_group("Mông") == "Mông"


def test_decomposed_input_is_recognised():
    assert ethnic_group("Ta\u0300y") == "Tày"


@pytest.mark.parametrize("typed", ["Giẻ-Triêng", "Giẻ Triêng"])
def test_hyphenated_compound_names_are_recognised_like_bru_van_kieu(typed):
    # "Bru-Vân Kiều" and "Bru Vân Kiều" are recognised; the other " - " name must be too.
    assert ethnic_group(typed) == "Giẻ - Triêng"


@pytest.mark.parametrize("typed", ["Klingon", "", "Việt kiều", "Mong Co"])
def test_an_unknown_group_is_none(typed):
    assert ethnic_group(typed) is None


def test_only_kinh_is_not_an_ethnic_minority():
    assert is_ethnic_minority("Kinh") is False
    assert all(is_ethnic_minority(g) for g in ETHNIC_GROUPS if g != "Kinh")
