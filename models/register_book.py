"""The register of probationary members (sổ đảng viên dự bị, 18-KNĐ) of a committee, built from the files.

A grassroots committee and the competent committee each keep the register of the members admitted
under them. Here the register of a unit lists every candidate of its subtree whose admission
ceremony (`ceremony_on`) falls in the year, numbered 1, 2, … in the order of the ceremonies (then
of the file ids), with what happened since: recognised as a full member (date), removed from the
probationary list (date of the closing step), re-admitted (the file records an earlier membership)
and transferred out (noted). ketnap records no deaths, so that column stays empty. A member whose file was
imported from paper with a rule break accepted and not yet verified says so in the remarks, so that nobody
signs the register believing ketnap checked that file.

Reading the register is audited on the "org" chain (it names people), but it holds no CV facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select

from models.actors import Actor
from models.audit.trail import append_to_chain
from models.database import reading
from models.dossier.data import _place, _unit
from models.dossier.register import render_register
from models.scope import whole_tree
from models.snapshot import CANDIDATE
from models.transitions import local_today

NOTES = {"removed": "Xóa tên khỏi danh sách đảng viên dự bị", "transferred_out": "Chuyển sinh hoạt đảng đi nơi khác"}
UNVERIFIED_NOTE = "Nhập từ hồ sơ giấy, chưa xác minh"


class UnknownUnit(LookupError):
    def __init__(self, unit_id: str) -> None:
        super().__init__(f"unit_id: no unit {unit_id!r}")
        self.unit_id = unit_id


@dataclass(frozen=True)
class Register:
    unit: dict[str, Any]
    superior: dict[str, Any] | None
    year: int
    place: str
    entries: list[dict[str, Any]]

    def html(self, on: date | None = None) -> str:
        return render_register(self.unit, self.superior, self.year, self.entries, self.place, on=on)

    def file(self, fmt: str) -> bytes:
        """The register as a file to hand out: "html" (UTF-8), "pdf" or "docx"; the web and the CLI both serve this."""
        html = self.html()
        if fmt == "pdf":
            from models.dossier.pdf import pdf

            return pdf(html)
        if fmt == "docx":
            from models.dossier.docx import docx

            return docx([html])
        return html.encode("utf-8")


def probationary_register(engine: Engine, unit_id: str, year: int) -> Register:
    """The 18-KNĐ register of `unit_id` for the members whose admission ceremony was in `year`."""
    with reading(engine) as conn:
        tree = whole_tree(conn)
        if unit_id not in tree.units:
            raise UnknownUnit(unit_id)
        cells = sorted(tree.subtree_ids(unit_id))          # files sit in cells and grassroots cells (chi bộ cơ sở)
        rows = conn.execute(
            select(CANDIDATE.c.id, CANDIDATE.c.full_name, CANDIDATE.c.ceremony_on, CANDIDATE.c.recognised_on,
                   CANDIDATE.c.closed_on, CANDIDATE.c.stage, CANDIDATE.c.prior_left_on, CANDIDATE.c.facts,
                   CANDIDATE.c.imported_unverified)
            .where(CANDIDATE.c.cell_id.in_(cells), CANDIDATE.c.ceremony_on >= date(year, 1, 1),
                   CANDIDATE.c.ceremony_on <= date(year, 12, 31))
            .order_by(CANDIDATE.c.ceremony_on, CANDIDATE.c.id)
        ).all() if cells else []
    entries = []
    for number, row in enumerate(rows, start=1):
        facts = row.facts if isinstance(row.facts, dict) else {}
        entries.append({
            "number": number, "full_name": row.full_name, "cv_number": facts.get("cv_number"),
            "ceremony_on": row.ceremony_on, "readmitted": row.prior_left_on is not None,
            "removed_on": row.closed_on if row.stage == "removed" else None, "died_on": None,
            "recognised_on": row.recognised_on,
            "note": "; ".join(n for n in (NOTES.get(row.stage), UNVERIFIED_NOTE if row.imported_unverified else None) if n)
            or None,
        })
    parent = tree.units[unit_id].parent_id
    return Register(_unit(tree, unit_id) or {}, _unit(tree, parent), year, _place(tree, unit_id), entries)


def record_register_read(engine: Engine, unit_id: str, year: int, actor: Actor, purpose: str,
                         *, now: datetime | None = None) -> None:
    """Audit a read of the register (who, when, which unit and year, why) on the organisation's chain."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        append_to_chain(conn, "org", kind="read", actor=actor, event="read_register", effective_on=local_today(now),
                        now=now, payload={"unit_id": unit_id, "year": year, "form": "18-KNĐ", "purpose": purpose})
