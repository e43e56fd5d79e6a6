"""guided intake: versioned scripts per category, referral at intake (issue 14)

Revision ID: f6f7a8b9c0d1
Revises: f5e6f7a8b9c0
Create Date: 2026-12-02 09:00:00

intake_script: one row per version of a category's guided-intake script (questions, rights and
benefits to explain, Thai and English); call.script_version_id: the version the call was taken
with.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'f6f7a8b9c0d1'
down_revision: Union[str, Sequence[str], None] = 'f5e6f7a8b9c0'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'intake_script',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('questions_th', sa.JSON(), nullable=False),
        sa.Column('questions_en', sa.JSON(), nullable=False),
        sa.Column('rights_th', sa.JSON(), nullable=False),
        sa.Column('rights_en', sa.JSON(), nullable=False),
        sa.Column('note', sa.String(length=500), server_default='', nullable=False),
        sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name=op.f('fk_intake_script_created_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_script')),
        sa.UniqueConstraint('category', 'version', name='uq_intake_script_category'),
    )
    op.create_index(op.f('ix_intake_script_category'), 'intake_script', ['category'],
                    unique=False)
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('script_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_call_script_version_id_intake_script'),
                                    'intake_script', ['script_version_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_call_script_version_id_intake_script'),
                                 type_='foreignkey')
        batch_op.drop_column('script_version_id')
    op.drop_index(op.f('ix_intake_script_category'), table_name='intake_script')
    op.drop_table('intake_script')
