"""A year of cell meetings, courses and deadlines on a controllable date: who was reminded of what, when.

Every day from 01/07/2026 to 30/06/2027, at 09:00 in Hà Nội, the sweeps run twice (to prove a
re-run adds nothing) and the outbox is delivered; scripted steps happen on their dates. The
expected dates are written out by hand from the calendar (meetings on day 5 moved to the next
working day, reminders 3 days ahead; statutory deadlines in working days).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ketnap.context import use_clock
from models.actors import SYSTEM
from models.audit.trail import verify
from models.calendar.working_days import vietnam_calendar
from models.courses import add_session, plan_enrolment, record_attendance, record_certificates
from models.meetings import meetings_between
from models.notes import record as record_note
from models.outbox import deliver
from models.reminders import (
    due_for_reminders,
    plan_deadline_reminders,
    plan_missing_note_alerts,
    plan_overdue_notices,
    plan_probation_notices,
    plan_sponsor_notes,
)
from models.sweeps import flag_overdue_deadlines, probations_ended
from models.tables import Member, Notification, Recipient
from models.transitions import TransitionRequest, apply_transition
from models.transports import MaildirTransport, Router
from tests.support import SECRETARY, TO_CELL_REVIEW, add, walk

CAL = vietnam_calendar()
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
START, END = date(2026, 7, 1), date(2027, 6, 30)
# Meetings of every cell: day 5, moved to the next working day (by hand on the 2026-27 calendar:
# 5/7, 5/9, 5/12/2026 and 5/6/2027 are Sundays or Saturdays; 5/2/2027 falls in Tết, off 4-10/2)
MEETINGS = [date(2026, 7, 6), date(2026, 8, 5), date(2026, 9, 7), date(2026, 10, 5), date(2026, 11, 5),
            date(2026, 12, 7), date(2027, 1, 5), date(2027, 2, 11), date(2027, 3, 5), date(2027, 4, 5),
            date(2027, 5, 5), date(2027, 6, 7)]


def _morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=HANOI).astimezone(UTC)


def _sweeps(engine, day: date, now: datetime) -> None:
    """What the scheduled deployments do each morning (flows/sweeps.py), through the same planners."""
    upcoming = due_for_reminders(meetings_between(engine, day, day + timedelta(days=31), CAL), day)
    plan_sponsor_notes(engine, upcoming, now=now)
    plan_missing_note_alerts(engine, meetings_between(engine, day - timedelta(days=190), day - timedelta(days=1), CAL),
                             now=now)
    flagged = flag_overdue_deadlines(engine, day, now=now)
    plan_overdue_notices(engine, [int(f.key.split(":")[1]) for f in flagged], day, CAL, now=now)
    plan_deadline_reminders(engine, day, CAL, now=now)
    plan_probation_notices(engine, day, now=now)
    plan_enrolment(engine, day, now=now)
    for candidate_id, ends_on in probations_ended(engine, day):
        apply_transition(engine, TransitionRequest(candidate_id, "open_recognition", ends_on, SYSTEM,
                                                   idempotency_key=f"sweep:{candidate_id}:{ends_on}"), now=now)


@pytest.mark.slow
def test_a_year_of_meetings_courses_and_deadlines(org, tmp_path):
    # --- the people --------------------------------------------------------------------------
    voting = add(org, full_name="Cà Văn Dũng")                                  # the cell votes in July
    walk(org, voting, TO_CELL_REVIEW)
    learner = add(org, full_name="Lò Văn Học", email="lo.van.hoc@muongbu.example", listed_on=date(2026, 6, 1))
    probationer = add(org, full_name="Vì Thị Dự", email="vi.thi.du@muongbu.example", listed_on=date(2024, 6, 3))
    walk(org, probationer, [
        ("record_awareness_certificate", "2024-07-01", {"certificate_number": "CN-1"}),
        ("complete_file", "2025-06-02", {"application_on": "2025-05-05", "cv_certified_on": "2025-05-20",
                                         "background_verified_on": "2025-05-26"}),
        ("summarise_opinions", "2025-06-16", {}), ("cell_approves", "2025-07-07", {"approve": 4}),
        ("grassroots_approves", "2025-07-21", {"approve": 12}), ("admit", "2025-08-04", {"decision_number": "9"}),
        ("hold_ceremony", "2025-09-15", {"helper": "NL03"})])                  # probation ends 15/09/2026
    first = add_session(org, "awareness", "Trung tâm Chính trị xã Mường Bú", date(2026, 8, 10), date(2026, 8, 14),
                        "Hội trường xã", 30, "xa-muong-bu")
    second = add_session(org, "awareness", "Trung tâm Chính trị xã Mường Bú", date(2026, 10, 12), date(2026, 10, 16),
                         "Hội trường xã", 30, "xa-muong-bu")
    with org.connect() as conn:
        ids = {r.code: r.id for r in conn.execute(select(Member.__table__.c.code, Member.__table__.c.id))}

    # --- what happens on which day ------------------------------------------------------------
    script = {
        date(2026, 7, 1): lambda now: apply_transition(org, TransitionRequest(
            learner, "nominate_for_course", date(2026, 7, 1), SECRETARY), now=now),
        date(2026, 7, 6): lambda now: apply_transition(org, TransitionRequest(
            voting, "cell_approves", date(2026, 7, 6), SECRETARY, inputs={"approve": 4}), now=now),
        date(2026, 7, 20): lambda now: apply_transition(org, TransitionRequest(
            voting, "grassroots_approves", date(2026, 7, 20), SECRETARY, inputs={"approve": 12}), now=now),
        date(2026, 8, 14): lambda now: record_attendance(org, first, [], [learner], now=now),
        date(2026, 10, 16): lambda now: record_attendance(org, second, [learner], [], now=now),
        date(2026, 10, 19): lambda now: record_certificates(org, [(learner, "CN-2026-88", date(2026, 10, 16))],
                                                            SECRETARY, now=now),
        date(2026, 10, 12): lambda now: apply_transition(org, TransitionRequest(
            voting, "admit", date(2026, 10, 12), SECRETARY, inputs={"decision_number": "301-QĐ/ĐU"}), now=now),
    }
    # NL01 gives a note for every meeting; NL02 never does.
    mail, sent = tmp_path / "mail", []
    day = START
    while day <= END:
        now = _morning(day)
        with use_clock(now):
            if day in script:
                script[day](now)
            for meeting in MEETINGS:
                if meeting == day:
                    for cid in (voting, learner):
                        record_note(org, cid, "NL01", meeting, "Có tiến bộ.", SECRETARY, now=now)
            _sweeps(org, day, now)
            _sweeps(org, day, now)                                  # a second run adds nothing
            before = _sent_ids(org)
            report = deliver(org, Router(MaildirTransport(mail)), now=now, public_url="http://ketnap.example",
                             secret="year")
            assert report.retried == 0 and report.dead == 0
            sent += [(day, *row) for row in _sent_rows(org, before)]
        day += timedelta(days=1)

    by = defaultdict(list)
    for on, key, reason, period in sent:
        by[(key, reason)].append((on, period))
    nl01, nl02, nl03 = (f"member:{ids[c]}" for c in ("NL01", "NL02", "NL03"))

    # Sponsors: one reminder per meeting per active file, on the lead day (3 days before)
    for sponsor in (nl01, nl02):
        reminders = by[(sponsor, "sponsor_note")]
        assert len(reminders) == len({p for _, p in reminders})            # never twice
        voted = sorted(on for on, p in reminders if p.endswith(f"/{voting}"))
        assert voted == [m - timedelta(days=3) for m in MEETINGS]           # the whole year: still an active file
    # the helper of the probationary member until her file left probation (recognition opened 15/09/2026)
    assert sorted(p.split("/")[0] for _, p in by[(nl03, "sponsor_note")] if p.endswith(f"/{probationer}")) == \
        [m.isoformat() for m in MEETINGS]

    # The secretary hears of a sponsor's missing notes the day after each second-or-later missed meeting.
    # Notes were not kept before 01/07/2026, so on that day June's meeting counts as missed by everyone.
    alerts = by[("secretary:cb-ban-na-la", "missing_notes")]

    def alert_days(member: str, candidate: int) -> list[date]:
        return sorted(on for on, p in alerts if p.endswith(f"/{ids[member]}/{candidate}"))

    after_each_meeting = [date(2026, 7, 1)] + [m + timedelta(days=1) for m in MEETINGS]
    assert alert_days("NL02", voting) == after_each_meeting              # NL02 never gives a note
    assert alert_days("NL01", probationer) == after_each_meeting         # NL01 notes on the others only
    assert alert_days("NL01", voting) == [date(2026, 7, 1)]              # June only: notes from July on
    assert alert_days("NL01", learner) == [date(2026, 7, 1)]

    # Statutory deadlines (counted by hand in working days; no day off falls inside these periods):
    # the decision, 60 working days after the cell's vote of 06/07/2026 → 30/09/2026 (the competent committee);
    # the recognition vote, 30 after the end of probation 15/09/2026 → 27/10/2026 (the cell);
    # the ceremony, 30 after the decision was received on 12/10/2026 → 23/11/2026 (the cell).
    def notices(key: str, reason: str) -> list[tuple[date, str]]:
        return sorted((on, p.rsplit(":", 1)[1]) for on, p in by[(key, reason)])

    assert notices("orgdept:xa-muong-bu", "deadline_due") == [(date(2026, 9, 23), "2026-09-30")]
    assert notices("secretary:cb-ban-na-la", "deadline_due") == [(date(2026, 10, 20), "2026-10-27"),
                                                                  (date(2026, 11, 16), "2026-11-23")]
    # once overdue, every one of them is flagged to the organisation department, the next morning
    assert notices("orgdept:xa-muong-bu", "deadline_overdue") == [
        (date(2026, 10, 1), "2026-09-30"), (date(2026, 10, 28), "2026-10-27"), (date(2026, 11, 24), "2026-11-23")]

    # The end of probation (15/09/2026) is announced 30 days ahead to the member, the helper, the secretary
    assert [on for on, _ in by[(f"candidate:{probationer}", "probation_self_review")]] == [date(2026, 8, 16)]
    assert [on for on, _ in by[(nl03, "probation_helper_review")]] == [date(2026, 8, 16)]
    assert [on for on, _ in by[("secretary:cb-ban-na-la", "probation_ending")]] == [date(2026, 8, 16)]

    # The course: enrolled on the day of nomination in the August session, absent, re-enrolled in October
    assert [p for _, p in by[(f"candidate:{learner}", "course_enrolled")]] == [f"session:{first}", f"session:{second}"]
    assert [on for on, _ in by[(f"candidate:{learner}", "course_enrolled")]] == [date(2026, 7, 1), date(2026, 8, 14)]
    with org.connect() as conn:
        stages = dict(conn.execute(select(Notification.__table__.c.id, Notification.__table__.c.status)).all())
    assert set(stages.values()) == {"sent"}
    assert verify(org).ok


def _sent_ids(engine) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(select(Notification.__table__.c.id).where(
            Notification.__table__.c.status == "sent")).scalars())


def _sent_rows(engine, before: set[int]) -> list[tuple[str, str, str]]:
    n, r = Notification.__table__, Recipient.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(n.c.id, r.c.key, n.c.reason, n.c.period_key).join(r, r.c.id == n.c.recipient_id)
                            .where(n.c.status == "sent").order_by(n.c.id)).all()
    return [(key, reason, period) for nid, key, reason, period in rows if nid not in before]
