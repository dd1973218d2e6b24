"""Every number the analytics pages show, and the maths behind it.

Post metrics are aggregated over RemotePost's latest lifetime totals (indexed by workspace and
publish time), never over the snapshot series; the series only draws a post's curves. Followers
are period metrics (AccountSnapshot, one row per channel and local day): shown next to the post
metrics, never summed into them. Each selector costs a fixed number of queries, whatever the
number of posts.

Definitions (README "Analytics"):
- interactions = likes + comments + shares + saves + quotes (a number a platform does not report
  counts as 0; a post reporting none of them has no interactions figure at all);
- engagement rate of a post = interactions / impressions; where the platform reports no
  impressions, interactions / the channel's followers on the publish day (per follower);
- engagement rate of a set of posts = their interactions / their impressions (per impression,
  over the posts that report impressions) and, for the posts without impressions, the mean
  interactions per post / the channel's followers (its latest count up to the period's last
  day; summed over channels as interactions / (posts x followers)). The two are never mixed
  into one figure; a channel is rated per impression as soon as any of its posts reports them.
- best time: the mean of the per-post rates of the posts published in a local weekday x hour
  slot; a slot counts once it has MIN_SLOT_POSTS posts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    Avg,
    BigIntegerField,
    BooleanField,
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractHour,
    ExtractIsoWeekDay,
    NullIf,
    TruncDate,
)
from django.utils.translation import gettext_lazy as _

from analytics.periods import Period, last_days
from calendar_app.models import Campaign, Channel, Post, Workspace
from links.models import TrackedLink
from links.selectors import ClickCounts, link_clicks_by_campaign, link_clicks_daily
from publishing.models import AccountSnapshot, MetricSnapshot, RemotePost

# Lifetime post metrics, in the order the pages show them.
POST_METRICS = (
    "impressions",
    "likes",
    "comments",
    "shares",
    "saves",
    "quotes",
    "clicks",
    "video_views",
)
INTERACTION_FIELDS = ("likes", "comments", "shares", "saves", "quotes")
METRIC_LABELS = {
    "posts": _("Posts"),
    "impressions": _("Impressions"),
    "likes": _("Likes"),
    "comments": _("Comments"),
    "shares": _("Shares"),
    "saves": _("Saves"),
    "quotes": _("Quotes"),
    "clicks": _("Platform clicks"),
    "video_views": _("Video views"),
    "interactions": _("Interactions"),
    "engagement_rate": _("Engagement rate"),
    "link_clicks": _("Short-link clicks"),
    "unique_link_clicks": _("Unique short-link clicks"),
}
RANKING_CHOICES = [
    ("interactions", METRIC_LABELS["interactions"]),
    ("engagement_rate", METRIC_LABELS["engagement_rate"]),
    *((m, METRIC_LABELS[m]) for m in POST_METRICS),
]
RANKING_KEYS = frozenset(key for key, _label in RANKING_CHOICES)

# Best time to post: a weekday x hour slot counts once it has this many posts; below that many
# posts in the whole window, the page says the data is thin.
HEATMAP_DAYS = 90
MIN_SLOT_POSTS = 3
THIN_POSTS = 30
TOP_POSTS = 10

IMPRESSION = "impression"
FOLLOWER = "follower"


# --- expressions --------------------------------------------------------------------------------


def interactions_expression() -> ExpressionWrapper:
    total = None
    for name in INTERACTION_FIELDS:
        term = Coalesce(F(name), Value(0), output_field=BigIntegerField())
        total = term if total is None else total + term
    return ExpressionWrapper(total, output_field=BigIntegerField())


def _reports_interactions() -> Q:
    reported = Q()
    for name in INTERACTION_FIELDS:
        reported |= Q(**{f"{name}__isnull": False})
    return reported


def with_rates(queryset: QuerySet, tz: ZoneInfo) -> QuerySet:
    """RemotePosts annotated with `interactions`, `followers_then` (the channel's followers on
    the local publish day) and `rate` (the post's engagement rate, a fraction, or NULL).

    The publish day's follower count comes with a join on (channel, day), one row at most; only
    where that day has no count do two subqueries look for the latest count before it, else the
    earliest after it (a channel connected after the post was published)."""
    day = TruncDate("published_at", tzinfo=tz)
    # (TruncDate needs to know the type of what it truncates; an OuterRef does not say.)
    outer_day = TruncDate(
        ExpressionWrapper(OuterRef("published_at"), output_field=DateTimeField()), tzinfo=tz
    )
    snapshots = AccountSnapshot.objects.filter(
        channel_id=OuterRef("channel_id"), followers__gt=0
    ).values("followers")
    followers = Coalesce(
        NullIf(F("publish_day__followers"), 0),
        Subquery(snapshots.filter(day__lte=outer_day).order_by("-day")[:1]),
        Subquery(snapshots.filter(day__gt=outer_day).order_by("day")[:1]),
        output_field=BigIntegerField(),
    )
    interactions = Cast(interactions_expression(), FloatField())
    rate = Case(
        When(~_reports_interactions(), then=Value(None, output_field=FloatField())),
        When(impressions__gt=0, then=interactions / Cast(F("impressions"), FloatField())),
        default=interactions / Cast(followers, FloatField()),
        output_field=FloatField(),
    )
    return queryset.annotate(
        publish_day=FilteredRelation(
            "channel__account_snapshots", condition=Q(channel__account_snapshots__day=day)
        )
    ).annotate(interactions=interactions_expression(), followers_then=followers, rate=rate)


def _published_in(start: dt.datetime, end: dt.datetime) -> Q:
    return Q(published_at__gte=start, published_at__lt=end)


def _remote_posts(workspace: Workspace) -> QuerySet:
    return RemotePost.objects.filter(workspace=workspace).order_by()


# --- figures: sums over a set of posts ---------------------------------------------------------


@dataclass
class Figures:
    """Totals over a set of posts (one channel or several), additive.

    `reported[m]` counts the posts that report metric m: a metric no post reports is "—", not 0.
    """

    posts: int = 0
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(POST_METRICS, 0))
    reported: dict[str, int] = field(default_factory=lambda: dict.fromkeys(POST_METRICS, 0))
    interactions: int = 0
    interaction_posts: int = 0  # posts reporting at least one interaction
    # per impression: the posts with impressions > 0
    rated_impressions: int = 0
    impression_interactions: int = 0
    impression_posts: int = 0
    # per follower: the posts without impressions, on channels whose followers are known
    follower_posts: int = 0
    follower_interactions: int = 0
    follower_exposure: int = 0  # sum over those posts of the channel's followers

    def value(self, metric: str) -> int | None:
        if metric == "posts":
            return self.posts
        if metric == "interactions":
            return self.interactions if self.interaction_posts else None
        return self.sums[metric] if self.reported[metric] else None

    @property
    def rate_per_impression(self) -> float | None:
        if not self.rated_impressions:
            return None
        return self.impression_interactions / self.rated_impressions

    @property
    def rate_per_follower(self) -> float | None:
        if not self.follower_exposure:
            return None
        return self.follower_interactions / self.follower_exposure

    @property
    def rate(self) -> tuple[float | None, str | None]:
        """The headline rate and its basis: per impression where any post reports
        impressions, else per follower."""
        if self.rated_impressions:
            return self.rate_per_impression, IMPRESSION
        if self.follower_exposure:
            return self.rate_per_follower, FOLLOWER
        return None, None

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            posts=self.posts + other.posts,
            sums={m: self.sums[m] + other.sums[m] for m in POST_METRICS},
            reported={m: self.reported[m] + other.reported[m] for m in POST_METRICS},
            interactions=self.interactions + other.interactions,
            interaction_posts=self.interaction_posts + other.interaction_posts,
            rated_impressions=self.rated_impressions + other.rated_impressions,
            impression_interactions=self.impression_interactions + other.impression_interactions,
            impression_posts=self.impression_posts + other.impression_posts,
            follower_posts=self.follower_posts + other.follower_posts,
            follower_interactions=self.follower_interactions + other.follower_interactions,
            follower_exposure=self.follower_exposure + other.follower_exposure,
        )


def _figure_aggregates() -> dict:
    """Aggregates for Figures over the posts of a group."""
    interactions = interactions_expression()
    with_impressions = Q(impressions__gt=0)
    without_impressions = Q(impressions__isnull=True) | Q(impressions=0)
    aggregates = {
        "n_posts": Count("pk"),
        "sum_interactions": Sum(interactions),
        "n_interaction_posts": Count("pk", filter=_reports_interactions()),
        "sum_impression_interactions": Sum(interactions, filter=with_impressions),
        "n_impression_posts": Count("pk", filter=with_impressions),
        "n_noimp_posts": Count("pk", filter=without_impressions & _reports_interactions()),
        "sum_noimp_interactions": Sum(interactions, filter=without_impressions),
    }
    for metric in POST_METRICS:
        aggregates[f"sum_{metric}"] = Sum(metric)
        aggregates[f"n_{metric}"] = Count(metric)
    return aggregates


def _figures(row: dict, followers: int | None) -> Figures:
    def get(name: str) -> int:
        return int(row.get(name) or 0)

    noimp_posts = get("n_noimp_posts")
    known = bool(followers) and noimp_posts > 0
    return Figures(
        posts=get("n_posts"),
        sums={m: get(f"sum_{m}") for m in POST_METRICS},
        reported={m: get(f"n_{m}") for m in POST_METRICS},
        interactions=get("sum_interactions"),
        interaction_posts=get("n_interaction_posts"),
        rated_impressions=get("sum_impressions"),  # posts with 0 impressions add nothing
        impression_interactions=get("sum_impression_interactions"),
        impression_posts=get("n_impression_posts"),
        follower_posts=noimp_posts if known else 0,
        follower_interactions=get("sum_noimp_interactions") if known else 0,
        follower_exposure=noimp_posts * followers if known else 0,
    )


# --- change against the previous period ---------------------------------------------------------


@dataclass(frozen=True)
class Change:
    current: float | int | None
    previous: float | int | None

    @property
    def ratio(self) -> float | None:
        """Relative change (0.25 = +25 %); None without a previous value to compare with."""
        if self.current is None or not self.previous:
            return None
        return (self.current - self.previous) / self.previous

    @property
    def points(self) -> float | None:
        """Absolute difference (for rates: percentage points when multiplied by 100)."""
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def direction(self) -> str:
        delta = self.points
        if delta is None or delta == 0:
            return "flat"
        return "up" if delta > 0 else "down"


# --- the dashboard ----------------------------------------------------------------------------


@dataclass
class ChannelRow:
    channel: Channel
    current: Figures
    previous: Figures
    followers: int | None  # latest known count up to the period's last day
    followers_first: int | None  # first count inside the period
    followers_last: int | None  # last count inside the period

    @property
    def growth(self) -> int | None:
        """Follower growth in the period: last - first count inside it (None: < 2 counts)."""
        if self.followers_first is None or self.followers_last is None:
            return None
        return self.followers_last - self.followers_first


@dataclass
class DayRow:
    day: dt.date
    figures: dict[str, int]  # posts, each metric, interactions (0 on a day without posts)
    link_clicks: int = 0
    unique_link_clicks: int = 0  # one per visitor, link and UTC day


@dataclass
class Dashboard:
    period: Period
    previous: Period
    channels: list[ChannelRow]
    current: Figures
    before: Figures
    days: list[DayRow]
    previous_days: list[DayRow]
    link_clicks: int
    previous_link_clicks: int
    unique_link_clicks: int
    previous_unique_link_clicks: int
    heatmap: Heatmap
    campaigns: list[CampaignRow]
    top_posts: list[RemotePost]

    @property
    def followers(self) -> int | None:
        known = [row.followers for row in self.channels if row.followers is not None]
        return sum(known) if known else None

    @property
    def follower_growth(self) -> int | None:
        known = [row.growth for row in self.channels if row.growth is not None]
        return sum(known) if known else None

    def change(self, metric: str) -> Change:
        if metric == "link_clicks":
            return Change(self.link_clicks, self.previous_link_clicks)
        if metric == "unique_link_clicks":
            return Change(self.unique_link_clicks, self.previous_unique_link_clicks)
        return Change(self.current.value(metric), self.before.value(metric))

    def rate_change(self, basis: str) -> Change:
        if basis == IMPRESSION:
            return Change(self.current.rate_per_impression, self.before.rate_per_impression)
        return Change(self.current.rate_per_follower, self.before.rate_per_follower)

    @property
    def shown_metrics(self) -> list[str]:
        """The post metrics some post in either period reports, in page order."""
        return [
            m
            for m in POST_METRICS
            if self.current.reported[m] or self.before.reported[m] or m == "impressions"
        ]

    @property
    def top_channel(self) -> ChannelRow | None:
        """The channel whose posts earned the most interactions in the period."""
        candidates = [r for r in self.channels if r.current.interactions > 0]
        return max(candidates, key=lambda r: r.current.interactions, default=None)

    @property
    def best_rate_channel(self) -> ChannelRow | None:
        """The highest engagement rate among channels with at least MIN_SLOT_POSTS posts, per
        impression where any channel has impressions (rates on different bases are never
        compared)."""
        rated = [
            r
            for r in self.channels
            if r.current.posts >= MIN_SLOT_POSTS and r.current.rate[0] is not None
        ]
        per_impression = [r for r in rated if r.current.rate[1] == IMPRESSION]
        pool = per_impression or rated
        return max(pool, key=lambda r: r.current.rate[0], default=None)


def _channel_rows(workspace: Workspace, period: Period, previous: Period) -> list[ChannelRow]:
    """Per channel: figures for both periods (one query, grouped by channel and period) and
    followers (one query)."""
    rows = {
        (row["channel_id"], row["current"]): row
        for row in _remote_posts(workspace)
        .filter(published_at__gte=previous.start, published_at__lt=period.end)
        .annotate(
            current=Case(
                When(published_at__gte=period.start, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .values("channel_id", "current")
        .annotate(**_figure_aggregates())
    }

    def count(first: dt.date | None, last: dt.date, order: str) -> Subquery:
        snapshots = AccountSnapshot.objects.filter(
            channel_id=OuterRef("pk"), day__lte=last, followers__isnull=False
        )
        if first is not None:
            snapshots = snapshots.filter(day__gte=first)
        return Subquery(snapshots.order_by(order).values("followers")[:1])

    channels = Channel.objects.filter(workspace=workspace).annotate(
        followers_known=count(None, period.last, "-day"),
        followers_first=count(period.first, period.last, "day"),
        followers_last=count(period.first, period.last, "-day"),
        followers_before=count(None, previous.last, "-day"),
    )
    result = []
    for channel in channels:
        current, before = rows.get((channel.pk, True), {}), rows.get((channel.pk, False), {})
        if not current and not before and channel.followers_known is None:
            continue  # nothing to say about this channel
        followers_before = channel.followers_before or channel.followers_known
        result.append(
            ChannelRow(
                channel=channel,
                current=_figures(current, channel.followers_known),
                previous=_figures(before, followers_before),
                followers=channel.followers_known,
                followers_first=channel.followers_first,
                followers_last=channel.followers_last
                if channel.followers_first is not None
                else None,
            )
        )
    result.sort(key=lambda r: (-r.current.interactions, -r.current.posts, r.channel.name))
    return result


def _daily(workspace: Workspace, period: Period, previous: Period) -> dict[dt.date, dict]:
    """{local publish day: {posts, each metric, interactions}} over both periods, one query."""
    rows = (
        _remote_posts(workspace)
        .filter(published_at__gte=previous.start, published_at__lt=period.end)
        .annotate(day=TruncDate("published_at", tzinfo=period.tz))
        .values("day")
        .annotate(
            posts=Count("pk"),
            interactions=Sum(interactions_expression()),
            **{metric: Sum(metric) for metric in POST_METRICS},
        )
    )
    return {row.pop("day"): {key: int(value or 0) for key, value in row.items()} for row in rows}


def _day_rows(period: Period, by_day: dict, clicks: dict[dt.date, ClickCounts]) -> list[DayRow]:
    empty = {"posts": 0, "interactions": 0, **dict.fromkeys(POST_METRICS, 0)}
    none = ClickCounts()
    return [
        DayRow(
            day=day,
            figures=by_day.get(day, empty),
            link_clicks=clicks.get(day, none).clicks,
            unique_link_clicks=clicks.get(day, none).unique,
        )
        for day in period.dates()
    ]


def channel_table(*, workspace: Workspace, period: Period) -> list[ChannelRow]:
    """The per-channel table alone (two queries)."""
    return _channel_rows(workspace, period, period.previous())


def daily_table(*, workspace: Workspace, period: Period) -> list[DayRow]:
    """The daily figures of the period alone (two queries)."""
    clicks = link_clicks_daily(
        workspace=workspace, start=period.start, end=period.end, tz=period.tz
    )
    return _day_rows(period, _daily(workspace, period, period), clicks)


def dashboard(*, workspace: Workspace, period: Period) -> Dashboard:
    """Everything the dashboard shows for `period`, compared with the period before it."""
    previous = period.previous()
    channels = _channel_rows(workspace, period, previous)
    current = sum((r.current for r in channels), Figures())
    before = sum((r.previous for r in channels), Figures())
    by_day = _daily(workspace, period, previous)
    clicks = link_clicks_daily(
        workspace=workspace, start=previous.start, end=period.end, tz=period.tz
    )
    days = _day_rows(period, by_day, clicks)
    previous_days = _day_rows(previous, by_day, clicks)
    return Dashboard(
        period=period,
        previous=previous,
        channels=channels,
        current=current,
        before=before,
        days=days,
        previous_days=previous_days,
        link_clicks=sum(d.link_clicks for d in days),
        previous_link_clicks=sum(d.link_clicks for d in previous_days),
        unique_link_clicks=sum(d.unique_link_clicks for d in days),
        previous_unique_link_clicks=sum(d.unique_link_clicks for d in previous_days),
        heatmap=heatmap(workspace=workspace, period=heatmap_period_for(period)),
        campaigns=campaign_report(workspace=workspace, period=period),
        top_posts=ranked_posts(workspace=workspace, period=period, metric="interactions", limit=5),
    )


# --- best time to post --------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    weekday: int  # ISO: 1 = Monday .. 7 = Sunday
    hour: int  # local hour, 0..23
    posts: int
    rate: float  # mean engagement rate per post (a fraction)


@dataclass
class Heatmap:
    period: Period
    cells: dict[tuple[int, int], Slot]
    min_posts: int = MIN_SLOT_POSTS

    @property
    def posts(self) -> int:
        return sum(slot.posts for slot in self.cells.values())

    @property
    def qualified(self) -> list[Slot]:
        return [s for s in self.cells.values() if s.posts >= self.min_posts]

    @property
    def thin(self) -> bool:
        """Too little data to trust: few posts overall, or fewer than three usable slots."""
        return self.posts < THIN_POSTS or len(self.qualified) < 3

    def best(self, count: int = 3) -> list[Slot]:
        return sorted(self.qualified, key=lambda s: (-s.rate, -s.posts, s.weekday, s.hour))[:count]

    def hours(self) -> list[Slot]:
        """Per local hour over all weekdays (weekday 0): posts and their mean rate."""
        posts: dict[int, int] = defaultdict(int)
        total: dict[int, float] = defaultdict(float)
        for slot in self.cells.values():
            posts[slot.hour] += slot.posts
            total[slot.hour] += slot.rate * slot.posts
        return [Slot(0, hour, posts[hour], total[hour] / posts[hour]) for hour in sorted(posts)]

    @property
    def best_hour(self) -> Slot | None:
        usable = [s for s in self.hours() if s.posts >= self.min_posts]
        return max(usable, key=lambda s: (s.rate, s.posts), default=None)

    @property
    def max_rate(self) -> float:
        return max((s.rate for s in self.qualified), default=0.0)


def heatmap_period_for(period: Period) -> Period:
    """The best-time window: the period itself if it spans HEATMAP_DAYS or more, else the
    HEATMAP_DAYS up to its last day (a week is too little to find a best hour)."""
    if period.days >= HEATMAP_DAYS:
        return period
    return Period(
        period.last - dt.timedelta(days=HEATMAP_DAYS - 1), period.last, period.tz, "custom"
    )


def heatmap(*, workspace: Workspace, period: Period) -> Heatmap:
    """Mean engagement rate per post by local weekday and hour of publishing; one query."""
    tz = period.tz
    rows = (
        with_rates(_remote_posts(workspace).filter(_published_in(period.start, period.end)), tz)
        .annotate(
            weekday=ExtractIsoWeekDay("published_at", tzinfo=tz),
            hour=ExtractHour("published_at", tzinfo=tz),
        )
        .filter(rate__isnull=False)
        .values("weekday", "hour")
        .annotate(posts=Count("pk"), mean=Avg("rate"))
    )
    cells = {
        (row["weekday"], row["hour"]): Slot(
            row["weekday"], row["hour"], row["posts"], float(row["mean"])
        )
        for row in rows
    }
    return Heatmap(period=period, cells=cells)


def best_slots(*, workspace: Workspace) -> Heatmap:
    """The last HEATMAP_DAYS of the workspace, for the editor's hint."""
    return heatmap(workspace=workspace, period=last_days(HEATMAP_DAYS, workspace.tz))


# --- top and bottom posts -----------------------------------------------------------------------


def ranked_posts(
    *,
    workspace: Workspace,
    period: Period,
    metric: str,
    limit: int = TOP_POSTS,
    ascending: bool = False,
) -> list[RemotePost]:
    """The publications (one post on one channel) of the period ranked by `metric`; posts that
    do not report it are left out. Each carries `interactions`, `rate` and `value`. One query:
    the ranking runs on the remote posts alone, the page's columns are joined to the winners."""
    if metric not in RANKING_KEYS:
        raise ValueError(f"unknown metric {metric!r}")
    candidates = _remote_posts(workspace).filter(_published_in(period.start, period.end))
    if metric == "interactions":
        candidates = candidates.filter(_reports_interactions()).annotate(
            value=interactions_expression()
        )
    elif metric == "engagement_rate":
        candidates = with_rates(candidates, period.tz).filter(rate__isnull=False)
        candidates = candidates.annotate(value=F("rate"))
    else:
        candidates = candidates.filter(**{f"{metric}__isnull": False}).annotate(value=F(metric))
    order = [F("value").asc() if ascending else F("value").desc()]
    order += ["published_at", "pk"] if ascending else ["-published_at", "-pk"]
    winners = candidates.order_by(*order).values("pk")[:limit]
    ranked = (
        with_rates(
            RemotePost.objects.filter(pk__in=Subquery(winners))
            .select_related("channel", "delivery__post")
            .defer("delivery__post__body", "delivery__post__note", "delivery__parts"),
            period.tz,
        )
        .annotate(
            value=F("rate")
            if metric == "engagement_rate"
            else (F("interactions") if metric == "interactions" else F(metric))
        )
        .order_by(*order)
    )
    return list(ranked)


# --- campaigns ----------------------------------------------------------------------------------


@dataclass
class CampaignRow:
    campaign: Campaign | None  # None: posts without a campaign and imported posts
    posts: int  # our posts (one post may go out on several channels)
    publications: int  # posts on channels
    impressions: int | None
    interactions: int | None
    platform_clicks: int | None
    link_clicks: int
    unique_link_clicks: int = 0

    @property
    def cost_per_click(self) -> tuple[Decimal | None, str | None]:
        """budget / clicks and the clicks used: our unique short-link clicks where the campaign
        has any (measured the same way on every platform, one per visitor, link and day: a
        visitor clicking again costs nothing more), else the platforms' own link clicks.
        (None, None) without a budget or without clicks."""
        budget = self.campaign.budget if self.campaign else None
        if budget is None:
            return None, None
        if self.unique_link_clicks:
            clicks, basis = self.unique_link_clicks, "link"
        elif self.platform_clicks:
            clicks, basis = self.platform_clicks, "platform"
        else:
            return None, None
        value = (budget / Decimal(clicks)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return value, basis


def campaign_report(*, workspace: Workspace, period: Period) -> list[CampaignRow]:
    """Per campaign: its posts published in the period with their reach (impressions),
    interactions, platform clicks, and the short-link clicks of the period. Three queries."""
    within = _published_in(period.start, period.end)
    interactions = interactions_expression()
    rows = {
        row["campaign_id"]: row
        for row in _remote_posts(workspace)
        .filter(within)
        .values(campaign_id=F("delivery__post__campaign_id"))
        .annotate(
            n_posts=Count("delivery__post_id", distinct=True),
            n_publications=Count("pk"),
            sum_impressions=Sum("impressions"),
            n_impressions=Count("impressions"),
            sum_interactions=Sum(interactions, filter=_reports_interactions()),
            sum_clicks=Sum("clicks"),
            n_clicks=Count("clicks"),
        )
    }
    clicks = link_clicks_by_campaign(workspace=workspace, start=period.start, end=period.end)
    campaigns = list(
        Campaign.objects.filter(workspace=workspace).filter(
            Q(pk__in=[pk for pk in {*rows, *clicks} if pk is not None])
            | Q(starts_on__lte=period.last, ends_on__gte=period.first)
            | Q(starts_on__lte=period.last, ends_on__isnull=True)
        )
    )

    def make(campaign: Campaign | None, row: dict, link_clicks: ClickCounts) -> CampaignRow:
        return CampaignRow(
            campaign=campaign,
            posts=row.get("n_posts", 0),
            publications=row.get("n_publications", 0),
            impressions=row["sum_impressions"] if row.get("n_impressions") else None,
            interactions=row.get("sum_interactions"),
            platform_clicks=row["sum_clicks"] if row.get("n_clicks") else None,
            link_clicks=link_clicks.clicks,
            unique_link_clicks=link_clicks.unique,
        )

    none = ClickCounts()
    result = [make(c, rows.get(c.pk, {}), clicks.get(c.pk, none)) for c in campaigns]
    result.sort(
        key=lambda r: (
            -r.unique_link_clicks,
            -r.link_clicks,
            -(r.platform_clicks or 0),
            r.campaign.name,
        )
    )
    if None in rows or None in clicks:
        result.append(make(None, rows.get(None, {}), clicks.get(None, none)))
    return result


# --- one post -----------------------------------------------------------------------------------


@dataclass
class Curve:
    """One channel's lifetime totals over time since publishing."""

    remote_post: RemotePost
    # (hours since publishing, {metric: value}, when the numbers were pulled)
    points: list[tuple[float, dict[str, int | None], dt.datetime]]

    @property
    def channel(self) -> Channel:
        return self.remote_post.channel


@dataclass
class PostReport:
    post: Post | None  # None for a post found on the account (imported)
    curves: list[Curve]
    links: list[TrackedLink]
    total: Figures

    @property
    def metrics(self) -> list[str]:
        """The metrics some channel reports, in page order, with interactions after likes..."""
        reported = [m for m in POST_METRICS if self.total.reported[m]]
        return reported

    @property
    def link_clicks(self) -> int:
        return sum(link.clicks for link in self.links)

    @property
    def unique_link_clicks(self) -> int:
        return sum(link.unique_clicks for link in self.links)


def _post_report(workspace: Workspace, remote_posts: QuerySet, post: Post | None) -> PostReport:
    remote_posts = list(with_rates(remote_posts.select_related("channel"), workspace.tz))
    remote_posts.sort(key=lambda rp: (rp.channel.name, rp.pk))
    by_post: dict[int, list] = defaultdict(list)
    snapshots = (
        MetricSnapshot.objects.filter(remote_post__in=[rp.pk for rp in remote_posts])
        .order_by("remote_post_id", "taken_at", "seq")
        .values_list("remote_post_id", "taken_at", *POST_METRICS)
    )
    for remote_post_id, taken_at, *values in snapshots:
        by_post[remote_post_id].append((taken_at, dict(zip(POST_METRICS, values, strict=True))))
    curves = []
    total = Figures()
    for rp in remote_posts:
        points = [
            (max((taken_at - rp.published_at).total_seconds() / 3600, 0.0), values, taken_at)
            for taken_at, values in by_post.get(rp.pk, [])
        ]
        curves.append(Curve(remote_post=rp, points=points))
        total = total + _single(rp)
    links = (
        list(
            TrackedLink.objects.filter(workspace=workspace, post=post)
            .select_related("channel")
            .order_by("channel__name", "target_url")
        )
        if post is not None
        else []
    )
    return PostReport(post=post, curves=curves, links=links, total=total)


def _single(rp: RemotePost) -> Figures:
    """Figures of one publication (the remote post annotated as in _post_report)."""
    values = {m: getattr(rp, m) for m in POST_METRICS}
    reports = any(getattr(rp, name) is not None for name in INTERACTION_FIELDS)
    has_impressions = bool(rp.impressions)
    followers = rp.followers_then if reports and not has_impressions else None
    return Figures(
        posts=1,
        sums={m: v or 0 for m, v in values.items()},
        reported={m: int(v is not None) for m, v in values.items()},
        interactions=rp.interactions if reports else 0,
        interaction_posts=int(reports),
        rated_impressions=rp.impressions if has_impressions else 0,
        impression_interactions=rp.interactions if has_impressions else 0,
        impression_posts=int(has_impressions),
        follower_posts=1 if followers else 0,
        follower_interactions=rp.interactions if followers else 0,
        follower_exposure=followers or 0,
    )


def post_report(*, workspace: Workspace, post_id: int) -> PostReport | None:
    """Our post `post_id` on each of its channels; None if it is not one of the workspace's
    posts. Four queries (post, its remote posts, their snapshots, its short links)."""
    post = (
        Post.objects.filter(workspace=workspace, pk=post_id)
        .select_related("campaign")
        .only("pk", "title", "body", "workspace_id", "scheduled_at", "campaign")
        .first()
    )
    if post is None:
        return None
    remote_posts = _remote_posts(workspace).filter(delivery__post_id=post.pk)
    return _post_report(workspace, remote_posts, post)


def remote_post_report(*, workspace: Workspace, remote_post_id: int) -> PostReport | None:
    """A publication without a post of ours (found on the account); three queries."""
    remote_posts = _remote_posts(workspace).filter(pk=remote_post_id)
    report = _post_report(workspace, remote_posts, None)
    return report if report.curves else None


@dataclass(frozen=True)
class PostSummary:
    publications: int
    impressions: int | None
    interactions: int | None


def post_summary(*, workspace: Workspace, post_id: int) -> PostSummary | None:
    """For the editor: is the post live anywhere, and its headline numbers. One query."""
    row = (
        _remote_posts(workspace)
        .filter(delivery__post_id=post_id)
        .aggregate(
            n_publications=Count("pk"),
            sum_impressions=Sum("impressions"),
            n_impressions=Count("impressions"),
            sum_interactions=Sum(interactions_expression(), filter=_reports_interactions()),
        )
    )
    if not row["n_publications"]:
        return None
    return PostSummary(
        publications=row["n_publications"],
        impressions=row["sum_impressions"] if row["n_impressions"] else None,
        interactions=row["sum_interactions"],
    )
