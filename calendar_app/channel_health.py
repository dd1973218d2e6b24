"""Whether a channel can publish now, and if not, why and what fixes it: one rule for the
editor's check, the delivery rows and "publish now" (issue 12, channel health)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from calendar_app.models import Channel, ChannelState
from notifications.texts import Text


@dataclass(frozen=True)
class ChannelProblem:
    channel: Channel
    message: str  # what is wrong and what it means for the post (a Text: kept translatable)
    fix: str  # what to do
    fix_url: str  # where to do it


def channel_problem(channel: Channel, *, workspace_slug: str) -> ChannelProblem | None:
    """Why `channel` (of the workspace `workspace_slug`) cannot publish now (None: it can).
    Manual channels are posted by hand and need no connection."""
    if channel.platform == "manual" or channel.state == ChannelState.CONNECTED:
        return None
    url = reverse("calendar:channel_edit", args=[workspace_slug, channel.pk])
    if channel.state == ChannelState.PAUSED:
        return ChannelProblem(
            channel,
            Text(
                gettext_noop("%(channel)s is paused: nothing goes out there until it is resumed."),
                channel=channel.name,
            ),
            _("Resume the channel"),
            url,
        )
    return ChannelProblem(
        channel,
        Text(
            gettext_noop(
                "%(channel)s is not connected: nothing goes out there until it is reconnected."
            ),
            channel=channel.name,
        ),
        _("Reconnect the channel"),
        url,
    )


def channel_problems(channels, *, workspace_slug: str) -> list[ChannelProblem]:
    return [
        p for c in channels if (p := channel_problem(c, workspace_slug=workspace_slug)) is not None
    ]
