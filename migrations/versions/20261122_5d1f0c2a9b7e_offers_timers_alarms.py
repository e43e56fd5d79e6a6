"""offers with deadlines, safety check-ins, durable timers and alarms

Revision ID: 5d1f0c2a9b7e
Revises: 3a83687c3e95
Create Date: 2026-11-22 03:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import console.db

revision: str = '5d1f0c2a9b7e'
down_revision: Union[str, Sequence[str], None] = '3a83687c3e95'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('offer_lapse', 'checkin_due', name='timerkind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('due_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_timer_incident_id_incident')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_timer_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timer'))
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index('ix_timer_due', ['fired_at', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timer_incident_id'), ['incident_id'], unique=False)

    op.create_table('alarm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('sos', 'missed_checkin', 'offer_lapsed', 'offer_declined', name='alarmkind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('raised_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('handled_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('handled_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['handled_by_id'], ['user_account.id'], name=op.f('fk_alarm_handled_by_id_user_account')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_alarm_incident_id_incident')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['user_account.id'], name=op.f('fk_alarm_raised_by_id_user_account')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_alarm_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm'))
    )
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_province_code'), ['province_code'], unique=False)

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offer_due_at', console.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('checkin_due_at', console.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('checkin_due_at')
        batch_op.drop_column('offer_due_at')
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_province_code'))
    op.drop_table('alarm')
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timer_incident_id'))
        batch_op.drop_index('ix_timer_due')
    op.drop_table('timer')
