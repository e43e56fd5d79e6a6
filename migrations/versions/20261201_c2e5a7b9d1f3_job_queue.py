"""job queue: outbound work (SMS, LINE, Twilio) as rows written with the change (issue 11.4)

Revision ID: c2e5a7b9d1f3
Revises: b1d4f6a8c0e2
Create Date: 2026-12-01 12:00:00

A job is queued in the transaction of the change that causes it; workers claim due rows
(SKIP LOCKED on PostgreSQL, a conditional UPDATE on SQLite) under a lease, retry with
back-off and end a job that keeps failing in the visible state 'dead'.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from console.db import UTCDateTime


# revision identifiers, used by Alembic.
revision: str = 'c2e5a7b9d1f3'
down_revision: Union[str, Sequence[str], None] = 'b1d4f6a8c0e2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

STATES = ('pending', 'running', 'done', 'dead', 'cancelled')


def upgrade() -> None:
    op.create_table(
        'outbound_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('state', sa.Enum(*STATES, name='jobstate', native_enum=False,
                                   create_constraint=True, length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('run_at', UTCDateTime(), nullable=False),
        sa.Column('locked_by', sa.String(length=80), nullable=True),
        sa.Column('locked_until', UTCDateTime(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.Column('reason', sa.String(length=24), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('province_code', sa.String(length=2), nullable=True),
        sa.Column('incident_id', sa.Integer(), nullable=True),
        sa.Column('recipient', sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_job')),
    )
    with op.batch_alter_table('outbound_job', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_job_due', ['state', 'run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_job_created_at'), ['created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_job_incident_id'), ['incident_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_job_province_code'), ['province_code'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbound_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_job_province_code'))
        batch_op.drop_index(batch_op.f('ix_outbound_job_incident_id'))
        batch_op.drop_index(batch_op.f('ix_outbound_job_created_at'))
        batch_op.drop_index('ix_outbound_job_due')
    op.drop_table('outbound_job')
