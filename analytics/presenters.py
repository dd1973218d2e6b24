"""From selector results to what a page draws: SVG charts with their words, and labels.

Kept apart from the selectors (which only count) and the views (which only parse and render),
because the dashboard, the print page and the editor hint share them.
"""

from __future__ import annotations

import datetime as dt
import math

from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.formats import date_format, number_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from analytics.charts import Cell, Series, heatmap_chart, line_chart, style
from analytics.periods import today_in
from analytics.selectors import (
    METRIC_LABELS,
    Dashboard,
    Heatmap,
    PostReport,
    Slot,
)

# The dashboard's trend charts, in this order, when some post reports the metric.
TREND_METRICS = [
    "posts",
    "impressions",
    "interactions",
    "likes",
    "comments",
    "shares",
    "saves",
    "quotes",
    "clicks",
    "video_views",
    "link_clicks",
    "unique_link_clicks",
]


def weekday_name(iso_weekday: int, short: bool = False) -> str:
    names = WEEKDAYS_ABBR if short else WEEKDAYS
    return str(names[iso_weekday - 1])


def hour_range(hour: int) -> str:
    return f"{hour:02d}:00\u2013{(hour + 1) % 24:02d}:00"


def slot_label(slot: Slot) -> str:
    """ "Tuesday 18:00-19:00" """
    return f"{weekday_name(slot.weekday)} {hour_range(slot.hour)}"


def _count(value: float) -> str:
    return number_format(value, 0, force_grouping=True)


def _percent(value: float) -> str:
    return f"{number_format(value * 100, 1)}\u00a0%"


def _short_day(day: dt.date) -> str:
    # Translators: a date format (Django's date filter) for chart axes, e.g. "22 Oct"; German "j. M".
    return date_format(day, pgettext("chart axis day", "j M"))


def _day_ticks(days: list[dt.date]) -> list[tuple[float, str]]:
    step = max(1, math.ceil(len(days) / 6))
    return [(float(i), _short_day(day)) for i, day in enumerate(days) if i % step == 0]


def trend_charts(data: Dashboard) -> list[dict]:
    """One chart per metric: the period's daily values by publish day, the previous period's
    as a faint line on the same day positions."""
    shown = set(data.shown_metrics) | {
        "posts",
        "interactions",
        "link_clicks",
        "unique_link_clicks",
    }
    days = [row.day for row in data.days]
    first, last = _short_day(data.period.first), _short_day(data.period.last)
    partial = data.period.last == today_in(data.period.tz)
    charts = []
    for metric in TREND_METRICS:
        if metric not in shown:
            continue

        def values(rows, metric=metric) -> list[tuple[float, float]]:
            if metric in {"link_clicks", "unique_link_clicks"}:
                return [(float(i), float(getattr(r, metric))) for i, r in enumerate(rows)]
            return [(float(i), float(r.figures[metric])) for i, r in enumerate(rows)]

        current = values(data.days)
        label = str(METRIC_LABELS[metric])
        total = sum(y for _x, y in current)
        peak_index, peak = max(enumerate(current), key=lambda p: (p[1][1], -p[0]))
        desc = _(
            "%(metric)s per publish day from %(first)s to %(last)s: %(total)s in total, "
            "most on %(peak_day)s (%(peak)s). The faint line is the previous period."
        ) % {
            "metric": label,
            "first": first,
            "last": last,
            "total": _count(total),
            "peak_day": _short_day(days[peak_index]),
            "peak": _count(peak[1]),
        }
        series = [
            Series(_("Previous period"), values(data.previous_days), "#6c757d", "4 3", True),
            Series(label, current, "#0b5ed7"),
        ]
        if partial and len(current) > 1:
            # Today is not over: its point is joined by a dotted line, not read as a drop.
            series[1] = Series(label, current[:-1], "#0b5ed7")
            series.append(Series(_("today so far"), current[-2:], "#0b5ed7", "2 3"))
            desc += " " + _("The last day is today, so far.")
        svg = line_chart(
            chart_id=f"trend-{metric}",
            title=_("%(metric)s per day") % {"metric": label},
            desc=desc,
            series=series,
            x_range=(0.0, float(max(len(days) - 1, 1))),
            x_ticks=_day_ticks(days),
            y_format=_count,
            height=170,
        )
        charts.append({"metric": metric, "label": label, "svg": svg})
    return charts


# Time since publishing on a log scale: the first hours, where most happens, get room.
CURVE_TICKS = [0, 1, 6, 24, 72, 168, 720, 2160]


def _curve_x(hours: float) -> float:
    return math.log10(1 + max(hours, 0.0))


def _duration(hours: int) -> str:
    if hours == 0:
        return "0"
    if hours < 24:
        return _("%(n)s h") % {"n": hours}
    return _("%(n)s d") % {"n": hours // 24}


def curve_charts(report: PostReport) -> list[dict]:
    """Per metric, one line per channel: its lifetime total at each pull since publishing."""
    longest = max((h for c in report.curves for h, _v, _t in c.points), default=0.0)
    x_max = _curve_x(max(longest, 24.0))
    ticks = [(_curve_x(h), _duration(h)) for h in CURVE_TICKS if _curve_x(h) <= x_max * 1.001]
    charts = []
    for metric in report.metrics:
        series = []
        words = []
        for index, curve in enumerate(report.curves):
            points = [(_curve_x(h), values[metric]) for h, values, _t in curve.points]
            if all(y is None for _x, y in points):
                continue
            colour, dash = style(index)
            series.append(Series(curve.channel.name, points, colour, dash))
            latest = next((y for _x, y in reversed(points) if y is not None), None)
            words.append(
                _("%(channel)s: %(value)s after %(pulls)d pulls")
                % {"channel": curve.channel.name, "value": _count(latest), "pulls": len(points)}
            )
        if not series:
            continue
        label = str(METRIC_LABELS[metric])
        svg = line_chart(
            chart_id=f"curve-{metric}",
            title=_("%(metric)s since publishing") % {"metric": label},
            desc=_("%(metric)s over the time since publishing (logarithmic time axis). ")
            % {"metric": label}
            + "; ".join(words),
            series=series,
            x_range=(0.0, x_max),
            x_ticks=ticks,
            y_format=_count,
            height=200 + 18 * math.ceil(len(series) / 3),
            legend=True,
        )
        charts.append({"metric": metric, "label": label, "svg": svg})
    return charts


def heatmap_svg(heatmap: Heatmap, chart_id: str = "heatmap") -> SafeString:
    """Weekday rows x hour columns, shaded by mean engagement rate; hatched = too few posts;
    the three best slots numbered."""
    best = heatmap.best(3)
    rank = {(s.weekday, s.hour): str(i + 1) for i, s in enumerate(best)}
    top = heatmap.max_rate or 1.0
    cells = []
    for (weekday, hour), slot in heatmap.cells.items():
        enough = slot.posts >= heatmap.min_posts
        label = _("%(slot)s: %(rate)s mean engagement rate (%(posts)s posts)") % {
            "slot": slot_label(slot),
            "rate": _percent(slot.rate),
            "posts": slot.posts,
        }
        if not enough:
            label += " — " + _("too few posts to judge")
        cells.append(
            Cell(
                row=weekday - 1,
                column=hour,
                intensity=slot.rate / top if enough else None,
                label=label,
                text=rank.get((weekday, hour), ""),
            )
        )
    if best:
        desc = _("Best slots: %(slots)s.") % {
            "slots": "; ".join(
                f"{slot_label(s)} ({_percent(s.rate)}, "
                + _("%(posts)s posts") % {"posts": s.posts}
                + ")"
                for s in best
            )
        }
    else:
        desc = _("Not enough posts yet to name a best time.")
    desc += " " + _("Hatched: fewer than %(n)d posts in that hour.") % {"n": heatmap.min_posts}
    return heatmap_chart(
        chart_id=chart_id,
        title=_("Mean engagement rate by weekday and hour"),
        desc=desc,
        rows=[weekday_name(d, short=True) for d in range(1, 8)],
        columns=[f"{h:02d}" for h in range(24)],
        cells=cells,
    )


def heatmap_rows(heatmap: Heatmap) -> list[dict]:
    """The heatmap as a table: one row per weekday, 24 cells of (rate, posts) or None."""
    return [
        {
            "weekday": weekday_name(weekday),
            "cells": [heatmap.cells.get((weekday, hour)) for hour in range(24)],
        }
        for weekday in range(1, 8)
    ]


def glance(data: Dashboard) -> dict:
    """The facts "at a glance" puts into words: top channel, best rate, best hour and slot,
    clicks and the campaign that bought the most of them."""
    top = data.top_channel
    total = data.current.interactions
    rate_channel = data.best_rate_channel
    campaigns = [row for row in data.campaigns if row.campaign and row.unique_link_clicks]
    return {
        "top_channel": top,
        "top_share": top.current.interactions / total if top and total else None,
        "rate_channel": rate_channel if rate_channel is not top else None,
        "rate_channel_is_top": rate_channel is not None and rate_channel is top,
        "best_hour": data.heatmap.best_hour,
        "best_hour_label": hour_range(data.heatmap.best_hour.hour)
        if data.heatmap.best_hour
        else "",
        "best_slot": (data.heatmap.best(1) or [None])[0],
        "best_slot_label": slot_label(data.heatmap.best(1)[0]) if data.heatmap.best(1) else "",
        "top_campaign": max(campaigns, key=lambda r: r.unique_link_clicks, default=None),
    }
