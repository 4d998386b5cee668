"""Who is reminded of what, and when: the planners against a real database (both engines)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from models.calendar.working_days import vietnam_calendar
from models.meetings import Meeting
from models.notes import record
from models.reminders import (
    plan_deadline_reminders,
    plan_missing_note_alerts,
    plan_probation_notices,
    plan_sponsor_notes,
)
from models.tables import Member, Notification, Recipient
from tests.support import NOW, SECRETARY, TO_CELL_REVIEW, add, step, walk

CAL = vietnam_calendar()
NOTE = Notification.__table__


def _queued(engine, reason: str | None = None) -> list[tuple[str, str, str]]:
    query = (select(Recipient.__table__.c.key, NOTE.c.reason, NOTE.c.period_key)
             .join(Recipient.__table__, Recipient.__table__.c.id == NOTE.c.recipient_id).order_by(NOTE.c.id))
    if reason:
        query = query.where(NOTE.c.reason == reason)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def _member_key(engine, code: str) -> str:
    with engine.connect() as conn:
        return f"member:{conn.execute(select(Member.__table__.c.id).where(Member.__table__.c.code == code)).scalar()}"


def test_each_sponsor_of_each_active_file_is_reminded_once_per_meeting(org):
    active = add(org)
    closed = add(org, full_name="Lò Văn Rút")
    step(org, closed, "leave_source_list", "2025-10-01", reason="Chuyển đi nơi khác")
    meeting = Meeting("cb-ban-na-la", date(2026, 12, 7), 3, 2)
    first = plan_sponsor_notes(org, [meeting], now=NOW)
    again = plan_sponsor_notes(org, [meeting], now=NOW)
    assert (first.created, again.created, again.considered) == (2, 0, 2)
    assert _queued(org) == [(_member_key(org, "NL01"), "sponsor_note", f"2026-12-07/{active}"),
                            (_member_key(org, "NL02"), "sponsor_note", f"2026-12-07/{active}")]


def test_the_helper_of_a_probationary_member_is_reminded_too(org):
    cid = add(org)
    walk(org, cid, [*TO_CELL_REVIEW, ("cell_approves", "2026-07-06", {"approve": 4}),
                    ("grassroots_approves", "2026-07-20", {"approve": 12}),
                    ("admit", "2026-08-03", {"decision_number": "1"}), ("hold_ceremony", "2026-08-19", {"helper": "NL03"})])
    plan_sponsor_notes(org, [Meeting("cb-ban-na-la", date(2026, 9, 7), 3, 2)], now=NOW)
    keys = {k for k, _, _ in _queued(org)}
    assert keys == {_member_key(org, c) for c in ("NL01", "NL02", "NL03")}


def test_a_sponsor_without_contact_is_counted_as_unreachable(org):
    add(org)
    key = _member_key(org, "NL02")
    with org.begin() as conn:
        conn.execute(update(Recipient.__table__).where(Recipient.__table__.c.key == key).values(active=False))
    planned = plan_sponsor_notes(org, [Meeting("cb-ban-na-la", date(2026, 12, 7), 3, 2)], now=NOW)
    assert (planned.created, planned.unreachable) == (1, 1)


def test_the_secretary_is_alerted_after_two_missed_meetings_and_not_when_a_note_came(org):
    cid = add(org)
    november, december = Meeting("cb-ban-na-la", date(2026, 11, 5), 3, 2), Meeting("cb-ban-na-la", date(2026, 12, 7), 3, 2)
    record(org, cid, "NL01", date(2026, 12, 7), "Tiến bộ rõ trong công việc của bản.", SECRETARY, now=NOW)
    planned = plan_missing_note_alerts(org, [november, december], now=NOW)
    assert planned.created == 1                               # NL02 missed both; NL01 gave a note in December
    assert _queued(org, "missing_notes") == [("secretary:cb-ban-na-la", "missing_notes",
                                              f"2026-12-07/{_member_key(org, 'NL02')[7:]}/{cid}")]
    assert plan_missing_note_alerts(org, [december], now=NOW).created == 0     # one missed meeting is not a streak


def test_deadline_reminders_go_to_whoever_acts_five_working_days_ahead(org):
    cid = add(org)
    walk(org, cid, [*TO_CELL_REVIEW, ("cell_approves", "2026-07-06", {"approve": 4})])
    # due 30/09/2026; 5 working days before: 24, 25, 28, 29, 30 → reminders from 23/09
    assert plan_deadline_reminders(org, date(2026, 9, 22), CAL, now=NOW).created == 0
    assert plan_deadline_reminders(org, date(2026, 9, 23), CAL, now=NOW).created == 1
    assert plan_deadline_reminders(org, date(2026, 9, 24), CAL, now=NOW).created == 0      # once per deadline
    [(key, _, period)] = _queued(org, "deadline_due")
    assert key == "orgdept:xa-muong-bu" and period.endswith(":2026-09-30")   # the authorised commune committee decides


def test_the_end_of_probation_is_announced_thirty_days_ahead_to_member_helper_and_secretary(org):
    cid = add(org, email="ca.van.dung@muongbu.example")
    walk(org, cid, [*TO_CELL_REVIEW, ("cell_approves", "2026-07-06", {"approve": 4}),
                    ("grassroots_approves", "2026-07-20", {"approve": 12}),
                    ("admit", "2026-08-03", {"decision_number": "1"}), ("hold_ceremony", "2026-08-19", {"helper": "NL03"})])
    assert plan_probation_notices(org, date(2027, 7, 19), now=NOW).created == 0        # 31 days before 19/08/2027
    assert plan_probation_notices(org, date(2027, 7, 20), now=NOW).created == 3
    assert plan_probation_notices(org, date(2027, 8, 1), now=NOW).created == 0
    assert sorted((k, r) for k, r, _ in _queued(org)) == sorted([
        (f"candidate:{cid}", "probation_self_review"), (_member_key(org, "NL03"), "probation_helper_review"),
        ("secretary:cb-ban-na-la", "probation_ending")])


def test_a_message_left_sending_by_a_crash_goes_out_when_its_lease_expires(org, tmp_path):
    from datetime import UTC, datetime, timedelta

    from models.outbox import LEASE, deliver
    from models.transports import MaildirTransport, Router

    add(org)
    plan_sponsor_notes(org, [Meeting("cb-ban-na-la", date(2026, 12, 7), 3, 2)], now=NOW)
    crash = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)             # 09:00 in Hà Nội
    with org.begin() as conn:                                    # a deliverer claimed both, then died
        conn.execute(NOTE.update().values(status="sending", next_attempt_at=crash + LEASE))
    mail = tmp_path / "mail"
    options = {"public_url": "http://x", "secret": "s"}
    early = deliver(org, Router(MaildirTransport(mail)), now=crash + LEASE - timedelta(seconds=1), **options)
    assert early.sent == 0 and not mail.exists()
    late = deliver(org, Router(MaildirTransport(mail)), now=crash + LEASE, **options)
    assert late.sent == 2 and len(list(mail.glob("*.eml"))) == 2
    assert deliver(org, Router(MaildirTransport(mail)), now=crash + 2 * LEASE, **options).sent == 0
