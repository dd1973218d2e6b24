"""Building published posts with numbers for the analytics tests (rows written directly, the
way the metrics collector leaves them: RemotePost with its latest totals, snapshots, follower
counts per day)."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from calendar_app.models import Channel, Post, PostVariant
from links.models import LinkClick, TrackedLink
from publishing.models import (
    AccountSnapshot,
    Delivery,
    DeliveryState,
    MetricSnapshot,
    RemotePost,
    RemotePostSource,
)

BERLIN = ZoneInfo("Europe/Berlin")
_ids = itertools.count(1)


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0, tz=BERLIN):
    """A UTC instant for a wall-clock time in `tz` (Berlin by default)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz).astimezone(dt.UTC)


def publish(
    post: Post, channel: Channel, *, at: dt.datetime | None = None, **metrics
) -> RemotePost:
    """Our post `post` went out on `channel` at `at` (default: its time) with these totals."""
    at = at or post.scheduled_at
    PostVariant.objects.get_or_create(post=post, channel=channel)
    delivery = Delivery.objects.create(
        post=post,
        channel=channel,
        workspace=post.workspace,
        state=DeliveryState.PUBLISHED,
        due_at=at,
        run_at=at,
        idempotency_key=f"test-{post.pk}-{channel.pk}",
        remote_id=f"r-{post.pk}-{channel.pk}",
        url=f"https://social.example/{post.pk}/{channel.pk}",
        published_at=at,
    )
    return RemotePost.objects.create(
        workspace=post.workspace,
        channel=channel,
        delivery=delivery,
        source=RemotePostSource.APP,
        remote_id=delivery.remote_id,
        url=delivery.url,
        published_at=at,
        **metrics,
    )


def imported(channel: Channel, *, at: dt.datetime, text: str = "Found it", **metrics):
    """A post found on the account (published outside the app)."""
    return RemotePost.objects.create(
        workspace=channel.workspace,
        channel=channel,
        source=RemotePostSource.IMPORTED,
        remote_id=f"imported-{next(_ids)}",
        text=text,
        published_at=at,
        **metrics,
    )


def snapshot(remote_post: RemotePost, seq: int, *, after: dt.timedelta, **metrics):
    return MetricSnapshot.objects.create(
        remote_post=remote_post,
        seq=seq,
        taken_at=remote_post.published_at + after,
        **metrics,
    )


def followers(channel: Channel, day: dt.date, count: int) -> AccountSnapshot:
    return AccountSnapshot.objects.create(
        workspace=channel.workspace,
        channel=channel,
        day=day,
        taken_at=dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC),
        followers=count,
    )


def clicks(
    post: Post | None,
    channel: Channel,
    *,
    at: dt.datetime,
    count: int,
    campaign=None,
    target: str = "https://shop.example/",
    unique: int | None = None,
) -> TrackedLink:
    """`count` human clicks at `at` on a short link of `post` on `channel`, the first `unique`
    of them (all by default) unique."""
    unique = count if unique is None else unique
    link = TrackedLink.objects.create(
        workspace=channel.workspace,
        code=f"c{next(_ids):08d}",
        target_url=target,
        target_hash=f"{next(_ids):064d}",
        post=post,
        channel=channel,
        campaign=campaign if campaign is not None else getattr(post, "campaign", None),
        clicks=count,
        unique_clicks=unique,
    )
    LinkClick.objects.bulk_create(
        LinkClick(link=link, workspace=channel.workspace, clicked_at=at, is_unique=i < unique)
        for i in range(count)
    )
    return link
