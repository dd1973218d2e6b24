"""Account snapshots: a channel's account numbers (followers...) once per local day of its
workspace, one upserted row per channel and day."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

from django.utils import timezone

from calendar_app.models import Channel, ChannelState
from publishing.adapters.base import ACCOUNT_METRIC_NAMES, PermanentError
from publishing.adapters.registry import configured_platforms
from publishing.metrics.reads import (
    PullLater,
    adapter_or_none,
    call_with_refresh,
    metrics_rate_take,
    readable_channel,
)
from publishing.models import AccountSnapshot

logger = logging.getLogger(__name__)


def _account_platforms() -> list[str]:
    """Platforms whose adapter reports account numbers (followers...)."""
    found = []
    for platform in configured_platforms():
        adapter = adapter_or_none(platform)
        if adapter is not None and adapter.capabilities.account_metrics:
            found.append(platform)
    return found


def _local_day(now: dt.datetime, tz_name: str) -> dt.date:
    try:
        return now.astimezone(zoneinfo.ZoneInfo(tz_name)).date()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return now.astimezone(dt.UTC).date()


def account_snapshots_due(*, now: dt.datetime | None = None) -> list[int]:
    """Ids of connected channels (whose platform reports account numbers) without a snapshot for
    their workspace's current day. Beat asks every hour, so each channel's numbers are taken in
    the first hour of its local day, and a failed pull is tried again the next hour."""
    now = now or timezone.now()
    channels = list(
        Channel.objects.filter(
            state=ChannelState.CONNECTED,
            platform__in=_account_platforms(),
            credentials__isnull=False,
        )
        .order_by("pk")
        .values_list("pk", "workspace__timezone")
    )
    if not channels:
        return []
    today = {pk: _local_day(now, tz) for pk, tz in channels}
    taken = set(
        AccountSnapshot.objects.filter(
            channel_id__in=list(today), day__in=set(today.values())
        ).values_list("channel_id", "day")
    )
    return [pk for pk, day in today.items() if (pk, day) not in taken]


def account_snapshot_take(
    *, channel_id: int, now: dt.datetime | None = None
) -> AccountSnapshot | None:
    """Pull a channel's account numbers and store them as its snapshot for the workspace's
    current day: a second pull that day updates the row (one upsert), never adds one. None
    when the channel is not connected or its platform reports no account numbers.
    Raises PullLater (rate limited) and TransientError (try later); a refusal (PermanentError)
    is logged and nothing stored."""
    from publishing.accounts import channel_account

    now = now or timezone.now()
    found = readable_channel(channel_id)
    if found is None:
        return None
    channel, stored, adapter = found
    if not adapter.capabilities.account_metrics:
        return None
    wait = metrics_rate_take(channel_id=channel.pk, platform=channel.platform)
    if wait > 0:
        raise PullLater(wait)
    account = channel_account(channel)
    try:
        metrics = call_with_refresh(
            channel,
            stored,
            lambda credentials: adapter.fetch_account_metrics(
                account=account, credentials=credentials
            ),
        )
    except NotImplementedError:
        return None
    except PermanentError as exc:  # e.g. a missing permission: asked again in an hour
        logger.warning(
            "Account numbers of channel %s refused: %s", channel.pk, exc.detail or exc.message
        )
        return None
    if metrics is None:
        return None
    values = {}
    for name in ACCOUNT_METRIC_NAMES:
        value = (metrics.values or {}).get(name)
        values[name] = None if value is None else int(value)
    snapshot = AccountSnapshot(
        workspace_id=channel.workspace_id,
        channel_id=channel.pk,
        day=_local_day(now, channel.workspace.timezone),
        taken_at=now,
        raw=metrics.raw or {},
        **values,
    )
    AccountSnapshot.objects.bulk_create(
        [snapshot],
        update_conflicts=True,
        unique_fields=["channel", "day"],
        update_fields=["taken_at", "raw", *ACCOUNT_METRIC_NAMES],
    )
    return snapshot
