"""Views of a procedure definition: Mermaid and Graphviz diagrams, SVG, and a Markdown transition table.

All are generated from the same RuleSet the engine runs, so the picture cannot drift from the rules.
"""

from __future__ import annotations

from models.guards import GUARDS
from models.procedure.definition import STAY, Event, RuleSet


def _edges(rs: RuleSet) -> list[tuple[str, str, Event, str | None]]:
    """(from, to, event, condition) for every way an event can move a candidate."""
    out = []
    for ev in rs.events:
        for src in ev.from_:
            for target in ev.to:
                dst = src if target.stage == STAY else target.stage
                cond = None
                if target.when:
                    params = ",".join(f"{k}={v}" for k, v in target.params.items())
                    cond = f"{target.when}({params})" if params else target.when
                out.append((src, dst, ev, cond))
    return out


def _stage_title(rs: RuleSet, stage_id: str) -> str:
    st = rs.stage(stage_id)
    return f"{st.letter}. {st.label}" if st.letter else st.label


def mermaid(rs: RuleSet) -> str:
    lines = ["stateDiagram-v2", f"    %% {rs.title} ({rs.version}), in force from {rs.effective_from.isoformat()}"]
    for st in rs.stages:
        lines.append(f'    state "{_stage_title(rs, st.id)}" as {st.id}')
    lines.append(f"    [*] --> {rs.initial_stage}")
    for src, dst, ev, cond in _edges(rs):
        label = f"{ev.id} [{cond}]" if cond else ev.id
        lines.append(f"    {src} --> {dst} : {label}")
    for st in rs.stages:
        if st.kind == "terminal":
            lines.append(f"    {st.id} --> [*]")
    return "\n".join(lines) + "\n"


def dot(rs: RuleSet) -> str:
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        f"digraph {q(rs.version)} {{",
        '  graph [rankdir=TB, fontname="DejaVu Sans", labelloc=t, fontsize=16, label=' + q(f"{rs.title} — {rs.version}") + "];",
        '  node [shape=box, style="rounded,filled", fillcolor="#f4f1ea", fontname="DejaVu Sans", fontsize=11];',
        '  edge [fontname="DejaVu Sans", fontsize=9, color="#555555"];',
        '  start [shape=point, width=0.15, label=""];',
        f"  start -> {rs.initial_stage};",
    ]
    for st in rs.stages:
        attrs = 'fillcolor="#e3efe3", peripheries=2' if st.kind == "terminal" else ""
        lines.append(f"  {st.id} [label={q(_stage_title(rs, st.id))}{', ' + attrs if attrs else ''}];")
    for src, dst, ev, cond in _edges(rs):
        label = f"{ev.id}\\n[{cond}]" if cond else ev.id
        style = ', style=dashed, color="#999999"' if rs.stage(dst).kind == "terminal" and dst != "full_member" else ""
        lines.append(f'  {src} -> {dst} [label="{label}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(rs: RuleSet) -> str:
    import graphviz

    return graphviz.Source(dot(rs)).pipe(format="svg", encoding="utf-8")


def transition_table(rs: RuleSet) -> str:
    """Markdown: one row per event with its stages, guards (and their citations), clocks and forms."""
    out = [
        f"# {rs.title} (`{rs.version}`)",
        "",
        f"In force from {rs.effective_from.isoformat()}. Generated from "
        f"`models/procedure/rulesets/{rs.version}.yaml`; do not edit by hand.",
        "",
        "| Event | Step | By | From | To | Guards | Forms |",
        "|---|---|---|---|---|---|---|",
    ]
    for ev in rs.events:
        targets = "<br>".join(
            f"{t.stage if t.stage != STAY else '(same)'}" + (f" if {t.when}" if t.when else "") for t in ev.to
        )
        guards = "<br>".join(
            f"**{g.rule}** ({GUARDS[g.rule].summary}) — {g.cite} [{g.confidence}]" for g in ev.guards
        ) or "—"
        out.append(
            f"| `{ev.id}` | {ev.label} | {ev.actor} | {', '.join(ev.from_)} | {targets} | {guards} | "
            f"{', '.join(ev.forms) or '—'} |"
        )
    out += ["", "## Deadlines and periods", "", "| Clock | What | Limit | Starts on | Met by | Who acts | Source |",
            "|---|---|---|---|---|---|---|"]
    for c in rs.clocks:
        start = ", ".join(c.starts_on) + ("" if c.counts_from == "$on" else f" (counted from {c.counts_from})")
        out.append(f"| `{c.id}` | {c.label} | {c.limit.describe()} | {start} | {', '.join(c.stops_on) or '—'} | "
                   f"{c.who_acts} | {c.cite} [{c.confidence}] |")
    return "\n".join(out) + "\n"
