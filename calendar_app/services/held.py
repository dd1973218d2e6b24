"""Posts their channel holds: told ahead of time and at their time (issue 12, "the user always
knows"). A post planned on a channel that cannot publish (not connected, paused: the rule is
calendar_app.channel_health) is named to its author and the workspace's managers once
`settings.HELD_WARNING_HOURS` before its time ("will not go out on X at 09:00") and once when
its time has come ("did not go out ... it is held"), each once per channel and time: a post
moved to another time is told again, one told before is not told twice by two sweeps.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from calendar_app.channel_health import (
    access_ends_within,
    channel_problem,
    is_held,
    planned_on_unhealthy_channels,
)
from calendar_app.models import Channel, ChannelState, PostVariant
from calendar_app.permissions import managers_of
from calendar_app.workflow import PLANNED
from notifications.texts import text_data

# A post whose time passed longer ago than this is not announced as held any more (the first
# sweep after an upgrade or an outage must not tell of last month's posts).
DUE_GRACE = dt.timedelta(hours=1)


def posts_warn_held(*, now: dt.datetime | None = None, batch: int = 500) -> int:
    """Tell of planned posts on channels that cannot publish, ahead of time and at it.
    Returns how many (post, channel) pairs were told of."""
    now = now or timezone.now()
    ahead = dt.timedelta(hours=settings.HELD_WARNING_HOURS)
    told = 0
    with transaction.atomic():
        variants = list(
            planned_on_unhealthy_channels()
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("post__workspace", "post__author", "channel")
            .filter(
                post__scheduled_at__gt=now - DUE_GRACE,
                post__scheduled_at__lte=now + ahead,
            )
            .order_by("post__scheduled_at", "pk")[:batch]
        )
        for variant in variants:
            post = variant.post
            if not is_held(post, now):
                continue  # not approved in time: the approval sweep tells of that
            due = post.scheduled_at <= now
            marker = "held_told_for" if due else "held_warned_for"
            if getattr(variant, marker) == post.scheduled_at:
                continue
            with timezone.override(post.workspace.timezone):
                problem = channel_problem(
                    variant.channel, workspace_slug=post.workspace.slug, at=post.scheduled_at
                )
            if problem is None or not problem.blocks or not problem.announce:
                continue
            setattr(variant, marker, post.scheduled_at)
            variant.save(update_fields=[marker])
            _tell(variant, problem, due=due)
            told += 1
    return told


def _tell(variant: PostVariant, problem, *, due: bool) -> None:
    from notifications.services import notify

    post = variant.post
    recipients = [*managers_of(post.workspace_id)]
    if post.author is not None:
        recipients.append(post.author)
    notify(
        kind="post_held",
        recipients=recipients,
        workspace=post.workspace,
        post=post,
        params={
            "channel": variant.channel.name,
            "moment": "due" if due else "before",
            "at": post.scheduled_at.isoformat(),
            "tz": post.workspace.timezone,
            "detail": str(problem.message),
            "detail_data": text_data(problem.message),
        },
        url=reverse("calendar:channel_edit", args=[post.workspace.slug, variant.channel_id]),
    )


def channels_warn_access_ending(*, now: dt.datetime | None = None) -> int:
    """Tell the managers of a channel whose connection ends within the warning window (a token
    that cannot renew itself), and the authors of what is planned on it from then on, once per
    end: "reconnect it before then". Returns how many channels were told of."""
    from notifications.services import notify

    now = now or timezone.now()
    told = 0
    with transaction.atomic():
        channels = list(
            Channel.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("workspace")
            .filter(
                state=ChannelState.CONNECTED,
                access_ends_at__gt=now - DUE_GRACE,
                access_ends_at__lte=now + access_ends_within(),
            )
            .exclude(access_warned_for=F("access_ends_at"))
        )
        for channel in channels:
            channel.access_warned_for = channel.access_ends_at
            channel.save(update_fields=["access_warned_for"])
            authors = User.objects.filter(
                pk__in=PostVariant.objects.filter(
                    channel=channel,
                    post__status__in=PLANNED,
                    post__scheduled_at__gte=channel.access_ends_at,
                ).values("post__author_id")
            )
            with timezone.override(channel.workspace.timezone):
                problem = channel_problem(channel, workspace_slug=channel.workspace.slug)
            notify(
                kind="channel_access_ending",
                recipients=[*managers_of(channel.workspace_id), *authors],
                workspace=channel.workspace,
                params={
                    "channel": channel.name,
                    "at": channel.access_ends_at.isoformat(),
                    "tz": channel.workspace.timezone,
                    **(
                        {"detail": str(problem.message), "detail_data": text_data(problem.message)}
                        if problem is not None
                        else {}
                    ),
                },
                url=reverse(
                    "publishing:connect_platform", args=[channel.workspace.slug, channel.platform]
                )
                + f"?channel={channel.pk}",
            )
            told += 1
    return told
