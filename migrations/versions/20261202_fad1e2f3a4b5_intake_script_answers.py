"""guided intake answers and referrals opening cases (issue 14); placeholder for helper C

Revision ID: fad1e2f3a4b5
Revises: f9c0d1e2f3a4
Create Date: 2026-12-02 12:00:00
"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import console.db  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'fad1e2f3a4b5'
down_revision: Union[str, Sequence[str], None] = 'f9c0d1e2f3a4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
