"""Golden files: every form rendered from the sample file is byte-for-byte what is committed.

A change to a template shows as a diff of tests/dossier/golden/ in review. To accept a change,
run `KETNAP_UPDATE_GOLDEN=1 python -m pytest tests/dossier/test_golden.py` and commit the files.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.dossier.forms import FORMS
from models.dossier.render import render_documents
from models.procedure.loader import get_ruleset
from tests.dossier.sample import sample

GOLDEN = Path(__file__).parent / "golden"
RS = get_ruleset("qd294-2025")


def _rendered(form_id: str) -> list[tuple[str, str]]:
    spec, form = FORMS[form_id], RS.form(form_id)
    docs = render_documents(spec, sample(), title=form.title, signed_by=form.signed_by)
    stem = spec.template.removesuffix(".html.j2")
    return [(f"{stem}{'-' + str(d.index) if len(docs) > 1 else ''}.html", d.html) for d in docs]


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_form_matches_its_golden_file(form_id):
    rendered = _rendered(form_id)
    assert rendered, f"{form_id} rendered nothing from the sample file"
    for name, html in rendered:
        path = GOLDEN / name
        if os.environ.get("KETNAP_UPDATE_GOLDEN"):
            path.write_text(html, encoding="utf-8")
        assert path.exists(), f"no golden file {name}: run with KETNAP_UPDATE_GOLDEN=1 and review it"
        assert html == path.read_text(encoding="utf-8"), f"{name} changed: review and update the golden file"


@pytest.mark.parametrize("form_id", sorted(FORMS))
def test_rendering_twice_gives_the_same_bytes(form_id):
    assert _rendered(form_id) == _rendered(form_id)
