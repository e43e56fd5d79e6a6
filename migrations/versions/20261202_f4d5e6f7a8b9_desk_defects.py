"""desk defects: place unknown and other fixes (issue 14)

Revision ID: f4d5e6f7a8b9
Revises: f3c4d5e6f7a8
Create Date: 2026-12-02 09:00:00

An incident whose caller could not say where it is says so (incident.place_unknown): a
province alone is no longer taken for a place, and the dispatcher sees "place unknown".
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'f4d5e6f7a8b9'
down_revision: Union[str, Sequence[str], None] = 'f3c4d5e6f7a8'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place_unknown', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('place_unknown')
