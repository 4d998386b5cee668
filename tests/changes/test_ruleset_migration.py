"""Migrating a population across a third, hypothetical rule set: dry run, apply, revert, races (both engines)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from models.actors import Actor
from models.audit.trail import timeline as chain_of
from models.audit.trail import verify
from models.calendar_in_force import current_calendar
from models.procedure.definition import DefinitionError
from models.procedure.loader import get_ruleset, load_text
from models.reminders import plan_deadline_reminders
from models.ruleset_migration import MigrationNotAllowed, apply_migration, plan_migration, revert_migration
from models.tables import Candidate, Deadline, Notification, RulesetMigration, RulesetMigrationItem
from tests.changes.rulesets import NEW, OLD, hypothetical_text, rulesets_dir, third_ruleset, working_days_after
from tests.support import NOW, SECRETARY, TO_CELL_REVIEW, add, step, walk

__all__ = ["rulesets_dir", "third_ruleset"]       # fixtures
ADMIN = Actor("test:admin", "admin")
TODAY = date(2026, 11, 22)
APPLY_AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)      # 10:00 in Hà Nội
CAND, DEADLINE, NOTE = Candidate.__table__, Deadline.__table__, Notification.__table__
ITEM = RulesetMigrationItem.__table__

TO_GRASSROOTS = [*TO_CELL_REVIEW, ("cell_approves", "2026-07-06", {"approve": 4})]
TO_DECISION = [*TO_CELL_REVIEW[:3], ("summarise_opinions", "2026-07-20", {}), ("cell_approves", "2026-08-03", {"approve": 4}),
               ("grassroots_approves", "2026-08-10", {"approve": 12})]
TO_CEREMONY = [*TO_GRASSROOTS, ("grassroots_approves", "2026-07-20", {"approve": 12}),
               ("admit", "2026-08-03", {"decision_number": "1"})]
TO_PROBATION = [*TO_CEREMONY, ("hold_ceremony", "2026-08-19", {"helper": "NL03"})]
EARLY = [("nominate_for_course", "2025-07-15", {}),
         ("record_awareness_certificate", "2025-08-10", {"certificate_number": "CN-9"}),
         ("complete_file", "2025-09-01", {"application_on": "2025-08-01", "cv_certified_on": "2025-08-15",
                                          "background_verified_on": "2025-08-20"}),
         ("summarise_opinions", "2025-09-10", {}), ("cell_approves", "2025-09-15", {"approve": 4}),
         ("grassroots_approves", "2025-09-25", {"approve": 12}), ("admit", "2025-10-02", {"decision_number": "2"}),
         ("hold_ceremony", "2025-10-10", {"helper": "NL03"}), ("open_recognition", "2026-10-12", {})]


def population(engine: Engine) -> dict[str, int]:
    """One file at each stage of qd294-2025 that a cell of the demo commune reaches, built with the real steps."""
    who: dict[str, int] = {}
    who["source"] = add(engine, full_name="Lò Văn Một")
    who["awareness_course"] = add(engine, full_name="Lò Văn Hai")
    walk(engine, who["awareness_course"], TO_CELL_REVIEW[:1])
    who["file_preparation"] = add(engine, full_name="Lò Văn Ba")
    walk(engine, who["file_preparation"], TO_CELL_REVIEW[:2])
    who["opinions"] = add(engine, full_name="Lò Văn Bốn")
    walk(engine, who["opinions"], TO_CELL_REVIEW[:3])
    who["cell_review"] = add(engine, full_name="Lò Văn Năm")
    walk(engine, who["cell_review"], TO_CELL_REVIEW)
    who["old_certificate"] = add(engine, full_name="Lò Văn Sáu", listed_on=date(2022, 8, 1), ruleset=OLD)
    walk(engine, who["old_certificate"], [
        ("nominate_for_course", "2025-10-01", {}),
        # issued 20/09/2022: 50 months old on 22/11/2026, within 60 months, beyond 48
        ("record_awareness_certificate", "2025-11-20", {"certificate_number": "CN-2022", "certificate_on": "2022-09-20"}),
        *TO_CELL_REVIEW[2:]])
    who["grassroots_review"] = add(engine, full_name="Lò Văn Bảy")
    walk(engine, who["grassroots_review"], TO_GRASSROOTS)
    who["awaiting_decision"] = add(engine, full_name="Lò Văn Tám")
    walk(engine, who["awaiting_decision"], TO_DECISION)
    who["awaiting_ceremony"] = add(engine, full_name="Lò Văn Chín")
    walk(engine, who["awaiting_ceremony"], TO_CEREMONY)
    who["probation"] = add(engine, full_name="Lò Văn Mười")
    walk(engine, who["probation"], TO_PROBATION)
    who["recognition_review"] = add(engine, full_name="Lò Thị Một", gender="nu", listed_on=date(2025, 7, 10))
    walk(engine, who["recognition_review"], EARLY)
    who["closed"] = add(engine, full_name="Lò Thị Hai", gender="nu")
    step(engine, who["closed"], "leave_source_list", "2025-10-01", reason="Chuyển đi nơi khác")
    return who


def deadlines(engine: Engine, cid: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(DEADLINE).where(DEADLINE.c.candidate_id == cid).order_by(DEADLINE.c.id)).mappings()
        return [dict(r) for r in rows]


def timeline(engine: Engine, cid: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return chain_of(conn, cid)


def candidate(engine: Engine, cid: int) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(CAND).where(CAND.c.id == cid)).mappings().one())


EXPECTED = {"source": ("moved", "source"), "awareness_course": ("blocked", "awareness_course"),
            "file_preparation": ("moved", "file_preparation"), "opinions": ("mapped", "collecting_opinions"),
            "cell_review": ("moved", "cell_review"), "old_certificate": ("moved", "cell_review"),
            "grassroots_review": ("moved", "grassroots_review"), "awaiting_decision": ("moved", "awaiting_decision"),
            "awaiting_ceremony": ("stayed", "awaiting_ceremony"), "probation": ("moved", "probation"),
            "recognition_review": ("moved", "recognition_review")}


def test_the_hypothetical_rule_set_is_valid_and_its_provisions_checked(third_ruleset):
    rs = get_ruleset(NEW)
    assert rs.transitional is not None and rs.transitional.stage_map == {"opinions": "collecting_opinions"}
    bad = hypothetical_text().replace("stage_map: {opinions: collecting_opinions}", "stage_map: {opinions: full_member}")
    with pytest.raises(DefinitionError) as err:
        load_text(bad, "bad.yaml")
    assert ("transitional.stage_map.opinions",
            "stage 'full_member' is terminal: a file in flight cannot be mapped to it") in err.value.problems


def test_dry_run_says_what_happens_to_each_file_and_stores_nothing(org, third_ruleset):
    who = population(org)
    before = {cid: (candidate(org, cid), deadlines(org, cid)) for cid in who.values()}
    plan = plan_migration(org, OLD, NEW, today=TODAY)
    by_id = {p.candidate_id: p for p in plan.items}
    assert who["closed"] not in by_id                                  # a closed file is not in flight
    assert {name: (by_id[cid].outcome, by_id[cid].stage_after) for name, cid in who.items() if name != "closed"} == EXPECTED
    stayed = by_id[who["awaiting_ceremony"]]
    assert stayed.cite == "Quy định thử nghiệm 2026, điều khoản chuyển tiếp, khoản 2" and not stayed.deadlines
    blocked = by_id[who["awareness_course"]]
    assert blocked.code == "stage_missing" and "Học lớp bồi dưỡng nhận thức về Đảng" in (blocked.message or "")
    assert plan.totals()["moved"] == 8 and plan.totals()["mapped"] == 1
    # the admission decision: 45 working days from the cell's resolution instead of 60
    (change,) = by_id[who["grassroots_review"]].deadlines
    assert change.due_before == working_days_after(date(2026, 7, 6), 60).isoformat() == "2026-09-30"
    assert change.due_after == working_days_after(date(2026, 7, 6), 45).isoformat()
    (change,) = by_id[who["awaiting_decision"]].deadlines
    assert change.due_after == working_days_after(date(2026, 8, 3), 45).isoformat()
    # recognition vote: unchanged 30 working days from the end of probation (10/10/2026)
    (change,) = [d for d in by_id[who["recognition_review"]].deadlines if d.clock == "recognition_vote"]
    assert change.due_after == change.due_before == working_days_after(date(2026, 10, 10), 30).isoformat()
    # the certificate of 20/09/2022 is 50 months old: fine under 60, a warning under 48; the file still moves
    (warning,) = by_id[who["old_certificate"]].warnings
    assert (warning.event, warning.rule) == ("cell_approves", "awareness_certificate")
    assert not by_id[who["cell_review"]].warnings
    assert {cid: (candidate(org, cid), deadlines(org, cid)) for cid in who.values()} == before


def _pending_deadline_reminders(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(NOTE.c.period_key, NOTE.c.status)
                                               .where(NOTE.c.reason == "deadline_due").order_by(NOTE.c.id))]


def test_apply_moves_files_recomputes_deadlines_withdraws_reminders_and_audits(org, third_ruleset):
    who = population(org)
    # the real planner queues the reminder of the deadline due 30/09/2026 (5 working days ahead)
    assert plan_deadline_reminders(org, date(2026, 9, 23), current_calendar(org), now=NOW).created == 1
    [(key, status)] = _pending_deadline_reminders(org)
    assert key.endswith(":2026-09-30") and status == "pending"
    versions = {cid: candidate(org, cid)["version"] for cid in who.values()}

    result = apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT)
    assert result.totals["moved"] == 8 and result.totals["mapped"] == 1
    assert (result.totals["stayed"], result.totals["blocked"], result.totals["failed"]) == (1, 1, 0)
    for name, (outcome, stage) in EXPECTED.items():
        row = candidate(org, who[name])
        moved = outcome in ("moved", "mapped")
        assert row["stage"] == stage, name
        assert row["ruleset_version"] == (NEW if moved else OLD), name
        assert row["version"] == versions[who[name]] + (1 if moved else 0), name
    assert candidate(org, who["closed"])["ruleset_version"] == OLD
    (dl,) = deadlines(org, who["grassroots_review"])
    assert (dl["due_on"], dl["ruleset_version"], dl["status"]) == (working_days_after(date(2026, 7, 6), 45), NEW, "open")
    assert {d["ruleset_version"] for d in deadlines(org, who["awaiting_ceremony"])} == {OLD}       # stayed: untouched
    assert _pending_deadline_reminders(org) == [(key, "withdrawn")]
    events = timeline(org, who["opinions"])
    last = events[-1]
    assert (last["kind"], last["ruleset_version"], last["stage_before"], last["stage_after"]) == (
        "migration", NEW, "opinions", "collecting_opinions")
    assert (last["payload"]["from_version"], last["payload"]["to_version"]) == (OLD, NEW)
    assert last["payload"]["stage_map"] == {"opinions": "collecting_opinions"}
    last = timeline(org, who["grassroots_review"])[-1]
    assert [(d["clock"], d["due_before"], d["due_after"]) for d in last["payload"]["deadlines"]] == [
        ("admission_decision", "2026-09-30", working_days_after(date(2026, 7, 6), 45).isoformat())]
    assert timeline(org, who["awaiting_ceremony"])[-1]["kind"] != "migration"
    assert verify(org).ok
    with org.connect() as conn:
        (migration,) = conn.execute(select(RulesetMigration.__table__)).mappings().all()
        items = conn.execute(select(ITEM.c.candidate_id, ITEM.c.outcome)).all()
    assert (migration["from_version"], migration["to_version"], migration["summary"]["status"]) == (OLD, NEW, "done")
    assert sorted(o for _, o in items) == sorted(o for o, _ in EXPECTED.values())
    # the next step of a moved file runs under the new rules: 45 working days for the decision
    cid = add(org, full_name="Lò Văn Mười Một")
    walk(org, cid, TO_CELL_REVIEW)
    apply_migration(org, OLD, NEW, ADMIN, only=[cid], now=APPLY_AT)
    step(org, cid, "cell_approves", "2026-09-15", approve=4)
    (dl,) = deadlines(org, cid)
    assert (dl["due_on"], dl["ruleset_version"]) == (working_days_after(date(2026, 9, 15), 45), NEW)


def test_applying_again_moves_nothing_and_says_so(org, third_ruleset):
    cid = add(org)
    walk(org, cid, TO_GRASSROOTS)
    first = apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT)
    again = apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT)
    assert first.totals["moved"] == 1
    assert again.migration_id is None and "không có gì để chuyển" in again.message
    assert plan_migration(org, OLD, NEW, today=TODAY).items == ()


def test_a_migration_the_new_version_does_not_provide_for_is_refused(org, third_ruleset):
    with pytest.raises(MigrationNotAllowed) as err:
        plan_migration(org, "qd24-2021", NEW, today=TODAY)
    assert err.value.code == "not_replaced" and "không thay thế" in err.value.message_vi
    with pytest.raises(MigrationNotAllowed) as err:
        apply_migration(org, OLD, NEW, ADMIN, now=datetime(2026, 8, 1, tzinfo=UTC))
    assert err.value.code == "not_in_force"


def test_revert_restores_what_nothing_happened_to_since_and_refuses_the_rest(org, third_ruleset):
    who = population(org)
    names = ["grassroots_review", "opinions", "file_preparation", "recognition_review"]
    before = {n: (candidate(org, who[n]), deadlines(org, who[n])) for n in names}
    migration = apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT).migration_id
    assert migration is not None
    # a step on one of them after the migration
    step(org, who["file_preparation"], "complete_file", "2026-11-23", application_on="2026-11-02",
         cv_certified_on="2026-11-10", background_verified_on="2026-11-16")
    later = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    result = revert_migration(org, migration, ADMIN, candidate_ids=[who[n] for n in names], now=later)
    assert sorted(result.reverted) == sorted(who[n] for n in names if n != "file_preparation")
    (refused,) = result.refused
    assert refused["candidate_id"] == who["file_preparation"]
    assert "Hoàn thành hồ sơ" in refused["reason"] and "23/11/2026" in refused["reason"]
    for name in ("grassroots_review", "opinions", "recognition_review"):
        cand_before, deadlines_before = before[name]
        now_row = candidate(org, who[name])
        assert (now_row["stage"], now_row["ruleset_version"]) == (cand_before["stage"], OLD)
        assert now_row["version"] == cand_before["version"] + 2
        assert deadlines(org, who[name]) == deadlines_before               # due dates, statuses, versions: as they were
        last = timeline(org, who[name])[-1]
        assert (last["kind"], last["ruleset_version"]) == ("migration_reverted", OLD)
        assert (last["payload"]["from_version"], last["payload"]["to_version"]) == (OLD, NEW)
    assert candidate(org, who["file_preparation"])["ruleset_version"] == NEW
    assert candidate(org, who["probation"])["ruleset_version"] == NEW          # not asked for: still moved
    again = revert_migration(org, migration, ADMIN, candidate_ids=[who["opinions"]], now=later)
    assert again.reverted == () and len(again.refused) == 1                    # already reverted
    assert verify(org).ok


def test_a_file_at_a_stage_without_counterpart_is_blocked_and_left_alone(org, third_ruleset):
    cid = add(org)
    walk(org, cid, TO_CELL_REVIEW[:1])
    before = candidate(org, cid)
    result = apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT)
    (item,) = result.items
    assert (item["outcome"], item["code"]) == ("blocked", "stage_missing")
    assert candidate(org, cid) == before


def test_a_step_racing_the_migration_leaves_no_file_half_migrated(org, third_ruleset):
    ids = []
    for i in range(12):
        cid = add(org, full_name=f"Quàng Văn {chr(65 + i)}")
        walk(org, cid, TO_CELL_REVIEW[:2])
        ids.append(cid)
    errors: list[BaseException] = []
    outcomes: dict[int, str] = {}

    def steps() -> None:
        try:
            for cid in ids:
                result = step(org, cid, "complete_file", "2026-11-20", application_on="2026-11-02",
                              cv_certified_on="2026-11-10", background_verified_on="2026-11-16")
                outcomes[cid] = result.ruleset_version
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    racer = threading.Thread(target=steps)
    racer.start()
    result = apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT, batch=1)
    racer.join()
    assert not errors
    assert result.totals["failed"] == 0
    with org.connect() as conn:
        items = {r.candidate_id: r for r in conn.execute(select(ITEM))}
    for cid in ids:
        row = candidate(org, cid)
        # whichever came first, both happened completely: the file is on the new version at the renamed stage
        assert (row["ruleset_version"], row["stage"]) == (NEW, "collecting_opinions")
        assert items[cid].outcome == ("mapped" if outcomes[cid] == OLD else "moved")
        kinds = [e["kind"] for e in timeline(org, cid)]
        assert kinds.count("migration") == 1 and kinds.count("transition") == 3
    assert verify(org).ok


def test_only_the_files_of_a_unit_move_when_a_unit_is_given(org, third_ruleset):
    here = add(org)
    there = add(org, full_name="Quàng Thị Xuân", gender="nu", cell="cb-ban-pa-cong", residence_village="ban-pa-cong",
                sponsors=[{"member": "PC01", "together_since": date(2015, 1, 1), "relation": "residence"},
                          {"member": "PC02", "together_since": date(2016, 1, 1), "relation": "residence"}])
    plan = plan_migration(org, OLD, NEW, unit_id="cb-ban-na-la", today=TODAY)
    assert [p.candidate_id for p in plan.items] == [here]
    apply_migration(org, OLD, NEW, ADMIN, unit_id="cb-ban-na-la", now=APPLY_AT)
    assert (candidate(org, here)["ruleset_version"], candidate(org, there)["ruleset_version"]) == (NEW, OLD)
    assert SECRETARY.role == "secretary"


def test_one_file_failing_does_not_undo_the_others_of_its_batch(org, third_ruleset):
    ids = []
    for i in range(4):
        cid = add(org, full_name=f"Điêu Văn {chr(65 + i)}")
        walk(org, cid, TO_GRASSROOTS)
        ids.append(cid)
    broken = ids[1]
    # a damaged chain head: the candidate row points one event back, so its next audit event collides
    with org.begin() as conn:
        conn.execute(CAND.update().where(CAND.c.id == broken).values(audit_seq=CAND.c.audit_seq - 1))
    before = deadlines(org, broken)
    result = apply_migration(org, OLD, NEW, ADMIN, now=APPLY_AT)
    assert (result.totals["moved"], result.totals["failed"]) == (3, 1)
    (failed,) = [i for i in result.items if i["outcome"] == "failed"]
    assert failed["candidate_id"] == broken and "IntegrityError" in failed["message"]
    assert candidate(org, broken)["ruleset_version"] == OLD and deadlines(org, broken) == before
    for cid in ids:
        if cid != broken:
            (dl,) = deadlines(org, cid)
            assert (candidate(org, cid)["ruleset_version"], dl["ruleset_version"]) == (NEW, NEW)
            assert timeline(org, cid)[-1]["kind"] == "migration"


def test_a_version_added_while_running_is_found_without_a_restart(rulesets_dir):
    from models.procedure.loader import all_rulesets

    assert NEW not in all_rulesets()                       # read, and cached, before the file exists
    (rulesets_dir / f"{NEW}.yaml").write_text(hypothetical_text(), encoding="utf-8")     # another process adds it
    assert get_ruleset(NEW).effective_from == date(2026, 9, 1)


def test_the_version_in_force_follows_a_file_added_while_running(rulesets_dir):
    import time

    from models.procedure.loader import RESCAN_SECONDS, in_force_on

    assert in_force_on(date(2026, 11, 22)).version == OLD            # read, and cached, before the file exists
    (rulesets_dir / f"{NEW}.yaml").write_text(hypothetical_text(), encoding="utf-8")     # `procedure add` elsewhere
    time.sleep(RESCAN_SECONDS + 0.1)                                 # the folder is looked at again after this
    assert in_force_on(date(2026, 11, 22)).version == NEW            # no cache cleared by hand, no restart
    assert in_force_on(date(2026, 8, 31)).version == OLD


BAD_PROVISIONS = [
    ("replaces: [qd294-2025]", "replaces: [qd-test-2026]", "transitional.replaces", "cannot replace itself"),
    ("stage_map: {opinions: collecting_opinions}", "stage_map: {opinions: nowhere}", "transitional.stage_map.opinions",
     "unknown stage 'nowhere'"),
    ("stage_map: {opinions: collecting_opinions}", "stage_map: {source: collecting_opinions}",
     "transitional.stage_map.source", "'source' is still a stage of qd-test-2026"),
]


@pytest.mark.parametrize(("old", "new", "where", "what"), BAD_PROVISIONS)
def test_bad_transitional_provisions_are_refused_naming_where(old, new, where, what):
    with pytest.raises(DefinitionError) as err:
        load_text(hypothetical_text().replace(old, new), "bad.yaml")
    assert any(w == where and what in p for w, p in err.value.problems), err.value.problems


def test_provisions_naming_stages_the_replaced_version_lacks_are_refused(rulesets_dir):
    from models.procedure.loader import check_new

    text = hypothetical_text().replace("stages: [awaiting_ceremony]", "stages: [awaiting_party]")
    with pytest.raises(DefinitionError) as err:
        check_new(text, "bad.yaml")
    assert err.value.problems == [("transitional.stay_on_previous[0].stages", "'awaiting_party' is not a stage of qd294-2025")]


def test_an_open_deadline_on_a_clock_the_new_version_lacks_blocks_the_file(rulesets_dir):
    from models.ruleset_migration import judge

    text = hypothetical_text().replace(
        '    - {stages: [awaiting_ceremony], cite: "Quy định thử nghiệm 2026, điều khoản chuyển tiếp, khoản 2", confidence: M}\n',
        "").replace("  stay_on_previous:\n", "")
    start = text.index("  - id: ceremony\n")
    text = text[:start] + text[text.index("  - id: probation\n", start):]
    new, old = load_text(text, "no-ceremony.yaml"), get_ruleset(OLD)
    cand = {"id": 7, "cell_id": "cb-ban-na-la", "version": 5, "stage": "awaiting_ceremony", "facts": {},
            **{f: None for f in ("source_listed_on", "awareness_certificate_on", "cell_resolution_on", "decision_on",
                                 "ceremony_on", "probation_ends_on", "recognised_on", "closed_on", "helper_member_id",
                                 "new_member_certificate_on")}}
    row = {"id": 1, "candidate_id": 7, "clock": "ceremony", "starts_on": date(2026, 8, 3), "due_on": date(2026, 9, 15),
           "extended_days": 0, "status": "open", "closed_on": None, "ruleset_version": OLD, "calendar_version": "x"}
    plan = judge(cand, [row], old, new, current_calendar_for_tests())
    assert (plan.outcome, plan.code) == ("blocked", "clock_missing")
    assert plan.message == ("Thời hạn “Thời hạn tổ chức lễ kết nạp” (đến 15/09/2026) đang tính nhưng quy trình "
                            "qd-test-2026 không có thời hạn này.")


def current_calendar_for_tests():
    from models.calendar.working_days import vietnam_calendar

    return vietnam_calendar()
