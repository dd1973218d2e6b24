"""Reading from a channel's platform, shared by every part of the metrics: settings in seconds, the
platform's adapter (None when not configured), the channel's own read bucket, and a call that
refreshes expired credentials once."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from calendar_app.models import Channel, ChannelState
from publishing import ratelimit
from publishing.adapters.base import AuthExpired, PlatformAdapter, RateLimited
from publishing.adapters.registry import AdapterNotConfigured, get_adapter
from publishing.models import ChannelCredentials


def setting_seconds(name: str) -> dt.timedelta:
    """A setting given in seconds (METRICS_LEASE_SECONDS...), as a timedelta."""
    return dt.timedelta(seconds=float(getattr(settings, name)))


def _read_limits(platform: str) -> tuple[float, float]:
    table = settings.METRICS_RATE_LIMITS
    return tuple(table.get(platform, table["default"]))  # type: ignore[return-value]


def read_bucket_key(channel_id: int) -> str:
    # Apart from the publishing bucket (ratelimit.bucket_key); the database name keeps
    # installations and test databases on one Redis apart, as there.
    return f"publishing:metrics-bucket:{settings.DATABASES['default']['NAME']}:{channel_id}"


def metrics_rate_take(*, channel_id: int, platform: str) -> float:
    """Take (or reserve) one read token of the channel; the seconds to wait for it (0: go).
    The engine's token bucket script, on the channel's read bucket."""
    burst, rate = _read_limits(platform)
    return ratelimit.bucket_take(read_bucket_key(channel_id), burst=burst, rate=rate)


def metrics_rate_reset(*, channel_id: int) -> None:
    ratelimit.bucket_reset(read_bucket_key(channel_id))


def adapter_or_none(platform: str) -> PlatformAdapter | None:
    """The platform's adapter; None when the platform is not configured."""
    try:
        return get_adapter(platform)
    except AdapterNotConfigured:
        return None


class PullLater(Exception):
    """The channel's read bucket (or the platform) says wait `seconds`; nothing was written."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"try again in {seconds:.0f} s")
        self.seconds = seconds


def readable_channel(channel_id: int) -> tuple[Channel, ChannelCredentials, PlatformAdapter] | None:
    """(channel, its stored credentials, its adapter) when the channel is connected and its
    platform configured; else None."""
    channel = Channel.objects.select_related("credentials", "workspace").filter(pk=channel_id)
    channel = channel.first()
    if channel is None or channel.state != ChannelState.CONNECTED:
        return None
    stored = getattr(channel, "credentials", None)
    adapter = adapter_or_none(channel.platform)
    if stored is None or adapter is None:
        return None
    return channel, stored, adapter


def call_with_refresh(channel: Channel, stored: ChannelCredentials, call):
    """`call(credentials)`; on AuthExpired, refresh once through the engine's refresh service
    and call again. None when the refresh was refused (the channel now needs reconnecting)."""
    from publishing.accounts import credentials_refresh
    from publishing.credentials import credentials_read

    try:
        try:
            return call(credentials_read(stored))
        except AuthExpired:
            credentials = credentials_refresh(channel.pk, stale_version=stored.version)
            return None if credentials is None else call(credentials)
    except RateLimited as exc:
        raise PullLater(exc.retry_after or 60.0) from exc
