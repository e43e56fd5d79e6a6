"""subsidy requests, approval chain and payments; fact-finding PDF (issue 13)

Revision ID: e3c4d5e6f7a8
Revises: e2b3c4d5f6a7
Create Date: 2026-12-01 13:00:00
"""
from typing import Sequence, Union

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'e3c4d5e6f7a8'
down_revision: Union[str, Sequence[str], None] = 'e2b3c4d5f6a7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
