"""case desk gaps: approval chains edited on the desk, live subsidies, reminder timers for the
referrals and plan actions that were open before the timers existed (issue 13)

Revision ID: f1a2b3c4d5e6
Revises: e6f7a8b9c0d1
Create Date: 2026-12-02 09:00:00

The durable reminders (case_timer, e4d5e6f7a8b9) were only created for referral steps and plan
actions saved after they were built. This backfill gives every open one without a timer the
timer the service would have given it (cases/reminders.py): an open referral (sent,
acknowledged, accepted) of a case not closed waits on the step its status needs next, due at
that step's deadline (an accepted one without an outcome deadline gets one from now by the
case's risk level, REFERRAL_OUTCOME_HOURS), and an open plan action (planned, in progress)
waits on the end of its due day, Thai time; a deadline already past is due now (the next timer
pass reminds the owner, then the supervisors after the grace, as for any late step). Rows that
already have a timer of that step (fired, cancelled or waiting) are left alone, so running it
again adds nothing. The desk settings and the live subsidies need no schema change.

Downgrade keeps the timers: they are valid rows of the schema before this revision.
"""
import os
from datetime import date, datetime, time, timedelta, timezone
from typing import Sequence, Union
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa
import console.db


# revision identifiers, used by Alembic.
revision: str = 'f1a2b3c4d5e6'
down_revision: Union[str, Sequence[str], None] = 'e6f7a8b9c0d1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BANGKOK = ZoneInfo("Asia/Bangkok")
# The step a referral must take next, by its status, and the column holding its deadline.
PENDING_STEP = {"sent": ("ack", "ack_due_at"), "acknowledged": ("accept", "accept_due_at"),
                "accepted": ("outcome", "outcome_due_at")}
OUTCOME_HOURS = {"3": 168.0, "2": 336.0, "1": 720.0}  # REFERRAL_OUTCOME_HOURS' defaults

_timer = sa.table(
    "case_timer", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
    sa.column("referral_id", sa.Integer), sa.column("action_id", sa.Integer),
    sa.column("step", sa.String), sa.column("stage", sa.String),
    sa.column("due_at", console.db.UTCDateTime()),
    sa.column("created_at", console.db.UTCDateTime()))
_referral = sa.table(
    "referral", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
    sa.column("status", sa.String), sa.column("ack_due_at", console.db.UTCDateTime()),
    sa.column("accept_due_at", console.db.UTCDateTime()),
    sa.column("outcome_due_at", console.db.UTCDateTime()))
_action = sa.table(
    "plan_action", sa.column("id", sa.Integer), sa.column("case_id", sa.Integer),
    sa.column("status", sa.String), sa.column("due_on", sa.Date))
_case = sa.table("welfare_case", sa.column("id", sa.Integer), sa.column("status", sa.String))
_assessment = sa.table("case_assessment", sa.column("case_id", sa.Integer),
                       sa.column("risk_level", sa.String))


def outcome_hours(text: str | None) -> dict[str, float]:
    """'3=168,2=336,1=720' as the service reads it (a level missing or unreadable: default)."""
    found = dict(OUTCOME_HOURS)
    for item in (text or "").split(","):
        key, _, value = item.partition("=")
        try:
            hours = float(value)
        except ValueError:
            continue
        if key.strip() in found and 0 < hours <= 24 * 365:
            found[key.strip()] = hours
    return found


def backfill(conn, now: datetime, hours: dict[str, float] | None = None) -> dict[str, int]:
    """Create the missing timers (see the module's text); returns how many of each kind."""
    hours = hours or outcome_hours(os.environ.get("REFERRAL_OUTCOME_HOURS"))
    open_case = sa.select(_case.c.id).where(_case.c.status != "closed")
    made = {"referrals": 0, "actions": 0}
    rows = []
    risks = {case_id: risk for case_id, risk in conn.execute(
        sa.select(_assessment.c.case_id, _assessment.c.risk_level))}
    for ref in conn.execute(sa.select(_referral).where(
            _referral.c.status.in_(tuple(PENDING_STEP)), _referral.c.case_id.in_(open_case))
            .order_by(_referral.c.id)).mappings():
        step, column = PENDING_STEP[ref["status"]]
        if conn.execute(sa.select(_timer.c.id).where(
                _timer.c.referral_id == ref["id"], _timer.c.step == step).limit(1)).first():
            continue
        due = ref[column]
        if step == "outcome" and due is None:
            due = now + timedelta(hours=hours[risks.get(ref["case_id"]) or "1"])
            conn.execute(sa.update(_referral).where(_referral.c.id == ref["id"])
                         .values(outcome_due_at=due))
        if due is None:
            continue
        rows.append({"case_id": ref["case_id"], "referral_id": ref["id"], "action_id": None,
                     "step": step, "stage": "owner", "due_at": max(due, now),
                     "created_at": now})
        made["referrals"] += 1
    for act in conn.execute(sa.select(_action).where(
            _action.c.status.in_(("planned", "in_progress")), _action.c.case_id.in_(open_case))
            .order_by(_action.c.id)).mappings():
        if conn.execute(sa.select(_timer.c.id).where(
                _timer.c.action_id == act["id"]).limit(1)).first():
            continue
        due_on = act["due_on"]
        if isinstance(due_on, str):
            due_on = date.fromisoformat(due_on)
        # The end of the due day, Thai time (cases/reminders.py action_due_at).
        end = datetime.combine(due_on + timedelta(days=1), time(0), tzinfo=BANGKOK)
        rows.append({"case_id": act["case_id"], "referral_id": None, "action_id": act["id"],
                     "step": "action", "stage": "owner", "due_at": max(end, now),
                     "created_at": now})
        made["actions"] += 1
    for start in range(0, len(rows), 1000):
        conn.execute(sa.insert(_timer), rows[start:start + 1000])
    return made


def upgrade() -> None:
    backfill(op.get_bind(), datetime.now(timezone.utc))


def downgrade() -> None:
    pass
