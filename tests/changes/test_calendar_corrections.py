"""Calendar corrections (models/calendar_corrections.py): a corrected year moves exactly the deadlines it touches.

The expected due dates are counted by hand over days off written down here, not by the calendar under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from models.actors import Actor
from models.audit.trail import verify
from models.calendar_corrections import (
    CorrectionRejected,
    correct_calendar,
    correction_detail,
    list_corrections,
    parse_correction,
    years_in_force,
)
from models.calendar_in_force import current_calendar
from models.reminders import plan_deadline_reminders
from models.tables import AuditEvent, CalendarCorrection, Candidate, Deadline, Notification
from tests.support import NOW, TO_CELL_REVIEW, WEEKDAYS_OFF, add, count_working_days_by_hand, walk

ADMIN = Actor("test:admin", "admin")
AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)

# The correction: Tết 2027 is announced one day longer at each end (Wednesday 3 and Thursday 11 February).
ADDED_OFF = {date(2027, 2, 3), date(2027, 2, 11)}
TET_2027 = {"2027-02-03": "Tết Nguyên đán", "2027-02-04": "Tết Nguyên đán", "2027-02-05": "Tết Nguyên đán",
            "2027-02-08": "Tết Nguyên đán", "2027-02-09": "Tết Nguyên đán", "2027-02-10": "Tết Nguyên đán",
            "2027-02-11": "Tết Nguyên đán"}


def _correction(**overrides):
    data = {"year": 2027, "source": "Thông báo điều chỉnh lịch nghỉ Tết Đinh Mùi 2027 (giả định cho kiểm thử)",
            "days_off": TET_2027}
    data.update(overrides)
    return parse_correction(data)


def _to_decision(engine, cell_vote_on: str, **extra):
    cid = add(engine, **extra)
    walk(engine, cid, [*TO_CELL_REVIEW, ("cell_approves", cell_vote_on, {"approve": 4})])
    return cid


def _deadline(engine, cid: int, clock: str = "admission_decision"):
    with engine.connect() as conn:
        return conn.execute(select(Deadline.__table__).where(Deadline.__table__.c.candidate_id == cid,
                                                             Deadline.__table__.c.clock == clock)).mappings().one()


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_corrected_tet_moves_the_deadlines_counted_across_it_and_only_those(org):
    across = _to_decision(org, "2026-12-10")                     # 60 working days: into March 2027, across Tết
    after = _to_decision(org, "2027-03-01", full_name="Lò Thị Mai", gender="nu")   # counted after Tết: untouched
    old_due = count_working_days_by_hand(date(2026, 12, 10), 60, WEEKDAYS_OFF)
    assert _deadline(org, across)["due_on"] == old_due
    untouched_before = _deadline(org, after)
    with org.connect() as conn:
        version_after_before = conn.execute(select(Candidate.__table__.c.version)
                                            .where(Candidate.__table__.c.id == after)).scalar_one()

    report = correct_calendar(org, _correction(), ADMIN, now=AT)

    new_due = count_working_days_by_hand(date(2026, 12, 10), 60, WEEKDAYS_OFF | ADDED_OFF)
    assert new_due != old_due
    assert _deadline(org, across)["due_on"] == new_due
    assert _deadline(org, across)["calendar_version"] == report.calendar_after
    # checked and unchanged: only stamped with the calendar it now holds under
    assert _deadline(org, after) == {**untouched_before, "calendar_version": report.calendar_after}
    assert [(c["candidate_id"], c["clock"], c["due_before"], c["due_after"]) for c in report.changes] == [
        (across, "admission_decision", old_due.isoformat(), new_due.isoformat())]
    assert sorted(d["date"] for d in report.days_now_off) == ["2027-02-03", "2027-02-11"]
    assert report.revision == 2 and report.candidates == 1
    cal = current_calendar(org)
    assert not cal.is_working_day(date(2027, 2, 3)) and cal.version == report.calendar_after
    with org.connect() as conn:
        events = conn.execute(select(AuditEvent.__table__).where(AuditEvent.__table__.c.kind == "deadline_recomputed")
                              ).mappings().all()
        versions = dict(conn.execute(select(Candidate.__table__.c.id, Candidate.__table__.c.version)).all())
    assert [(e["candidate_id"], e["event"]) for e in events] == [(across, "correct_calendar")]
    assert "2027 revision 2" in events[0]["reason"]
    assert versions[after] == version_after_before                 # nothing happened to the untouched file
    assert verify(org).ok
    listed = list_corrections(org)
    assert [(c["year"], c["revision"], c["deadlines_changed"]) for c in listed] == [(2027, 2, 1)]
    detail = correction_detail(org, listed[0]["id"])
    assert detail["summary"]["changes"][0]["due_after"] == new_due.isoformat()
    assert [y for y in years_in_force(org) if y["year"] == 2027][0]["origin"] == "recorded"


def test_a_dry_run_reports_exactly_what_applying_does_and_writes_nothing(org):
    cid = _to_decision(org, "2026-12-10")
    before = {t: _count(org, t) for t in (AuditEvent.__table__, CalendarCorrection.__table__)}
    due_before = _deadline(org, cid)["due_on"]
    preview = correct_calendar(org, _correction(), ADMIN, dry_run=True, now=AT)
    assert {t: _count(org, t) for t in before} == before
    assert _deadline(org, cid)["due_on"] == due_before
    assert not current_calendar(org).is_working_day(date(2027, 2, 4))
    assert current_calendar(org).is_working_day(date(2027, 2, 3))
    applied = correct_calendar(org, _correction(), ADMIN, now=AT)

    def strip(changes):
        return [{k: v for k, v in c.items() if k != "audit_event_id"} for c in changes]

    assert preview.dry_run and not applied.dry_run
    assert strip(preview.changes) == strip(applied.changes) and preview.changes
    assert (preview.revision, preview.calendar_after) == (applied.revision, applied.calendar_after)


def test_a_closed_deadline_is_judged_again_against_its_new_date(org):
    cid = _to_decision(org, "2026-12-10")
    old_due = count_working_days_by_hand(date(2026, 12, 10), 60, WEEKDAYS_OFF)
    late_by_one = count_working_days_by_hand(old_due, 1, WEEKDAYS_OFF)
    walk(org, cid, [("grassroots_approves", "2027-01-20", {"approve": 12}),
                    ("admit", late_by_one.isoformat(), {"decision_number": "12-QĐ/ĐU"})])
    assert _deadline(org, cid)["status"] == "late"
    report = correct_calendar(org, _correction(), ADMIN, now=AT)
    row = _deadline(org, cid)
    assert (row["status"], row["closed_on"]) == ("met", late_by_one)
    assert [(c["status_before"], c["status_after"]) for c in report.changes] == [("late", "met")]


def test_the_unsent_reminder_of_a_moved_deadline_is_withdrawn_and_queued_again_for_the_new_date(org):
    cid = _to_decision(org, "2026-12-10")
    old_due = _deadline(org, cid)["due_on"]
    cal = current_calendar(org)
    assert plan_deadline_reminders(org, date(2027, 3, 8), cal, now=NOW).created == 1
    report = correct_calendar(org, _correction(), ADMIN, now=AT)
    assert report.reminders_withdrawn == 1
    new_due = _deadline(org, cid)["due_on"]
    with org.connect() as conn:
        rows = conn.execute(select(Notification.__table__.c.period_key, Notification.__table__.c.status)
                            .where(Notification.__table__.c.reason == "deadline_due")).all()
    assert [tuple(r) for r in rows] == [(f"deadline:{_deadline(org, cid)['id']}:{old_due.isoformat()}", "withdrawn")]
    # five working days before the new due date (16/03/2027): from 09/03
    assert plan_deadline_reminders(org, date(2027, 3, 8), current_calendar(org), now=NOW).created == 0
    assert plan_deadline_reminders(org, date(2027, 3, 9), current_calendar(org), now=NOW).created == 1
    with org.connect() as conn:
        keys = {r for (r,) in conn.execute(select(Notification.__table__.c.period_key)
                                           .where(Notification.__table__.c.status == "pending"))}
    assert keys == {f"deadline:{_deadline(org, cid)['id']}:{new_due.isoformat()}"}


def test_a_later_revision_can_undo_a_correction_and_the_deadline_comes_back(org):
    cid = _to_decision(org, "2026-12-10")
    original = _deadline(org, cid)["due_on"]
    correct_calendar(org, _correction(), ADMIN, now=AT)
    shipped_tet = {k: v for k, v in TET_2027.items() if k not in ("2027-02-03", "2027-02-11")}
    third = correct_calendar(org, _correction(days_off=shipped_tet, source="Đính chính: giữ lịch nghỉ Tết ban đầu"),
                             ADMIN, now=AT)
    assert third.revision == 3
    assert _deadline(org, cid)["due_on"] == original
    with org.connect() as conn:
        kinds = [k for (k,) in conn.execute(select(AuditEvent.__table__.c.kind)
                                             .where(AuditEvent.__table__.c.candidate_id == cid)
                                             .order_by(AuditEvent.__table__.c.seq))]
    assert kinds.count("deadline_recomputed") == 2
    assert verify(org).ok


def test_a_transition_after_the_correction_counts_with_the_corrected_calendar(org):
    correct_calendar(org, _correction(), ADMIN, now=AT)
    cid = _to_decision(org, "2026-12-10")
    assert _deadline(org, cid)["due_on"] == count_working_days_by_hand(date(2026, 12, 10), 60, WEEKDAYS_OFF | ADDED_OFF)


@pytest.mark.parametrize(("overrides", "field", "words"), [
    ({"days_off": {"2028-01-02": "Sai năm"}}, "days_off", "không thuộc năm 2027"),
    ({"working_days": {"2027-02-04": "Làm bù"}}, "working_days", "vừa là ngày nghỉ vừa là ngày làm việc"),
    ({"source": ""}, "source", "source"),
    ({"days_off": {"2027-02-31": "Không có ngày này"}}, "days_off", "ngày"),
    ({"holidays": {}}, "holidays", "không phải mục"),
    ({"year": 1990}, "year", "Năm phải trong khoảng"),
])
def test_a_bad_correction_is_refused_naming_the_field(overrides, field, words):
    with pytest.raises(CorrectionRejected) as caught:
        _correction(**overrides)
    assert any(p.field.startswith(field) and words in (p.message_vi + p.field) for p in caught.value.problems), \
        caught.value.problems


def test_a_revision_not_above_the_one_in_force_is_refused_and_nothing_is_written(org):
    cid = _to_decision(org, "2026-12-10")
    due = _deadline(org, cid)["due_on"]
    with pytest.raises(CorrectionRejected) as caught:
        correct_calendar(org, _correction(revision=1), ADMIN, now=AT)
    assert caught.value.problems[0].field == "revision"
    assert _count(org, CalendarCorrection.__table__) == 0 and _deadline(org, cid)["due_on"] == due


def test_a_step_that_raced_the_correction_is_reconciled_by_the_next_sweep(org):
    """A transition that read the calendar just before a correction committed opens its deadline under the old
    calendar; the correction cannot see it. The daily sweep's reconcile recomputes it, audited, once."""
    from models.calendar.working_days import vietnam_calendar
    from models.calendar_corrections import reconcile
    from tests.support import step

    untouched = _to_decision(org, "2027-03-01", full_name="Lò Thị Mai", gender="nu")
    correct_calendar(org, _correction(), ADMIN, now=AT)
    stale_calendar = vietnam_calendar()                          # what the racing step had read
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    assert step(org, cid, "cell_approves", "2026-12-10", approve=4).applied
    with org.begin() as conn:                                    # as if computed by the racing step
        conn.execute(Deadline.__table__.update().where(Deadline.__table__.c.candidate_id == cid).values(
            due_on=count_working_days_by_hand(date(2026, 12, 10), 60, WEEKDAYS_OFF),
            calendar_version=stale_calendar.version))
    first = reconcile(org, ADMIN, now=AT)
    assert [(c["candidate_id"], c["due_after"]) for c in first.changes] == [
        (cid, count_working_days_by_hand(date(2026, 12, 10), 60, WEEKDAYS_OFF | ADDED_OFF).isoformat())]
    assert _deadline(org, cid)["calendar_version"] == current_calendar(org).version
    assert _deadline(org, untouched)["calendar_version"] == current_calendar(org).version
    assert reconcile(org, ADMIN, now=AT).changes == []            # once
    assert verify(org).ok


def test_the_deadline_sweep_flow_reconciles_too(org, monkeypatch):
    from flows import sweeps

    monkeypatch.setattr(sweeps, "default_engine", lambda: org)
    cid = _to_decision(org, "2026-12-10")
    with org.begin() as conn:
        conn.execute(Deadline.__table__.update().where(Deadline.__table__.c.candidate_id == cid)
                     .values(calendar_version="holidays-0.0+an-old-calendar"))
    result = sweeps.deadline_sweep_without_prefect(as_of="2026-12-11")
    assert result["deadlines_recomputed"] == 0                    # checked, nothing moved: restamped only
    assert _deadline(org, cid)["calendar_version"] == current_calendar(org).version


def test_a_correction_racing_a_step_on_the_same_file_never_reopens_a_met_deadline(org):
    """Review finding: the correction used to read deadlines before locking their candidates, then overwrite what
    a step committed meanwhile. Now it locks the candidates first (in id order) and reads the deadlines after.
    On PostgreSQL the two really wait on each other; on SQLite writers queue at BEGIN IMMEDIATE."""
    import threading
    import time

    from sqlalchemy import text

    from tests.support import step

    cid = _to_decision(org, "2026-12-10")
    walk(org, cid, [("grassroots_approves", "2027-01-20", {"approve": 12})])
    results: dict[str, object] = {}
    blocker = org.connect()
    held = blocker.begin()
    if org.dialect.name == "postgresql":
        blocker.execute(text("SELECT id FROM candidate WHERE id = :i FOR UPDATE"), {"i": cid})
    else:
        blocker.execute(text("UPDATE candidate SET version = version WHERE id = :i"), {"i": cid})

    def admit() -> None:
        results["admit"] = step(org, cid, "admit", "2027-02-15", decision_number="12-QĐ/ĐU")

    def correct() -> None:
        results["correction"] = correct_calendar(org, _correction(), ADMIN, now=AT)

    first, second = threading.Thread(target=admit), threading.Thread(target=correct)
    first.start()
    time.sleep(0.5)
    second.start()
    time.sleep(0.5)
    held.rollback()
    blocker.close()
    first.join(30)
    second.join(30)
    assert results["admit"].applied
    row = _deadline(org, cid)
    assert (row["status"], row["closed_on"]) == ("met", date(2027, 2, 15))
    assert row["due_on"] == count_working_days_by_hand(date(2026, 12, 10), 60, WEEKDAYS_OFF | ADDED_OFF)
    with org.connect() as conn:
        stage = conn.execute(select(Candidate.__table__.c.stage).where(Candidate.__table__.c.id == cid)).scalar_one()
    assert stage == "awaiting_ceremony"
    assert verify(org).ok


def test_a_correction_recorded_by_another_process_is_seen_after_the_recheck_interval(org, monkeypatch):
    """A step does not pay a query for the calendar: the list of corrections is re-read at most every
    RECHECK_SECONDS. Another process's correction (here: its row written directly) is seen once that has passed."""
    from models import calendar_in_force

    assert current_calendar(org).is_working_day(date(2027, 2, 3))            # read and remembered
    other = _correction()
    with org.begin() as conn:                                                # what another process committed
        conn.execute(CalendarCorrection.__table__.insert().values(
            year=2027, revision=2, source=other.source, days_off=TET_2027, working_days={}, not_days_off={},
            calendar_before="x", calendar_after="y", actor="other", role="admin", recorded_at=AT, summary={}))
    assert current_calendar(org).is_working_day(date(2027, 2, 3))            # not yet: within the interval
    monkeypatch.setattr(calendar_in_force, "RECHECK_SECONDS", 0.0)
    assert not current_calendar(org).is_working_day(date(2027, 2, 3))        # the interval has passed
