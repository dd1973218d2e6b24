"""Whether a channel can publish now, and if not, why and what fixes it: one rule for the
editor's check, the delivery rows, "publish now", the calendar's chips, the channel list, the
publishing log and the held-post notifications (issue 12, channel health)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from calendar_app.models import Channel, ChannelState, Post, PostVariant
from calendar_app.workflow import PLANNED, PostStatus
from notifications.texts import Text

# Platforms whose channels need no connection to publish: manual ones are posted by hand.
NEEDS_NO_CONNECTION = frozenset({"manual"})


def can_publish(state: str, platform: str) -> bool:
    """The rule itself, for rows read without the channel object (the delivery side)."""
    return platform in NEEDS_NO_CONNECTION or state == ChannelState.CONNECTED


@dataclass(frozen=True)
class ChannelProblem:
    channel: Channel
    message: str  # what is wrong and what it means for the post (a Text: kept translatable)
    fix: str  # what to do
    fix_url: str  # where to do it


def channel_problem(channel: Channel, *, workspace_slug: str) -> ChannelProblem | None:
    """Why `channel` (of the workspace `workspace_slug`) cannot publish now (None: it can).
    Manual channels are posted by hand and need no connection."""
    if can_publish(channel.state, channel.platform):
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
    if (channel.config or {}).get("example"):  # the demo's channels: never connected
        return ChannelProblem(
            channel,
            Text(
                gettext_noop(
                    "%(channel)s is an example channel of the demo: nothing goes out there "
                    "until you connect your own account."
                ),
                channel=channel.name,
            ),
            _("Connect your account"),
            reverse("publishing:connect_platform", args=[workspace_slug, channel.platform])
            + f"?channel={channel.pk}",
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


@dataclass(frozen=True)
class HeldPost:
    """A planned post on a channel that cannot publish: due (its time has come, it waits for
    the channel within the lateness window) or ahead."""

    post: Post
    channel: Channel
    problem: ChannelProblem
    due: bool


def planned_on_unhealthy_channels():
    """Variants of planned posts on channels that cannot publish (manual channels hold
    nothing): what held_posts() and the held-post notifications start from."""
    return (
        PostVariant.objects.filter(post__status__in=PLANNED)
        .exclude(channel__platform__in=NEEDS_NO_CONNECTION)
        .exclude(channel__state=ChannelState.CONNECTED)
    )


def is_held(post: Post, now: dt.datetime) -> bool:
    """Whether a planned post on an unhealthy channel counts as held: ahead of its time, or
    due and scheduled (a post whose time passed unapproved missed its approval instead)."""
    return post.scheduled_at > now or post.status == PostStatus.SCHEDULED


def held_posts(workspace, *, horizon: dt.timedelta | None = None, limit: int = 100) -> list:
    """The workspace's planned posts that a channel holds, soonest first: from those whose
    time came within the lateness window (the engine still waits for the channel) to
    `horizon` ahead (None: any time ahead)."""
    now = timezone.now()
    variants = (
        planned_on_unhealthy_channels()
        .filter(
            post__workspace=workspace,
            post__scheduled_at__gt=now - dt.timedelta(seconds=settings.PUBLISHING_LATENESS_SECONDS),
        )
        .select_related("post", "channel")
        .order_by("post__scheduled_at", "post_id", "channel__name")
    )
    if horizon is not None:
        variants = variants.filter(post__scheduled_at__lte=now + horizon)
    held = []
    for variant in variants[:limit]:
        problem = channel_problem(variant.channel, workspace_slug=workspace.slug)
        if problem is not None and is_held(variant.post, now):
            held.append(
                HeldPost(variant.post, variant.channel, problem, variant.post.scheduled_at <= now)
            )
    return held
