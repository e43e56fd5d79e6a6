"""subsidy requests, approval chain and payments; fact-finding PDF (issue 13)

Revision ID: e3c4d5e6f7a8
Revises: e2b3c4d5f6a7
Create Date: 2026-12-01 13:00:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'e3c4d5e6f7a8'
down_revision: Union[str, Sequence[str], None] = 'e2b3c4d5f6a7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('subsidy_level',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name_th', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_level')),
    sa.UniqueConstraint('province_code', 'step', name=op.f('uq_subsidy_level_province_code'))
    )
    op.create_table('subsidy_approver',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('level_code', sa.String(length=32), nullable=False),
    sa.Column('granted_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['granted_by_id'], ['user_account.id'], name=op.f('fk_subsidy_approver_granted_by_id_user_account')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_subsidy_approver_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_approver')),
    sa.UniqueConstraint('user_id', 'province_code', 'level_code', name=op.f('uq_subsidy_approver_user_id'))
    )
    with op.batch_alter_table('subsidy_approver', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_approver_user_id'), ['user_id'], unique=False)
    op.create_table('subsidy_budget_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name_th', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_budget_line')),
    sa.UniqueConstraint('province_code', 'code', name=op.f('uq_subsidy_budget_line_province_code'))
    )
    op.create_table('subsidy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('amount_satang', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('budget_line', sa.String(length=32), nullable=False),
    sa.Column('plan_action_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'paid', name='subsidystatus', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('requested_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('payment_ref', sa.String(length=64), nullable=False),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['welfare_case.id'], name=op.f('fk_subsidy_case_id_welfare_case')),
    sa.ForeignKeyConstraint(['paid_by_id'], ['user_account.id'], name=op.f('fk_subsidy_paid_by_id_user_account')),
    sa.ForeignKeyConstraint(['plan_action_id'], ['plan_action.id'], name=op.f('fk_subsidy_plan_action_id_plan_action')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_subsidy_requested_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy'))
    )
    with op.batch_alter_table('subsidy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_status'), ['status'], unique=False)
    op.create_table('subsidy_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subsidy_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('level_code', sa.String(length=32), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_subsidy_approval_by_id_user_account')),
    sa.ForeignKeyConstraint(['subsidy_id'], ['subsidy.id'], name=op.f('fk_subsidy_approval_subsidy_id_subsidy')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_approval')),
    sa.UniqueConstraint('subsidy_id', 'step', name=op.f('uq_subsidy_approval_subsidy_id'))
    )
    with op.batch_alter_table('subsidy_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_approval_subsidy_id'), ['subsidy_id'], unique=False)
    op.create_table('subsidy_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subsidy_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('uploaded_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['subsidy_id'], ['subsidy.id'], name=op.f('fk_subsidy_document_subsidy_id_subsidy')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_subsidy_document_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_document'))
    )
    with op.batch_alter_table('subsidy_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_document_subsidy_id'), ['subsidy_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('subsidy_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_document_subsidy_id'))
    op.drop_table('subsidy_document')
    with op.batch_alter_table('subsidy_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_approval_subsidy_id'))
    op.drop_table('subsidy_approval')
    with op.batch_alter_table('subsidy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_status'))
        batch_op.drop_index(batch_op.f('ix_subsidy_requested_at'))
        batch_op.drop_index(batch_op.f('ix_subsidy_province_code'))
        batch_op.drop_index(batch_op.f('ix_subsidy_case_id'))
    op.drop_table('subsidy')
    op.drop_table('subsidy_budget_line')
    with op.batch_alter_table('subsidy_approver', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_approver_user_id'))
    op.drop_table('subsidy_approver')
    op.drop_table('subsidy_level')
