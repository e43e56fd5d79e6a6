"""roster alarms read in each reader's language (issue 14)

Revision ID: f9c0d1e2f3a4
Revises: f8b9c0d1e2f3
Create Date: 2026-12-02 12:00:00

alarm.facts (JSON, nullable) keeps what an alarm is read from: a short shift's shift_id,
starts_at, ends_at and short ({duty role: how many missing}), rendered in the reader's language
on the desks and in the SMS; and sent_to_all when the alarm went to every supervisor of the
province because nobody was on duty as supervisor. Older alarms keep their note (NULL facts:
the note is shown as written).
Downgrade: a roster alarm that has facts but no note gets its note written in Thai as the
centre wrote it before ('เวร 3 ธ.ค. 2569 16.30–08.30 น. ขาดผู้รับแจ้ง 1 คน'), then the column
is dropped.
"""
import json
from datetime import datetime, timedelta, timezone
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import console.db  # noqa: F401


# revision identifiers, used by Alembic.
revision: str = 'f9c0d1e2f3a4'
down_revision: Union[str, Sequence[str], None] = 'f8b9c0d1e2f3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BANGKOK = timezone(timedelta(hours=7))
MONTHS = ("ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.",
          "พ.ย.", "ธ.ค.")
ROLES = {"call_taker": "ผู้รับแจ้ง", "dispatcher": "ผู้สั่งการ", "supervisor": "หัวหน้าเวร"}


def upgrade() -> None:
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts', sa.JSON(), nullable=True))


def _thai_note(facts: dict) -> str:
    starts = datetime.fromisoformat(facts['starts_at']).astimezone(BANGKOK)
    ends = datetime.fromisoformat(facts['ends_at']).astimezone(BANGKOK)
    day = f"{starts.day} {MONTHS[starts.month - 1]} {starts.year + 543}"
    span = f"{starts:%H.%M}–{ends:%H.%M} น."
    missing = " ".join(f"{ROLES.get(r, r)} {n} คน" for r, n in facts.get('short', {}).items())
    return f"เวร {day} {span} ขาด{missing}"


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, facts FROM alarm WHERE kind = 'roster_short' AND facts IS NOT NULL "
        "AND (note IS NULL OR note = '')")).all()
    for alarm_id, facts in rows:
        facts = json.loads(facts) if isinstance(facts, str) else facts
        if facts and facts.get('starts_at') and facts.get('ends_at'):
            bind.execute(sa.text("UPDATE alarm SET note = :note WHERE id = :id"),
                         {"note": _thai_note(facts), "id": alarm_id})
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_column('facts')
