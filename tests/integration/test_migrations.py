"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import models.tables  # noqa: F401
from models.database import alembic_config, make_engine, migrate


def test_migrated_schema_matches_the_models(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_migrating_twice_is_harmless_and_downgrade_removes_everything(db_url):
    migrate(db_url)
    command.downgrade(alembic_config(db_url), "base")
    engine = make_engine(db_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrate(db_url)
    engine = make_engine(db_url)
    assert {"candidate", "audit_event", "deadline", "member", "org_unit", "sponsorship"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_upgrading_a_database_that_holds_data_keeps_it(tmp_path):
    """Alter-table migrations rebuild tables on SQLite: they must work on a populated database."""
    from datetime import date

    import yaml
    from sqlalchemy import MetaData, Table, select

    from models.imports.organisation import import_organisation
    from models.tables import Candidate
    from models.transitions import TransitionRequest, apply_transition
    from tests.support import NOW, SECRETARY, candidate, walk

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0003")
    engine = make_engine(url)
    demo = yaml.safe_load((Path(__file__).parents[2] / "ketnap" / "demo" / "organisation.yaml").read_text("utf-8"))
    old_file = tmp_path / "org.yaml"                # what a 0003-era file held: units and members only
    old_file.write_text(yaml.safe_dump({"units": demo["units"], "members": demo["members"]}, allow_unicode=True),
                        encoding="utf-8")
    import_organisation(engine, old_file, SECRETARY, now=NOW)
    with engine.begin() as conn:            # what 0003-era code wrote: the helper in the JSON facts
        # the 0003 table as it is in that database (today's code writes columns it did not have yet)
        table = Table("candidate", MetaData(), autoload_with=conn)
        c = candidate()
        row = {"full_name": c.full_name, "birth_date": c.birth_date, "gender": c.gender, "ethnicity": c.ethnicity,
               "general_education_grade": c.general_education_grade, "occupation": c.occupation, "cell_id": c.cell,
               "ruleset_version": "qd294-2025", "stage": "source", "version": 1, "audit_seq": 0, "audit_head": "",
               "created_at": NOW, "facts": {"helper_member_id": 9, "new_member_certificate_on": "2026-03-20"},
               "youth_union_member": False, "trade_union_member": False, "prior_expunged_conviction": False,
               "prior_readmitted_before": False}
        cid = conn.execute(table.insert().values(**{k: v for k, v in row.items() if k in table.c})
                           .returning(table.c.id)).scalar_one()
    engine.dispose()
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(select(Candidate.__table__).where(Candidate.__table__.c.id == cid)).mappings().one()
    assert (row["helper_member_id"], row["new_member_certificate_on"], row["facts"]) == (9, date(2026, 3, 20), {})
    walk(engine, cid, [("nominate_for_course", "2025-10-01", {})])      # the upgraded database still works
    assert apply_transition(engine, TransitionRequest(cid, "fail_course", date(2025, 11, 1), SECRETARY), now=NOW).applied
    engine.dispose()
