"""Course sessions, the queue, enrolment (areas, capacity, absentees, re-runs, concurrent planners),
notifications and certificates, on SQLite and PostgreSQL (no Prefect: steps are applied directly)."""

from __future__ import annotations

import contextlib
import threading
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, select

from flows import submit as submit_module
from models.audit.trail import timeline, verify
from models.courses import (
    SESSION,
    Nominee,
    add_session,
    enrol_nominee,
    list_sessions,
    nominees,
    plan_enrolment,
    record_attendance,
    record_certificates,
    record_certificates_from_file,
    roster,
)
from models.imports.rows import ImportRejected
from models.messages import build_message
from models.procedure.engine import InputError
from models.tables import Candidate, Notification, Recipient, TransitionRequestRow
from tests.courses.helpers import (
    TO_PROBATION,
    add_other_commune,
    count,
    enrolments,
    nominee,
    notifications,
    session,
)
from tests.support import NOW, SECRETARY, add, walk

CANDIDATE = Candidate.__table__
OCT_15 = date(2025, 10, 15)


@pytest.fixture
def no_prefect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Certificates are applied directly (the flow path has its own test against a real Prefect server)."""
    monkeypatch.setattr(submit_module, "prefect_reachable", lambda url, **_: False)


def _stage(engine, cid: int) -> str:
    with engine.connect() as conn:
        return conn.execute(select(CANDIDATE.c.stage).where(CANDIDATE.c.id == cid)).scalar_one()


def _candidate(engine, cid: int):
    with engine.connect() as conn:
        return conn.execute(select(CANDIDATE).where(CANDIDATE.c.id == cid)).mappings().one()


# --- sessions -------------------------------------------------------------------------------

def test_session_validation_names_each_field_and_rule(org):
    with pytest.raises(InputError) as exc:
        add_session(org, "weekly", "  ", date(2025, 11, 10), date(2025, 11, 7), "", 0, "cb-ban-na-la")
    assert {(p.field, p.code) for p in exc.value.problems} == {
        ("kind", "unknown_kind"), ("provider", "required"), ("place", "required"), ("ends_on", "before_start"),
        ("capacity", "at_least_one"), ("area_unit_id", "not_a_committee")}
    assert all(p.message_vi and p.message_vi != p.message for p in exc.value.problems)
    day = date(2025, 11, 3)
    for area, code in (("ban-na-la", "not_a_committee"),          # a village
                       ("cbcs-tram-y-te", "not_a_committee"),     # a grassroots cell is still a cell
                       ("xa-nowhere", "unknown_unit")):
        with pytest.raises(InputError) as exc:
            add_session(org, "awareness", "Trung tâm Chính trị", day, day, "Hội trường", 10, area)
        assert [(p.field, p.code) for p in exc.value.problems] == [("area_unit_id", code)]
    assert count(org, SESSION) == 0

    commune = add_session(org, "awareness", "Trung tâm Chính trị", day, date(2025, 11, 7), "Hội trường", 40, "xa-muong-bu")
    school = add_session(org, "new_member", "Trung tâm Chính trị", day, day, "Trường THPT", 1, "thpt-muong-bu")
    rows = {r["id"]: r for r in list_sessions(org)}
    assert set(rows) == {commune, school}
    assert (rows[commune]["kind"], rows[commune]["capacity"], rows[commune]["taken"], rows[commune]["area"]) == \
        ("awareness", 40, 0, "Đảng bộ xã Mường Bú")
    assert [r["id"] for r in list_sessions(org, "new_member")] == [school]


# --- the queue and the enrolment ------------------------------------------------------------

def test_queue_is_first_nominated_first_then_by_id(org):
    last = nominee(org, "2025-10-20", full_name="Lò Văn An")        # added first, nominated last
    first = nominee(org, "2025-10-01", full_name="Cà Thị Bình")
    middle = nominee(org, "2025-10-10", full_name="Quàng Văn Chiến")
    same_day = nominee(org, "2025-10-01", full_name="Tòng Thị Dung")  # same day as `first`, larger id
    add(org, full_name="Vì Văn Em")                                   # on the source list, not nominated
    queue = nominees(org, "awareness")
    assert [n.candidate_id for n in queue] == [first, same_day, middle, last]
    assert [n.nominated_on for n in queue] == [date(2025, 10, 1), date(2025, 10, 1), date(2025, 10, 10),
                                               date(2025, 10, 20)]
    assert nominees(org, "new_member") == []


def test_earliest_session_serving_the_cell_is_chosen_and_another_commune_is_not_offered(org, tmp_path: Path):
    add_other_commune(org, tmp_path)
    village = nominee(org, "2025-10-01")                                       # cb-ban-na-la, under the commune
    teacher = nominee(org, "2025-10-02", cell="cb-giao-vien-tn", residence_village=None)   # school under the commune
    elsewhere = nominee(org, "2025-10-03", cell="cb-ban-hua-la", residence_village=None)   # xã Chiềng An
    other_commune = session(org, "2025-10-20", area="xa-chieng-an")            # the earliest of all
    session(org, "2025-10-15")                                                 # starts on the planning day
    session(org, "2025-10-22", kind="new_member")                              # the other course
    school = session(org, "2025-10-27", area="thpt-muong-bu")                  # only the school's cells
    later = session(org, "2025-11-17")
    commune = session(org, "2025-11-03")                                       # added after `later`, starts before
    report = plan_enrolment(org, OCT_15, now=NOW)
    assert enrolments(org) == sorted([(commune, village, "enrolled"), (school, teacher, "enrolled"),
                                      (other_commune, elsewhere, "enrolled")])
    assert (report.considered, report.enrolled, report.waiting) == (3, 3, 0)
    assert later not in {s for s, _, _ in enrolments(org)}
    with org.connect() as conn:
        enrolled = [e for e in timeline(conn, village) if e["kind"] == "course_enrolment"]
    assert [(e["payload"]["session_id"], e["effective_on"]) for e in enrolled] == [(commune, OCT_15)]


def test_capacity_is_respected_in_queue_order(org):
    a, b, c, d = (nominee(org, f"2025-10-0{i}") for i in (4, 1, 3, 2))     # queue order: b, d, c, a
    small = session(org, "2025-11-03", capacity=2)
    big = session(org, "2025-11-17", capacity=5)
    report = plan_enrolment(org, OCT_15, now=NOW)
    assert enrolments(org) == sorted([(small, b, "enrolled"), (small, d, "enrolled"),
                                      (big, c, "enrolled"), (big, a, "enrolled")])
    assert report.enrolled == 4
    taken = {r["id"]: (r["taken"], r["free"]) for r in list_sessions(org)}
    assert taken == {small: (2, 0), big: (2, 3)}


def test_nominees_wait_when_no_session_has_room(org):
    a, b = nominee(org, "2025-10-01"), nominee(org, "2025-10-02")
    only = session(org, "2025-11-03", capacity=1)
    report = plan_enrolment(org, OCT_15, now=NOW)
    assert (report.enrolled, report.waiting) == (1, 1)
    assert enrolments(org) == [(only, a, "enrolled")]
    assert [n.candidate_id for n in nominees(org, "awareness")] == [b]


def test_absentees_go_back_in_the_queue_and_get_the_next_session(org):
    present, absent = nominee(org, "2025-10-01"), nominee(org, "2025-10-02")
    first = session(org, "2025-11-03")
    plan_enrolment(org, OCT_15, now=NOW)
    assert nominees(org, "awareness") == []
    result = record_attendance(org, first, present=[present], absent=[absent], now=NOW)
    assert result["changed"] == 2
    assert [n.candidate_id for n in nominees(org, "awareness")] == [absent]
    assert {r["id"]: r["taken"] for r in list_sessions(org)} == {first: 1}      # an absentee holds no seat
    second = session(org, "2025-12-01")
    report = plan_enrolment(org, date(2025, 11, 20), now=NOW)
    assert report.enrolled == 1
    assert enrolments(org) == sorted([(first, present, "attended"), (first, absent, "absent"),
                                      (second, absent, "enrolled")])
    assert [(r["candidate_id"], r["status"]) for r in roster(org, first)["learners"]] == \
        sorted([(present, "attended"), (absent, "absent")])
    with org.connect() as conn:
        marks = [(e["kind"], e["payload"]["session_id"], e["payload"].get("status")) for e in timeline(conn, absent)
                 if e["kind"].startswith("course_")]
    assert marks == [("course_enrolment", first, None), ("course_attendance", first, "absent"),
                     ("course_enrolment", second, None)]
    assert verify(org).ok                                             # the chains stay whole


def test_attendance_is_refused_for_learners_not_on_the_roster_or_before_the_session(org):
    on_roster, elsewhere = nominee(org, "2025-10-01"), nominee(org, "2025-10-02")
    first = session(org, "2025-11-03", capacity=1)
    session(org, "2025-11-17")
    plan_enrolment(org, OCT_15, now=NOW)
    with pytest.raises(ValueError, match=f"candidate {elsewhere} is not on the roster"):
        record_attendance(org, first, present=[on_roster, elsewhere], absent=[], now=NOW)
    with pytest.raises(ValueError, match="both present and absent"):
        record_attendance(org, first, present=[on_roster], absent=[on_roster], now=NOW)
    with pytest.raises(ValueError, match="after today"):
        record_attendance(org, first, present=[on_roster], absent=[], now=NOW.replace(year=2025, month=11, day=1))
    with pytest.raises(LookupError):
        record_attendance(org, 999_999, present=[on_roster], absent=[], now=NOW)
    assert enrolments(org, session_id=first) == [(first, on_roster, "enrolled")]      # nothing changed


def test_running_the_planner_again_enrols_nobody_twice(org):
    a, b = nominee(org, "2025-10-01"), nominee(org, "2025-10-02", email="b@example.vn")
    s1 = session(org, "2025-11-03", capacity=1)
    s2 = session(org, "2025-11-10", capacity=1)
    first = plan_enrolment(org, OCT_15, now=NOW)
    before, queued = enrolments(org), notifications(org)
    again = plan_enrolment(org, OCT_15, now=NOW)
    next_day = plan_enrolment(org, date(2025, 10, 16), now=NOW)
    assert before == [(s1, a, "enrolled"), (s2, b, "enrolled")]
    assert enrolments(org) == before and notifications(org) == queued
    assert (first.enrolled, first.notifications) == (2, 3)        # b's contact, and the secretary for each
    assert (again.considered, again.enrolled, again.notifications) == (0, 0, 0)
    assert (next_day.enrolled, next_day.notifications) == (0, 0)


def test_two_planners_at_once_never_overfill_a_session(org):
    ids = [nominee(org, f"2025-10-{day:02d}") for day in range(1, 10)]       # queue order = id order
    sessions = [session(org, "2025-11-03", capacity=3), session(org, "2025-11-17", capacity=3)]
    planners, barrier, reports, errors = 4, threading.Barrier(4), [], []

    def plan() -> None:
        try:
            barrier.wait(timeout=30)
            reports.append(plan_enrolment(org, OCT_15, now=NOW))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=plan) for _ in range(planners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    rows = enrolments(org)
    per_session = {s: [c for sid, c, _ in rows if sid == s] for s in sessions}
    assert all(len(per_session[s]) == 3 for s in sessions), per_session
    enrolled = [c for _, c, _ in rows]
    assert len(enrolled) == len(set(enrolled)) == 6                      # nobody twice
    assert sorted(enrolled) == ids[:6]                                    # the first six of the queue
    assert sum(r.enrolled for r in reports) == 6
    assert [n.candidate_id for n in nominees(org, "awareness")] == ids[6:]


def test_two_enrolments_racing_for_the_last_seat_do_not_both_get_it(org):
    """Two transactions for two nominees and one seat, held at the seat count until both are there.

    With the session row locked (and SQLite's writers queued) the second cannot reach the count
    while the first holds the seat: the first gives up waiting and takes the seat, the second
    then counts it. Without the lock both would count 0 and both would be enrolled.
    """
    x, y = nominee(org, "2025-10-01"), nominee(org, "2025-10-02")
    seat = session(org, "2025-11-03", capacity=1)
    meet = threading.Barrier(2)
    results, errors = {}, []

    def hold_at_count(conn, cursor, statement, parameters, context, executemany):
        if "count(" in statement.lower() and "course_enrolment" in statement:
            with contextlib.suppress(threading.BrokenBarrierError):     # the other is held at its lock
                meet.wait(timeout=3)

    def enrol(cid: int) -> None:
        try:
            results[cid] = enrol_nominee(org, Nominee(cid, "cb-ban-na-la", "awareness", None), [seat], OCT_15, now=NOW)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    event.listen(org, "before_cursor_execute", hold_at_count)
    try:
        threads = [threading.Thread(target=enrol, args=(cid,)) for cid in (x, y)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        event.remove(org, "before_cursor_execute", hold_at_count)
    assert not errors, errors
    assert sorted(results.values(), key=str) == sorted([seat, None], key=str)
    assert len(enrolments(org, session_id=seat)) == 1


# --- notifications --------------------------------------------------------------------------

def test_enrolment_is_notified_once_to_the_candidate_and_their_secretary(org):
    reachable = nominee(org, "2025-10-01", full_name="Lò Văn Khánh", email="lo.van.khanh@example.vn")
    no_contact = nominee(org, "2025-10-02", full_name="Quàng Thị Hoa")
    s = session(org, "2025-11-03", place="Hội trường Trung tâm Chính trị")
    report = plan_enrolment(org, OCT_15, now=NOW)
    context = {"session_id": s}
    assert notifications(org) == sorted([
        (f"candidate:{reachable}", f"session:{s}", reachable, context),
        ("secretary:cb-ban-na-la", f"session:{s}/{reachable}", reachable, context),
        ("secretary:cb-ban-na-la", f"session:{s}/{no_contact}", no_contact, context),
    ], key=lambda t: (t[0], t[1]))
    assert report.notifications == 3
    assert plan_enrolment(org, date(2025, 10, 20), now=NOW).notifications == 0
    assert len(notifications(org)) == 3

    notification, recipient = Notification.__table__, Recipient.__table__
    with org.connect() as conn:
        row = conn.execute(select(notification).join(recipient, recipient.c.id == notification.c.recipient_id)
                           .where(recipient.c.key == f"candidate:{reachable}")).mappings().one()
        to = conn.execute(select(recipient).where(recipient.c.id == row["recipient_id"])).mappings().one()
        message = build_message(conn, row, to, public_url="http://x", secret="s", sender="ketnap <k@x>")
    assert message.subject == "[ketnap] Lịch học lớp bồi dưỡng nhận thức về Đảng: 03/11/2025"
    assert "Lò Văn Khánh (Chi bộ bản Nà La) được xếp học lớp bồi dưỡng nhận thức về Đảng" in message.text
    assert "từ ngày 3 tháng 11 năm 2025 đến ngày 7 tháng 11 năm 2025, tại Hội trường Trung tâm Chính trị" in message.text


# --- certificates ---------------------------------------------------------------------------

CSV_HEADER = "candidate_id,certificate_number,certificate_on\n"


def _attended_session(org, present: list[int], absent: list[int]) -> int:
    s = session(org, "2025-11-03")                      # 03/11 to 07/11/2025
    plan_enrolment(org, OCT_15, now=NOW)
    record_attendance(org, s, present=present, absent=absent, now=NOW)
    return s


def test_certificates_file_with_bad_lines_is_rejected_naming_them_and_writes_nothing(org, tmp_path: Path, no_prefect):
    ok, absent, bad_date, early = (nominee(org, f"2025-10-0{i}") for i in range(1, 5))
    s = _attended_session(org, present=[ok, bad_date, early], absent=[absent])
    path = tmp_path / "certificates.csv"
    path.write_text(CSV_HEADER + "\n".join([
        f"{ok},CN-2025-0201,2025-11-07",          # line 2: fine
        f"{absent},CN-2025-0202,2025-11-07",      # line 3: did not attend
        f"{bad_date},CN-2025-0203,07/11/2025",    # line 4: not an ISO date
        "999999,CN-2025-0204,2025-11-07",         # line 5: no such candidate
        f"{early},CN-2025-0205,2025-10-30",       # line 6: before the session started
        f"{ok},CN-2025-0206,2025-11-07",          # line 7: twice in the file
    ]) + "\n", encoding="utf-8")
    before = (enrolments(org), [_candidate(org, c) for c in (ok, absent, bad_date, early)])
    with pytest.raises(ImportRejected) as exc:
        record_certificates_from_file(org, path, SECRETARY, now=NOW)
    errors = exc.value.errors
    assert [(e.line, e.field) for e in errors] == [(3, "candidate_id"), (4, "certificate_on"), (5, "candidate_id"),
                                                   (6, "certificate_on"), (7, "candidate_id")]
    assert f"candidate {absent} did not attend" in errors[0].rule and f"session {s}: absent" in errors[0].rule
    assert "line 2" in errors[4].rule
    assert (enrolments(org), [_candidate(org, c) for c in (ok, absent, bad_date, early)]) == before
    assert count(org, TransitionRequestRow.__table__) == 0
    with org.connect() as conn:
        assert not [e for e in timeline(conn, ok) if e["event"] == "record_awareness_certificate"]


def test_certificates_move_learners_to_file_preparation_once(org, tmp_path: Path, no_prefect):
    first, second = nominee(org, "2025-10-01"), nominee(org, "2025-10-02")
    s = _attended_session(org, present=[first, second], absent=[])
    path = tmp_path / "certificates.csv"
    path.write_text(CSV_HEADER + f"{first},CN-2025-0301,2025-11-07\n{second},CN-2025-0302,2025-11-08\n", encoding="utf-8")
    rows = record_certificates_from_file(org, path, SECRETARY, now=NOW)
    assert [(r["line"], r["candidate_id"], r["status"], r["stage_after"]) for r in rows] == [
        (2, first, "certified", "file_preparation"), (3, second, "certified", "file_preparation")]
    assert enrolments(org) == [(s, first, "certified"), (s, second, "certified")]
    cand = _candidate(org, second)
    assert cand["stage"] == "file_preparation" and cand["awareness_certificate_on"] == date(2025, 11, 8)
    assert cand["facts"]["awareness_certificate_number"] == "CN-2025-0302"
    assert [(r["certificate_number"], r["certificate_on"]) for r in roster(org, s)["learners"]
            if r["candidate_id"] == first] == [("CN-2025-0301", date(2025, 11, 7))]
    with org.connect() as conn:
        steps = [e for e in timeline(conn, first) if e["event"] == "record_awareness_certificate"]
    assert len(steps) == 1 and steps[0]["effective_on"] == date(2025, 11, 7)

    again = record_certificates_from_file(org, path, SECRETARY, now=NOW)       # the same file twice
    assert [r["status"] for r in again] == ["unchanged", "unchanged"]
    with org.connect() as conn:
        assert len([e for e in timeline(conn, first) if e["event"] == "record_awareness_certificate"]) == 1
    assert nominees(org, "awareness") == []


def test_new_member_course_queue_enrolment_and_certificate(org, no_prefect):
    later = add(org, full_name="Lò Văn Khánh")
    walk(org, later, [*TO_PROBATION, ("hold_ceremony", "2026-08-19", {"helper": "NL03"})])
    earlier = add(org, full_name="Quàng Thị Hoa")
    walk(org, earlier, [*TO_PROBATION, ("hold_ceremony", "2026-08-10", {"helper": "NL03"})])
    assert [(n.candidate_id, n.nominated_on) for n in nominees(org, "new_member")] == [
        (earlier, date(2026, 8, 10)), (later, date(2026, 8, 19))]
    assert nominees(org, "awareness") == []
    session(org, "2026-09-07")                                      # the awareness course: not for them
    first = session(org, "2026-09-14", kind="new_member", capacity=1)
    second = session(org, "2026-10-05", kind="new_member")
    plan_enrolment(org, date(2026, 8, 25), now=NOW)
    assert enrolments(org) == sorted([(first, earlier, "enrolled"), (second, later, "enrolled")])
    record_attendance(org, first, present=[earlier], absent=[], now=NOW)
    with pytest.raises(ImportRejected) as exc:                       # `later` has not attended yet
        record_certificates(org, [(earlier, "BD-2026-041", date(2026, 9, 18)),
                                  (later, "BD-2026-042", date(2026, 10, 9))], SECRETARY, now=NOW)
    assert [(e.line, e.field) for e in exc.value.errors] == [(2, "candidate_id")]
    assert f"session {second}: enrolled" in exc.value.errors[0].rule
    done = record_certificates(org, [(earlier, "BD-2026-041", date(2026, 9, 18))], SECRETARY, now=NOW)
    assert [(r["event"], r["stage_after"]) for r in done] == [("record_new_member_certificate", "probation")]
    cand = _candidate(org, earlier)
    assert cand["stage"] == "probation" and cand["new_member_certificate_on"] == date(2026, 9, 18)
    assert nominees(org, "new_member") == []                        # `later` holds a seat in the second session
