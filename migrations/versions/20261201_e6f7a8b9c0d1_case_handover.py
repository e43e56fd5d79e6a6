"""case hand-over between workers with the receiver's acceptance (issue 13)

Revision ID: e6f7a8b9c0d1
Revises: e5e6f7a8b9c0
Create Date: 2026-12-01 14:00:00

A case offered by its worker (or a supervisor) to another case worker of its province waits in
case_handover for that worker's answer; welfare_case.handover_to_id says so while it waits.
A province transfer can be withdrawn by the proposing side: transferstatus gains 'withdrawn'.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'e6f7a8b9c0d1'
down_revision: Union[str, Sequence[str], None] = 'e5e6f7a8b9c0'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_TRANSFER = ('pending', 'accepted', 'declined')
NEW_TRANSFER = OLD_TRANSFER + ('withdrawn',)


def _transfer_statuses(values) -> None:
    with op.batch_alter_table('case_transfer', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_case_transfer_transferstatus'), type_='check')
    with op.batch_alter_table('case_transfer', schema=None) as batch_op:
        batch_op.create_check_constraint('transferstatus', sa.column('status').in_(values))


def upgrade() -> None:
    op.create_table('case_handover',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('to_user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'declined', 'withdrawn', name='handoverstatus', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('offered_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('offered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answer_reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_case_handover_answered_by_id_user_account')),
    sa.ForeignKeyConstraint(['case_id'], ['welfare_case.id'], name=op.f('fk_case_handover_case_id_welfare_case')),
    sa.ForeignKeyConstraint(['from_user_id'], ['user_account.id'], name=op.f('fk_case_handover_from_user_id_user_account')),
    sa.ForeignKeyConstraint(['offered_by_id'], ['user_account.id'], name=op.f('fk_case_handover_offered_by_id_user_account')),
    sa.ForeignKeyConstraint(['to_user_id'], ['user_account.id'], name=op.f('fk_case_handover_to_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_handover'))
    )
    with op.batch_alter_table('case_handover', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_handover_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_handover_to_user_id'), ['to_user_id'], unique=False)

    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handover_to_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_welfare_case_handover_to_id_user_account'),
                                    'user_account', ['handover_to_id'], ['id'])

    _transfer_statuses(NEW_TRANSFER)


def downgrade() -> None:
    op.execute("UPDATE case_transfer SET status = 'declined' WHERE status = 'withdrawn'")
    _transfer_statuses(OLD_TRANSFER)
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_welfare_case_handover_to_id_user_account'),
                                 type_='foreignkey')
        batch_op.drop_column('handover_to_id')
    with op.batch_alter_table('case_handover', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_handover_to_user_id'))
        batch_op.drop_index(batch_op.f('ix_case_handover_case_id'))
    op.drop_table('case_handover')
