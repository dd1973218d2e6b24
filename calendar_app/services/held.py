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
from django.urls import reverse
from django.utils import timezone

from calendar_app.channel_health import channel_problem, is_held, planned_on_unhealthy_channels
from calendar_app.models import PostVariant
from calendar_app.permissions import managers_of
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
            problem = channel_problem(variant.channel, workspace_slug=post.workspace.slug)
            if problem is None:
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
