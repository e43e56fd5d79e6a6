"""every intake source and fusion on the desk (issue 14)

Revision ID: f7a8b9c0d1e2
Revises: f6f7a8b9c0d1
Create Date: 2026-12-02 09:00:00

Every intake source: incident.source also takes walk_in, letter, damrongdhama (a referral from a
ศูนย์ดำรงธรรม), surveillance (a news or social-media item), agency and volunteer (อพม.);
incident.source_link keeps the item's https link, incident.source_org who referred it; the call
record keeps the same three (call.source, hotline for every call before).
Downgrade: incidents of the new sources become hotline ones (the columns are dropped).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'f7a8b9c0d1e2'
down_revision: Union[str, Sequence[str], None] = 'f6f7a8b9c0d1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


OLD_SOURCE = ['hotline', 'ess', 'line', 'app']
NEW_SOURCE = OLD_SOURCE + ['walk_in', 'letter', 'damrongdhama', 'surveillance', 'agency',
                          'volunteer']


def _change_source(new):
    # NOTE: the CHECK constraint holds the allowed values; drop it, then create the new one.
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_incident_source'), type_='check')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_check_constraint('source', sa.column('source').in_(new))


def upgrade() -> None:
    _change_source(NEW_SOURCE)
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_link', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('source_org', sa.String(length=200), nullable=True))
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'source', sa.Enum(*NEW_SOURCE, name='source', native_enum=False,
                              create_constraint=True, length=24),
            server_default='hotline', nullable=False))
        batch_op.add_column(sa.Column('source_link', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('source_org', sa.String(length=200), nullable=True))


def downgrade() -> None:
    # NOTE: the CHECK constraint names the column: drop it first (SQLite rebuilds the table).
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_call_source'), type_='check')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('source_org')
        batch_op.drop_column('source_link')
        batch_op.drop_column('source')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('source_org')
        batch_op.drop_column('source_link')
    op.execute("UPDATE incident SET source = 'hotline' WHERE source NOT IN "
               "('hotline', 'ess', 'line', 'app')")
    _change_source(OLD_SOURCE)
