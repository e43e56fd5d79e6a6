"""not a duplicate and split of merged calls (issue 14)

Revision ID: f8b9c0d1e2f3
Revises: f7a8b9c0d1e2
Create Date: 2026-12-02 12:00:00

fusion_dismissal: one row per unordered pair of incidents (lower id first, unique) that a
dispatcher marked "not a duplicate", or whose merge was split again: the pair is never suggested
as likely duplicates again. Who, when, the optional reason and how (desk or split).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'f8b9c0d1e2f3'
down_revision: Union[str, Sequence[str], None] = 'f7a8b9c0d1e2'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'fusion_dismissal',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_a_id', sa.Integer(), nullable=False),
        sa.Column('incident_b_id', sa.Integer(), nullable=False),
        sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
        sa.Column('dismissed_at', console.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.Text(), server_default='', nullable=False),
        sa.Column('via', sa.String(length=8), server_default='desk', nullable=False),
        sa.CheckConstraint('incident_a_id < incident_b_id',
                           name=op.f('ck_fusion_dismissal_pair_order')),
        sa.ForeignKeyConstraint(['incident_a_id'], ['incident.id'],
                                name=op.f('fk_fusion_dismissal_incident_a_id_incident')),
        sa.ForeignKeyConstraint(['incident_b_id'], ['incident.id'],
                                name=op.f('fk_fusion_dismissal_incident_b_id_incident')),
        sa.ForeignKeyConstraint(['dismissed_by_id'], ['user_account.id'],
                                name=op.f('fk_fusion_dismissal_dismissed_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fusion_dismissal')),
        sa.UniqueConstraint('incident_a_id', 'incident_b_id', name='uq_fusion_dismissal_pair'),
    )
    op.create_index(op.f('ix_fusion_dismissal_incident_b_id'), 'fusion_dismissal',
                    ['incident_b_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_fusion_dismissal_incident_b_id'), table_name='fusion_dismissal')
    op.drop_table('fusion_dismissal')
