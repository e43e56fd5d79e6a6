"""server-side login sessions, desk idempotency keys

Revision ID: b4d2e8f1c6a0
Revises: a7c4e9d2f1b3
Create Date: 2026-12-01 05:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'b4d2e8f1c6a0'
down_revision: Union[str, Sequence[str], None] = 'a7c4e9d2f1b3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', console.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=32), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_session_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_session_token_hash'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_session_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_session_revoked_at'), ['revoked_at'], unique=False)

    op.create_table('desk_idempotency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.JSON(), nullable=True),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_desk_idempotency_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_idempotency')),
    sa.UniqueConstraint('user_id', 'key', name='uq_desk_idempotency_user_key')
    )
    with op.batch_alter_table('desk_idempotency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desk_idempotency_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('desk_idempotency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_desk_idempotency_created_at'))
    op.drop_table('desk_idempotency')
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_session_revoked_at'))
        batch_op.drop_index(batch_op.f('ix_user_session_user_id'))
    op.drop_table('user_session')
