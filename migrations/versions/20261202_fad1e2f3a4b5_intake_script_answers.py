"""guided intake answers and referrals opening cases (issue 14)

Revision ID: fad1e2f3a4b5
Revises: f9c0d1e2f3a4
Create Date: 2026-12-02 12:00:00

call_script_answer: which questions of the call's guided-intake script version the call-taker
asked (ticked), with the caller's short answer when typed. A referral recorded at intake opens
a case through the domain event call.referred (cases/service.py); that needs no new column.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'fad1e2f3a4b5'
down_revision: Union[str, Sequence[str], None] = 'f9c0d1e2f3a4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'call_script_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('script_version_id', sa.Integer(), nullable=False),
        sa.Column('question_index', sa.Integer(), nullable=False),
        sa.Column('answer', sa.String(length=300), server_default='', nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['call.id'],
                                name=op.f('fk_call_script_answer_call_id_call')),
        sa.ForeignKeyConstraint(['script_version_id'], ['intake_script.id'],
                                name=op.f('fk_call_script_answer_script_version_id_intake_script')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_call_script_answer')),
        sa.UniqueConstraint('call_id', 'question_index', name='uq_call_script_answer_question'),
    )
    op.create_index(op.f('ix_call_script_answer_call_id'), 'call_script_answer', ['call_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_call_script_answer_call_id'), table_name='call_script_answer')
    op.drop_table('call_script_answer')
