"""PDPA gaps: erasure by LINE id, durable socket read summaries, Twilio recordings (issue 12)

Revision ID: e1a2b3c4d5f6
Revises: c2e5a7b9d1f3
Create Date: 2026-12-01 13:00:00
"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'e1a2b3c4d5f6'
down_revision: Union[str, Sequence[str], None] = 'c2e5a7b9d1f3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
