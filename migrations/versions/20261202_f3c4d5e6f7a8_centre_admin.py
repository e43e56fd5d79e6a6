"""admin of the centre's data: teams, agencies, hotline lines, categories (issue 14)

Revision ID: f3c4d5e6f7a8
Revises: f2b3c4d5e6f7
Create Date: 2026-12-02 09:00:00

Teams get a profile (team_profile: vehicle, home base, active); agencies a code (backfilled AG-<id>), what they
serve (categories, target groups, districts), another phone, hours, an SMS number and active;
hotline lines move from TWILIO_NUMBERS into hotline_line; intake categories get their settings
(category_setting, seeded) and two new codes: labour and welfare_request.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'f3c4d5e6f7a8'
down_revision: Union[str, Sequence[str], None] = 'f2b3c4d5e6f7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_CATEGORY = ('children', 'domestic_violence', 'elderly', 'disability', 'homeless',
                'trafficking', 'suicide_risk', 'other')
NEW_CATEGORY = ('children', 'domestic_violence', 'elderly', 'disability', 'homeless',
                'trafficking', 'suicide_risk', 'labour', 'welfare_request', 'other')
# code, Thai name, English name, the priority the intake form proposes
SEED = [
    ('children', 'เด็กและเยาวชน', 'Children', 'P2'),
    ('domestic_violence', 'ความรุนแรงในครอบครัว', 'Domestic violence', 'P2'),
    ('elderly', 'ผู้สูงอายุ', 'Elderly', 'P3'),
    ('disability', 'คนพิการ', 'Disability', 'P3'),
    ('homeless', 'คนไร้ที่พึ่ง / ขอทาน', 'Homeless / begging', 'P3'),
    ('trafficking', 'การค้ามนุษย์', 'Trafficking', 'P1'),
    ('suicide_risk', 'เสี่ยงฆ่าตัวตาย', 'Suicide risk', 'P1'),
    ('labour', 'แรงงานถูกเอารัดเอาเปรียบ', 'Labour exploitation', 'P3'),
    ('welfare_request', 'ขอรับเงินสงเคราะห์และสอบถามสิทธิ',
     'Welfare request (relief subsidy, rights)', 'P4'),
    ('other', 'อื่น ๆ', 'Other', 'P4'),
]


def _category_enum(values):
    return sa.Enum(*values, name='category', native_enum=False, create_constraint=True,
                   length=24)


def _change_category(table, new):
    # NOTE: the CHECK constraint holds the allowed values; drop it, then create the new one.
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_category'), type_='check')
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_check_constraint('category', sa.column('category').in_(new))


def upgrade() -> None:
    op.create_table(
        'team_profile',
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('vehicle', sa.String(length=120), server_default='', nullable=False),
        sa.Column('home_lat', sa.Float(), nullable=True),
        sa.Column('home_lon', sa.Float(), nullable=True),
        sa.Column('home_place', sa.String(length=200), server_default='', nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('updated_at', console.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'],
                                name=op.f('fk_team_profile_team_id_team')),
        sa.PrimaryKeyConstraint('team_id', name=op.f('pk_team_profile')),
    )
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('services', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('target_groups', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('districts', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('phone_other', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('hours', sa.String(length=120), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('sms_number', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
    op.execute("UPDATE agency SET code = 'AG-' || CAST(id AS VARCHAR(12)), services = '[]', "
               "target_groups = '[]', districts = '[]'")
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.alter_column('code', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('services', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('target_groups', existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column('districts', existing_type=sa.JSON(), nullable=False)
        batch_op.create_unique_constraint(op.f('uq_agency_code'), ['code'])
    op.create_table(
        'hotline_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('province_code', sa.String(length=2), nullable=True),
        sa.Column('label', sa.String(length=120), server_default='', nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', console.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hotline_line')),
        sa.UniqueConstraint('number', name=op.f('uq_hotline_line_number')),
    )
    _change_category('incident', NEW_CATEGORY)
    _change_category('ess_report', NEW_CATEGORY)
    table = op.create_table(
        'category_setting',
        sa.Column('code', _category_enum(NEW_CATEGORY), nullable=False),
        sa.Column('name_th', sa.String(length=120), nullable=False),
        sa.Column('name_en', sa.String(length=120), nullable=False),
        sa.Column('default_priority', sa.Enum('P1', 'P2', 'P3', 'P4', name='priority',
                                              native_enum=False, create_constraint=True,
                                              length=2), nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('position', sa.Integer(), server_default='0', nullable=False),
        sa.Column('updated_at', console.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'],
                                name=op.f('fk_category_setting_updated_by_id_user_account')),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_category_setting')),
    )
    now = console.db.utcnow()
    op.bulk_insert(table, [
        {'code': code, 'name_th': th, 'name_en': en, 'default_priority': priority,
         'active': True, 'position': position, 'updated_at': now}
        for position, (code, th, en, priority) in enumerate(SEED)])


def downgrade() -> None:
    op.drop_table('category_setting')
    # NOTE: incidents and reports of the two new categories become 'other' (the old set).
    for table in ('incident', 'ess_report'):
        op.execute(f"UPDATE {table} SET category = 'other' "
                   "WHERE category IN ('labour', 'welfare_request')")
    op.execute("UPDATE welfare_case SET category = 'other' "
               "WHERE category IN ('labour', 'welfare_request')")
    _change_category('ess_report', OLD_CATEGORY)
    _change_category('incident', OLD_CATEGORY)
    op.drop_table('hotline_line')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_agency_code'), type_='unique')
        for column in ('active', 'sms_number', 'hours', 'phone_other', 'districts',
                       'target_groups', 'services', 'code'):
            batch_op.drop_column(column)
    op.drop_table('team_profile')
