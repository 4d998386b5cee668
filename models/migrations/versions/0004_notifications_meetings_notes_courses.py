"""notifications, meetings, notes, courses

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:52:16.420429
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('course_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('area_unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['area_unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('meeting_date',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('meets_on', sa.Date(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['cell_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cell_id', 'month', name='uq_meeting_month')
    )
    op.create_table('meeting_rule',
    sa.Column('cell_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('day_of_month', sa.Integer(), nullable=False),
    sa.Column('lead_days', sa.Integer(), nullable=False),
    sa.Column('missing_alert_after', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('cell_id')
    )
    op.create_table('course_enrolment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('enrolled_on', sa.Date(), nullable=False),
    sa.Column('certificate_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('certificate_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['course_session.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'candidate_id', name='uq_enrolment')
    )
    with op.batch_alter_table('course_enrolment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_enrolment_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_enrolment_session_id'), ['session_id'], unique=False)

    op.create_table('recipient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('apprise_urls', sa.JSON(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['org_unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recipient_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recipient_member_id'), ['member_id'], unique=False)

    op.create_table('sponsor_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('meeting_on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], ),
    sa.ForeignKeyConstraint(['cell_id'], ['org_unit.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'candidate_id', 'meeting_on', name='uq_note_per_meeting')
    )
    with op.batch_alter_table('sponsor_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sponsor_note_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('period_key', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('channel_used', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], ),
    sa.ForeignKeyConstraint(['recipient_id'], ['recipient.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('recipient_id', 'reason', 'period_key', name='uq_notification_once')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_recipient_id'), ['recipient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_status'), ['status'], unique=False)

    with op.batch_alter_table('candidate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('helper_member_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('new_member_certificate_on', sa.Date(), nullable=True))
        batch_op.create_foreign_key('fk_candidate_helper_member', 'member', ['helper_member_id'], ['id'])
    move_promoted_facts_out_of_json()



PROMOTED_NOW = ("helper_member_id", "new_member_certificate_on")


def move_promoted_facts_out_of_json() -> None:
    """Facts that are now columns (the helper, the new-member certificate) leave the JSON column."""
    candidate = sa.table("candidate", sa.column("id", sa.Integer), sa.column("facts", sa.JSON),
                         sa.column("helper_member_id", sa.Integer), sa.column("new_member_certificate_on", sa.Date))
    bind = op.get_bind()
    for row in bind.execute(sa.select(candidate.c.id, candidate.c.facts)).all():
        facts = dict(row.facts or {})
        moved = {k: facts.pop(k) for k in PROMOTED_NOW if k in facts}
        if moved:
            cert = moved.get("new_member_certificate_on")
            bind.execute(candidate.update().where(candidate.c.id == row.id).values(
                facts=facts, helper_member_id=moved.get("helper_member_id"),
                new_member_certificate_on=date.fromisoformat(cert) if cert else None))


def downgrade() -> None:
    with op.batch_alter_table('candidate', schema=None) as batch_op:
        # WARNING: constraint name is None; this directive will fail as
        # rendered.  Add a name, or use a naming convention; see
        # https://alembic.sqlalchemy.org/en/latest/naming.html
        batch_op.drop_constraint('fk_candidate_helper_member', type_='foreignkey')
        batch_op.drop_column('new_member_certificate_on')
        batch_op.drop_column('helper_member_id')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_status'))
        batch_op.drop_index(batch_op.f('ix_notification_recipient_id'))
        batch_op.drop_index(batch_op.f('ix_notification_candidate_id'))

    op.drop_table('notification')
    with op.batch_alter_table('sponsor_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sponsor_note_candidate_id'))

    op.drop_table('sponsor_note')
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recipient_member_id'))
        batch_op.drop_index(batch_op.f('ix_recipient_candidate_id'))

    op.drop_table('recipient')
    with op.batch_alter_table('course_enrolment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_enrolment_session_id'))
        batch_op.drop_index(batch_op.f('ix_course_enrolment_candidate_id'))

    op.drop_table('course_enrolment')
    op.drop_table('meeting_rule')
    op.drop_table('meeting_date')
    op.drop_table('course_session')
