"""Documents rendered at each step, stored with their digest and versions, and recorded in the audit trail.

Rendering a step's forms again (a replayed flow run) stores nothing new: documents are unique
per (step, form, index). A form whose data is missing is not rendered; the audit event lists it
with the missing fields, and the checklist shows it as missing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, select

from models.actors import SYSTEM, Actor
from models.casefile import append_for_candidate_locked
from models.dossier.data import gather
from models.dossier.forms import FORMS, MissingData
from models.dossier.render import Rendered, render_documents
from models.procedure.loader import get_ruleset
from models.tables import Document
from models.transitions import local_today

DOCUMENT = Document.__table__


def render_forms(data: dict[str, Any], form_ids: tuple[str, ...] | list[str]) -> tuple[list[Rendered], list[dict]]:
    """(documents, skipped): the forms' documents for this file, and the ones that could not be rendered."""
    rs = get_ruleset(data["ruleset"]["version"])
    rendered: list[Rendered] = []
    skipped: list[dict] = []
    for form_id in form_ids:
        spec = FORMS.get(form_id)
        if spec is None:
            skipped.append({"form": form_id, "missing": ["template"]})
            continue
        form = rs.form(form_id)
        try:
            rendered += render_documents(spec, data, title=form.title, signed_by=form.signed_by)
        except MissingData as exc:
            skipped.append({"form": form_id, "missing": exc.fields})
    return rendered, skipped


def render_step(engine: Engine, candidate_id: int, audit_event_id: int, form_ids: tuple[str, ...],
                *, now: datetime | None = None) -> list[str]:
    """Render and store the forms a step produced; returns their digests (the same on a replay)."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        existing = conn.execute(select(DOCUMENT.c.content_hash).where(DOCUMENT.c.audit_event_id == audit_event_id)
                                .order_by(DOCUMENT.c.id)).scalars().all()
    if existing:
        return list(existing)
    data = gather(engine, candidate_id)
    rendered, skipped = render_forms(data, form_ids)
    if not rendered and not skipped:
        return []
    with engine.begin() as conn:
        for r in rendered:
            conn.execute(DOCUMENT.insert().values(
                candidate_id=candidate_id, audit_event_id=audit_event_id, form_id=r.form_id, doc_index=r.index,
                title=r.title, content_hash=r.content_hash, template_version=r.template_version,
                ruleset_version=data["ruleset"]["version"], html=r.html, created_at=now,
            ))
    hashes = [r.content_hash for r in rendered]
    append_for_candidate_locked(
        engine, candidate_id, kind="documents", actor=SYSTEM, now=now, documents=hashes,
        payload={"for_event": audit_event_id, "rendered": [[r.form_id, r.index, r.template_version] for r in rendered],
                 "skipped": skipped},
    )
    return hashes


def mark_signed(engine: Engine, candidate_id: int, form_id: str, on: date, actor: Actor, *,
                index: int = 1, now: datetime | None = None) -> int:
    """Record that the signed copy of the latest rendering of a form is filed; returns the document id."""
    now = now or datetime.now(UTC)
    if on > local_today(now):
        raise ValueError(f"{on.isoformat()} is in the future")
    with engine.begin() as conn:
        doc = conn.execute(
            select(DOCUMENT.c.id, DOCUMENT.c.content_hash).where(
                DOCUMENT.c.candidate_id == candidate_id, DOCUMENT.c.form_id == form_id, DOCUMENT.c.doc_index == index)
            .order_by(DOCUMENT.c.id.desc()).limit(1)
        ).first()
        if doc is None:
            raise LookupError(f"no rendered {form_id} (document {index}) for candidate {candidate_id}")
        conn.execute(DOCUMENT.update().where(DOCUMENT.c.id == doc.id).values(signed_on=on))
    append_for_candidate_locked(engine, candidate_id, kind="document_signed", actor=actor, now=now,
                                documents=[doc.content_hash], payload={"form": form_id, "index": index,
                                                                       "signed_on": on.isoformat()})
    return doc.id


def stored_documents(engine: Engine, candidate_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(DOCUMENT.c.id, DOCUMENT.c.form_id, DOCUMENT.c.doc_index, DOCUMENT.c.content_hash,
                   DOCUMENT.c.template_version, DOCUMENT.c.ruleset_version, DOCUMENT.c.audit_event_id,
                   DOCUMENT.c.signed_on, DOCUMENT.c.created_at)
            .where(DOCUMENT.c.candidate_id == candidate_id).order_by(DOCUMENT.c.id)).mappings()]

