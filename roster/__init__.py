"""Duty rosters (จัดเวร): shifts per province, who is on duty, staffing levels (issue 14)."""
