"""Statutory time, counted the way each statute words it.

- "72 hours after the results are finalized" (KY, MT, VA): an exact duration.
- "not before the third day after the date finalized" (TX): a calendar-date test in the
  state's own time zone: release at the start of that day.
- "3 business days" (CO): skip weekends and federal holidays, keep the time of day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def hold_until(
    finalized: datetime, count: str, amount: int, tz: str, holidays: frozenset[date]
) -> datetime:
    if finalized.tzinfo is None:
        raise ValueError("finalized time must be timezone-aware")
    if count == "hours_after_final":
        # elapsed hours: add in UTC, or a DST change makes "72 hours" 71 or 73
        return finalized.astimezone(UTC) + timedelta(hours=amount)
    local = finalized.astimezone(ZoneInfo(tz))
    if count == "from_calendar_day_after_final":
        day = local.date() + timedelta(days=amount)
        return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(tz))
    if count == "business_days_after_final":
        day, left = local.date(), amount
        while left:
            day += timedelta(days=1)
            if day.weekday() < 5 and day not in holidays:
                left -= 1
        return datetime.combine(day, local.timetz())
    raise ValueError(f"unknown statutory count {count!r}")
