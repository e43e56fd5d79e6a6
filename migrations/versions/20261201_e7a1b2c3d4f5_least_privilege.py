"""least privilege: a caller flag's province, an incident's "same reporter" (issue 12.3)

Revision ID: e7a1b2c3d4f5
Revises: a9c3d5e7f2b4
Create Date: 2026-12-01 07:00:00

Existing flags take the province of the user who set them; a flag whose setter is unknown or
national keeps NULL, which means national: listed and lifted by national users only, and acting
on calls of the national queue only.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'e7a1b2c3d4f5'
down_revision: Union[str, Sequence[str], None] = 'a9c3d5e7f2b4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('caller_flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('province_code', sa.String(length=2), nullable=True))
        batch_op.create_index(batch_op.f('ix_caller_flag_province_code'), ['province_code'],
                              unique=False)
    op.execute(
        "UPDATE caller_flag SET province_code = (SELECT user_account.province_code "
        "FROM user_account WHERE user_account.id = caller_flag.created_by_id) "
        "WHERE created_by_id IS NOT NULL")

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('same_reporter_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_incident_same_reporter_id_incident'),
                                    'incident', ['same_reporter_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incident_same_reporter_id_incident'),
                                 type_='foreignkey')
        batch_op.drop_column('same_reporter_id')

    with op.batch_alter_table('caller_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caller_flag_province_code'))
        batch_op.drop_column('province_code')
