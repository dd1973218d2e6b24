"""Reads of link tracking for the analytics pages: people's clicks on our short links.

Every selector counts LinkClick rows (bots are never among them) in the half-open period
[start, end) and costs one query: all clicks, and the unique ones (a visitor's first on a link
in a UTC day). A click belongs to the campaign and post its short link was made for when the
post went out.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from calendar_app.models import Workspace
from links.models import LinkClick


@dataclass(frozen=True)
class ClickCounts:
    clicks: int = 0  # every click counted (within the per-address limit)
    unique: int = 0  # one per visitor, link and UTC day

    def __add__(self, other: ClickCounts) -> ClickCounts:
        return ClickCounts(self.clicks + other.clicks, self.unique + other.unique)


def _clicks(*, workspace: Workspace, start: dt.datetime, end: dt.datetime) -> QuerySet:
    return LinkClick.objects.filter(
        workspace=workspace, clicked_at__gte=start, clicked_at__lt=end
    ).order_by()


def _counted(rows: QuerySet) -> dict:
    counted = rows.annotate(n=Count("pk"), unique=Count("pk", filter=Q(is_unique=True)))
    return {key: ClickCounts(n, unique) for key, n, unique in counted}


def link_clicks_by_campaign(
    *, workspace: Workspace, start: dt.datetime, end: dt.datetime
) -> dict[int | None, ClickCounts]:
    """{campaign id: clicks}; None collects the clicks on links of posts without a campaign."""
    return _counted(
        _clicks(workspace=workspace, start=start, end=end).values_list("link__campaign_id")
    )


def link_clicks_by_post(
    *, workspace: Workspace, start: dt.datetime, end: dt.datetime
) -> dict[int, ClickCounts]:
    """{post id: clicks} (links whose post was deleted are left out)."""
    return _counted(
        _clicks(workspace=workspace, start=start, end=end)
        .filter(link__post__isnull=False)
        .values_list("link__post_id")
    )


def link_clicks_daily(
    *, workspace: Workspace, start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo
) -> dict[dt.date, ClickCounts]:
    """{local date in `tz`: clicks}; days without clicks are absent."""
    return _counted(
        _clicks(workspace=workspace, start=start, end=end)
        .annotate(day=TruncDate("clicked_at", tzinfo=tz))
        .values_list("day")
    )
