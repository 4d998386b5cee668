"""Documents rendered at each step: the HTML as filed, with its digest and the versions that produced it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Document(SQLModel, table=True):
    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("audit_event_id", "form_id", "doc_index", name="uq_document_per_step"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    audit_event_id: int = Field(foreign_key="audit_event.id")      # the step that produced it
    form_id: str = Field(max_length=16)                            # "6-KNĐ"
    doc_index: int = 1                                             # sponsor number for 3-KNĐ
    title: str = Field(max_length=300)
    content_hash: str = Field(max_length=64, index=True)           # sha256 of the HTML bytes
    template_version: str = Field(max_length=12)
    ruleset_version: str = Field(max_length=32)
    html: str = Field(sa_type=Text)
    created_at: datetime
    signed_on: date | None = None                                  # the signed copy is filed
