"""The beat sweeps of the approval workflow: reminders before the time, and posts that missed it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from calendar_app.models import (
    Post,
    ReviewRound,
    RoundState,
)
from calendar_app.policy import policy_for, policy_steps
from calendar_app.services.notices import post_notify
from calendar_app.services.review.revisions import latest_revision
from calendar_app.services.review.rounds import active_round, step_approvers
from calendar_app.services.review.transition import post_transition
from calendar_app.workflow import PostAction, PostStatus

S = PostStatus
A = PostAction


# --- sweeps (beat) ----------------------------------------------------------------------------

MAX_REMINDER_HOURS = 24 * 14


@transaction.atomic
def approvals_send_reminders(*, now: dt.datetime | None = None, batch: int = 200) -> int:
    """Remind the current step's approvers of posts due within the workspace's reminder window.

    Once per round: the marker is set in the transaction that locks the row, and rows another
    sweep holds are skipped, so two sweeps at the same moment cannot both send.
    """
    now = now or timezone.now()
    rounds = list(
        ReviewRound.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("post__workspace", "post__author")
        .filter(
            state=RoundState.ACTIVE,
            reminder_sent_at__isnull=True,
            post__status=S.IN_REVIEW,
            post__scheduled_at__gt=now,
            post__scheduled_at__lte=now + dt.timedelta(hours=MAX_REMINDER_HOURS),
        )
        .order_by("post__scheduled_at")[:batch]
    )
    sent = 0
    for round_ in rounds:
        post = round_.post
        hours = policy_for(post.workspace).reminder_hours
        if not hours or post.scheduled_at > now + dt.timedelta(hours=hours):
            continue
        round_.reminder_sent_at = now
        round_.save(update_fields=["reminder_sent_at"])
        post_notify(
            "approval_reminder",
            recipients=step_approvers(post.workspace, post, round_.step),
            post=post,
            actor=None,
        )
        sent += 1
    return sent


@transaction.atomic
def approvals_mark_missed(*, now: dt.datetime | None = None, batch: int = 200) -> int:
    """Posts whose time came before their approval: never published, marked, people told."""
    now = now or timezone.now()
    posts = list(
        Post.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("workspace", "author")
        .filter(
            status__in=[S.IN_REVIEW, S.CHANGES_REQUESTED],
            scheduled_at__lte=now,
        )
        .order_by("scheduled_at", "id")[:batch]
    )
    for post in posts:
        round_ = active_round(post)
        post_transition(
            post=post,
            to_status=S.MISSED_APPROVAL,
            action=A.MISSED_APPROVAL,
            actor_name="system",
            revision=latest_revision(post),
        )
        if round_ is None:
            # Changes were requested: a new round waits for the approvers of the first step.
            round_ = ReviewRound.objects.create(
                post=post,
                steps=policy_steps(policy_for(post.workspace)),
                revision=latest_revision(post),
            )
        recipients = step_approvers(post.workspace, post, round_.step)
        if post.author:
            recipients.append(post.author)
        post_notify("approval_missed", recipients=recipients, post=post, actor=None)
    return len(posts)
