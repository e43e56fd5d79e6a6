"""intake throughput: the dedupe query's index (issue 11)

Revision ID: f2b3c4d5e6f7
Revises: f1a2b3c4d5e6
Create Date: 2026-12-02 09:00:00

ix_incident_open_place: incident (province_code, lat, lon), only the open statuses, carrying
created_at and category on PostgreSQL, for ess.service.find_open_incident (the open incidents of
a province inside a box around a new report). Declared in ess/models.py (OPEN_PLACE_INDEX).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'f2b3c4d5e6f7'
down_revision: Union[str, Sequence[str], None] = 'f1a2b3c4d5e6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# dispatch.enums.OPEN_STATUSES as stored (sorted, as ess/models.py writes them).
OPEN = "status IN ('acknowledged', 'assigned', 'en_route', 'new', 'on_scene')"


def upgrade() -> None:
    op.create_index("ix_incident_open_place", "incident", ["province_code", "lat", "lon"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN),
                    postgresql_include=["created_at", "category"])


def downgrade() -> None:
    op.drop_index("ix_incident_open_place", table_name="incident")
