"""Views of a procedure definition: models/procedure/diagram.py (Mermaid, Graphviz, SVG, table)."""

from __future__ import annotations

import html
import re
import shutil

import pytest

from models.procedure.diagram import dot, mermaid, svg, transition_table
from models.procedure.loader import get_ruleset

VERSIONS = ["qd24-2021", "qd294-2025"]   # the shipped rule sets


@pytest.fixture(params=VERSIONS)
def rs(request):
    return get_ruleset(request.param)


def expected_edges(rs) -> set[tuple[str, str, str]]:
    """(from, to, event id) read straight off the definition; "$stay" means the source stage."""
    out = set()
    for ev in rs.events:
        for src in ev.from_:
            for target in ev.to:
                out.add((src, src if target.stage == "$stay" else target.stage, ev.id))
    return out


# --- Mermaid -----------------------------------------------------------------------------------


def test_mermaid_is_a_state_diagram(rs):
    assert mermaid(rs).splitlines()[0] == "stateDiagram-v2"


def test_mermaid_declares_every_stage_with_its_label(rs):
    text = mermaid(rs)
    for st in rs.stages:
        found = re.findall(rf'^\s*state "([^"]*)" as {re.escape(st.id)}$', text, flags=re.MULTILINE)
        assert len(found) == 1, st.id
        assert st.label in found[0]


def test_mermaid_has_an_edge_for_every_from_and_to_of_every_event(rs):
    text = mermaid(rs)
    drawn = set()
    for m in re.finditer(r"^\s*(\w+) --> (\w+) : (\w+)", text, flags=re.MULTILINE):
        drawn.add((m.group(1), m.group(2), m.group(3)))
    assert drawn == expected_edges(rs)


def test_mermaid_shows_the_routing_condition_on_conditional_edges(rs):
    text = mermaid(rs)
    assert "cell_review --> intermediate_appraisal : cell_approves [has_intermediate_committee]" in text
    assert "failed_votes_reached(count=3,counter=failed_cell_recognition_votes)" in text


def test_mermaid_starts_at_the_initial_stage(rs):
    assert re.search(rf"^\s*\[\*\] --> {rs.initial_stage}$", mermaid(rs), flags=re.MULTILINE)


def test_mermaid_sends_terminal_stages_and_only_them_to_the_end(rs):
    text = mermaid(rs)
    ends = set(re.findall(r"^\s*(\w+) --> \[\*\]$", text, flags=re.MULTILINE))
    assert ends == {st.id for st in rs.stages if st.kind == "terminal"}
    assert "full_member" in ends and "probation" not in ends


def test_a_stay_event_loops_back_to_its_own_stage_in_mermaid(rs):
    text = mermaid(rs)
    assert "probation --> probation : record_new_member_certificate" in text
    assert "$stay" not in text


# --- Graphviz ----------------------------------------------------------------------------------


def test_dot_has_a_node_for_every_stage_and_an_edge_for_every_transition(rs):
    text = dot(rs)
    assert text.startswith(f'digraph "{rs.version}" {{')
    assert text.rstrip().endswith("}")
    for st in rs.stages:
        assert re.search(rf"^\s*{re.escape(st.id)} \[label=", text, flags=re.MULTILINE), st.id
    drawn = {(m.group(1), m.group(2), m.group(3))
             for m in re.finditer(r'^\s*(\w+) -> (\w+) \[label="(\w+)', text, flags=re.MULTILINE)}
    assert drawn == expected_edges(rs)


def test_dot_marks_terminal_stages_with_a_double_border(rs):
    text = dot(rs)
    for st in rs.stages:
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(f"{st.id} [label="))
        assert ("peripheries=2" in line) == (st.kind == "terminal"), st.id


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_svg_renders_with_vietnamese_labels_intact(rs):
    out = svg(rs)
    assert isinstance(out, str)
    assert "<svg" in out
    text = html.unescape(out)
    assert "Đảng viên chính thức" in text
    assert "Chờ cấp ủy có thẩm quyền quyết định kết nạp" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_svg_has_every_stage_and_every_edge(rs):
    text = html.unescape(svg(rs))
    titles = set(re.findall(r"<title>([^<]*)</title>", text))
    for st in rs.stages:
        assert st.id in titles
    for src, dst, _ in expected_edges(rs):
        assert f"{src}->{dst}" in titles


# --- transition table --------------------------------------------------------------------------


def _event_rows(table: str) -> list[str]:
    lines = table.splitlines()
    start = lines.index("| Event | Step | By | From | To | Guards | Forms |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_transition_table_has_one_row_per_event(rs):
    rows = _event_rows(transition_table(rs))
    assert len(rows) == len(rs.events)
    assert [re.match(r"\| `([^`]+)` \|", r).group(1) for r in rows] == [e.id for e in rs.events]


def test_transition_table_cites_every_guard_on_its_event_row(rs):
    rows = {re.match(r"\| `([^`]+)` \|", r).group(1): r for r in _event_rows(transition_table(rs))}
    for ev in rs.events:
        for g in ev.guards:
            assert f"**{g.rule}**" in rows[ev.id]
            assert f"{g.cite} [{g.confidence}]" in rows[ev.id], (ev.id, g.rule)


def test_an_event_without_guards_shows_a_dash(rs):
    rows = {re.match(r"\| `([^`]+)` \|", r).group(1): r for r in _event_rows(transition_table(rs))}
    unguarded = [ev for ev in rs.events if not ev.guards]
    assert unguarded
    for ev in unguarded:
        cells = [c.strip() for c in rows[ev.id].strip("|").split("|")]
        assert cells[5] == "—"


def test_transition_table_lists_every_clock_with_its_limit(rs):
    table = transition_table(rs)
    for c in rs.clocks:
        row = next(ln for ln in table.splitlines() if ln.startswith(f"| `{c.id}` | {c.label} |"))
        limit = f"{c.limit.working_days} ngày làm việc" if c.limit.working_days else f"{c.limit.months} tháng"
        assert f"| {limit} |" in row
        assert c.cite in row


def test_transition_table_names_the_version_and_its_date(rs):
    table = transition_table(rs)
    assert f"`{rs.version}`" in table.splitlines()[0]
    assert rs.effective_from.isoformat() in table
