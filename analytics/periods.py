"""The reporting period: whole local days in the workspace's time zone, and the one before it.

A period is a range of local calendar days (first..last, inclusive). Its UTC bounds come from the
local midnights, so a day that has 23 or 25 hours (DST) is still exactly one day. The previous
period has the same number of days and ends the day before this one starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from calendar_app.params import parse_int
from calendar_app.timeutils import local_day_bounds

# The picker's choices; "custom" takes two dates.
PERIOD_CHOICES = [
    ("7", _("Last 7 days")),
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("365", _("Last 12 months")),
    ("this_month", _("This month")),
    ("last_month", _("Last month")),
    ("custom", _("Custom dates")),
]
DEFAULT_PERIOD = "30"
MAX_CUSTOM_DAYS = 731  # two years: bounded work for one page


@dataclass(frozen=True)
class Period:
    first: dt.date  # local day, inclusive
    last: dt.date  # local day, inclusive
    tz: ZoneInfo
    key: str = "custom"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @cached_property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """UTC [start, end) of the period's local days."""
        return local_day_bounds(self.first, self.last, self.tz)

    @property
    def start(self) -> dt.datetime:
        return self.bounds[0]

    @property
    def end(self) -> dt.datetime:
        return self.bounds[1]

    def previous(self) -> Period:
        """The period of equal length that ends the day before this one starts."""
        last = self.first - dt.timedelta(days=1)
        return Period(last - dt.timedelta(days=self.days - 1), last, self.tz, "previous")

    def dates(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range(self.days)]

    def query(self) -> str:
        """The GET parameters that select this period again (for links and exports)."""
        if self.key in {"custom", "previous"}:
            return f"period=custom&from={self.first.isoformat()}&to={self.last.isoformat()}"
        return f"period={self.key}"


def today_in(tz: ZoneInfo) -> dt.date:
    return timezone.localdate(timezone=tz)


def period_for(key: str, tz: ZoneInfo, *, today: dt.date | None = None) -> Period:
    """A named period ending today (local), e.g. "30" = the last 30 days including today."""
    today = today or today_in(tz)
    if (days := parse_int(key, low=1, high=MAX_CUSTOM_DAYS)) is not None:
        return Period(today - dt.timedelta(days=days - 1), today, tz, key)
    if key == "this_month":
        return Period(today.replace(day=1), today, tz, key)
    if key == "last_month":
        last = today.replace(day=1) - dt.timedelta(days=1)
        return Period(last.replace(day=1), last, tz, key)
    raise ValueError(f"unknown period {key!r}")


def last_days(days: int, tz: ZoneInfo, *, today: dt.date | None = None) -> Period:
    today = today or today_in(tz)
    return Period(today - dt.timedelta(days=days - 1), today, tz, str(days))
