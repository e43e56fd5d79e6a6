"""agency users, volunteer (อพม.) tasks, case search columns (issue 13)

Revision ID: e5e6f7a8b9c0
Revises: e4d5e6f7a8b9
Create Date: 2026-12-01 13:00:00

Two roles: `agency` (a user answering for an agency of the directory: user_account.agency_id)
and `volunteer` (an อพม. volunteer who sees only the follow-ups given to them). A follow-up can
go to a volunteer without an account through a signed single-purpose link (nonce hash, expiry).
The caseload's filters read one row: welfare_case gets a search text (number, summary, people's
names), the people's target groups as tags, the fact-finding's risk level and the earliest due
date of an open plan action, kept by cases/search.py; PostgreSQL indexes the search text with
pg_trgm (a GIN trigram index answers LIKE '%...%'), SQLite keeps a plain index and scans.
"""
from datetime import date
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'e5e6f7a8b9c0'
down_revision: Union[str, Sequence[str], None] = 'e4d5e6f7a8b9'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_ROLES = ('call_taker', 'dispatcher', 'supervisor', 'field_member', 'case_worker', 'admin')
NEW_ROLES = OLD_ROLES + ('agency', 'volunteer')
OPEN_ACTIONS = ('planned', 'in_progress')


def _roles(values) -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_account_role'), type_='check')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_check_constraint('role', sa.column('role').in_(values))


def _backfill() -> None:
    """The search columns of the cases that exist (the same rules as cases/search.py)."""
    import json

    conn = op.get_bind()
    people: dict[int, list] = {}
    for case_id, name, groups in conn.execute(sa.text(
            "SELECT case_id, full_name, target_groups FROM case_person ORDER BY id")):
        if isinstance(groups, str):
            groups = json.loads(groups or "[]")
        people.setdefault(case_id, []).append((name or "", groups or []))
    risks = dict(conn.execute(sa.text("SELECT case_id, risk_level FROM case_assessment")).all())
    due: dict[int, date] = {}
    for case_id, due_on in conn.execute(sa.text(
            "SELECT case_id, MIN(due_on) FROM plan_action WHERE status IN "
            "('planned', 'in_progress') GROUP BY case_id")):
        if isinstance(due_on, str):
            due_on = date.fromisoformat(due_on)
        due[case_id] = due_on
    update = sa.text("UPDATE welfare_case SET search_text = :text, target_group_tags = :tags, "
                     "risk_level = :risk, next_due_on = :due WHERE id = :id")
    rows = []
    for case_id, ref, summary in conn.execute(sa.text(
            "SELECT id, ref, summary FROM welfare_case")):
        names = [n for n, _g in people.get(case_id, []) if n]
        groups = sorted({g for _n, gs in people.get(case_id, []) for g in gs})
        rows.append({"id": case_id,
                     "text": "\n".join([ref or "", summary or "", *names]).lower(),
                     "tags": (" " + " ".join(groups) + " ") if groups else "",
                     "risk": risks.get(case_id), "due": due.get(case_id)})
        if len(rows) >= 1000:
            conn.execute(update, rows)
            rows = []
    if rows:
        conn.execute(update, rows)


def upgrade() -> None:
    _roles(NEW_ROLES)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agency_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_account_agency_id'), ['agency_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_account_agency_id_agency'), 'agency',
                                    ['agency_id'], ['id'])

    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.add_column(sa.Column('volunteer_name', sa.String(length=120), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('volunteer_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('nonce_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('link_expires_at', console.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('share_phone', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('done_by', sa.String(length=120), server_default='',
                                      nullable=False))

    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('target_group_tags', sa.String(length=400),
                                      server_default='', nullable=False))
        batch_op.add_column(sa.Column('risk_level', sa.String(length=1), nullable=True))
        batch_op.add_column(sa.Column('next_due_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_welfare_case_district_opened', ['district_code', 'opened_at'],
                              unique=False)
        batch_op.create_index('ix_welfare_case_risk_due', ['risk_level', 'next_due_on'],
                              unique=False)
    _backfill()
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index('ix_welfare_case_search_text', 'welfare_case', ['search_text'],
                        unique=False, postgresql_using='gin',
                        postgresql_ops={'search_text': 'gin_trgm_ops'})
    else:
        op.create_index('ix_welfare_case_search_text', 'welfare_case', ['search_text'],
                        unique=False)


def downgrade() -> None:
    op.drop_index('ix_welfare_case_search_text', table_name='welfare_case')
    with op.batch_alter_table('welfare_case', schema=None) as batch_op:
        batch_op.drop_index('ix_welfare_case_risk_due')
        batch_op.drop_index('ix_welfare_case_district_opened')
        for column in ('next_due_on', 'risk_level', 'target_group_tags', 'search_text'):
            batch_op.drop_column(column)

    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        for column in ('done_by', 'share_phone', 'link_expires_at', 'nonce_hash',
                       'volunteer_phone', 'volunteer_name'):
            batch_op.drop_column(column)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_account_agency_id_agency'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_account_agency_id'))
        batch_op.drop_column('agency_id')
    # NOTE: agency and volunteer users cannot exist before this revision: they are disabled and
    # kept (their audit rows point at them) under a role that, disabled, opens nothing.
    op.execute("UPDATE user_account SET active = false, role = 'call_taker' "
               "WHERE role IN ('agency', 'volunteer')")
    _roles(OLD_ROLES)
