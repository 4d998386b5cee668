"""PDF from the rendered HTML with WeasyPrint: A4, the fonts installed on the machine (Liberation Serif)."""

from __future__ import annotations

import re

from weasyprint import HTML

from models.dossier.render import dossier_dir

_BODY = re.compile(r"<body>(.*)</body>", re.S)
_HEAD = re.compile(r"^(.*<body>)", re.S)


def pdf(html: str) -> bytes:
    return HTML(string=html, base_url=str(dossier_dir())).write_pdf()


def combined_pdf(documents: list[str]) -> bytes:
    """One PDF of several forms, rendered as one document (much faster than one per form).

    Every form shares the layout's stylesheet, so the bodies are joined under the first head;
    each form's <article> starts on a new page.
    """
    if not documents:
        raise ValueError("no documents to combine")
    head = _HEAD.match(documents[0])
    bodies = [m.group(1) for m in (_BODY.search(doc) for doc in documents) if m]
    if head is None or len(bodies) != len(documents):
        raise ValueError("a document is not a complete HTML page")
    return pdf(head.group(1) + "\n".join(bodies) + "</body>\n</html>\n")
