"""agency users, volunteer (อพม.) tasks, case search columns (issue 13)

Revision ID: e5e6f7a8b9c0
Revises: e4d5e6f7a8b9
Create Date: 2026-12-01 13:00:00
"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'e5e6f7a8b9c0'
down_revision: Union[str, Sequence[str], None] = 'e4d5e6f7a8b9'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
