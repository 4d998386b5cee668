"""The register of probationary members (sổ đảng viên dự bị, form 18-KNĐ) rendered to HTML.

Unlike the forms of a candidate's file, the register lists every probationary member of one party
organisation, one row each, in the order of their register number. It is rendered with the same
Jinja2 environment as the forms (escaped values, strict undefined names) and returned in NFC, so
the same entries give the same bytes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from models.dossier.forms import REGISTER, MissingData
from models.dossier.render import dossier_dir, environment
from models.vietnamese import nfc

TITLE = "Sổ đảng viên dự bị"
REQUIRED = ("number", "full_name", "ceremony_on")
OPTIONAL: dict[str, Any] = {"cv_number": None, "readmitted": False, "removed_on": None, "died_on": None,
                            "recognised_on": None, "note": None}


def _entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    missing = [f"entries[{i}].{key}" for i, e in enumerate(entries) for key in REQUIRED if e.get(key) in (None, "")]
    if missing:
        raise MissingData(REGISTER.id, missing)
    return sorted((OPTIONAL | e for e in entries), key=lambda e: e["number"])


def render_register(unit: dict[str, Any], superior: dict[str, Any] | None, year: int | None,
                    entries: list[dict[str, Any]], place: str, *, title: str = TITLE,
                    on: date | None = None) -> str:
    """The register of `unit` (a unit dict as `models.dossier.data` builds it) as an HTML page.

    `superior` is the party organisation above `unit` (printed above it in the header) or None;
    `year` the year the register covers, if it covers one; `on` the date printed on the date line
    (dotted when None).
    """
    if not unit or not unit.get("name"):
        raise MissingData(REGISTER.id, ["unit.name"])
    data = {"unit": unit, "superior": superior, "year": year, "entries": _entries(entries), "place": place}
    form = {"id": REGISTER.id, "title": title, "signed_by": "", "basis": REGISTER.basis, "date": on, "number": None}
    html = environment(str(dossier_dir())).get_template(REGISTER.template).render(d=data, form=form)
    return nfc(html)
