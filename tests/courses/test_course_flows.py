"""The enrolment flow and certificates as flow runs against a real Prefect server; the certificate
date then drives the 60-month guard of the cell's vote and the expiry warning of the deadline sweep."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import select

from flows.sweeps import course_enrolment
from models.audit.trail import timeline
from models.courses import record_attendance, record_certificates
from models.procedure.engine import Accepted, Refused
from models.sweeps import certificates_expiring
from models.tables import Candidate
from models.transitions import TransitionRequest, preview_transition
from tests.courses.helpers import enrolments, nominee, notifications, session
from tests.support import NOW, SECRETARY, walk

TO_THE_VOTE = [
    ("complete_file", "2026-06-01", {"application_on": "2026-05-02", "cv_certified_on": "2026-05-20",
                                     "background_verified_on": "2026-05-25"}),
    ("summarise_opinions", "2026-06-15", {}),
]


def test_certificates_are_flow_runs_and_the_60_month_guard_reads_their_date(orchestrated):
    engine = orchestrated
    cid = nominee(engine, "2025-10-01", email="hoang.van.nam@example.vn")
    s = session(engine, "2025-11-03")                                   # 03/11 to 07/11/2025

    counts = asyncio.run(course_enrolment(as_of="2025-10-15"))         # the scheduled flow, run once
    assert (counts["enrolled"], counts["notifications"]) == (1, 2)
    assert asyncio.run(course_enrolment(as_of="2025-10-16"))["enrolled"] == 0
    assert enrolments(engine) == [(s, cid, "enrolled")]
    assert [key for key, *_ in notifications(engine)] == [f"candidate:{cid}", "secretary:cb-ban-na-la"]

    record_attendance(engine, s, present=[cid], absent=[], now=NOW)
    (row,) = record_certificates(engine, [(cid, "CN-2025-0401", date(2025, 11, 7))], SECRETARY, now=NOW)
    assert row["status"] == "certified" and row["orchestration"] == "flow_run" and row["flow_run_id"]
    with engine.connect() as conn:
        stage, issued = conn.execute(select(Candidate.__table__.c.stage, Candidate.__table__.c.awareness_certificate_on)
                                     .where(Candidate.__table__.c.id == cid)).one()
        steps = [e for e in timeline(conn, cid) if e["event"] == "record_awareness_certificate"]
    assert (stage, issued) == ("file_preparation", date(2025, 11, 7))
    assert len(steps) == 1 and steps[0]["flow_run_id"] == row["flow_run_id"]
    assert steps[0]["stage_after"] == "file_preparation"

    walk(engine, cid, TO_THE_VOTE)

    def vote_on(day: date) -> Accepted | Refused:
        return preview_transition(engine, TransitionRequest(cid, "cell_approves", day, SECRETARY,
                                                            inputs={"approve": 4}), now=NOW)

    # valid 60 months: issued 07/11/2025, so the vote may be held up to 07/11/2030 and not the day after
    assert isinstance(vote_on(date(2030, 11, 7)), Accepted)
    late = vote_on(date(2030, 11, 8))
    assert isinstance(late, Refused)
    assert [f.code for f in late.failures] == ["certificate.expired"]

    # the deadline sweep warns two months ahead: from 07/09/2030
    assert certificates_expiring(engine, date(2030, 9, 6), now=NOW) == []
    (warning,) = certificates_expiring(engine, date(2030, 9, 7), now=NOW)
    assert (warning.candidate_id, warning.kind, warning.due_on) == (cid, "certificate_expiring", date(2030, 11, 7))
