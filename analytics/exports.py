"""CSV exports of every analytics table.

Machine-readable on purpose, in every interface language: comma-separated, a header row of
stable English column names, ISO 8601 dates and times (workspace time zone, with offset), dot
decimals, rates as fractions (0.0423 = 4.23 %). UTF-8 with a byte order mark so Excel opens
umlauts correctly. Text cells that a spreadsheet would run as a formula (= + - @, tab, CR) get a
leading apostrophe (CSV injection); numbers are written as numbers.

Short-link clicks come in two columns: `link_clicks` every click counted (as before) and
`link_clicks_unique` one per visitor, link and UTC day, the basis of `cost_per_click`.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from django.http import HttpResponse

from analytics.periods import Period
from analytics.selectors import (
    POST_METRICS,
    CampaignRow,
    ChannelRow,
    DayRow,
    Heatmap,
    PostReport,
)
from publishing.models import RemotePost

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def safe_cell(value):
    """A value for a CSV cell: text that could start a formula is neutralized."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value == value else ""
    if isinstance(value, int):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return response


def filename(slug: str, table: str, period: Period | None = None) -> str:
    if period is None:
        return f"{slug}-{table}.csv"
    return f"{slug}-{table}-{period.first.isoformat()}-{period.last.isoformat()}.csv"


def local_iso(instant: dt.datetime | None, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).isoformat(timespec="minutes") if instant else ""


def daily_rows(days: list[DayRow]) -> tuple[list[str], list[list]]:
    header = [
        "date",
        "posts",
        *POST_METRICS,
        "interactions",
        "link_clicks",
        "link_clicks_unique",
    ]
    rows = [
        [
            row.day.isoformat(),
            row.figures["posts"],
            *(row.figures[m] for m in POST_METRICS),
            row.figures["interactions"],
            row.link_clicks,
            row.unique_link_clicks,
        ]
        for row in days
    ]
    return header, rows


def channel_rows(channels: list[ChannelRow]) -> tuple[list[str], list[list]]:
    header = [
        "channel",
        "platform",
        "posts",
        *POST_METRICS,
        "interactions",
        "engagement_rate",
        "engagement_rate_basis",
        "followers",
        "follower_growth",
    ]
    rows = []
    for row in channels:
        figures = row.current
        rate, basis = figures.rate
        rows.append(
            [
                row.channel.name,
                row.channel.platform,
                figures.posts,
                *(figures.value(m) for m in POST_METRICS),
                figures.value("interactions"),
                rate,
                basis or "",
                row.followers,
                row.growth,
            ]
        )
    return header, rows


def campaign_rows(campaigns: list[CampaignRow]) -> tuple[list[str], list[list]]:
    header = [
        "campaign",
        "posts",
        "publications",
        "impressions",
        "interactions",
        "platform_clicks",
        "link_clicks",
        "link_clicks_unique",
        "budget",
        "currency",
        "cost_per_click",
        "cost_per_click_basis",
    ]
    rows = []
    for row in campaigns:
        cost, basis = row.cost_per_click
        campaign = row.campaign
        rows.append(
            [
                campaign.name if campaign else "",
                row.posts,
                row.publications,
                row.impressions,
                row.interactions,
                row.platform_clicks,
                row.link_clicks,
                row.unique_link_clicks,
                str(campaign.budget) if campaign and campaign.budget is not None else "",
                campaign.currency if campaign and campaign.budget is not None else "",
                str(cost) if cost is not None else "",
                basis or "",
            ]
        )
    return header, rows


def ranked_rows(
    ranked: list[tuple[str, list[RemotePost]]], tz: ZoneInfo, metric: str
) -> tuple[list[str], list[list]]:
    header = [
        "list",
        "rank",
        "ranked_by",
        "published_at",
        "channel",
        "post_id",
        "title",
        "url",
        *POST_METRICS,
        "interactions",
        "engagement_rate",
    ]
    rows = []
    for name, posts in ranked:
        for rank, rp in enumerate(posts, start=1):
            post = rp.delivery.post if rp.delivery_id and rp.delivery else None
            rows.append(
                [
                    name,
                    rank,
                    metric,
                    local_iso(rp.published_at, tz),
                    rp.channel.name,
                    post.pk if post else "",
                    post.display_title if post else rp.text[:200],
                    rp.url,
                    *(getattr(rp, m) for m in POST_METRICS),
                    rp.interactions,
                    rp.rate,
                ]
            )
    return header, rows


def heatmap_rows(heatmap: Heatmap) -> tuple[list[str], list[list]]:
    header = ["weekday", "weekday_name", "hour", "posts", "mean_engagement_rate", "enough_data"]
    rows = [
        [
            slot.weekday,
            WEEKDAY_NAMES[slot.weekday - 1],
            slot.hour,
            slot.posts,
            slot.rate,
            slot.posts >= heatmap.min_posts,
        ]
        for _key, slot in sorted(heatmap.cells.items())
    ]
    return header, rows


def series_rows(report: PostReport, tz: ZoneInfo) -> tuple[list[str], list[list]]:
    header = ["channel", "published_at", "taken_at", "hours_since_publishing", *POST_METRICS]
    rows = []
    for curve in report.curves:
        published = curve.remote_post.published_at
        for hours, values, taken_at in curve.points:
            rows.append(
                [
                    curve.channel.name,
                    local_iso(published, tz),
                    local_iso(taken_at, tz),
                    round(hours, 2),
                    *(values[m] for m in POST_METRICS),
                ]
            )
    return header, rows
