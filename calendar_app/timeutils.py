"""Conversions between UTC instants and a workspace's wall-clock time, DST-safe.

Rule for local times that do not exist (the spring-forward gap, e.g. 02:30 in Berlin on the
last Sunday of March): they move forward by the gap (02:30 -> 03:30), as PEP 495 fold=0 gives.
Ambiguous local times (the autumn hour that happens twice) take the first occurrence.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.UTC


def local_to_utc(day: dt.date, time_of_day: dt.time, tz: ZoneInfo) -> dt.datetime:
    naive = dt.datetime.combine(day, time_of_day.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=tz).astimezone(UTC)


def to_local(instant: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return instant.astimezone(tz)


def move_to_day(instant: dt.datetime, day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """The same local time of day as `instant`, on `day` (both in `tz`), as UTC."""
    local = instant.astimezone(tz)
    return local_to_utc(day, local.time(), tz)


def local_day_bounds(
    first: dt.date, last: dt.date, tz: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """UTC [start, end) covering the local days first..last inclusive."""
    start = local_to_utc(first, dt.time(0, 0), tz)
    end = local_to_utc(last + dt.timedelta(days=1), dt.time(0, 0), tz)
    return start, end
