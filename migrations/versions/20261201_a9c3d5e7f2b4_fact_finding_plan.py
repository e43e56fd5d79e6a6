"""fact-finding, the assistance plan, closure with feedback, caseload index (issue 13)

Revision ID: a9c3d5e7f2b4
Revises: f8b2c4d6e1a3
Create Date: 2026-12-01 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'a9c3d5e7f2b4'
down_revision: Union[str, Sequence[str], None] = 'f8b2c4d6e1a3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DOMAINS = ('safety', 'health', 'food_income', 'shelter', 'family_care', 'education_work')


def _enum(values, name, length=24):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table('case_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('visited_at', sa.Date(), nullable=True),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('living_conditions', sa.Text(), nullable=False),
    sa.Column('income_debts', sa.Text(), nullable=False),
    sa.Column('health', sa.Text(), nullable=False),
    sa.Column('education', sa.Text(), nullable=False),
    sa.Column('safety_risks', sa.Text(), nullable=False),
    sa.Column('needs', sa.Text(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('risk_level', _enum(('1', '2', '3'), 'risklevel', 1), nullable=True),
    sa.Column('completed_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['welfare_case.id'], name=op.f('fk_case_assessment_case_id_welfare_case')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'], name=op.f('fk_case_assessment_updated_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_assessment')),
    sa.UniqueConstraint('case_id', name=op.f('uq_case_assessment_case_id'))
    )
    op.create_table('plan_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('phase', _enum(('urgent', 'medium', 'long'), 'planphase'), nullable=False),
    sa.Column('domain', _enum(DOMAINS, 'domain'), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_agency_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', _enum(('planned', 'in_progress', 'done', 'cancelled'), 'actionstatus'), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['welfare_case.id'], name=op.f('fk_plan_action_case_id_welfare_case')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_plan_action_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['owner_agency_id'], ['agency.id'], name=op.f('fk_plan_action_owner_agency_id_agency')),
    sa.ForeignKeyConstraint(['owner_user_id'], ['user_account.id'], name=op.f('fk_plan_action_owner_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_action'))
    )
    with op.batch_alter_table('plan_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_action_case_id'), ['case_id'], unique=False)
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_feedback', sa.Text(), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('lessons_learned', sa.Text(), server_default='',
                                      nullable=False))
        batch_op.create_index(batch_op.f('ix_welfare_case_assigned_to_id'), ['assigned_to_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_welfare_case_assigned_to_id'))
        batch_op.drop_column('lessons_learned')
        batch_op.drop_column('client_feedback')
    with op.batch_alter_table('plan_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_action_case_id'))
    op.drop_table('plan_action')
    op.drop_table('case_assessment')
