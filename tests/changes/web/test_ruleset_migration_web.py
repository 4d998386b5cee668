"""The admin's rule-set page: versions and provisions, dry run, apply, revert (the real app, demo data)."""

from __future__ import annotations

import re

from sqlalchemy import select

from models.tables import Candidate, RulesetMigration
from tests.changes.rulesets import NEW, OLD, rulesets_dir, third_ruleset
from tests.web.conftest import ADMIN_USER, ORG_DEPARTMENT, csrf_of, session_for

__all__ = ["rulesets_dir", "third_ruleset"]
CAND = Candidate.__table__


def _in_flight(engine) -> dict[int, tuple[str, str]]:
    with engine.connect() as conn:
        return {r.id: (r.stage, r.ruleset_version) for r in conn.execute(
            select(CAND.c.id, CAND.c.stage, CAND.c.ruleset_version).where(CAND.c.closed_on.is_(None)))}


def test_the_admin_previews_applies_and_reverts_a_migration(client, demo, third_ruleset):
    session_for(client, demo, ADMIN_USER)
    home = client.get("/admin/rulesets")
    assert home.status_code == 200
    assert NEW in home.text and "01/09/2026" in home.text and "Chờ tổ chức lễ kết nạp" in home.text  # the provision
    before = _in_flight(demo)
    preview = client.get("/admin/rulesets/dry-run", params={"from_version": OLD, "to_version": NEW, "unit_id": ""})
    assert preview.status_code == 200, preview.text[:500]
    shown = {int(m) for m in re.findall(r'<tr data-candidate="(\d+)">', preview.text)}
    assert shown == {cid for cid, (_, version) in before.items() if version == OLD}
    assert "Áp dụng" in preview.text
    with demo.connect() as conn:
        names = [r.full_name for r in conn.execute(select(CAND.c.full_name))]
    assert not any(name in preview.text for name in names)                # ids and cells only: no personal file
    assert _in_flight(demo) == before                                       # a dry run writes nothing

    csrf = csrf_of(preview.text)
    applied = client.post("/admin/rulesets/migrations", data={"csrf_token": csrf, "from_version": OLD, "to_version": NEW,
                                                               "unit_id": ""}, headers={"Origin": "http://testserver"})
    assert applied.status_code == 200, applied.text[:500]
    assert f"sang {NEW}" in applied.text
    after = _in_flight(demo)
    moved = [cid for cid, (_, version) in after.items() if version == NEW]
    assert moved and all(before[cid][1] == OLD for cid in moved)
    assert all(after[cid] == before[cid] for cid in after if after[cid][0] == "awaiting_ceremony")
    with demo.connect() as conn:
        (migration_id,) = conn.execute(select(RulesetMigration.__table__.c.id)).scalars().all()

    one = moved[0]
    reverted = client.post(f"/admin/rulesets/migrations/{migration_id}/revert",
                           data={"csrf_token": csrf_of(applied.text), "candidate": str(one), "scope": "selected"},
                           headers={"Origin": "http://testserver"})
    assert reverted.status_code == 200 and "Đã hoàn tác 1 hồ sơ" in reverted.text
    assert _in_flight(demo)[one] == before[one]
    detail = client.get(f"/admin/rulesets/migrations/{migration_id}")
    assert detail.status_code == 200 and "đã hoàn tác" in detail.text


def test_a_migration_the_versions_do_not_allow_is_explained(client, demo, third_ruleset):
    session_for(client, demo, ADMIN_USER)
    page = client.get("/admin/rulesets/dry-run", params={"from_version": "qd24-2021", "to_version": NEW})
    assert page.status_code == 422 and "không thay thế qd24-2021" in page.text


def test_the_organisation_department_cannot_migrate(client, demo, third_ruleset):
    session_for(client, demo, ORG_DEPARTMENT)
    csrf = csrf_of(client.get("/account").text)
    refused = client.post("/admin/rulesets/migrations", data={"csrf_token": csrf, "from_version": OLD, "to_version": NEW},
                          headers={"Origin": "http://testserver"})
    assert refused.status_code == 403
    assert all(version == OLD for _, version in _in_flight(demo).values() if version != "qd24-2021")


def test_the_dry_run_names_the_rule_of_a_warning_not_its_message(client, demo, third_ruleset):
    # A file whose certificate (20/09/2022) the new 48-month validity makes too old: the guard's message states the
    # certificate's age and date, CV facts the admin does not read; the page names the rule, its code and citation.
    from datetime import date

    from models.ruleset_migration import plan_migration
    from tests.support import TO_CELL_REVIEW, add, walk

    cid = add(demo, full_name="Lò Văn Sáu", listed_on=date(2022, 8, 1), ruleset=OLD)
    walk(demo, cid, [("nominate_for_course", "2025-10-01", {}),
                     ("record_awareness_certificate", "2025-11-20", {"certificate_number": "CN-2022",
                                                                     "certificate_on": "2022-09-20"}),
                     *TO_CELL_REVIEW[2:]])
    plan = plan_migration(demo, OLD, NEW, today=date(2026, 11, 22), only=[cid])
    (item,) = plan.items
    assert item.warnings and {w.rule for w in item.warnings} == {"awareness_certificate"}
    session_for(client, demo, ADMIN_USER)
    preview = client.get("/admin/rulesets/dry-run", params={"from_version": OLD, "to_version": NEW, "unit_id": ""})
    assert preview.status_code == 200
    row = re.search(rf'<tr data-candidate="{cid}">(.*?)</tr>', preview.text, re.S)
    assert row is not None
    for w in item.warnings:
        assert w.message not in row[1] and w.rule in row[1] and w.code in row[1] and w.cite in row[1]
    assert "2022" not in row[1]


def test_an_interrupted_migration_says_so_on_the_pages(client, demo, third_ruleset):
    """A run whose process died: its row was left "running" with an old heartbeat (as the kill test leaves it)."""
    from datetime import datetime, timedelta

    from sqlalchemy import update

    from models.actors import Actor
    from models.ruleset_migration import apply_migration
    from tests.web.conftest import WEB_NOW

    done = apply_migration(demo, OLD, NEW, Actor("test:admin", "admin"), now=WEB_NOW)
    table = RulesetMigration.__table__
    with demo.begin() as conn:
        summary = dict(conn.execute(select(table.c.summary).where(table.c.id == done.migration_id)).scalar_one())
        summary["status"] = "running"
        summary["updated_at"] = (datetime.fromisoformat(summary["updated_at"]) - timedelta(minutes=10)).isoformat()
        conn.execute(update(table).where(table.c.id == done.migration_id).values(summary=summary))
    session_for(client, demo, ADMIN_USER)
    assert "bị gián đoạn" in client.get("/admin/rulesets").text.lower()
    assert "bị gián đoạn" in client.get(f"/admin/rulesets/migrations/{done.migration_id}").text.lower()
