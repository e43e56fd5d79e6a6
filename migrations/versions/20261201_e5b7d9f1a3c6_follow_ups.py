"""follow-up visits and calls of a case (issue 13)

Revision ID: e5b7d9f1a3c6
Revises: d3f5b7c9e1a4
Create Date: 2026-12-01 10:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'e5b7d9f1a3c6'
down_revision: Union[str, Sequence[str], None] = 'd3f5b7c9e1a4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('visit', 'call', name='followupkind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('assigned_to_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=300), nullable=False),
    sa.Column('done_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('client_feedback', sa.Text(), nullable=False),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assigned_to_id'], ['user_account.id'], name=op.f('fk_follow_up_assigned_to_id_user_account')),
    sa.ForeignKeyConstraint(['case_id'], ['welfare_case.id'], name=op.f('fk_follow_up_case_id_welfare_case')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_follow_up_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up'))
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_due_on'), ['due_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_due_on'))
        batch_op.drop_index(batch_op.f('ix_follow_up_case_id'))
    op.drop_table('follow_up')
