"""Import every domain's models so Base.metadata is complete (Alembic, create_all)."""

from __future__ import annotations

import admin.models  # noqa: F401
import cases.models  # noqa: F401
import console.models  # noqa: F401
import dispatch.models  # noqa: F401
import ess.models  # noqa: F401
import jobs.models  # noqa: F401
import roster.models  # noqa: F401
import telephony.models  # noqa: F401
from console.db import Base

metadata = Base.metadata
