"""run.py with a fault: the process dies (like kill -9) right after committing a new incident,
before its realtime events are sent and before the HTTP answer leaves. Used by test_faults.py."""

import os
import runpy
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, ROOT)

from sqlalchemy import event  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from console import realtime  # noqa: E402


def _die_after_commit(session: Session) -> None:
    outbox = session.info.get(realtime.OUTBOX_KEY) or []
    if any(envelope["name"] == "incident.created" for envelope, _rooms in outbox):
        os._exit(9)


# NOTE: inserted first, so it runs before the listener that sends the events.
event.listen(Session, "after_commit", _die_after_commit, insert=True)
runpy.run_path(os.path.join(ROOT, "run.py"), run_name="__main__")
