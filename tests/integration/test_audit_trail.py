"""The audit trail is append-only in the database itself, and tampering is found and named."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models.audit.chain import HASHED_FIELDS, link_hash
from models.audit.trail import verify
from models.casefile import record_read
from models.database import make_engine
from models.tables import AuditEvent
from tests.support import SECRETARY, TO_CELL_REVIEW, add, drop_audit_triggers, import_demo_org, walk

AUDIT = AuditEvent.__table__


def _walked(engine) -> int:
    cid = add(engine)
    walk(engine, cid, TO_CELL_REVIEW)
    return cid


def test_the_database_refuses_update_of_an_audit_event(org):
    _walked(org)
    with pytest.raises(DBAPIError, match="append-only"), org.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = 'someone else' WHERE id = 2"))


def test_the_database_refuses_delete_of_an_audit_event(org):
    _walked(org)
    with pytest.raises(DBAPIError, match="append-only"), org.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = 2"))


@pytest.mark.postgres
def test_postgres_refuses_truncate_of_the_audit_table(pg_url):
    engine = make_engine(pg_url)
    import_demo_org(engine)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_event CASCADE"))
    engine.dispose()


def test_verify_passes_on_an_untouched_trail(org):
    cid = _walked(org)
    record_read(org, cid, SECRETARY, "test")
    result = verify(org)
    assert result.ok and result.events >= len(TO_CELL_REVIEW) + 3 and result.chains == 2


def test_altering_one_field_by_sql_is_found_and_the_event_named(org):
    cid = _walked(org)
    with org.connect() as conn:
        target = conn.execute(select(AUDIT.c.id).where(AUDIT.c.candidate_id == cid, AUDIT.c.seq == 3)).scalar_one()
    drop_audit_triggers(org)
    with org.begin() as conn:
        conn.execute(text("UPDATE audit_event SET effective_on = :d WHERE id = :id"),
                     {"d": "2025-01-01", "id": target})
    result = verify(org)
    assert not result.ok
    assert result.first_break.event_id == target
    assert "field was altered" in result.first_break.problem


def test_altering_a_payload_is_found(org):
    cid = _walked(org)
    with org.connect() as conn:
        target = conn.execute(select(AUDIT.c.id).where(AUDIT.c.candidate_id == cid, AUDIT.c.seq == 4)).scalar_one()
    drop_audit_triggers(org)
    with org.begin() as conn:
        conn.execute(text("UPDATE audit_event SET payload = '{}' WHERE id = :id"), {"id": target})
    assert verify(org).first_break.event_id == target


def test_a_forger_who_rehashes_the_altered_event_is_caught_at_the_next_link(org):
    cid = _walked(org)
    with org.connect() as conn:
        rows = conn.execute(select(AUDIT).where(AUDIT.c.candidate_id == cid).order_by(AUDIT.c.seq)).mappings().all()
    target, following = dict(rows[1]), rows[2]["id"]
    target["actor"] = "forged:actor"
    forged_hash = link_hash([target[f] for f in HASHED_FIELDS])
    drop_audit_triggers(org)
    with org.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor = :a, hash = :h WHERE id = :id"),
                     {"a": "forged:actor", "h": forged_hash, "id": target["id"]})
    result = verify(org)
    assert not result.ok
    assert result.first_break.event_id == following
    assert "previous event" in result.first_break.problem


def test_deleting_the_latest_events_is_found_through_the_head_kept_on_the_candidate(org):
    cid = _walked(org)
    drop_audit_triggers(org)
    with org.begin() as conn:
        last = conn.execute(select(AUDIT.c.id).where(AUDIT.c.candidate_id == cid).order_by(AUDIT.c.seq.desc()).limit(1)
                            ).scalar_one()
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": last})
    result = verify(org)
    assert not result.ok
    assert result.breaks[0].chain_key == f"candidate:{cid}"
    assert "chain ends at" in result.breaks[0].problem


def test_deleting_a_middle_event_is_found(org):
    cid = _walked(org)
    with org.connect() as conn:
        middle = conn.execute(select(AUDIT.c.id).where(AUDIT.c.candidate_id == cid, AUDIT.c.seq == 2)).scalar_one()
        after = conn.execute(select(AUDIT.c.id).where(AUDIT.c.candidate_id == cid, AUDIT.c.seq == 3)).scalar_one()
    drop_audit_triggers(org)
    with org.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": middle})
    result = verify(org)
    assert result.first_break.event_id == after
    assert "missing" in result.first_break.problem
