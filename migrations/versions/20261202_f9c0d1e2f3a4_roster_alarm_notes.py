"""roster alarms and suggestions (issue 14); placeholder for helper B

Revision ID: f9c0d1e2f3a4
Revises: f8b9c0d1e2f3
Create Date: 2026-12-02 12:00:00
"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import console.db  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'f9c0d1e2f3a4'
down_revision: Union[str, Sequence[str], None] = 'f8b9c0d1e2f3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
