"""PDPA (issue 12.7): the access log's address and subjects, audit purge permits, ESS
idempotency rows without the reporter's token

Revision ID: b1d4f6a8c0e2
Revises: e5b7d9f1a3c6
Create Date: 2026-12-01 12:00:00

- audit_log gets the client's address (`ip`) and the objects a read showed (`subjects`), with
  indexes for the access-log search by user and by object.
- The database still refuses every UPDATE of audit_log and every DELETE, except of rows older
  than the cutoff of an `audit_purge` permit written in the same transaction (the retention job,
  console/retention.py, is the only writer; the permit is removed before it commits).
- ess_idempotency keeps the reporter's token sealed in `token_sealed`, not in the replayed body:
  existing rows lose the plain token (a replay of them answers without it).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'b1d4f6a8c0e2'
down_revision: Union[str, Sequence[str], None] = 'e5b7d9f1a3c6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (
            SELECT 1 FROM audit_purge WHERE OLD.at < audit_purge.cutoff) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
"""
PG_FUNCTION_BEFORE = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
"""
SQLITE_DELETE = ("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                 "WHEN NOT EXISTS (SELECT 1 FROM audit_purge WHERE OLD.at < audit_purge.cutoff) "
                 "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
SQLITE_DELETE_BEFORE = ("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def upgrade() -> None:
    # NOTE: plain ALTERs (no table copy): SQLite keeps the audit log's triggers.
    with op.batch_alter_table('audit_log', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('ip', sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column('subjects', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_log_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_audit_log_entity_entity_id', ['entity', 'entity_id'],
                              unique=False)
    op.create_table('audit_purge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cutoff', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', console.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_purge'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute(SQLITE_DELETE)

    with op.batch_alter_table('ess_idempotency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_sealed', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_ess_idempotency_created_at'), ['created_at'],
                              unique=False)
    table = sa.table('ess_idempotency', sa.column('id', sa.Integer),
                     sa.column('response_body', sa.JSON))
    bind = op.get_bind()
    for row_id, body in bind.execute(sa.select(table.c.id, table.c.response_body)).all():
        if isinstance(body, dict) and "token" in body:
            body = {k: v for k, v in body.items() if k != "token"}
            bind.execute(table.update().where(table.c.id == row_id).values(response_body=body))


def downgrade() -> None:
    with op.batch_alter_table('ess_idempotency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ess_idempotency_created_at'))
        batch_op.drop_column('token_sealed')

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION_BEFORE)
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        op.execute(SQLITE_DELETE_BEFORE)
    op.drop_table('audit_purge')
    with op.batch_alter_table('audit_log', schema=None, recreate='never') as batch_op:
        batch_op.drop_index('ix_audit_log_entity_entity_id')
        batch_op.drop_index(batch_op.f('ix_audit_log_actor_id'))
        batch_op.drop_column('subjects')
        batch_op.drop_column('ip')
