"""PDPA gaps: erasure by LINE id, durable socket read summaries, Twilio recordings (issue 12)

Revision ID: e1a2b3c4d5f6
Revises: c2e5a7b9d1f3
Create Date: 2026-12-01 13:00:00

Data only: the audit rows of caller flags (flag.created, flag.lifted) kept the flagged phone
number in their detail, beyond the flag's own retention. From now on they keep its last 4
digits ("…5678", console.privacy.phone_tail); this masks the rows written before. The audit log
refuses every UPDATE, so its guard is lifted for this one statement and set again in the same
transaction. The numbers cannot come back: downgrade leaves them masked.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'e1a2b3c4d5f6'
down_revision: Union[str, Sequence[str], None] = 'c2e5a7b9d1f3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SQLITE_NO_UPDATE = ("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def _tail(number) -> str:
    # NOTE: the same rule as console.privacy.phone_tail (a migration does not import the app).
    digits = "".join(ch for ch in str(number or "") if ch.isdigit())
    return "…" + digits[-4:] if digits else ""


def upgrade() -> None:
    bind = op.get_bind()
    audit = sa.table('audit_log', sa.column('id', sa.Integer), sa.column('action', sa.String),
                     sa.column('detail', sa.JSON))
    rows = bind.execute(sa.select(audit.c.id, audit.c.detail).where(
        audit.c.action.in_(['flag.created', 'flag.lifted']))).all()
    changed = []
    for row_id, detail in rows:
        if isinstance(detail, dict) and detail.get('number') \
                and not str(detail['number']).startswith('…'):
            changed.append((row_id, {**detail, 'number': _tail(detail['number'])}))
    if not changed:
        return
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    for row_id, detail in changed:
        bind.execute(audit.update().where(audit.c.id == row_id).values(detail=detail))
    if postgres:
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change")
    else:
        op.execute(SQLITE_NO_UPDATE)


def downgrade() -> None:
    pass  # NOTE: the masked numbers cannot be restored.
