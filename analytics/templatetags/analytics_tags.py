"""Formatting for the analytics pages: numbers, rates and changes, localized; "—" for unknown."""

from __future__ import annotations

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from analytics.selectors import METRIC_LABELS, Change

register = template.Library()

DASH = "—"


@register.filter
def num(value) -> str:
    """1234 -> "1,234" (en) / "1.234" (de); None -> "—"."""
    if value is None or value == "":
        return DASH
    return number_format(value, 0, force_grouping=True)


@register.filter
def signed(value) -> str:
    """Follower growth and the like: "+12", "\u22123" (a real minus sign), "0"."""
    if value is None:
        return DASH
    text = number_format(abs(value), 0, force_grouping=True)
    if value > 0:
        return f"+{text}"
    if value < 0:
        return f"\u2212{text}"
    return text


@register.filter
def percent(value, digits: int = 1) -> str:
    """A fraction as a percentage: 0.0423 -> "4.2 %" (en) / "4,2 %" (de)."""
    if value is None:
        return DASH
    return f"{number_format(value * 100, int(digits))}\u00a0%"


@register.filter
def metric_label(key: str) -> str:
    return str(METRIC_LABELS.get(key, key))


@register.filter
def figure(figures, metric: str):
    return figures.value(metric)


@register.filter
def dget(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def change_badge(change: Change, kind: str = "ratio"):
    """The change against the previous period: "▲ +12 %", "▼ \u22120.4 pp" or "new"/"—"."""
    if kind == "points":
        delta = change.points
        if delta is None:
            return format_html('<span class="change change-none">{}</span>', DASH)
        text = _("%(points)s pp") % {"points": number_format(abs(delta) * 100, 1)}
    else:
        delta = change.ratio
        if delta is None:
            if change.current and change.previous == 0:
                return format_html('<span class="change change-new">{}</span>', _("new"))
            return format_html('<span class="change change-none">{}</span>', DASH)
        shown = abs(delta) * 100
        digits = 1 if shown < 10 else 0  # "+0.4 %", not "+0 %"
        text = f"{number_format(shown, digits, force_grouping=True)}\u00a0%"
    if delta > 0:
        arrow, sign, css = "▲", "+", "change-up"
    elif delta < 0:
        arrow, sign, css = "▼", "\u2212", "change-down"
    else:
        arrow, sign, css = "", "±", "change-flat"
    title = _("compared with the previous period")
    return format_html(
        '<span class="change {}" title="{}"><span aria-hidden="true">{}</span> {}{}</span>',
        css,
        title,
        arrow,
        sign,
        text,
    )


@register.filter
def change_of(dashboard, metric: str) -> Change:
    return dashboard.change(metric)


@register.filter
def rate_change_of(dashboard, basis: str) -> Change:
    return dashboard.rate_change(basis)


@register.filter
def weekday_label(iso_weekday: int) -> str:
    from analytics.presenters import weekday_name

    return weekday_name(iso_weekday)


@register.filter
def hour_label(hour: int) -> str:
    from analytics.presenters import hour_range

    return hour_range(hour)


@register.filter
def attr_of(obj, name: str):
    return getattr(obj, name, None)
