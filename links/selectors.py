"""Reads of link tracking for the analytics pages: people's clicks on our short links.

Every selector counts LinkClick rows (bots are never among them) in the half-open period
[start, end) and costs one query. A click belongs to the campaign and post its short link was
made for when the post went out.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate

from calendar_app.models import Workspace
from links.models import LinkClick


def _clicks(*, workspace: Workspace, start: dt.datetime, end: dt.datetime) -> QuerySet:
    return LinkClick.objects.filter(
        workspace=workspace, clicked_at__gte=start, clicked_at__lt=end
    ).order_by()


def link_clicks_by_campaign(
    *, workspace: Workspace, start: dt.datetime, end: dt.datetime
) -> dict[int | None, int]:
    """{campaign id: clicks}; None collects the clicks on links of posts without a campaign."""
    rows = (
        _clicks(workspace=workspace, start=start, end=end)
        .values_list("link__campaign_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def link_clicks_by_post(
    *, workspace: Workspace, start: dt.datetime, end: dt.datetime
) -> dict[int, int]:
    """{post id: clicks} (links whose post was deleted are left out)."""
    rows = (
        _clicks(workspace=workspace, start=start, end=end)
        .filter(link__post__isnull=False)
        .values_list("link__post_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def link_clicks_daily(
    *, workspace: Workspace, start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo
) -> dict[dt.date, int]:
    """{local date in `tz`: clicks}; days without clicks are absent."""
    rows = (
        _clicks(workspace=workspace, start=start, end=end)
        .annotate(day=TruncDate("clicked_at", tzinfo=tz))
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    return dict(rows)
