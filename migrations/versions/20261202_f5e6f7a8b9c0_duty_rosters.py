"""duty rosters: shifts, assignments, staffing levels, attendance (issue 14)

Revision ID: f5e6f7a8b9c0
Revises: f4d5e6f7a8b9
Create Date: 2026-12-02 09:00:00

A placeholder in the chain, filled by the work it names (empty until then: upgrade and downgrade
do nothing).
"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import console.db  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'f5e6f7a8b9c0'
down_revision: Union[str, Sequence[str], None] = 'f4d5e6f7a8b9'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
