"""A candidate's whole file on demand: every form so far, the checklist, one combined PDF (and DOCX).

Forms are rendered from the current data (a corrected fact is printed corrected); the documents
rendered at each step stay in the database as the evidence of what was issued then. Opening the
file is an audited read of personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from models.actors import Actor
from models.casefile import record_read
from models.dossier.checklist import Item, checklist
from models.dossier.data import gather
from models.dossier.forms import CHECKLIST
from models.dossier.render import Rendered, render
from models.dossier.store import render_forms, stored_documents

FORMATS = ("html", "pdf", "docx")


@dataclass(frozen=True)
class Dossier:
    candidate_id: int
    documents: list[Rendered]
    checklist_html: str
    items: list[Item]
    skipped: list[dict[str, Any]]


def file_stem(form_id: str, index: int, many: bool) -> str:
    """'06-KND', '03-KND-2': ASCII file names that sort in procedure order."""
    number, _, rest = form_id.partition("-")
    stem = f"{int(number.rstrip('A')):02d}{'A' if number.endswith('A') else ''}-KND" if rest else form_id
    return f"{stem}-{index}" if many else stem


def build(engine: Engine, candidate_id: int, actor: Actor, *, now: datetime | None = None) -> Dossier:
    record_read(engine, candidate_id, actor, "dossier", now=now or datetime.now(UTC))
    data = gather(engine, candidate_id)
    items = checklist(data, stored_documents(engine, candidate_id))
    wanted = list(dict.fromkeys(i.form_id for i in items if i.status != "missing"))
    documents, skipped = render_forms(data, wanted)
    title = "Danh mục hồ sơ"
    context = data | {"checklist": [i.as_dict() for i in items]}
    html = render(CHECKLIST, context, title=title)
    return Dossier(candidate_id, documents, html, items, skipped)


def write(dossier: Dossier, out: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write each form and the checklist in each format, and one combined PDF of the whole file."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; choose from {', '.join(FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for d in dossier.documents:
        counts[d.form_id] = counts.get(d.form_id, 0) + 1
    pages = [("00-danh-muc", dossier.checklist_html)] + [
        (file_stem(d.form_id, d.index, counts[d.form_id] > 1 or d.form_id == "3-KNĐ"), d.html)
        for d in dossier.documents]
    written: list[Path] = []
    if "html" in formats:
        for stem, html in pages:
            written.append(out / f"{stem}.html")
            written[-1].write_text(html, encoding="utf-8")
    if "pdf" in formats:
        from models.dossier.pdf import combined_pdf, pdf

        for stem, html in pages:
            written.append(out / f"{stem}.pdf")
            written[-1].write_bytes(pdf(html))
        written.append(out / f"ho-so-{dossier.candidate_id}.pdf")
        written[-1].write_bytes(combined_pdf([html for _, html in pages]))
    if "docx" in formats:
        from models.dossier.docx import docx

        for stem, html in pages:
            written.append(out / f"{stem}.docx")
            written[-1].write_bytes(docx([html]))
        written.append(out / f"ho-so-{dossier.candidate_id}.docx")
        written[-1].write_bytes(docx([html for _, html in pages]))
    return written
