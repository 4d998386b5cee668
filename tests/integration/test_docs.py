"""The generated docs are current: the diagram and table in docs/ are what the definitions produce."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from models.procedure import diagram
from models.procedure.loader import all_rulesets

DOCS = Path(__file__).parents[2] / "docs"


@pytest.mark.parametrize("version", sorted(all_rulesets()))
def test_committed_mermaid_and_table_match_the_definition(version):
    rs = all_rulesets()[version]
    assert (DOCS / f"procedure-{version}.mmd").read_text(encoding="utf-8") == diagram.mermaid(rs), \
        "run `ketnap procedure docs docs` and commit the result"
    assert (DOCS / f"transitions-{version}.md").read_text(encoding="utf-8") == diagram.transition_table(rs)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed (apt-get install graphviz)")
@pytest.mark.parametrize("version", sorted(all_rulesets()))
def test_committed_svg_matches_the_definition(version):
    assert (DOCS / f"procedure-{version}.svg").read_text(encoding="utf-8") == diagram.svg(all_rulesets()[version])
