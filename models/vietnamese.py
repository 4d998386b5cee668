"""Vietnamese text conventions: NFC, dates in words, name sorting, diacritic-free search."""

from __future__ import annotations

import unicodedata
from datetime import date

# Vietnamese alphabetical order; letters with diacritics sort after their base letter.
_ALPHABET = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệfghiìíỉĩịjklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvwxyỳýỷỹỵz"
_RANK = {ch: i for i, ch in enumerate(_ALPHABET)}


def nfc(text: str) -> str:
    """Text in Unicode NFC, the form every stored and printed string uses."""
    return unicodedata.normalize("NFC", text)


def clean_name(text: str) -> str:
    """A person's or unit's name: NFC, single spaces, no leading or trailing blanks."""
    return " ".join(nfc(text).split())


def date_in_words(day: date) -> str:
    """'ngày 3 tháng 12 năm 2026' as written on party documents."""
    return f"ngày {day.day} tháng {day.month} năm {day.year}"


def date_short(day: date) -> str:
    """'03/12/2026'."""
    return day.strftime("%d/%m/%Y")


def fold(text: str) -> str:
    """Lower case without diacritics, for search: 'Nguyễn Thị Đào' -> 'nguyen thi dao'."""
    decomposed = unicodedata.normalize("NFD", nfc(text).lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def _letters_key(word: str) -> tuple[int, ...]:
    return tuple(_RANK.get(ch, 1000 + ord(ch)) for ch in nfc(word).lower())


def name_sort_key(full_name: str) -> tuple[tuple[int, ...], ...]:
    """Sort key for Vietnamese names: given name (last word) first, then family and middle names."""
    words = clean_name(full_name).split(" ")
    ordered = [words[-1], *words[:-1]] if words else []
    return tuple(_letters_key(w) for w in ordered)
