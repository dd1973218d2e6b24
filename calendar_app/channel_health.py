"""Whether a channel can publish now, and if not, why and what fixes it: one rule for the
editor's check, the delivery rows, "publish now", the calendar's chips, the channel list, the
publishing log and the held-post notifications (issue 12, channel health).

A problem either blocks (nothing goes out there: not connected, paused, a connection that has
ended by the post's time) or warns (it still publishes, but someone should act: a connection
that ends soon, permissions the account did not grant, a posting quota used up for now). The
facts behind the warnings are recorded on the channel by the delivery side (publishing), which
learns them from the platform: `access_ends_at`, `missing_permissions`, `quota_until`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from calendar_app.models import Channel, ChannelState, Post, PostVariant
from calendar_app.workflow import PLANNED, PostStatus
from notifications.texts import Text

# Platforms whose channels need no connection to publish: manual ones are posted by hand.
NEEDS_NO_CONNECTION = frozenset({"manual"})
# Stands in `Channel.missing_permissions` for a permission the platform refused a call for
# without naming it.
UNNAMED_PERMISSION = "?"


def can_publish(state: str, platform: str) -> bool:
    """The rule itself, for rows read without the channel object (the delivery side)."""
    return platform in NEEDS_NO_CONNECTION or state == ChannelState.CONNECTED


@dataclass(frozen=True)
class ChannelProblem:
    channel: Channel
    message: str  # what is wrong and what it means for the post (a Text: kept translatable)
    fix: str  # what to do
    fix_url: str  # where to do it
    blocks: bool = True  # nothing goes out there (False: a warning, it still publishes)
    # Whether people are told of the posts it holds (notifications, e-mail): not for the demo's
    # example channels, which nobody expects to publish to (the chip and editor say so).
    announce: bool = True


def access_ends_within() -> dt.timedelta:
    """How long before a connection ends (a token that cannot renew itself) people are warned."""
    return dt.timedelta(days=settings.CHANNEL_ACCESS_WARNING_DAYS)


def channel_problem(
    channel: Channel, *, workspace_slug: str, at: dt.datetime | None = None
) -> ChannelProblem | None:
    """Why `channel` (of the workspace `workspace_slug`) cannot publish at `at` (default: now),
    or what about it needs someone's attention (a warning); None: nothing. Manual channels are
    posted by hand and need no connection."""
    if not can_publish(channel.state, channel.platform):
        return _state_problem(channel, workspace_slug=workspace_slug)
    if channel.platform in NEEDS_NO_CONNECTION:
        return None
    return _connected_problem(channel, workspace_slug=workspace_slug, at=at)


def _reconnect_url(channel: Channel, workspace_slug: str) -> str:
    return (
        reverse("publishing:connect_platform", args=[workspace_slug, channel.platform])
        + f"?channel={channel.pk}"
    )


def _connected_problem(
    channel: Channel, *, workspace_slug: str, at: dt.datetime | None
) -> ChannelProblem | None:
    now = timezone.now()
    at = max(at or now, now)
    ends = channel.access_ends_at
    if ends is not None and ends <= at:
        return ChannelProblem(
            channel,
            Text(
                gettext_noop(
                    "The connection of %(channel)s ends at %(when)s, before this time: nothing "
                    "goes out there afterwards until it is reconnected."
                )
                if ends > now
                else gettext_noop(
                    "The connection of %(channel)s has ended: nothing goes out there until it "
                    "is reconnected."
                ),
                channel=channel.name,
                when=_local(ends),
            ),
            _("Reconnect the channel"),
            _reconnect_url(channel, workspace_slug),
        )
    if channel.missing_permissions:
        named = [str(p) for p in channel.missing_permissions if p != UNNAMED_PERMISSION]
        return ChannelProblem(
            channel,
            Text(
                gettext_noop(
                    "%(channel)s was connected without permissions it needs (%(permissions)s): "
                    "what needs them fails until they are granted."
                ),
                channel=channel.name,
                permissions=", ".join(named),
            )
            if named
            else Text(
                gettext_noop(
                    "The platform refused a call of %(channel)s for lack of a permission: what "
                    "needs it fails until it is granted."
                ),
                channel=channel.name,
            ),
            _("Reconnect and allow every permission asked for"),
            _reconnect_url(channel, workspace_slug),
            blocks=False,
        )
    if channel.quota_until is not None and channel.quota_until > now:
        return ChannelProblem(
            channel,
            Text(
                gettext_noop(
                    "%(channel)s has used up the platform's posting quota until %(when)s: "
                    "posts due before then wait for it, and are missed if that is too late."
                ),
                channel=channel.name,
                when=_local(channel.quota_until),
            ),
            _("Move posts that must go out on time to after that"),
            reverse("calendar:channel_edit", args=[workspace_slug, channel.pk]),
            blocks=False,
        )
    if ends is not None and ends <= now + access_ends_within():
        return ChannelProblem(
            channel,
            Text(
                gettext_noop(
                    "The connection of %(channel)s ends at %(when)s: reconnect it before then, "
                    "or nothing goes out there afterwards."
                ),
                channel=channel.name,
                when=_local(ends),
            ),
            _("Reconnect the channel"),
            _reconnect_url(channel, workspace_slug),
            blocks=False,
        )
    return None


def _local(moment: dt.datetime) -> str:
    """`moment` in the active time zone (a workspace page activates the workspace's; the
    sweeps activate it around their calls), in the active language's format."""
    from django.utils import formats

    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _state_problem(channel: Channel, *, workspace_slug: str) -> ChannelProblem:
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
            _reconnect_url(channel, workspace_slug),
            announce=False,
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


def channel_problems(
    channels, *, workspace_slug: str, at: dt.datetime | None = None
) -> list[ChannelProblem]:
    """The problems of `channels` for a post going out at `at`, blocking ones first."""
    found = [
        p
        for c in channels
        if (p := channel_problem(c, workspace_slug=workspace_slug, at=at)) is not None
    ]
    return sorted(found, key=lambda p: not p.blocks)


# What channel_problem() reads of a channel (for querysets that load only some fields).
HEALTH_FIELDS = ("state", "platform", "access_ends_at", "missing_permissions", "quota_until")


@dataclass(frozen=True)
class HeldPost:
    """A planned post on a channel that cannot publish: due (its time has come, it waits for
    the channel within the lateness window) or ahead."""

    post: Post
    channel: Channel
    problem: ChannelProblem
    due: bool


def planned_on_unhealthy_channels():
    """Variants of planned posts on channels that cannot publish, now or (a connection that
    ends before it) at the post's time; manual channels hold nothing. What held_posts() and
    the held-post notifications start from."""
    connected_then = Q(channel__state=ChannelState.CONNECTED) & (
        Q(channel__access_ends_at__isnull=True)
        | Q(channel__access_ends_at__gt=F("post__scheduled_at"))
    )
    return (
        PostVariant.objects.filter(post__status__in=PLANNED)
        .exclude(channel__platform__in=NEEDS_NO_CONNECTION)
        .exclude(connected_then)
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
        problem = channel_problem(
            variant.channel, workspace_slug=workspace.slug, at=variant.post.scheduled_at
        )
        if problem is not None and problem.blocks and is_held(variant.post, now):
            held.append(
                HeldPost(variant.post, variant.channel, problem, variant.post.scheduled_at <= now)
            )
    return held
