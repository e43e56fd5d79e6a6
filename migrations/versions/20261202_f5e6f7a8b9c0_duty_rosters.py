"""duty rosters: shifts, assignments, staffing levels, attendance (issue 14)

Revision ID: f5e6f7a8b9c0
Revises: f4d5e6f7a8b9
Create Date: 2026-12-02 09:00:00

Shift patterns per province, the shifts, who is on each role (or which team is on call), approved
substitutes and attendance, staffing minimums; alarms may now say a shift is short of people.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'f5e6f7a8b9c0'
down_revision: Union[str, Sequence[str], None] = 'f4d5e6f7a8b9'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_ALARM = ('sos', 'missed_checkin', 'offer_lapsed', 'offer_declined', 'escalated',
             'unoffered', 'case_overdue', 'case_office')
NEW_ALARM = OLD_ALARM + ('roster_short',)


def _change_alarm_kinds(values) -> None:
    # NOTE: the CHECK constraint holds the allowed values; drop it, then create the new one.
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alarm_alarmkind'), type_='check')
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.create_check_constraint('alarmkind', sa.column('kind').in_(values))


def upgrade() -> None:
    op.create_table('duty_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('starts_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('short_alarm_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('teams_started_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('teams_reminded_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_shift')),
    sa.UniqueConstraint('province_code', 'starts_at', name='uq_duty_shift_start')
    )
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.create_index('ix_duty_shift_window', ['province_code', 'starts_at', 'ends_at'], unique=False)

    op.create_table('duty_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('call_taker', 'dispatcher', 'supervisor', 'team', name='dutyrole', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('substitute_id', sa.Integer(), nullable=True),
    sa.Column('swap_approved_by_id', sa.Integer(), nullable=True),
    sa.Column('swap_approved_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attendance', sa.Enum('checked_in', 'absent', name='attendance', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('attendance_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attendance_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(user_id IS NULL) <> (team_id IS NULL)', name=op.f('ck_duty_assignment_one_holder')),
    sa.ForeignKeyConstraint(['attendance_by_id'], ['user_account.id'], name=op.f('fk_duty_assignment_attendance_by_id_user_account')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_duty_assignment_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['shift_id'], ['duty_shift.id'], name=op.f('fk_duty_assignment_shift_id_duty_shift')),
    sa.ForeignKeyConstraint(['substitute_id'], ['user_account.id'], name=op.f('fk_duty_assignment_substitute_id_user_account')),
    sa.ForeignKeyConstraint(['swap_approved_by_id'], ['user_account.id'], name=op.f('fk_duty_assignment_swap_approved_by_id_user_account')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_duty_assignment_team_id_team')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_duty_assignment_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_assignment')),
    sa.UniqueConstraint('shift_id', 'role', 'user_id', name='uq_duty_assignment_user'),
    sa.UniqueConstraint('shift_id', 'team_id', name='uq_duty_assignment_team')
    )
    with op.batch_alter_table('duty_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_assignment_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_assignment_substitute_id'), ['substitute_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_assignment_user_id'), ['user_id'], unique=False)

    op.create_table('shift_pattern',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_shift_pattern_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_pattern')),
    sa.UniqueConstraint('province_code', 'start_minute', name='uq_shift_pattern_start')
    )
    with op.batch_alter_table('shift_pattern', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_pattern_province_code'), ['province_code'], unique=False)

    op.create_table('staffing_level',
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('role', sa.Enum('call_taker', 'dispatcher', 'supervisor', 'team', name='dutyrole', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('minimum', sa.Integer(), nullable=False),
    sa.Column('updated_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_staffing_level_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('province_code', 'role', name=op.f('pk_staffing_level'))
    )
    _change_alarm_kinds(NEW_ALARM)


def downgrade() -> None:
    op.execute("DELETE FROM alarm WHERE kind = 'roster_short'")
    _change_alarm_kinds(OLD_ALARM)
    op.drop_table('staffing_level')

    with op.batch_alter_table('shift_pattern', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_pattern_province_code'))

    op.drop_table('shift_pattern')
    with op.batch_alter_table('duty_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_assignment_user_id'))
        batch_op.drop_index(batch_op.f('ix_duty_assignment_substitute_id'))
        batch_op.drop_index(batch_op.f('ix_duty_assignment_shift_id'))

    op.drop_table('duty_assignment')
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_shift_window')

    op.drop_table('duty_shift')
