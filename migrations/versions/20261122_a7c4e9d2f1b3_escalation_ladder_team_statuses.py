"""escalation ladder, team statuses offered/clearing

Revision ID: a7c4e9d2f1b3
Revises: d21303a69438
Create Date: 2026-11-22 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'a7c4e9d2f1b3'
down_revision: Union[str, Sequence[str], None] = 'd21303a69438'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_TEAM = ('off_duty', 'available', 'assigned', 'en_route', 'on_scene')
NEW_TEAM = ('off_duty', 'available', 'offered', 'en_route', 'on_scene', 'clearing')
OLD_TIMER = ('offer_lapse', 'checkin_due')
NEW_TIMER = ('offer_lapse', 'checkin_due', 'escalation_step')
OLD_ALARM = ('sos', 'missed_checkin', 'offer_lapsed', 'offer_declined')
NEW_ALARM = ('sos', 'missed_checkin', 'offer_lapsed', 'offer_declined', 'escalated',
             'unoffered')


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _change_enum(table, column, old, new, name):
    # NOTE: the CHECK constraint holds the allowed values; drop it, then create the new one.
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_check_constraint(
            name, sa.column(column).in_(new))


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('escalation_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('priority', sa.Enum('P1', 'P2', 'P3', 'P4', name='priority', native_enum=False, create_constraint=True, length=2), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('team', 'supervisor', 'provincial_office', 'outside_responder', name='escalationaction', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('wait_seconds', sa.Integer(), nullable=False),
    sa.Column('contact_name', sa.String(length=120), nullable=False),
    sa.Column('contact_phone', sa.String(length=20), nullable=True),
    sa.Column('updated_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('wait_seconds >= 15 AND wait_seconds <= 86400', name=op.f('ck_escalation_step_wait_range')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_escalation_step_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_step')),
    sa.UniqueConstraint('province_code', 'priority', 'position', name='uq_escalation_step_rung')
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_step', sa.Integer(), nullable=True))
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step', sa.Integer(), nullable=True))
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=120), server_default='', nullable=False))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=20), nullable=True))

    _change_enum('timer', 'kind', OLD_TIMER, NEW_TIMER, 'timerkind')
    _change_enum('alarm', 'kind', OLD_ALARM, NEW_ALARM, 'alarmkind')
    # Teams: 'assigned' splits into 'offered' (not yet acknowledged) and 'en_route'.
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_team_teamstatus'), type_='check')
    op.execute("UPDATE team SET status = CASE WHEN EXISTS (SELECT 1 FROM incident i "
               "WHERE i.team_id = team.id AND i.status = 'acknowledged') THEN 'en_route' "
               "ELSE 'offered' END WHERE status = 'assigned'")
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_check_constraint('teamstatus', sa.column('status').in_(NEW_TEAM))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_team_teamstatus'), type_='check')
    op.execute("UPDATE team SET status = 'assigned' WHERE status IN ('offered')")
    op.execute("UPDATE team SET status = 'available' WHERE status = 'clearing'")
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_check_constraint('teamstatus', sa.column('status').in_(OLD_TEAM))
    op.execute("DELETE FROM timer WHERE kind = 'escalation_step'")
    op.execute("UPDATE alarm SET kind = 'offer_lapsed' WHERE kind IN ('escalated', 'unoffered')")
    _change_enum('alarm', 'kind', NEW_ALARM, OLD_ALARM, 'alarmkind')
    _change_enum('timer', 'kind', NEW_TIMER, OLD_TIMER, 'timerkind')
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_column('step')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('escalation_step')
    op.drop_table('escalation_step')
