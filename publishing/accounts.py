"""The runtime side of a connected account, which the publishing engine and the metrics need
(not the connect flows, which are publishing.connections):

- `channel_account`: the adapter's view of a channel's (non-secret) account.
- `credentials_refresh` refreshes under a row lock and re-reads the stored token inside it
  (X and Bluesky rotate refresh tokens: two workers refreshing at once must not lose the
  channel); `credentials_refresh_due` finds what expires soon for the beat task; a refresh the
  platform refuses marks the channel "needs reconnect" (`channel_mark_needs_reconnect`) and
  tells the workspace managers and the authors of what is planned on it.

The refresh holds the lock while it talks to the platform, on purpose. Secrets never reach a
message or a log line.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from calendar_app.models import Channel, ChannelState, PostVariant
from calendar_app.permissions import managers_of
from calendar_app.workflow import PLANNED
from publishing.adapters.base import Account, AuthExpired, Credentials, PermanentError
from publishing.adapters.registry import get_adapter
from publishing.credentials import (
    credentials_read,
    credentials_to_json,
    encrypt,
    merge_credentials,
)
from publishing.models import ChannelCredentials

logger = logging.getLogger(__name__)

REFRESH_AHEAD = dt.timedelta(minutes=30)  # refresh tokens that expire within this


def channel_account(channel: Channel) -> Account:
    """The adapter's view of a channel's (non-secret) account."""
    config = dict(channel.config or {})
    return Account(
        account_id=channel.account_id,
        handle=channel.handle,
        name=channel.name,
        avatar_url=str(config.get("avatar_url", "")),
        config=config,
    )


# --- refresh ----------------------------------------------------------------------------------


def credentials_of(channel_id: int) -> tuple[Credentials, int] | None:
    """(decrypted credentials, version) of a channel, or None when it has none."""
    row = ChannelCredentials.objects.filter(channel_id=channel_id).first()
    return (credentials_read(row), row.version) if row else None


def credentials_refresh(
    channel_id: int, *, stale_version: int | None = None, now: dt.datetime | None = None
) -> Credentials | None:
    """Refresh a channel's access token under a lock on its credentials row.

    The stored credentials are re-read inside the lock: if another worker refreshed meanwhile
    (the version moved on from `stale_version`, or, without one, the token no longer expires
    soon), its result is returned and the platform is not asked again — a rotated refresh token
    is used once only. If the platform refuses (AuthExpired / PermanentError), the channel is
    marked "needs reconnect", its managers are told, and None is returned. TransientError
    propagates (try again later); nothing is written then.
    """
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            ChannelCredentials.objects.select_for_update(of=("self",))
            .select_related("channel")
            .filter(channel_id=channel_id)
            .first()
        )
        if row is None:
            return None
        channel = row.channel
        stored = credentials_read(row)
        if stale_version is not None:
            if row.version != stale_version:
                return stored
        elif not stored.expires_within(REFRESH_AHEAD.total_seconds(), now=now):
            return stored
        try:
            fresh = get_adapter(channel.platform).refresh(
                account=channel_account(channel), credentials=stored
            )
        except (AuthExpired, PermanentError) as exc:
            failure = exc
        else:
            merged = merge_credentials(stored, fresh)
            row.ciphertext = encrypt(credentials_to_json(merged))
            row.expires_at = merged.expires_at
            row.version += 1
            row.save(update_fields=["ciphertext", "expires_at", "version", "updated_at"])
            channel_record_access_end(channel.pk, merged)
            return merged
    logger.warning(
        "Refreshing credentials of channel %s failed: %s", channel_id, failure.detail or "refused"
    )
    channel_mark_needs_reconnect(channel_id=channel_id, reason=failure.message)
    return None


def channel_record_access_end(channel_id: int, credentials: Credentials) -> None:
    """Record on the channel when its connection ends unless someone reconnects (the adapter
    says: a token that cannot renew itself, a refresh token with an end), for its health; a
    new end is warned of again."""
    channel = Channel.objects.filter(pk=channel_id).only("pk", "platform").first()
    if channel is None:
        return
    ends = get_adapter(channel.platform).access_ends_at(credentials)
    Channel.objects.filter(pk=channel_id).exclude(access_ends_at=ends).update(
        access_ends_at=ends, access_warned_for=None
    )


def credentials_refresh_due(*, within: dt.timedelta = REFRESH_AHEAD) -> list[int]:
    """Ids of connected channels whose access token expires within `within` (for beat)."""
    horizon = timezone.now() + within
    return list(
        ChannelCredentials.objects.filter(
            expires_at__isnull=False,
            expires_at__lte=horizon,
            channel__state=ChannelState.CONNECTED,
        )
        .order_by("expires_at")
        .values_list("channel_id", flat=True)
    )


@transaction.atomic
def channel_mark_needs_reconnect(*, channel_id: int, reason: str = "") -> Channel | None:
    """Mark the channel as needing a reconnect and notify its workspace's managers (once: a
    channel already marked is left alone). Deliveries to it pause on this state."""
    from notifications.services import notify

    channel = (
        Channel.objects.select_for_update()
        .select_related("workspace")
        .filter(pk=channel_id)
        .first()
    )
    if channel is None or ChannelState.NEEDS_RECONNECT in (
        channel.state,
        channel.state_before_pause,
    ):
        return channel
    if channel.state == ChannelState.PAUSED:
        # It stays paused, and needs reconnecting once resumed.
        channel.state_before_pause = ChannelState.NEEDS_RECONNECT
        channel.save(update_fields=["state_before_pause"])
    else:
        channel.state = ChannelState.NEEDS_RECONNECT
        channel.save(update_fields=["state"])
    # The authors of what is planned on it hear it now, not at their post's minute.
    authors = User.objects.filter(
        pk__in=PostVariant.objects.filter(
            channel=channel,
            post__status__in=PLANNED,
            post__scheduled_at__gte=timezone.now(),
        ).values("post__author_id")
    )
    notify(
        kind="channel_needs_reconnect",
        recipients=[*managers_of(channel.workspace_id), *authors],
        workspace=channel.workspace,
        params={
            "channel": channel.name,
            "platform": channel.get_platform_display(),
            "detail": reason,  # the notification shows it as a second line
        },
        url=reverse("calendar:channels", kwargs={"ws": channel.workspace.slug}),
    )
    return channel
