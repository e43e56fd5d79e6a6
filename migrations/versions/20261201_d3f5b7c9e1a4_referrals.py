"""consent and closed-loop referrals to agencies (issue 13)

Revision ID: d3f5b7c9e1a4
Revises: e7a1b2c3d4f5
Create Date: 2026-12-01 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'd3f5b7c9e1a4'
down_revision: Union[str, Sequence[str], None] = 'e7a1b2c3d4f5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STATUSES = ('sent', 'acknowledged', 'accepted', 'declined', 'completed', 'revoked')


def upgrade() -> None:
    op.create_table('case_consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('given_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_case_consent_agency_id_agency')),
    sa.ForeignKeyConstraint(['case_id'], ['welfare_case.id'], name=op.f('fk_case_consent_case_id_welfare_case')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_case_consent_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_consent'))
    )
    with op.batch_alter_table('case_consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_consent_case_id'), ['case_id'], unique=False)
    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=300), nullable=False),
    sa.Column('status', sa.Enum(*STATUSES, name='referralstatus', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('shared', sa.JSON(), nullable=False),
    sa.Column('nonce_hash', sa.String(length=64), nullable=True),
    sa.Column('link_expires_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ack_due_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accept_due_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('declined_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('responder_name', sa.String(length=120), nullable=False),
    sa.Column('decline_reason', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_referral_agency_id_agency')),
    sa.ForeignKeyConstraint(['case_id'], ['welfare_case.id'], name=op.f('fk_referral_case_id_welfare_case')),
    sa.ForeignKeyConstraint(['sent_by_id'], ['user_account.id'], name=op.f('fk_referral_sent_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_status'), ['status'], unique=False)
    op.create_table('referral_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_referral_event_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_event'))
    )
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_event_referral_id'), ['referral_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_event_referral_id'))
    op.drop_table('referral_event')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_status'))
        batch_op.drop_index(batch_op.f('ix_referral_case_id'))
    op.drop_table('referral')
    with op.batch_alter_table('case_consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_consent_case_id'))
    op.drop_table('case_consent')
