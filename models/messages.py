"""Composing a notification's message at delivery time, from ids to Vietnamese text.

The outbox stores only ids and dates; names, units and links are looked up when the message is
built, and the text comes from templates/notifications/<reason>.txt.j2 (first line: the subject).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Connection, select

from models.dossier.render import templates_dir
from models.links import make_token, slot_for
from models.snapshot import CANDIDATE, MEMBER, UNIT
from models.tables import CourseSession
from models.transports import Message
from models.vietnamese import date_in_words, date_short, nfc

SESSION = CourseSession.__table__


@lru_cache(maxsize=2)
def _environment(directory: str) -> Environment:
    env = Environment(loader=FileSystemLoader(directory), autoescape=False, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False)
    env.filters.update(date_words=date_in_words, date_short=date_short)
    return env


def _as_date(value: Any) -> Any:
    return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 and value[4] == "-" else value


def build_message(conn: Connection, row: Any, recipient: Any, *, public_url: str, secret: str, sender: str) -> Message:
    context = {k: _as_date(v) for k, v in (row["context"] or {}).items()}
    values: dict[str, Any] = {"recipient": recipient["name"], "c": context, "link": None}
    if row["candidate_id"] is not None:
        cand = conn.execute(select(CANDIDATE.c.full_name, CANDIDATE.c.cell_id).where(
            CANDIDATE.c.id == row["candidate_id"])).first()
        cell = conn.execute(select(UNIT.c.name).where(UNIT.c.id == cand.cell_id)).scalar()
        values |= {"candidate": cand.full_name, "cell": cell}
    if context.get("member_id"):
        values["member"] = conn.execute(select(MEMBER.c.full_name).where(MEMBER.c.id == context["member_id"])).scalar()
    if context.get("session_id"):
        values["session"] = conn.execute(select(SESSION).where(SESSION.c.id == context["session_id"])).mappings().first()
    if row["reason"] == "sponsor_note":
        token = make_token(secret, slot_for(context["member_id"], row["candidate_id"], context["meeting_on"]))
        values["link"] = f"{public_url.rstrip('/')}/n/{token}"
    text = _environment(str(templates_dir() / "notifications")).get_template(f"{row['reason']}.txt.j2").render(**values)
    subject, _, body = nfc(text).partition("\n")
    return Message(row["id"], recipient["name"], recipient["email"], tuple(recipient["apprise_urls"] or ()),
                   recipient["channel"], subject.strip(), body.strip() + "\n", sender)
