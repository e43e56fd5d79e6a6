"""case reminders on durable timers, referral links sent as jobs, referral views (issue 13)

Revision ID: e4d5e6f7a8b9
Revises: e3c4d5e6f7a8
Create Date: 2026-12-01 13:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'e4d5e6f7a8b9'
down_revision: Union[str, Sequence[str], None] = 'e3c4d5e6f7a8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_ALARM = ('sos', 'missed_checkin', 'offer_lapsed', 'offer_declined', 'escalated',
             'unoffered')
NEW_ALARM = OLD_ALARM + ('case_overdue', 'case_office')
CHANNELS = ('sms', 'email', 'line', 'letter')


def _change_enum(table, column, new, name):
    # NOTE: the CHECK constraint holds the allowed values; drop it, then create the new one.
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_check_constraint(name, sa.column(column).in_(new))


def _channel():
    return sa.Enum(*CHANNELS, name='contactchannel', native_enum=False, create_constraint=True,
                   length=8)


def upgrade() -> None:
    op.create_table('case_timer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.Column('step', sa.Enum('ack', 'accept', 'outcome', 'action', name='reminderstep', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('stage', sa.Enum('owner', 'supervisor', 'office', name='reminderstage', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('due_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['plan_action.id'], name=op.f('fk_case_timer_action_id_plan_action')),
    sa.ForeignKeyConstraint(['case_id'], ['welfare_case.id'], name=op.f('fk_case_timer_case_id_welfare_case')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_case_timer_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_timer'))
    )
    with op.batch_alter_table('case_timer', schema=None) as batch_op:
        batch_op.create_index('ix_case_timer_due', ['fired_at', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_timer_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_timer_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_timer_action_id'), ['action_id'], unique=False)
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('line_user_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contact_channel', _channel(), nullable=True))
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome_due_at', console.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('nonce_sealed', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('channel', _channel(), nullable=True))
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_alarm_case_id'), ['case_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_alarm_case_id_welfare_case'), 'welfare_case', ['case_id'], ['id'])
    _change_enum('alarm', 'kind', NEW_ALARM, 'alarmkind')


def downgrade() -> None:
    op.execute("DELETE FROM alarm WHERE kind IN ('case_overdue', 'case_office')")
    _change_enum('alarm', 'kind', OLD_ALARM, 'alarmkind')
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alarm_case_id_welfare_case'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_alarm_case_id'))
        batch_op.drop_column('case_id')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_referral_contactchannel'), type_='check')
        batch_op.drop_column('channel')
        batch_op.drop_column('nonce_sealed')
        batch_op.drop_column('outcome_due_at')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_agency_contactchannel'), type_='check')
        batch_op.drop_column('contact_channel')
        batch_op.drop_column('line_user_id')
        batch_op.drop_column('email')
    op.drop_table('case_timer')
