"""Building blocks of the course tests: a second commune, nominees, sessions, counts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from models.courses import add_session
from models.imports.organisation import import_organisation
from models.tables import CourseEnrolment, Notification, Recipient
from tests.support import NOW, SECRETARY, add, step

ENROLMENT = CourseEnrolment.__table__
NOTIFICATION = Notification.__table__
RECIPIENT = Recipient.__table__

OTHER_COMMUNE = """\
units:
  - {id: xa-chieng-an, parent: son-la, kind: commune_committee, name: "Đảng bộ xã Chiềng An",
     authorised_to_admit: true, committee_size: 9}
  - {id: cb-ban-hua-la, parent: xa-chieng-an, kind: cell, name: "Chi bộ bản Hua La"}
"""

TO_PROBATION = [
    ("nominate_for_course", "2025-10-01", {}),
    ("record_awareness_certificate", "2025-11-20", {"certificate_number": "CN-1"}),
    ("complete_file", "2026-06-01", {"application_on": "2026-05-02", "cv_certified_on": "2026-05-20",
                                     "background_verified_on": "2026-05-25"}),
    ("summarise_opinions", "2026-06-15", {}),
    ("cell_approves", "2026-07-06", {"approve": 4}),
    ("grassroots_approves", "2026-07-20", {"approve": 12}),
    ("admit", "2026-08-03", {"decision_number": "125-QĐ/ĐU"}),
]


def add_other_commune(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "chieng-an.yaml"
    path.write_text(OTHER_COMMUNE, encoding="utf-8")
    import_organisation(engine, path, SECRETARY, now=NOW)


def nominee(engine: Engine, nominated_on: str, **overrides: Any) -> int:
    """A candidate the cell nominated for the awareness course on `nominated_on`."""
    cid = add(engine, **overrides)
    result = step(engine, cid, "nominate_for_course", nominated_on)
    assert result.applied and result.stage_after == "awareness_course"
    return cid


def session(engine: Engine, starts_on: str, *, kind: str = "awareness", capacity: int = 30,
            area: str = "xa-muong-bu", days: int = 4, place: str = "Hội trường Đảng ủy xã") -> int:
    start = date.fromisoformat(starts_on)
    return add_session(engine, kind, "Trung tâm Chính trị tỉnh Sơn La", start, start + timedelta(days=days),
                       place, capacity, area)


def enrolments(engine: Engine, **where: Any) -> list[tuple[int, int, str]]:
    """(session id, candidate id, status) rows, sorted."""
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(
            select(ENROLMENT.c.session_id, ENROLMENT.c.candidate_id, ENROLMENT.c.status)
            .where(*(ENROLMENT.c[k] == v for k, v in where.items()))))


def notifications(engine: Engine) -> list[tuple[str, str, int | None, dict]]:
    """(recipient key, period key, candidate id, context) of every queued notification, sorted."""
    with engine.connect() as conn:
        rows = conn.execute(select(RECIPIENT.c.key, NOTIFICATION.c.period_key, NOTIFICATION.c.candidate_id,
                                   NOTIFICATION.c.context, NOTIFICATION.c.reason)
                            .join(RECIPIENT, RECIPIENT.c.id == NOTIFICATION.c.recipient_id)).all()
    assert {r.reason for r in rows} <= {"course_enrolled"}
    return sorted(((r.key, r.period_key, r.candidate_id, r.context) for r in rows), key=lambda t: (t[0], t[1]))


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()
