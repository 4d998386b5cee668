"""The one transition function against a real database: storage, idempotency, concurrency, dates."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from models.audit.trail import timeline, verify
from models.procedure.engine import InputError, StageConflict
from models.tables import AuditEvent, Candidate, Deadline
from models.transitions import (
    IdempotencyKeyReused,
    TransitionRequest,
    VersionConflict,
    apply_transition,
    preview_transition,
)
from tests.support import NOW, SECRETARY, TO_CELL_REVIEW, add, step, walk


def _candidate(engine, cid):
    with engine.connect() as conn:
        return conn.execute(select(Candidate.__table__).where(Candidate.__table__.c.id == cid)).mappings().one()


def _audit_count(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(AuditEvent.__table__)).scalar_one()


def test_applied_transition_stores_stage_facts_deadline_and_audit_event_together(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    result = step(org, cid, "cell_approves", "2026-07-06", approve=4)
    assert result.applied and result.stage_after == "grassroots_review"
    row = _candidate(org, cid)
    assert row["stage"] == "grassroots_review"
    assert row["cell_resolution_on"] == date(2026, 7, 6)
    assert row["facts"]["cell_approve"] == 4
    assert row["facts"]["cell_full_members"] == 5          # defaulted from the member register
    with org.connect() as conn:
        deadlines = conn.execute(select(Deadline.__table__)).mappings().all()
        events = timeline(conn, cid)
    assert [(d["clock"], d["status"]) for d in deadlines] == [("admission_decision", "open")]
    # 60 working days after Mon 06/07/2026, the day itself not counted: 2/9/2026 (Wed) and its
    # bridge 31/8 (Mon, substituted for Sat 22/8, which is worked) and 1/9 are off.
    assert deadlines[0]["due_on"] == date(2026, 9, 30)
    assert deadlines[0]["opened_by_event_id"] == result.audit_event_id
    assert events[-1]["kind"] == "transition" and events[-1]["id"] == result.audit_event_id
    assert events[-1]["stage_before"] == "cell_review" and events[-1]["stage_after"] == "grassroots_review"
    assert verify(org).ok


def test_refusal_changes_nothing_but_is_audited_with_every_reason(org):
    cid = add(org, cell="cb-ban-huoi-hao", residence_village="ban-huoi-hao",
              birth_date=date(2009, 1, 10), youth_union_member=True,
              sponsors=[{"kind": "youth_union", "body_name": "BCH Đoàn xã", "resolution_ref": "1-NQ/ĐTN",
                         "resolution_on": date(2026, 4, 1)},
                        {"member": "HH01", "together_since": date(2015, 1, 1)}])
    walk(org, cid, TO_CELL_REVIEW)
    before = _candidate(org, cid)
    result = step(org, cid, "cell_approves", "2026-07-06", approve=2)
    assert result.status == "refused"
    assert {f.code for f in result.failures} == {"age.below_minimum", "cell.too_few_full_members"}
    assert all(f.cite for f in result.failures)
    after = _candidate(org, cid)
    assert (after["stage"], after["version"], after["facts"]) == (before["stage"], before["version"], before["facts"])
    with org.connect() as conn:
        last = timeline(conn, cid)[-1]
    assert last["kind"] == "refusal" and last["event"] == "cell_approves"
    assert {f["code"] for f in last["payload"]["failures"]} == {"age.below_minimum", "cell.too_few_full_members"}
    assert verify(org).ok


def test_replay_with_the_same_key_returns_the_first_result_and_writes_nothing(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    request = TransitionRequest(cid, "cell_approves", date(2026, 7, 6), SECRETARY, inputs={"approve": "4"},
                                idempotency_key="vote-2026-07")
    first = apply_transition(org, request, now=NOW)
    events = _audit_count(org)
    second = apply_transition(org, request, now=NOW)
    assert second.replayed and not first.replayed
    assert (second.status, second.stage_after, second.audit_event_id) == (first.status, first.stage_after,
                                                                           first.audit_event_id)
    assert _audit_count(org) == events
    assert _candidate(org, cid)["version"] == first.version


def test_replay_of_a_refused_request_returns_the_same_refusal(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    request = TransitionRequest(cid, "cell_approves", date(2026, 7, 6), SECRETARY, inputs={"approve": 1},
                                idempotency_key="k-refused")
    first = apply_transition(org, request, now=NOW)
    again = apply_transition(org, request, now=NOW)
    assert first.status == again.status == "refused"
    assert [f.code for f in again.failures] == [f.code for f in first.failures] == ["vote.below_two_thirds"]


def test_a_key_reused_for_a_different_request_is_a_conflict(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    apply_transition(org, TransitionRequest(cid, "cell_approves", date(2026, 7, 6), SECRETARY,
                                            inputs={"approve": 4}, idempotency_key="k1"), now=NOW)
    with pytest.raises(IdempotencyKeyReused):
        apply_transition(org, TransitionRequest(cid, "cell_approves", date(2026, 7, 6), SECRETARY,
                                                inputs={"approve": 5}, idempotency_key="k1"), now=NOW)


def test_expected_version_turns_a_lost_race_into_a_conflict(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    version = _candidate(org, cid)["version"]
    apply_transition(org, TransitionRequest(cid, "cell_approves", date(2026, 7, 6), SECRETARY,
                                            inputs={"approve": 4}, expected_version=version), now=NOW)
    with pytest.raises(VersionConflict) as caught:
        apply_transition(org, TransitionRequest(cid, "cell_rejects", date(2026, 7, 6), SECRETARY,
                                                inputs={"approve": 1}, expected_version=version), now=NOW)
    assert caught.value.actual == version + 1


def test_two_secretaries_acting_at_once_one_wins_the_other_gets_a_conflict(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    version = _candidate(org, cid)["version"]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def act(event: str, approve: int) -> None:
        barrier.wait()
        try:
            outcomes.append(apply_transition(org, TransitionRequest(
                cid, event, date(2026, 7, 6), SECRETARY, inputs={"approve": approve}, expected_version=version), now=NOW))
        except (VersionConflict, StageConflict) as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=act, args=("cell_approves", 4)),
               threading.Thread(target=act, args=("cell_rejects", 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    applied = [o for o in outcomes if not isinstance(o, Exception)]
    conflicts = [o for o in outcomes if isinstance(o, VersionConflict)]
    assert len(applied) == 1 and len(conflicts) == 1
    assert _candidate(org, cid)["version"] == version + 1
    assert verify(org).ok


def test_many_concurrent_replays_of_one_key_apply_once(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    request = TransitionRequest(cid, "cell_approves", date(2026, 7, 6), SECRETARY, inputs={"approve": 4},
                                idempotency_key="double-click")
    barrier = threading.Barrier(6)
    results = []

    def act() -> None:
        barrier.wait()
        results.append(apply_transition(org, request, now=NOW))

    threads = [threading.Thread(target=act) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and all(r.applied for r in results)
    assert len({r.audit_event_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    with org.connect() as conn:
        kinds = [e["kind"] for e in timeline(conn, cid)]
    assert kinds.count("transition") == len(TO_CELL_REVIEW) + 1


def test_effective_date_may_not_be_in_the_future_or_before_the_last_step(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    today_local = datetime(2026, 7, 6, 20, 0, tzinfo=UTC)      # already 7 July in Hà Nội (UTC+7)
    with pytest.raises(InputError) as future:
        apply_transition(org, TransitionRequest(cid, "cell_approves", date(2026, 7, 8), SECRETARY,
                                                inputs={"approve": 4}), now=today_local)
    assert future.value.problems[0].code == "in_future"
    ok = apply_transition(org, TransitionRequest(cid, "cell_approves", date(2026, 7, 7), SECRETARY,
                                                 inputs={"approve": 4}), now=today_local)
    assert ok.applied
    with pytest.raises(InputError) as backwards:
        step(org, cid, "grassroots_approves", "2026-07-01", approve=12)
    assert backwards.value.problems[0].code == "before_previous_step"


def test_event_from_the_wrong_stage_is_a_stage_conflict_and_writes_nothing(org):
    cid = add(org)
    events = _audit_count(org)
    with pytest.raises(StageConflict) as caught:
        step(org, cid, "admit", "2026-01-05", decision_number="1-QĐ")
    assert caught.value.stage == "source"
    assert _audit_count(org) == events


def test_bad_inputs_name_the_field_and_the_rule(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    with pytest.raises(InputError) as caught:
        step(org, cid, "cell_approves", "2026-07-06", approve="bốn", quorum="5")
    problems = {(p.field, p.code) for p in caught.value.problems}
    assert problems == {("approve", "invalid"), ("quorum", "unknown_field")}


def test_dry_run_reports_the_decision_without_storing_it(org):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW)
    events, version = _audit_count(org), _candidate(org, cid)["version"]
    decision = preview_transition(org, TransitionRequest(cid, "cell_approves", date(2026, 7, 6), SECRETARY,
                                                         inputs={"approve": 2}), now=NOW)
    assert [f.code for f in decision.failures] == ["vote.below_two_thirds"]
    assert (_audit_count(org), _candidate(org, cid)["version"]) == (events, version)


def test_flow_run_id_is_kept_on_the_audit_event(org):
    cid = add(org)
    result = apply_transition(org, TransitionRequest(cid, "nominate_for_course", date(2025, 10, 1), SECRETARY,
                                                     flow_run_id="0b6f7c5e-1111-4222-8333-944455556666"), now=NOW)
    with org.connect() as conn:
        event = conn.execute(select(AuditEvent.__table__).where(AuditEvent.__table__.c.id == result.audit_event_id)
                             ).mappings().one()
    assert event["flow_run_id"] == "0b6f7c5e-1111-4222-8333-944455556666"
    assert verify(org).ok
