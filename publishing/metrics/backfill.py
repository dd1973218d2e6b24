"""History backfill: a connected channel's recent posts, listed by the platform (ours and those
made elsewhere), followed from the step still ahead, with a first snapshot from the listing."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from calendar_app.external_urls import external_url_problem, url_scheme
from calendar_app.models import Channel, ChannelState
from config import task_registry
from publishing.adapters.base import METRIC_NAMES, RemotePostInfo
from publishing.metrics.enrol import TEXT_EXCERPT
from publishing.metrics.reads import (
    PullLater,
    adapter_or_none,
    call_with_refresh,
    metrics_rate_take,
    readable_channel,
)
from publishing.metrics.schedule import schedule_for, schedule_join
from publishing.metrics.write import metric_values
from publishing.models import (
    ChannelCredentials,
    Delivery,
    DeliveryState,
    MetricSnapshot,
    RemotePost,
    RemotePostSource,
)

logger = logging.getLogger(__name__)


def backfill_problem(channel: Channel) -> str:
    """Why the history of `channel` cannot be backfilled now ("" when it can)."""
    if channel.state != ChannelState.CONNECTED:
        return _("The channel is not connected (paused or waiting for a reconnect).")
    if not ChannelCredentials.objects.filter(channel_id=channel.pk).exists():
        return _("The channel has no connected account.")
    adapter = adapter_or_none(channel.platform)
    if adapter is None or not adapter.capabilities.lists_recent_posts:
        return _("%(platform)s does not list an account's posts.") % {
            "platform": channel.get_platform_display()
        }
    return ""


def remote_posts_backfill(
    *, channel_id: int, days: int | None = None, now: dt.datetime | None = None
) -> int:
    """Find the channel's posts of the last `days` (METRICS_BACKFILL_DAYS) on the platform,
    including ones not made with this app, and follow them: a RemotePost per post (linked to
    our delivery when the remote id is one of ours, else source=imported), its first snapshot
    from the listing's numbers when it has some, then the normal schedule (joining at the first
    step still ahead). Posts already followed are left alone, so running it again is safe.
    Returns how many posts were added. Raises PullLater (rate limited), TransientError (try
    later) and PermanentError (refused, e.g. a missing permission)."""
    from publishing.accounts import channel_account

    now = now or timezone.now()
    days = settings.METRICS_BACKFILL_DAYS if days is None else days
    found = readable_channel(channel_id)
    if found is None:
        return 0
    channel, stored, adapter = found
    if not adapter.capabilities.lists_recent_posts:
        return 0
    wait = metrics_rate_take(channel_id=channel.pk, platform=channel.platform)
    if wait > 0:
        raise PullLater(wait)
    since = now - dt.timedelta(days=days)
    account = channel_account(channel)
    try:
        listed = call_with_refresh(
            channel,
            stored,
            lambda credentials: adapter.list_recent_posts(
                account=account,
                credentials=credentials,
                since=since,
                limit=settings.METRICS_BACKFILL_LIMIT,
            ),
        )
    except NotImplementedError:
        return 0
    if not listed:
        return 0
    return _backfill_store(
        channel, listed, since=since, now=now, pulls=bool(adapter.capabilities.metrics)
    )


def _link_to_store(channel: Channel, remote_id: str, url: str) -> str:
    """A listed post's address when we may store and link to it (calendar_app.external_urls),
    else "" with a warning naming the post and the scheme only."""
    if not url:
        return ""
    problem = external_url_problem(url)
    if not problem:
        return url
    logger.warning(
        "channel %s (%s), post %r: the platform listed a link we do not store (scheme %s: %s)",
        channel.pk,
        channel.platform,
        remote_id,
        url_scheme(url),
        problem,
    )
    return ""


def _backfill_store(
    channel: Channel,
    listed: list[RemotePostInfo],
    *,
    since: dt.datetime,
    now: dt.datetime,
    pulls: bool,
) -> int:
    posts: dict[str, RemotePostInfo] = {}
    for info in listed:
        if info.remote_id and info.published_at >= since and info.published_at <= now:
            posts.setdefault(str(info.remote_id)[:500], info)
    if not posts:
        return 0
    with transaction.atomic():
        known = set(
            RemotePost.objects.filter(channel_id=channel.pk, remote_id__in=list(posts)).values_list(
                "remote_id", flat=True
            )
        )
        new = {rid: info for rid, info in posts.items() if rid not in known}
        if not new:
            return 0
        ours = dict(
            Delivery.objects.filter(
                channel_id=channel.pk,
                state=DeliveryState.PUBLISHED,
                remote_id__in=list(new),
                remote_post__isnull=True,
            ).values_list("remote_id", "pk")
        )
        rows = []
        steps = schedule_for(adapter_or_none(channel.platform))
        for rid, info in new.items():
            step, next_pull_at = schedule_join(published_at=info.published_at, now=now, steps=steps)
            values = metric_values(info.metrics) if info.metrics else (None,) * len(METRIC_NAMES)
            rows.append(
                RemotePost(
                    workspace_id=channel.workspace_id,
                    channel_id=channel.pk,
                    delivery_id=ours.get(rid),
                    source=RemotePostSource.APP if rid in ours else RemotePostSource.IMPORTED,
                    remote_id=rid,
                    url=_link_to_store(channel, rid, info.url),
                    text=(info.text or "")[:TEXT_EXCERPT],
                    published_at=info.published_at,
                    step=step,
                    next_pull_at=next_pull_at if pulls else None,
                    # The listing's numbers are the first pull: the time marks our rows below.
                    last_pulled_at=now if info.metrics else None,
                    **dict(zip(METRIC_NAMES, values, strict=True)),
                )
            )
        RemotePost.objects.bulk_create(rows, ignore_conflicts=True)
        with_numbers = [rid for rid, info in new.items() if info.metrics]
        if with_numbers:
            created = RemotePost.objects.filter(
                channel_id=channel.pk, remote_id__in=with_numbers, last_pulled_at=now
            ).values_list("pk", "remote_id", "step")
            MetricSnapshot.objects.bulk_create(
                [
                    MetricSnapshot(
                        remote_post_id=pk,
                        seq=step,  # the pull for `step` gets step + 1
                        taken_at=now,
                        raw=new[rid].metrics.raw or {},
                        **dict(zip(METRIC_NAMES, metric_values(new[rid].metrics), strict=True)),
                    )
                    for pk, rid, step in created
                ],
                ignore_conflicts=True,
            )
    return len(new)


def remote_posts_backfill_on_commit(*, channel_id: int, platform: str) -> None:
    """After a channel was connected: queue its history backfill once the transaction commits
    (only when its platform can list posts). A broker that is down must not undo the connect,
    so a failure to queue is logged, not raised; `manage.py metrics_backfill` can run it."""
    adapter = adapter_or_none(platform)
    if adapter is None or not adapter.capabilities.lists_recent_posts:
        return

    def send() -> None:
        task_registry.task("publishing.tasks", "metrics_backfill_channel").delay(channel_id)

    transaction.on_commit(send, robust=True)
