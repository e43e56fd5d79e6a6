"""persons: possible duplicates, merge keeping both histories, transfer between provinces (issue 13)

Revision ID: e2b3c4d5f6a7
Revises: e1a2b3c4d5f6
Create Date: 2026-12-01 13:00:00

A `person` links a person's rows in every case (case_person.person_id); a merge moves the other
person's rows to the kept one and leaves the other as a tombstone (merged_into_id, by, when,
why). case_person.name_key is the name's Thai phonetic key (cases/phonetic.py), indexed, so that
possible duplicates are one query; existing identified rows get a person and a key here.
A case's transfer to another province waits in case_transfer for the receiving province's
answer; welfare_case.transfer_to_province says so while it waits.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'e2b3c4d5f6a7'
down_revision: Union[str, Sequence[str], None] = 'e1a2b3c4d5f6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('merged_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('merged_by_id', sa.Integer(), nullable=True),
    sa.Column('merge_reason', sa.Text(), server_default='', nullable=False),
    sa.Column('merged_rows', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['merged_by_id'], ['user_account.id'], name=op.f('fk_person_merged_by_id_user_account')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['person.id'], name=op.f('fk_person_merged_into_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_merged_into_id'), ['merged_into_id'], unique=False)

    op.create_table('case_transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('from_province', sa.String(length=2), nullable=False),
    sa.Column('to_province', sa.String(length=2), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'declined', name='transferstatus', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('proposed_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answer_reason', sa.Text(), server_default='', nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_case_transfer_answered_by_id_user_account')),
    sa.ForeignKeyConstraint(['case_id'], ['welfare_case.id'], name=op.f('fk_case_transfer_case_id_welfare_case')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], name=op.f('fk_case_transfer_proposed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_transfer'))
    )
    with op.batch_alter_table('case_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_transfer_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_transfer_to_province'), ['to_province'], unique=False)

    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_to_province', sa.String(length=2), nullable=True))

    with op.batch_alter_table('case_person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('name_key', sa.String(length=40), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_person_person_id_person'), 'person',
                                    ['person_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_case_person_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_person_name_key'), ['name_key'], unique=False)

    _backfill()


def _backfill() -> None:
    """Every identified person row gets its own person and its name's phonetic key."""
    from cases.phonetic import name_key
    from console.db import utcnow

    conn = op.get_bind()
    case_person = sa.table('case_person', sa.column('id', sa.Integer),
                           sa.column('full_name', sa.String),
                           sa.column('national_id', sa.String),
                           sa.column('person_id', sa.Integer), sa.column('name_key', sa.String))
    person = sa.table('person', sa.column('id', sa.Integer),
                      sa.column('created_at', console.db.UTCDateTime(timezone=True)),
                      sa.column('merged_rows', sa.JSON))
    rows = conn.execute(sa.select(case_person.c.id, case_person.c.full_name,
                                  case_person.c.national_id)
                        .where((case_person.c.full_name != '')
                               | case_person.c.national_id.is_not(None))).all()
    now = utcnow()
    for row_id, full_name, _national_id in rows:
        new_id = conn.execute(sa.insert(person).values(created_at=now, merged_rows=[])
                              .returning(person.c.id)).scalar_one()
        conn.execute(sa.update(case_person).where(case_person.c.id == row_id)
                     .values(person_id=new_id, name_key=name_key(full_name or '')))


def downgrade() -> None:
    with op.batch_alter_table('case_person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_person_name_key'))
        batch_op.drop_index(batch_op.f('ix_case_person_person_id'))
        batch_op.drop_constraint(batch_op.f('fk_case_person_person_id_person'), type_='foreignkey')
        batch_op.drop_column('name_key')
        batch_op.drop_column('person_id')
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.drop_column('transfer_to_province')
    with op.batch_alter_table('case_transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_transfer_to_province'))
        batch_op.drop_index(batch_op.f('ix_case_transfer_case_id'))
    op.drop_table('case_transfer')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_merged_into_id'))
    op.drop_table('person')
