"""Benchmark: forms rendered to HTML per second, and one candidate's whole dossier as one PDF.

Baseline in the same run: a bare Jinja2 render of a one-line template with the same engine
settings (autoescape, StrictUndefined), so the ratio shows what the forms themselves cost.
Targets: ≥ 1,000 HTML forms/s; the whole dossier as PDF in ≤ 2 s.
Usage: python bench/dossier.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jinja2 import Environment, StrictUndefined  # noqa: E402

from models.dossier.forms import FORMS  # noqa: E402
from models.dossier.pdf import combined_pdf  # noqa: E402
from models.dossier.render import render_documents  # noqa: E402
from models.procedure.loader import get_ruleset  # noqa: E402
from tests.dossier.sample import sample  # noqa: E402


def rate(fn, seconds: float) -> float:
    fn()                                          # warm (template compilation, caches)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        count += fn()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    rs, data = get_ruleset("qd294-2025"), sample()
    bare = Environment(autoescape=True, undefined=StrictUndefined).from_string("<p>{{ name }}</p>")

    def bare_render() -> int:
        bare.render(name=data["person"]["full_name"])
        return 1

    def forms() -> int:
        n = 0
        for form_id, spec in FORMS.items():
            n += len(render_documents(spec, data, title=rs.form(form_id).title))
        return n

    base, html_rate = rate(bare_render, args.seconds), rate(forms, args.seconds)
    documents = [d.html for form_id, spec in FORMS.items() for d in render_documents(spec, data, title=rs.form(form_id).title)]
    combined_pdf(documents[:1])                   # warm WeasyPrint and the fonts
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        blob = combined_pdf(documents)
        timings.append(time.perf_counter() - start)
    print(f"bare Jinja2 render (baseline):      {base:10.0f} renders/s")
    print(f"dossier forms to HTML:              {html_rate:10.0f} forms/s = {html_rate / base:.4f} × baseline   "
          "(target ≥ 1,000/s)")
    print(f"whole dossier as one PDF:           {min(timings):10.2f} s for {len(documents)} documents, "
          f"{len(blob) // 1024} KiB (best of 3; target ≤ 2 s)")


if __name__ == "__main__":
    main()
