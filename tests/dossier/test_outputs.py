"""Every form as HTML, PDF and DOCX: real files opened and read back, Vietnamese intact, values never executed."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from pathlib import Path

import docx as python_docx
import pypdf
import pypdfium2
import pytest

from models.dossier.docx import docx
from models.dossier.forms import FORMS, MissingData
from models.dossier.pdf import combined_pdf, pdf
from models.dossier.render import render_documents
from models.procedure.loader import get_ruleset
from tests.dossier.sample import sample

RS = get_ruleset("qd294-2025")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "forms"
HOSTILE = "Vì <b>Thị</b> {{ 7*7 }} {% if true %}x{% endif %} & Ánh"


def _docs(form_id: str, data=None):
    form = RS.form(form_id)
    return render_documents(FORMS[form_id], data or sample(), title=form.title, signed_by=form.signed_by)


def _pdf_text(blob: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(blob)).pages)


def _docx_text(blob: bytes) -> str:
    document = python_docx.Document(io.BytesIO(blob))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_pdf_and_docx_carry_the_vietnamese_text_exactly(form_id):
    [first, *_] = _docs(form_id)
    title = RS.form(form_id).title
    pdf_text, docx_text = _pdf_text(pdf(first.html)), _docx_text(docx([first.html]))
    for text in (pdf_text, docx_text):
        assert unicodedata.is_normalized("NFC", text)
        assert "ĐẢNG CỘNG SẢN VIỆT NAM" in text or form_id in ("4-KNĐ", "4A-KNĐ")
        assert f"Mẫu {form_id}" in text
    assert "Vì Thị Ngọc Ánh" in _squash(docx_text) or form_id == "1-KNĐ"
    assert "Vì Thị Ngọc Ánh" in _squash(pdf_text) or form_id == "1-KNĐ"
    # the title as printed (upper case in most forms, as in the template otherwise)
    assert any(t in _squash(pdf_text).upper() for t in (title.upper(), title.split(" (")[0].upper()))


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_a_name_with_markup_or_template_syntax_prints_literally_everywhere(form_id):
    data = sample(person={"full_name": HOSTILE, "full_name_upper": HOSTILE.upper()})
    [first, *_] = _docs(form_id, data)
    if form_id == "1-KNĐ":          # the application is handwritten: no name printed
        assert "Thị</b>" not in first.html
        return
    assert "Vì &lt;b&gt;Thị&lt;/b&gt; {{ 7*7 }} {% if true %}x{% endif %} &amp; Ánh" in first.html
    assert HOSTILE in _squash(_pdf_text(pdf(first.html)))
    blob = docx([first.html])
    assert HOSTILE in _squash(_docx_text(blob))
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        xml = z.read("word/document.xml").decode("utf-8")
    assert "&lt;b&gt;Thị&lt;/b&gt;" in xml and "&amp; Ánh" in xml


def test_a_form_whose_data_is_missing_names_the_missing_fields():
    data = sample(facts={"cell_resolution_on": None, "cell_approve": None})
    with pytest.raises(MissingData) as caught:
        _docs("6-KNĐ", data)
    assert caught.value.fields == ["facts.cell_resolution_on", "facts.cell_approve"]
    assert "6-KNĐ" in str(caught.value)


def test_an_unknown_optional_value_prints_as_a_dotted_line():
    data = sample(person={"residence": None})
    [decision] = _docs("9-KNĐ", data)
    assert "nơi ở hiện nay <span class=\"dots\">" in decision.html


def test_one_introduction_per_sponsoring_member():
    docs = _docs("3-KNĐ")
    assert [d.index for d in docs] == [1, 2]
    assert "Lò Văn Chiến" in docs[0].html and "Quàng Văn Đại" in docs[1].html


def test_union_resolutions_only_on_their_path():
    without = sample(union=[])
    assert _docs("4-KNĐ", without) == [] and _docs("4A-KNĐ", without) == []


def test_every_form_renders_to_a_png_page_for_review():
    """Writes test-artifacts/forms/<form>.png (look at them); each page has ink where the header is."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    htmls = []
    for form_id in sorted(FORMS, key=lambda f: (int(f.split("-")[0].rstrip("A")), f)):
        [first, *_] = _docs(form_id)
        htmls.append(first.html)
        page = pypdfium2.PdfDocument(pdf(first.html))[0]
        image = page.render(scale=1.0).to_pil().convert("L")
        stem = FORMS[form_id].template.removesuffix(".html.j2")
        image.save(ARTIFACTS / f"{stem}.png")
        top = image.crop((0, 0, image.width, image.height // 5))
        assert top.getextrema()[0] < 80, f"{form_id}: no ink in the header area"
    whole = combined_pdf(htmls)
    assert len(pypdf.PdfReader(io.BytesIO(whole)).pages) >= len(FORMS)
