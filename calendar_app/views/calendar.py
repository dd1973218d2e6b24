"""Month, week and list views of a workspace's posts, and the drag-and-drop endpoints.

Reads come from `calendar_app.selectors`, writes go through `calendar_app.services.posts`; the
views turn URLs and GET/POST params into arguments and the results into pages or JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from itertools import groupby
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from calendar_app.models import Membership, Post
from calendar_app.params import MAX_YEAR, MIN_YEAR, parse_date, parse_int, parse_time
from calendar_app.permissions import workspaces_for
from calendar_app.selectors import (
    CalendarEntry,
    CalendarFilters,
    FilterOptions,
    calendar_entries,
    filter_options,
    idea_posts,
    scheduled_posts,
)
from calendar_app.services import posts as post_services
from calendar_app.timeutils import local_day_bounds, local_to_utc
from calendar_app.views.base import deny_message, workspace_context, workspace_view
from calendar_app.workflow import (
    AWAITING_APPROVAL,
    NOT_HEADING_OUT,
    STATUS_ICON,
    PostStatus,
    ShownState,
)

# A month cell shows this many chips before "+N more"; the rest are in the DOM, hidden.
CHIPS_PER_DAY = 4
# A post still waiting for approval this close to its time gets a warning highlight.
DUE_SOON = dt.timedelta(hours=24)
# States that say what publishing did: the chip's CSS modifier (cal-chip-<name>) and an icon.
OUTCOMES = {
    ShownState.PUBLISHED: "published",
    ShownState.PARTIALLY_PUBLISHED: "partial",
    ShownState.FAILED: "failed",
    ShownState.PUBLISHING: "publishing",
}
IDEAS_SHOWN = 50
LIST_PAGE_SIZE = 50
# The calendar goes no further than params.MIN_YEAR..MAX_YEAR; beyond, the URL answers 404.


@dataclass
class DayCell:
    date: dt.date
    iso: str
    in_month: bool
    is_today: bool
    is_past: bool
    entries: list[CalendarEntry] = field(default_factory=list)
    more_label: str = ""
    chips_html: str = ""

    @property
    def hidden(self) -> int:
        return max(0, len(self.entries) - CHIPS_PER_DAY)


@dataclass
class HourSlot:
    date: dt.date
    iso: str
    hour: int
    is_today: bool
    is_past: bool
    entries: list[CalendarEntry] = field(default_factory=list)
    chips_html: str = ""


STALE_TIP = gettext_lazy(
    "Its time has passed and it was never scheduled: it will not be published. Move it to a new "
    "time or schedule it."
)


class ChipRenderer:
    """The HTML of calendar chips, built in Python.

    A month holds ~800 chips; through the template engine (an include or an inline loop) each
    one costs ~0.1 ms, which was most of the page's time. The fragments that repeat (channel
    icons, label dots, campaign colours, status badges) are built once per page.
    Markup contract with calendar.js and the tests: .cal-chip with data-post-id, data-version,
    data-date, data-time, data-minute, draggable; .cal-chip-time holds HH:MM.
    """

    def __init__(self, *, post_prefix: str, now: dt.datetime | None = None) -> None:
        self.prefix = escape(post_prefix)
        self._fragments: dict[tuple, str] = {}
        # Posts still awaiting approval this close to their time are highlighted.
        self.now = now or timezone.now()
        self.due_soon_until = self.now + DUE_SOON

    def _extra_class(self, e: CalendarEntry) -> str:
        if e.shown in OUTCOMES:
            return f" cal-chip-{OUTCOMES[e.shown]}"
        if e.status == PostStatus.MISSED_APPROVAL:
            return " cal-chip-missed"
        if e.status in NOT_HEADING_OUT and e.local is not None and e.local < self.now:
            return " cal-chip-stale"
        if (
            e.status in AWAITING_APPROVAL
            and e.local is not None
            and self.now <= e.local <= self.due_soon_until
        ):
            return " cal-chip-due-soon"
        return ""

    def _cached(self, key: tuple, build) -> str:
        html = self._fragments.get(key)
        if html is None:
            html = self._fragments[key] = build()
        return html

    def chip(self, e: CalendarEntry) -> str:
        campaign = (
            self._cached(
                ("campaign", e.campaign.id),
                lambda: (
                    f' style="--chip-color:{escape(e.campaign.color)}"'
                    f' title="{escape(e.campaign.name)}"'
                ),
            )
            if e.campaign
            else ""
        )
        channels = "".join(
            self._cached(
                ("channel", ch.id),
                lambda ch=ch: f'<i class="bi {escape(ch.icon)}" title="{escape(ch.name)}"></i>',
            )
            for ch in e.channels
        )
        labels = "".join(
            self._cached(
                ("label", lb.id),
                lambda lb=lb: (
                    f'<span class="cal-dot" style="background:{escape(lb.color)}"'
                    f' title="{escape(lb.name)}"></span>'
                ),
            )
            for lb in e.labels
        )
        status = self._cached(
            ("status", e.shown),
            lambda: (
                f'<span class="badge cal-status text-bg-{escape(e.status_badge)}">'
                f"{escape(e.shown_label)}</span>"
            ),
        )
        outcome = ""
        if (
            e.shown not in OUTCOMES
            and e.status in NOT_HEADING_OUT
            and e.local
            and e.local < self.now
        ):
            outcome = self._cached(
                ("stale",),
                lambda: (
                    '<i class="bi bi-hourglass-bottom cal-outcome" data-testid="chip-stale"'
                    f' title="{escape(STALE_TIP)}" aria-label="{escape(STALE_TIP)}"></i>'
                ),
            )
        held = (
            [ch.problem for ch in e.channels if ch.problem]
            if e.status == PostStatus.SCHEDULED and e.shown not in OUTCOMES
            else []
        )
        if held:  # it will not go out on some of its channels unless someone fixes them
            tip = " ".join(held)
            outcome += (
                f'<i class="bi bi-plug cal-outcome text-warning-emphasis" data-testid="chip-held"'
                f' title="{escape(tip)}" aria-label="{escape(tip)}"></i>'
            )
        if e.shown in OUTCOMES:
            # e.g. publishing failed: an icon and the reason as the tooltip
            tip = f"{e.shown_label}: {e.reason}" if e.reason else e.shown_label
            outcome = (
                f'<i class="bi bi-{STATUS_ICON[e.shown]} cal-outcome" data-testid="chip-outcome"'
                f' title="{escape(tip)}" aria-label="{escape(tip)}"></i>'
            )
        return (
            f'<a class="cal-chip{self._extra_class(e)}" href="{self.prefix}{e.id}/"'
            f' data-testid="post-chip" data-post-id="{e.id}" data-status="{escape(e.status)}"'
            f' data-version="{e.version}" data-date="{e.day_iso}"'
            f' data-time="{e.time}" data-minute="{e.minute}"'
            f' draggable="{"true" if e.movable else "false"}" data-state="{escape(e.shown)}"'
            f'{campaign}><span class="cal-chip-line">{outcome}'
            f'<span class="cal-chip-time">{e.time}</span>'
            f' <span class="cal-chip-title">{escape(e.title)}</span></span>'
            f'<span class="cal-chip-meta">{channels}{labels}{status}</span></a>'
        )

    def chips(self, entries: list[CalendarEntry]) -> SafeString:
        return mark_safe("".join(self.chip(e) for e in entries))  # every value is escaped in chip()


# --- helpers --------------------------------------------------------------------------------------


def _today(membership: Membership) -> dt.date:
    return timezone.now().astimezone(membership.workspace.tz).date()


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _first_of_month(year: int, month: int) -> dt.date:
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        raise Http404
    return dt.date(year, month, 1)


def _monday_of_iso_week(year: int, week: int) -> dt.date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Http404
    try:
        return dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise Http404 from None


def _view_urls(slug: str, day: dt.date, filters: CalendarFilters) -> dict[str, str]:
    """The month/week/list switcher around `day`, keeping the filters."""
    params = filters.as_params()
    iso = day.isocalendar()
    return {
        "month_view_url": _with_query(
            reverse("calendar:month", args=[slug, day.year, day.month]), params
        ),
        "week_view_url": _with_query(
            reverse("calendar:week", args=[slug, iso.year, iso.week]), params
        ),
        "list_view_url": _with_query(
            reverse("calendar:list", args=[slug]), [("from", day.isoformat()), *params]
        ),
    }


def _post_url_prefix(slug: str) -> str:
    # Built once per page: a chip's URL is prefix + id + "/", no reverse() per chip.
    return reverse("calendar:post_edit", args=[slug, 0])[: -len("0/")]


def _chip_renderer(membership: Membership) -> ChipRenderer:
    return ChipRenderer(post_prefix=_post_url_prefix(membership.workspace.slug))


def _page_context(
    request: HttpRequest,
    membership: Membership,
    *,
    view: str,
    filters: CalendarFilters,
    options: FilterOptions,
    keep_params: list[tuple[str, str]] | None = None,
) -> dict:
    slug = membership.workspace.slug
    keep_params = keep_params or []
    return {
        **workspace_context(request, membership),
        "nav": "list" if view == "list" else "calendar",
        "view": view,
        "filters": filters,
        "options": options,
        "keep_params": keep_params,
        "clear_url": _with_query(request.path, keep_params),
        "post_prefix": _post_url_prefix(slug),
        "create_url": reverse("calendar:post_create", args=[slug]),
        "today": _today(membership),
    }


def _entries_with_ideas(
    membership: Membership,
    filters: CalendarFilters,
    options: FilterOptions,
    *,
    start: dt.datetime,
    end: dt.datetime,
) -> tuple[list[CalendarEntry], list[CalendarEntry], int]:
    """Scheduled entries in [start, end) and the newest ideas, sharing the variant/label queries."""
    workspace = membership.workspace
    scheduled_query = scheduled_posts(workspace, filters, start=start, end=end)
    scheduled = list(scheduled_query)
    ideas = list(idea_posts(workspace, filters)[:IDEAS_SHOWN])
    ideas_total = len(ideas)
    if ideas_total == IDEAS_SHOWN:
        ideas_total = idea_posts(workspace, filters).count()
    same_posts = Q(post_id__in=scheduled_query.order_by().values("id")) | Q(
        post_id__in=[idea.id for idea in ideas]
    )
    entries = calendar_entries(
        scheduled + ideas,
        tz=workspace.tz,
        options=options,
        same_posts=same_posts,
        membership=membership,
    )
    return entries[: len(scheduled)], entries[len(scheduled) :], ideas_total


# --- pages ----------------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    workspaces = workspaces_for(request.user)
    if workspaces:
        return redirect("calendar:month_current", ws=workspaces[0].slug)
    return render(request, "calendar_app/calendar/no_workspace.html", {})


@workspace_view()
def workspace_home(request: HttpRequest, membership: Membership) -> HttpResponse:
    return redirect("calendar:month_current", ws=membership.workspace.slug)


@workspace_view()
def month(
    request: HttpRequest, membership: Membership, year: int | None = None, month: int | None = None
) -> HttpResponse:
    workspace = membership.workspace
    today = _today(membership)
    first = _first_of_month(year, month) if year is not None else today.replace(day=1)
    next_year, next_month = _add_months(first.year, first.month, 1)
    last = dt.date(next_year, next_month, 1) - dt.timedelta(days=1)
    # The grid runs Monday..Sunday; the adjacent months' days are shown muted, with their posts.
    grid_start = first - dt.timedelta(days=first.weekday())
    grid_end = last + dt.timedelta(days=6 - last.weekday())

    filters = CalendarFilters.from_params(request.GET)
    options = filter_options(workspace)
    start, end = local_day_bounds(grid_start, grid_end, workspace.tz)
    scheduled, ideas, ideas_total = _entries_with_ideas(
        membership, filters, options, start=start, end=end
    )

    cells: dict[dt.date, DayCell] = {}
    day = grid_start
    while day <= grid_end:
        cells[day] = DayCell(
            date=day,
            iso=day.isoformat(),
            in_month=day.month == first.month,
            is_today=day == today,
            is_past=day < today,
        )
        day += dt.timedelta(days=1)
    for entry in scheduled:
        cells[entry.local.date()].entries.append(entry)
    more_template = _("+%(count)s more")
    chips = _chip_renderer(membership)
    for cell in cells.values():
        cell.chips_html = chips.chips(cell.entries)
        if cell.hidden:
            cell.more_label = more_template % {"count": cell.hidden}
    days = list(cells.values())
    weeks = [days[i : i + 7] for i in range(0, len(days), 7)]

    slug = workspace.slug
    params = filters.as_params()
    prev_y, prev_m = _add_months(first.year, first.month, -1)
    focus = today if (today.year, today.month) == (first.year, first.month) else first
    context = {
        **_page_context(request, membership, view="month", filters=filters, options=options),
        **_view_urls(slug, focus, filters),
        "heading": date_format(first, "YEAR_MONTH_FORMAT"),
        "first": first,
        "weeks": weeks,
        "weekdays": days[:7],
        "ideas": ideas,
        "ideas_html": chips.chips(ideas),
        "ideas_total": ideas_total,
        "more_template": more_template,
        "prev_url": _with_query(reverse("calendar:month", args=[slug, prev_y, prev_m]), params),
        "next_url": _with_query(
            reverse("calendar:month", args=[slug, next_year, next_month]), params
        ),
        "today_url": _with_query(reverse("calendar:month_current", args=[slug]), params),
        "posts_in_view": len(scheduled),
    }
    return render(request, "calendar_app/calendar/month.html", context)


@workspace_view()
def week(
    request: HttpRequest, membership: Membership, year: int | None = None, week: int | None = None
) -> HttpResponse:
    workspace = membership.workspace
    today = _today(membership)
    if year is None:
        monday = today - dt.timedelta(days=today.weekday())
    else:
        monday = _monday_of_iso_week(year, week)
    days = [monday + dt.timedelta(days=i) for i in range(7)]

    filters = CalendarFilters.from_params(request.GET)
    options = filter_options(workspace)
    start, end = local_day_bounds(days[0], days[-1], workspace.tz)
    scheduled, ideas, ideas_total = _entries_with_ideas(
        membership, filters, options, start=start, end=end
    )

    slots = {
        (day, hour): HourSlot(
            date=day,
            iso=day.isoformat(),
            hour=hour,
            is_today=day == today,
            is_past=day < today,
        )
        for day in days
        for hour in range(24)
    }
    for entry in scheduled:
        slots[(entry.local.date(), entry.local.hour)].entries.append(entry)
    chips = _chip_renderer(membership)
    for slot in slots.values():
        if slot.entries:
            slot.chips_html = chips.chips(slot.entries)
    rows = [
        {"hour": hour, "label": f"{hour:02d}:00", "slots": [slots[(day, hour)] for day in days]}
        for hour in range(24)
    ]

    slug = workspace.slug
    params = filters.as_params()
    prev_iso = (monday - dt.timedelta(days=7)).isocalendar()
    next_iso = (monday + dt.timedelta(days=7)).isocalendar()
    focus = today if monday <= today <= days[-1] else monday
    context = {
        **_page_context(request, membership, view="week", filters=filters, options=options),
        **_view_urls(slug, focus, filters),
        "heading": _("Week %(week)s: %(start)s – %(end)s")  # noqa: RUF001 (typographic dash)
        % {
            "week": monday.isocalendar().week,
            "start": date_format(monday, "MONTH_DAY_FORMAT"),
            "end": date_format(days[-1], "DATE_FORMAT"),
        },
        "monday": monday,
        "sunday": days[-1],
        "iso_week": monday.isocalendar().week,
        "days": [{"date": day, "is_today": day == today, "is_past": day < today} for day in days],
        "rows": rows,
        "ideas": ideas,
        "ideas_html": chips.chips(ideas),
        "ideas_total": ideas_total,
        "more_template": _("+%(count)s more"),
        "prev_url": _with_query(
            reverse("calendar:week", args=[slug, prev_iso.year, prev_iso.week]), params
        ),
        "next_url": _with_query(
            reverse("calendar:week", args=[slug, next_iso.year, next_iso.week]), params
        ),
        "today_url": _with_query(reverse("calendar:week_current", args=[slug]), params),
        "posts_in_view": len(scheduled),
    }
    return render(request, "calendar_app/calendar/week.html", context)


@workspace_view()
def post_list(request: HttpRequest, membership: Membership) -> HttpResponse:
    workspace = membership.workspace
    today = _today(membership)
    show_ideas = request.GET.get("ideas") == "1"
    from_day = parse_date(request.GET.get("from")) or today
    filters = CalendarFilters.from_params(request.GET)
    options = filter_options(workspace)

    if show_ideas:
        posts = idea_posts(workspace, filters)
        keep_params = [("ideas", "1")]
    else:
        start = local_to_utc(from_day, dt.time(0, 0), workspace.tz)
        posts = scheduled_posts(workspace, filters, start=start)
        keep_params = [("from", from_day.isoformat())] if "from" in request.GET else []
    page = Paginator(posts, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    entries = calendar_entries(
        page.object_list, tz=workspace.tz, options=options, membership=membership
    )
    if show_ideas:
        groups = [{"day": None, "entries": entries}] if entries else []
    else:
        groups = [
            {"day": day, "entries": list(items)}
            for day, items in groupby(entries, key=lambda e: e.local.date())
        ]

    slug = workspace.slug
    base_params = keep_params + filters.as_params()
    list_url = reverse("calendar:list", args=[slug])
    context = {
        **_page_context(
            request,
            membership,
            view="list",
            filters=filters,
            options=options,
            keep_params=keep_params,
        ),
        **_view_urls(slug, from_day, filters),
        "heading": _("Ideas")
        if show_ideas
        else _("Scheduled from %(day)s") % {"day": date_format(from_day, "DATE_FORMAT")},
        "page": page,
        "groups": groups,
        "show_ideas": show_ideas,
        "from_day": from_day,
        "page_url": _with_query(list_url, base_params) + ("&" if base_params else "?") + "page=",
        "scheduled_url": _with_query(list_url, filters.as_params()),
        "ideas_url": _with_query(list_url, [("ideas", "1"), *filters.as_params()]),
        "prev_url": "",
        "next_url": "",
        "today_url": "",
    }
    return render(request, "calendar_app/calendar/list.html", context)


# --- drag-and-drop endpoints ----------------------------------------------------------------------


def _parse_day(value: str | None) -> dt.date:
    if (day := parse_date(value)) is None:
        raise ValidationError(_("Choose a valid day (YYYY-MM-DD)."))
    return day


def _parse_time(value: str | None) -> dt.time | None:
    if not value:
        return None
    if (at := parse_time(value)) is None:
        raise ValidationError(_("Choose a valid time (HH:MM)."))
    return at.replace(second=0, microsecond=0)


def _parse_version(value: str | None) -> int | None:
    if not value:
        return None
    if (version := parse_int(value)) is None:
        raise ValidationError(_("The calendar sent an invalid version; reload the page."))
    return version


def _error_response(exc: ValidationError | PermissionDenied) -> JsonResponse:
    if isinstance(exc, PermissionDenied):
        return JsonResponse({"error": deny_message(exc)}, status=403)
    code = getattr(exc, "code", None)
    payload = {"error": " ".join(exc.messages)}
    if code:
        payload["code"] = code
    # A post of another workspace looks exactly like one that does not exist.
    return JsonResponse(payload, status=404 if code == "missing" else 400)


def _moved(post: Post, membership: Membership) -> JsonResponse:
    payload = {
        "ok": True,
        "id": post.pk,
        "version": post.version,
        "date": None,
        "time": None,
        "scheduled_at_local": None,
    }
    # Set when the move sent an approved post back to review (services.review).
    if notice := getattr(post, "review_notice", ""):
        payload |= {"notice": notice, "status": post.status}
    if post.scheduled_at is not None:
        local = post.scheduled_at.astimezone(membership.workspace.tz)
        payload |= {
            "date": local.date().isoformat(),
            "time": f"{local.hour:02d}:{local.minute:02d}",
            "scheduled_at_local": local.isoformat(),
        }
    return JsonResponse(payload)


@require_POST
@workspace_view()
def post_reschedule(request: HttpRequest, membership: Membership, pk: int) -> JsonResponse:
    try:
        post = post_services.post_reschedule(
            membership=membership,
            post_id=pk,
            day=_parse_day(request.POST.get("date")),
            local_time=_parse_time(request.POST.get("time")),
            expected_version=_parse_version(request.POST.get("version")),
        )
    except (ValidationError, PermissionDenied) as exc:
        return _error_response(exc)
    return _moved(post, membership)


@require_POST
@workspace_view()
def post_unschedule(request: HttpRequest, membership: Membership, pk: int) -> JsonResponse:
    try:
        post = post_services.post_unschedule(
            membership=membership,
            post_id=pk,
            expected_version=_parse_version(request.POST.get("version")),
        )
    except (ValidationError, PermissionDenied) as exc:
        return _error_response(exc)
    return _moved(post, membership)
