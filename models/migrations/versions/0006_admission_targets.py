"""admission targets (chỉ tiêu kết nạp) per committee, per year or term; indexes for the statistics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admission_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('period_kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('start_year', sa.Integer(), nullable=False),
    sa.Column('end_year', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('set_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_id', 'period_kind', 'start_year', 'end_year', name='uq_admission_target')
    )
    with op.batch_alter_table('admission_target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admission_target_unit_id'), ['unit_id'], unique=False)

    lifecycle = sa.text("kind IN ('created', 'transition')")
    op.create_index('ix_audit_event_lifecycle', 'audit_event',
                    ['candidate_id', 'seq', 'effective_on', 'stage_before', 'stage_after'], unique=False,
                    sqlite_where=lifecycle, postgresql_where=lifecycle)
    op.create_index('ix_member_register', 'member', ['cell_id', 'admitted_on', 'recognised_on', 'left_on', 'standing'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_member_register', table_name='member')
    op.drop_index('ix_audit_event_lifecycle', table_name='audit_event')
    with op.batch_alter_table('admission_target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admission_target_unit_id'))

    op.drop_table('admission_target')
