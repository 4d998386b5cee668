"""initial schema: organisation, members, candidates, sponsorships, deadlines, audit trail

The audit table is append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on
PostgreSQL), so that a change to the record needs a schema change, which is visible.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 06:03:48.504524
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chain_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=True),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('stage_before', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True),
    sa.Column('stage_after', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('ruleset_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('request_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('payload_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('documents', sa.Text(), nullable=False),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chain_key', 'seq', name='uq_audit_chain_seq'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_flow_run_id'), ['flow_run_id'], unique=False)

    op.create_table('org_unit',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('parent_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('authorised_to_admit', sa.Boolean(), nullable=False),
    sa.Column('competent_unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('committee_size', sa.Integer(), nullable=True),
    sa.Column('has_youth_union', sa.Boolean(), nullable=False),
    sa.Column('has_trade_union', sa.Boolean(), nullable=False),
    sa.Column('covered_by_cell_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['competent_unit_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['covered_by_cell_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_unit_parent_id'), ['parent_id'], unique=False)

    op.create_table('candidate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('gender', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('ethnicity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('religion', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('general_education_grade', sa.Integer(), nullable=False),
    sa.Column('education_exemption', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('qualification', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('occupation', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('youth_union_member', sa.Boolean(), nullable=False),
    sa.Column('trade_union_member', sa.Boolean(), nullable=False),
    sa.Column('residence_village_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('work_unit', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('over_60_consent_ref', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('prior_left_on', sa.Date(), nullable=True),
    sa.Column('prior_leave_reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('prior_expunged_conviction', sa.Boolean(), nullable=False),
    sa.Column('prior_readmitted_before', sa.Boolean(), nullable=False),
    sa.Column('readmission_request_on', sa.Date(), nullable=True),
    sa.Column('readmission_consent_ref', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('cell_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('ruleset_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('last_event_on', sa.Date(), nullable=True),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('source_listed_on', sa.Date(), nullable=True),
    sa.Column('awareness_certificate_on', sa.Date(), nullable=True),
    sa.Column('cell_resolution_on', sa.Date(), nullable=True),
    sa.Column('decision_on', sa.Date(), nullable=True),
    sa.Column('ceremony_on', sa.Date(), nullable=True),
    sa.Column('probation_ends_on', sa.Date(), nullable=True),
    sa.Column('recognised_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('audit_seq', sa.Integer(), nullable=False),
    sa.Column('audit_head', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['residence_village_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_candidate_cell_id'), ['cell_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidate_decision_on'), ['decision_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidate_probation_ends_on'), ['probation_ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_candidate_stage'), ['stage'], unique=False)

    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('gender', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('ethnicity', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('cell_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('admitted_on', sa.Date(), nullable=False),
    sa.Column('recognised_on', sa.Date(), nullable=True),
    sa.Column('standing', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('left_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['cell_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_cell_id'), ['cell_id'], unique=False)

    op.create_table('deadline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('clock', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('who_acts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('extended_days', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('ruleset_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('calendar_version', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
    sa.Column('opened_by_event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], ),
    sa.ForeignKeyConstraint(['opened_by_event_id'], ['audit_event.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_status'), ['status'], unique=False)

    op.create_table('sponsorship',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('together_since', sa.Date(), nullable=True),
    sa.Column('relation', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('body_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('resolution_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('resolution_on', sa.Date(), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sponsorship', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sponsorship_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sponsorship_member_id'), ['member_id'], unique=False)

    create_append_only_triggers()



def create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{action.lower()} BEFORE {action} ON audit_event "
                f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: {action} refused'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION ketnap_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION ketnap_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION ketnap_audit_append_only()"
        )
    else:
        raise RuntimeError(f"no append-only trigger for the {dialect} dialect")


def drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS ketnap_audit_append_only()")


def downgrade() -> None:
    drop_append_only_triggers()
    with op.batch_alter_table('sponsorship', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sponsorship_member_id'))
        batch_op.drop_index(batch_op.f('ix_sponsorship_candidate_id'))

    op.drop_table('sponsorship')
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deadline_status'))
        batch_op.drop_index(batch_op.f('ix_deadline_due_on'))
        batch_op.drop_index(batch_op.f('ix_deadline_candidate_id'))

    op.drop_table('deadline')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_cell_id'))

    op.drop_table('member')
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_candidate_stage'))
        batch_op.drop_index(batch_op.f('ix_candidate_probation_ends_on'))
        batch_op.drop_index(batch_op.f('ix_candidate_decision_on'))
        batch_op.drop_index(batch_op.f('ix_candidate_cell_id'))

    op.drop_table('candidate')
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_unit_parent_id'))

    op.drop_table('org_unit')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_flow_run_id'))
        batch_op.drop_index(batch_op.f('ix_audit_event_candidate_id'))

    op.drop_table('audit_event')
