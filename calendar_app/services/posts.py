"""Writes on the editorial side. Views, forms and tasks call these; they never save models.

Each service checks the actor's permission, locks what it changes, validates and writes in one
transaction, and raises ValidationError / PermissionDenied with a message for people.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from calendar_app.access import access_post, raise_refusal
from calendar_app.models import Channel, Membership, Post, PostMedia, PostVariant, Workspace
from calendar_app.permissions import Action, require
from calendar_app.services import review
from calendar_app.services.content import (
    NO_CHANNEL_PROBLEM,
    PostInput,
    content_check_fits,
    post_input_from,
    post_input_problems,
)
from calendar_app.services.locking import StaleEdit  # noqa: F401  (part of this API)
from calendar_app.timeutils import local_to_utc, move_to_day
from calendar_app.workflow import PostAction, action_refusal, time_has_passed

# Where a post lands when an idea is dropped on a day without a time.
DEFAULT_LOCAL_TIME = dt.time(9, 0)


# --- validation -----------------------------------------------------------------------------


def _check_same_workspace(workspace: Workspace, data: PostInput) -> None:
    foreign = [
        obj
        for obj in [data.campaign, *data.labels, *data.media, *data.variants]
        if obj is not None and obj.workspace_id != workspace.pk
    ]
    foreign += [
        m
        for v in data.variants.values()
        for m in v.media_override
        if m.workspace_id != workspace.pk
    ]
    if foreign:
        raise ValidationError(
            _("Campaigns, labels, channels and media must belong to this workspace.")
        )


def _past_problem(scheduled_at: dt.datetime | None, previous: dt.datetime | None) -> str | None:
    """A new time must lie ahead; a time that did not change is left alone."""
    if scheduled_at is None or scheduled_at == previous or not time_has_passed(scheduled_at):
        return None
    return _("A post cannot be scheduled in the past.")


def _check_not_past(
    scheduled_at: dt.datetime | None, *, previous: dt.datetime | None = None
) -> None:
    if problem := _past_problem(scheduled_at, previous):
        raise ValidationError(problem)


def post_input_check(
    data: PostInput, *, previous_scheduled_at: dt.datetime | None = None
) -> tuple[list[str], dict[Channel, list[str]]]:
    """What would stop this content from being saved as it is, without saving anything.

    Returns the general problems and the per-channel ones; the editor's live check shows them
    and the write services refuse on the same rules.
    """
    general: list[str] = []
    if data.scheduled_at is not None and not data.variants:
        general.append(_(NO_CHANNEL_PROBLEM))
    if problem := _past_problem(data.scheduled_at, previous_scheduled_at):
        general.append(problem)
    return general, post_input_problems(data)


# --- writes -----------------------------------------------------------------------------------


def _write_content(post: Post, data: PostInput) -> None:
    post.labels.set(data.labels)
    PostMedia.objects.filter(post=post).delete()
    PostMedia.objects.bulk_create(
        PostMedia(post=post, media=m, position=i) for i, m in enumerate(data.media)
    )
    keep = {c.pk for c in data.variants}
    post.variants.exclude(channel_id__in=keep).delete()
    existing = {v.channel_id: v for v in post.variants.all()}
    for channel, vin in data.variants.items():
        variant = existing.get(channel.pk) or PostVariant(post=post, channel=channel)
        variant.body_override = vin.body_override
        variant.title_override = vin.title_override
        variant.first_comment = vin.first_comment
        variant.save()
        variant.media_override.set(vin.media_override)


@transaction.atomic
def post_create(*, membership: Membership, data: PostInput) -> Post:
    require(membership, Action.POST_CREATE)
    workspace = membership.workspace
    _check_same_workspace(workspace, data)
    _check_not_past(data.scheduled_at)
    content_check_fits(data)
    post = Post.objects.create(
        workspace=workspace,
        author=membership.user,
        title=data.title,
        note=data.note,
        body=data.body,
        scheduled_at=data.scheduled_at,
        campaign=data.campaign,
    )
    _write_content(post, data)
    review.revision_record(post=post, author=membership.user)
    return post


@transaction.atomic
def post_update(
    *, membership: Membership, post_id: int, data: PostInput, expected_version: int | None
) -> Post:
    post = access_post(
        membership, post_id, action=PostAction.EDIT, expected_version=expected_version
    ).post
    _check_same_workspace(membership.workspace, data)
    _check_not_past(data.scheduled_at, previous=post.scheduled_at)
    content_check_fits(data)
    previous_status, previous_time = post.status, post.scheduled_at
    post.title = data.title
    post.note = data.note
    post.body = data.body
    post.scheduled_at = data.scheduled_at
    post.campaign = data.campaign
    post.version += 1
    post.save()
    _write_content(post, data)
    post.review_notice = review.after_post_saved(
        post=post,
        actor=membership.user,
        previous_status=previous_status,
        time_changed=previous_time != post.scheduled_at,
    )
    return post


@transaction.atomic
def post_reschedule(
    *,
    membership: Membership,
    post_id: int,
    day: dt.date,
    local_time: dt.time | None = None,
    expected_version: int | None = None,
) -> Post:
    """Move a post (or drop an idea) onto `day` in the workspace's time zone.

    Without `local_time` the post keeps its local time of day (09:00 stays 09:00 across a DST
    change); an idea gets DEFAULT_LOCAL_TIME.
    """
    post = access_post(
        membership, post_id, action=PostAction.RESCHEDULE, expected_version=expected_version
    ).post
    tz = membership.workspace.tz
    if local_time is not None:
        new_time = local_to_utc(day, local_time, tz)
    elif post.scheduled_at is not None:
        new_time = move_to_day(post.scheduled_at, day, tz)
    else:
        new_time = local_to_utc(day, DEFAULT_LOCAL_TIME, tz)
    if new_time == post.scheduled_at:
        return post
    _check_not_past(new_time)
    data = post_input_from(post)
    data.scheduled_at = new_time
    content_check_fits(data)
    return _move(post, membership, new_time)


def _move(post: Post, membership: Membership, new_time: dt.datetime | None) -> Post:
    """Write a new time; the approval rules decide whether the post needs a new review."""
    previous_status = post.status
    post.scheduled_at = new_time
    post.version += 1
    post.save(update_fields=["scheduled_at", "version", "updated_at"])
    post.review_notice = review.after_post_saved(
        post=post, actor=membership.user, previous_status=previous_status, time_changed=True
    )
    return post


@transaction.atomic
def post_unschedule(
    *, membership: Membership, post_id: int, expected_version: int | None = None
) -> Post:
    """Take a post off the calendar: it becomes an idea again (an idea stays one)."""
    access = access_post(membership, post_id, action=None, expected_version=expected_version)
    if access.post.scheduled_at is None:
        return access.post
    if refused := action_refusal(membership, access.post, access.facts, PostAction.UNSCHEDULE):
        raise_refusal(refused)
    return _move(access.post, membership, None)


@transaction.atomic
def post_delete(*, membership: Membership, post_id: int) -> None:
    access_post(membership, post_id, action=PostAction.DELETE).post.delete()


@transaction.atomic
def post_duplicate(*, membership: Membership, post_id: int) -> Post:
    """A new draft idea with this post's content (texts, media, channels, labels, campaign),
    written by `membership`: how a published post is posted again, or changed and reposted."""
    source = access_post(membership, post_id, action=PostAction.DUPLICATE, lock=False).post
    data = post_input_from(source)
    data.scheduled_at = None
    channels = set(membership.workspace.channels.all())
    data.variants = {c: v for c, v in data.variants.items() if c in channels}
    return post_create(membership=membership, data=data)


def require_same_workspace(membership: Membership, obj) -> None:
    if getattr(obj, "workspace_id", None) != membership.workspace_id:
        raise PermissionDenied(_("This belongs to another workspace."))
