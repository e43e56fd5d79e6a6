"""case workflow: sources, states with optimistic locking, identified persons (issue 13)

Revision ID: f8b2c4d6e1a3
Revises: c5e3f9a2d7b1
Create Date: 2026-12-01 08:00:00

The state 'referred' becomes 'in_assistance' (referrals and actions of the plan running).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'f8b2c4d6e1a3'
down_revision: Union[str, Sequence[str], None] = 'c5e3f9a2d7b1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_STATUS = ('intake', 'fact_finding', 'planning', 'referred', 'follow_up', 'closed')
NEW_STATUS = ('intake', 'fact_finding', 'planning', 'in_assistance', 'follow_up', 'closed')
OLD_OUTCOMES = ('advice_given', 'referred_elsewhere', 'not_our_remit', 'hoax', 'silent',
                'incident_created')
NEW_OUTCOMES = OLD_OUTCOMES + ('needs_follow_up',)
SOURCES = ('incident', 'call', 'ess', 'walk_in', 'letter', 'agency', 'volunteer')


def _enum(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def _status(old, new, rename_from, rename_to):
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_welfare_case_casestatus'), type_='check')
    op.execute(f"UPDATE welfare_case SET status = '{rename_to}' WHERE status = '{rename_from}'")
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.create_check_constraint('casestatus', sa.column('status').in_(new))


def _outcomes(values):
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_call_calloutcome'), type_='check')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.create_check_constraint('calloutcome', sa.column('outcome').in_(values))


def upgrade() -> None:
    _status(OLD_STATUS, NEW_STATUS, 'referred', 'in_assistance')
    _outcomes(NEW_OUTCOMES)
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.alter_column('incident_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('call_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('source', _enum(SOURCES, 'casesource'),
                                      server_default='incident', nullable=False))
        batch_op.add_column(sa.Column('status_changed_at', console.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('closed_at', console.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('close_reason', sa.Text(), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_welfare_case_call_id_call'), 'call',
                                    ['call_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_welfare_case_call_id'), ['call_id'])
        batch_op.create_index(batch_op.f('ix_welfare_case_status'), ['status'], unique=False)
    with op.batch_alter_table('case_person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', _enum(('client', 'household'), 'personrole'),
                                      nullable=True))
        batch_op.add_column(sa.Column('full_name', sa.String(length=200), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('national_id', sa.String(length=13), nullable=True))
        batch_op.add_column(sa.Column('no_id_reason', _enum(
            ('stateless', 'child', 'not_given', 'foreign'), 'noidreason'), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('age_years', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('relationship_to_client', sa.String(length=60),
                                      server_default='', nullable=False))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('province_code', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('district_code', sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column('subdistrict_code', sa.String(length=6), nullable=True))
        batch_op.add_column(sa.Column('address_text', sa.Text(), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('target_groups', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_case_person_national_id'), ['national_id'],
                              unique=False)
    op.execute("UPDATE case_person SET target_groups = '[]' WHERE target_groups IS NULL")
    with op.batch_alter_table('case_person', schema=None) as batch_op:
        batch_op.alter_column('target_groups', existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    # NOTE: the enum columns' CHECK constraints go first, or SQLite's table copy fails.
    with op.batch_alter_table('case_person', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_case_person_noidreason'), type_='check')
        batch_op.drop_constraint(op.f('ck_case_person_personrole'), type_='check')
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_welfare_case_casesource'), type_='check')
    with op.batch_alter_table('case_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_person_national_id'))
        for column in ('target_groups', 'address_text', 'subdistrict_code', 'district_code',
                       'province_code', 'phone', 'relationship_to_client', 'age_years',
                       'birth_date', 'no_id_reason', 'national_id', 'full_name', 'role'):
            batch_op.drop_column(column)
    op.execute("DELETE FROM case_timeline WHERE case_id IN "
               "(SELECT id FROM welfare_case WHERE incident_id IS NULL)")
    op.execute("DELETE FROM case_person WHERE case_id IN "
               "(SELECT id FROM welfare_case WHERE incident_id IS NULL)")
    op.execute("DELETE FROM welfare_case WHERE incident_id IS NULL")
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_welfare_case_status'))
        batch_op.drop_constraint(batch_op.f('uq_welfare_case_call_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_welfare_case_call_id_call'), type_='foreignkey')
        for column in ('version', 'close_reason', 'closed_at', 'status_changed_at', 'source',
                       'call_id'):
            batch_op.drop_column(column)
        batch_op.alter_column('incident_id', existing_type=sa.Integer(), nullable=False)
    _status(NEW_STATUS, OLD_STATUS, 'in_assistance', 'referred')
    op.execute("UPDATE call SET outcome = 'referred_elsewhere' WHERE outcome = 'needs_follow_up'")
    _outcomes(OLD_OUTCOMES)
