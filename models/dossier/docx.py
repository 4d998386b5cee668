"""DOCX from the rendered HTML, so that a secretary can edit a form in Word or LibreOffice.

The templates use a small vocabulary (the header and signature tables, a title, paragraphs with
a few classes, bold, italic, dotted spans, bordered grids); this converter maps exactly that
vocabulary onto python-docx: real paragraphs with alignment and indents, real tables, A4 with the
party-document margins, Times New Roman. Text is inserted as text, so nothing in a value is ever
interpreted (python-docx escapes it for XML).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

import lxml.html
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph

FONT = "Times New Roman"
BASE_SIZE = 14
CLASS_STYLE: dict[str, dict[str, object]] = {
    # class: alignment, bold, italic, size, first-line indent, space after (pt)
    "form-code": {"align": "right", "italic": True, "size": 11},
    "subtitle": {"align": "center", "bold": True, "after": 10},
    "center": {"align": "center"},
    "basis": {"italic": True, "indent": 10},
    "indent": {"indent": 10},
    "heading": {"bold": True},
    "line": {"align": "left"},
    "issuer-top": {"align": "center", "size": 13},
    "issuer-main": {"align": "center", "bold": True, "size": 13},
    "star": {"align": "center", "size": 13},
    "number": {"align": "center", "size": 13},
    "nation-name": {"align": "center", "bold": True, "underline": True},
    "date-line": {"align": "center", "italic": True, "size": 13},
    "receivers-title": {"align": "left", "italic": True, "bold": True, "size": 12},
    "sign-role": {"align": "center", "bold": True},
    "sign-note": {"align": "center", "italic": True, "size": 13, "after": 60},
    "sign-name": {"align": "center", "bold": True},
}
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
         "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}


def _classes(el: lxml.html.HtmlElement) -> list[str]:
    return (el.get("class") or "").split()


def _style(el: lxml.html.HtmlElement) -> dict[str, object]:
    style: dict[str, object] = {}
    for cls in _classes(el):
        style.update(CLASS_STYLE.get(cls, {}))
    return style


Segment = tuple[str, bool, bool, bool]          # text, bold, italic, underline; "\n" is a line break


def _segments(el: lxml.html.HtmlElement, bold: bool = False, italic: bool = False,
              underline: bool = False) -> list[Segment]:
    """el's text and inline children, in order, with their formatting."""
    out: list[Segment] = []
    if el.text:
        out.append((el.text, bold, italic, underline))
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "br":
            out.append(("\n", bold, italic, underline))
        else:
            out += _segments(child, bold or tag in ("strong", "b"), italic or tag in ("em", "i"),
                             underline or "underline" in _classes(child))
        if child.tail:
            out.append((child.tail, bold, italic, underline))
    return out


def _runs(paragraph: Paragraph, el: lxml.html.HtmlElement, *, bold: bool = False, italic: bool = False,
          underline: bool = False, size: int | None = None) -> None:
    """Add el's content as runs: white space collapsed as a browser does, the paragraph's ends trimmed."""
    segments = [(t if t == "\n" else re.sub(r"\s+", " ", t), b, i, u)
                for t, b, i, u in _segments(el, bold, italic, underline)]
    if segments:
        segments[0] = (segments[0][0].lstrip(), *segments[0][1:])
        segments[-1] = (segments[-1][0].rstrip(), *segments[-1][1:])
    for text, b, i, u in segments:
        if text == "\n":
            paragraph.add_run().add_break()
        elif text:
            run = paragraph.add_run(text)
            run.bold, run.italic, run.underline = b or None, i or None, u or None
            if size:
                run.font.size = Pt(size)


def _paragraph(container: Document | _Cell, el: lxml.html.HtmlElement, extra: dict[str, object] | None = None) -> None:
    style = _style(el) | (extra or {})
    p = container.add_paragraph()
    p.alignment = ALIGN[str(style.get("align", "justify"))]
    fmt = p.paragraph_format
    fmt.space_after = Pt(float(style.get("after", 2)))          # type: ignore[arg-type]
    fmt.space_before = Pt(0)
    if "indent" in style:
        fmt.first_line_indent = Mm(float(style["indent"]))      # type: ignore[arg-type]
    _runs(p, el, bold=bool(style.get("bold")), italic=bool(style.get("italic")),
          underline=bool(style.get("underline")), size=style.get("size"))  # type: ignore[arg-type]


def _borderless(table: object) -> None:
    tbl = table._tbl                                            # type: ignore[attr-defined]
    borders = tbl.tblPr.find(qn("w:tblBorders"))
    if borders is not None:
        tbl.tblPr.remove(borders)


def _table(doc: Document, el: lxml.html.HtmlElement) -> None:
    rows = [r for r in el.iter("tr")]
    if not rows:
        return
    width = max(len([c for c in r if c.tag in ("td", "th")]) for r in rows)
    grid = "grid" in _classes(el)
    table = doc.add_table(rows=len(rows), cols=width)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    if grid:
        table.style = "Table Grid"
    else:
        _borderless(table)
    for r, row in enumerate(rows):
        for c, cell_el in enumerate(x for x in row if x.tag in ("td", "th")):
            cell = table.cell(r, c)
            cell.paragraphs[0]._element.getparent().remove(cell.paragraphs[0]._element)
            blocks = [x for x in cell_el if isinstance(x.tag, str) and x.tag == "p"]
            extra = {"bold": True, "align": "center"} if cell_el.tag == "th" else {}
            if "num" in _classes(cell_el):
                extra["align"] = "center"
            if grid or not blocks:
                extra.setdefault("align", "left")
                extra["size"] = 12
            if blocks:
                for b in blocks:
                    _paragraph(cell, b, extra)
            else:
                _paragraph(cell, cell_el, extra)


def _article(doc: Document, article: lxml.html.HtmlElement) -> None:
    for el in article:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "p":
            _paragraph(doc, el)
        elif tag == "h1":
            _paragraph(doc, el, {"align": "center", "bold": True, "size": 15, "after": 0})
        elif tag == "table":
            _table(doc, el)
        elif tag in ("div", "section"):
            _article(doc, el)


def docx(documents: Iterable[str]) -> bytes:
    """One DOCX holding each HTML document's form, each starting on a new page."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = FONT, Pt(BASE_SIZE)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    first = True
    for html in documents:
        for article in lxml.html.document_fromstring(html.encode("utf-8")).iter("article"):
            if not first:
                doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            _article(doc, article)
            first = False
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
