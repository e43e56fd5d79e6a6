"""Case-management vocabulary (พม. Smart: fact-finding, plan, referral, follow-up, closure)."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Where a case stands in case management."""

    INTAKE = "intake"
    FACT_FINDING = "fact_finding"
    PLANNING = "planning"
    REFERRED = "referred"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"


class AgencyKind(StrEnum):
    """Kinds of agency a call or case can be referred to."""

    MSDHS = "msdhs"
    POLICE = "police"
    HOSPITAL = "hospital"
    OSCC = "oscc"
    DAMRONGTHAM = "damrongtham"
    LOCAL_GOVERNMENT = "local_government"
    NGO = "ngo"
    OTHER = "other"
