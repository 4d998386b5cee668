"""Rendering the forms to HTML: one Jinja2 template per form, one pure function, the same bytes for the same data.

Values are escaped (a name containing markup or template syntax prints literally), an undefined
name in a template is an error, and a value that is not known prints as a dotted line to fill in
by hand. The template version is a digest of the template and the layout it uses.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from models.dossier.forms import FormSpec, check_required, documents_of
from models.vietnamese import date_short, nfc

TEMPLATES_ENV = "KETNAP_TEMPLATES_DIR"


def templates_dir() -> Path:
    configured = os.environ.get(TEMPLATES_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "templates"


def dossier_dir() -> Path:
    return templates_dir() / "dossier"


def dots(width: int = 20) -> Markup:
    return Markup('<span class="dots">') + "." * width + Markup("</span>")


def fill(value: Any, width: int = 20) -> Any:
    """The value, or a dotted line of about `width` characters when it is not known."""
    if value is None or value == "":
        return dots(width)
    if isinstance(value, date):
        return date_short(value)
    return nfc(str(value)) if isinstance(value, str) else value


def date_words(value: Any, place: str | None = None) -> Markup:
    """'ngày 3 tháng 12 năm 2026', or its dotted form; with a place: 'Mường Bú, ngày …'."""
    if isinstance(value, date):
        text = escape(f"ngày {value.day} tháng {value.month} năm {value.year}")
    else:
        text = Markup("ngày ") + dots(5) + Markup(" tháng ") + dots(5) + Markup(" năm ") + dots(8)
    return (escape(place) + Markup(", ") + text) if place else text


def percent(approve: int | None, eligible: int | None) -> Any:
    if not approve and approve != 0 or not eligible:
        return dots(6)
    return f"{100 * approve / eligible:.2f}".replace(".", ",") + "%"


@lru_cache(maxsize=4)
def environment(directory: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fill=fill, date_words=date_words, date_short=lambda v: date_short(v) if v else dots(10),
                       upper=lambda v: nfc(str(v)).upper() if v else v)
    env.globals.update(dots=dots, percent=percent)
    return env


def template_version(template: str) -> str:
    """Digest of the form's template and every shared part (files starting with "_"), 12 hex digits."""
    digest = hashlib.sha256()
    shared = sorted(p.name for p in dossier_dir().iterdir() if p.name.startswith("_"))
    for name in (template, *shared):
        digest.update(name.encode())
        digest.update((dossier_dir() / name).read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Rendered:
    form_id: str
    index: int                     # 1, or the sponsor's number for per-sponsor forms
    title: str
    html: str
    content_hash: str
    template_version: str


def render(spec: FormSpec, context: dict[str, Any], *, title: str, signed_by: str = "") -> str:
    check_required(spec, context)
    form = {"id": spec.id, "title": title, "signed_by": signed_by, "basis": spec.basis,
            "date": context["facts"].get(spec.date_fact) if spec.date_fact else None,
            "number": context["facts"].get(spec.number_fact) if spec.number_fact else None}
    html = environment(str(dossier_dir())).get_template(spec.template).render(d=context, form=form)
    return nfc(html)


def render_documents(spec: FormSpec, data: dict[str, Any], *, title: str, signed_by: str = "") -> list[Rendered]:
    """Every document `spec` yields for a candidate's data (none when the form does not apply)."""
    version = template_version(spec.template)
    out = []
    for i, context in enumerate(documents_of(spec, data), start=1):
        html = render(spec, context, title=title, signed_by=signed_by)
        out.append(Rendered(spec.id, i, title, html, hashlib.sha256(html.encode("utf-8")).hexdigest(), version))
    return out
