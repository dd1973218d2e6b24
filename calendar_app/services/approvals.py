"""The approval workflow: policy, revisions, review rounds and every status change of a post.

`post_transition` is the only writer of `Post.status`: it checks the move against
workflow.ALLOWED_TRANSITIONS on a locked row and writes the audit event. Each user action is one
service (`post_submit_for_review`, `post_approve`, ...) that locks the post, checks the actor and
the current state, and calls it. Notification rows are written in the same transaction; their
e-mails leave on commit (notifications.services.notify).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from calendar_app.models import (
    ApprovalMode,
    ApprovalPolicy,
    ApprovalStep,
    AuditEvent,
    DecisionKind,
    Membership,
    Post,
    PostComment,
    PostRevision,
    ReviewDecision,
    ReviewLink,
    ReviewRound,
    Role,
    RoundState,
    Workspace,
)
from calendar_app.permissions import Action, require
from calendar_app.services.locking import check_version, post_lock
from calendar_app.workflow import APPROVED_STATUSES, PostStatus, can_transition

logger = logging.getLogger(__name__)

S = PostStatus

# The chain a workspace uses until its owner saves its own steps (named when snapshotted, in
# the language of the moment).
DEFAULT_STEP_NAME = gettext_lazy("Approval")


def default_step() -> dict:
    return {
        "name": str(DEFAULT_STEP_NAME),
        "roles": [Role.MANAGER.value, Role.OWNER.value],
        "members": [],
        "external": False,
        "required": 1,
    }


# --- policy -------------------------------------------------------------------------------------


def policy_for(workspace: Workspace) -> ApprovalPolicy:
    """The workspace's policy; an unsaved default (approval required) if it never set one."""
    try:
        return workspace.approval_policy
    except ApprovalPolicy.DoesNotExist:
        return ApprovalPolicy(workspace=workspace)


def policy_steps(policy: ApprovalPolicy) -> list[dict]:
    """The steps as plain data (the form a review round snapshots them in)."""
    steps: list[dict] = []
    if policy.pk is not None:
        for step in policy.steps.prefetch_related("approver_members"):
            steps.append(
                {
                    "name": step.name,
                    "roles": list(step.approver_roles),
                    "members": sorted(u.pk for u in step.approver_members.all()),
                    "external": step.external,
                    "required": max(1, step.required_approvals),
                }
            )
    return steps or [default_step()]


@dataclass
class StepInput:
    name: str
    roles: list[str]
    members: list[User]
    external: bool = False
    required: int = 1


@transaction.atomic
def policy_update(
    *,
    membership: Membership,
    mode: str,
    allow_self_approval: bool,
    time_moves_need_review: bool,
    reminder_hours: int,
    skip_roles: list[str],
    steps: list[StepInput],
) -> ApprovalPolicy:
    """Replace the workspace's policy and steps. Posts already in review keep their snapshot."""
    require(membership, Action.WORKSPACE_MANAGE)
    workspace = membership.workspace
    if mode not in ApprovalMode.values:
        raise ValidationError(_("Choose an approval mode."))
    valid_roles = {Role.OWNER.value, Role.MANAGER.value, Role.EDITOR.value}
    if any(r not in valid_roles for r in skip_roles):
        raise ValidationError(_("Only owners, managers and editors can be allowed to skip steps."))
    if mode != ApprovalMode.NONE and not steps:
        raise ValidationError(_("Add at least one approval step."))
    member_ids = set(
        Membership.objects.filter(workspace=workspace)
        .exclude(role=Role.VIEWER)
        .values_list("user_id", flat=True)
    )
    for step in steps:
        if not step.name.strip():
            raise ValidationError(_("Every step needs a name."))
        if any(r not in valid_roles for r in step.roles):
            raise ValidationError(_("Viewers cannot approve posts."))
        if any(u.pk not in member_ids for u in step.members):
            raise ValidationError(
                _("Named approvers must be members of this workspace who are not viewers.")
            )
        if not (step.roles or step.members or step.external):
            raise ValidationError(
                _("The step “%(name)s” needs at least one role, member or external reviewer.")
                % {"name": step.name}
            )
        if step.required < 1:
            raise ValidationError(_("A step needs at least one approval."))
    policy, _created = ApprovalPolicy.objects.select_for_update().get_or_create(workspace=workspace)
    policy.mode = mode
    policy.allow_self_approval = allow_self_approval
    policy.time_moves_need_review = time_moves_need_review
    policy.reminder_hours = reminder_hours
    policy.skip_roles = sorted(set(skip_roles))
    policy.save()
    policy.steps.all().delete()
    for position, step in enumerate(steps):
        row = ApprovalStep.objects.create(
            policy=policy,
            position=position,
            name=step.name.strip(),
            approver_roles=sorted(set(step.roles)),
            external=step.external,
            required_approvals=step.required,
        )
        row.approver_members.set(step.members)
    if mode == ApprovalMode.REQUIRED:
        _unschedule_unapproved(workspace, actor=membership.user)
    return policy


def _unschedule_unapproved(workspace: Workspace, *, actor: User) -> int:
    """Posts scheduled while approval was not required would silently never go out once it is:
    send them back to draft, visibly and on the record, so their authors submit them."""
    moved = 0
    candidates = (
        Post.objects.select_for_update()
        .filter(workspace=workspace, status=S.SCHEDULED)
        .order_by("id")
    )
    for post in candidates:
        if post_is_publishable(post):
            continue
        post_transition(
            post=post,
            to_status=S.DRAFT,
            action="approval_now_required",
            actor=actor,
            comment=_("Approval is now required in this workspace: submit the post for review."),
        )
        moved += 1
    return moved


# --- revisions ----------------------------------------------------------------------------------

# Keys of a snapshot that are content (a change needs a new review); the rest is schedule.
CONTENT_KEYS = ("title", "body", "media", "channels")


def revision_snapshot(post: Post) -> dict:
    """The post's content as JSON: texts, media ids and the channel set with each variant."""
    variants = post.variants.select_related("channel").prefetch_related("media_override")
    return {
        "title": post.title,
        "body": post.body,
        "media": [pm.media_id for pm in post.post_media.order_by("position", "id")],
        "channels": {
            str(v.channel_id): {
                "name": v.channel.name,
                "platform": v.channel.platform,
                "title": v.title_override,
                "body": v.body_override,
                "first_comment": v.first_comment,
                "media": sorted(m.pk for m in v.media_override.all()),
            }
            for v in variants
        },
        "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
    }


def content_of(snapshot: dict) -> dict:
    channels = {
        key: {k: v for k, v in value.items() if k not in ("name", "platform")}
        for key, value in snapshot.get("channels", {}).items()
    }
    return {
        "title": snapshot.get("title", ""),
        "body": snapshot.get("body", ""),
        "media": snapshot.get("media", []),
        "channels": channels,
    }


def latest_revision(post: Post) -> PostRevision | None:
    return post.revisions.order_by("-number").first()


def revision_record(*, post: Post, author: User | None) -> tuple[PostRevision, bool]:
    """Keep the post's current content as a revision unless it equals the latest one.

    Returns the revision and whether its content differs from the one before (a schedule-only
    change writes a revision too, so the history shows it, but is not a content change).
    """
    snapshot = revision_snapshot(post)
    latest = latest_revision(post)
    if latest is not None and latest.snapshot == snapshot:
        return latest, False
    content_changed = latest is None or content_of(latest.snapshot) != content_of(snapshot)
    revision = PostRevision.objects.create(
        post=post,
        number=(latest.number + 1) if latest else 1,
        snapshot=snapshot,
        author=author,
    )
    return revision, content_changed


# --- who may approve -------------------------------------------------------------------------


def _active_round(post: Post) -> ReviewRound | None:
    return post.review_rounds.filter(state=RoundState.ACTIVE).first()


def step_allows(
    step: dict, *, user_id: int, role: str, author_id: int | None, allow_self: bool
) -> bool:
    """Whether a member (user id + role) may decide `step` of a post by `author_id`."""
    if role == Role.VIEWER:
        return False
    if author_id == user_id and not allow_self:
        return False
    return role in step.get("roles", []) or user_id in step.get("members", [])


def _approval_refusal(
    membership: Membership, post: Post, round_: ReviewRound, policy: ApprovalPolicy
) -> str | None:
    step = round_.step
    if step is None:
        return _("This post is not waiting for approval.")
    if membership.role == Role.VIEWER:
        return _("Viewers cannot approve posts.")
    if post.author_id == membership.user_id and not policy.allow_self_approval:
        return _("You cannot approve your own post in this workspace.")
    if not step_allows(
        step,
        user_id=membership.user_id,
        role=membership.role,
        author_id=post.author_id,
        allow_self=policy.allow_self_approval,
    ):
        return _("You are not an approver of the step “%(step)s”.") % {"step": step["name"]}
    return None


def step_approvers(workspace: Workspace, post: Post, step: dict | None) -> list[User]:
    """The members who may decide `step` (for notifications)."""
    if step is None:
        return []
    policy = policy_for(workspace)
    memberships = (
        Membership.objects.filter(workspace=workspace)
        .filter(Q(role__in=step.get("roles", [])) | Q(user_id__in=step.get("members", [])))
        .exclude(role=Role.VIEWER)
        .select_related("user")
    )
    return [
        m.user for m in memberships if policy.allow_self_approval or m.user_id != post.author_id
    ]


# --- the one writer of Post.status -------------------------------------------------------------


def post_transition(
    *,
    post: Post,
    to_status: str,
    action: str,
    actor: User | None = None,
    actor_name: str = "",
    comment: str = "",
    step: int | None = None,
    revision: PostRevision | None = None,
) -> AuditEvent:
    """Move a post to `to_status` and record it. The only place that writes `Post.status`.

    Must run inside a transaction; the row is (re-)locked here so that the check and the write
    see the same state. Refuses a move that workflow.ALLOWED_TRANSITIONS does not list.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("post_transition must run inside a transaction.")
    locked = Post.objects.select_for_update().only("id", "status").get(pk=post.pk)
    from_status = locked.status
    if not can_transition(from_status, to_status):
        raise ValidationError(
            _("A post that is %(from)s cannot become %(to)s.")
            % {"from": S(from_status).label, "to": S(to_status).label},
            code="transition",
        )
    post.status = to_status
    post.version += 1
    Post.objects.filter(pk=post.pk).update(
        status=to_status, version=post.version, updated_at=timezone.now()
    )
    return AuditEvent.objects.create(
        workspace_id=post.workspace_id,
        post=post,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_name=actor_name,
        comment=comment,
        step=step,
        revision=revision,
    )


def _notify(kind: str, *, recipients: Iterable[User], post: Post, actor: User | None, **params):
    try:
        from notifications.services import notify
    except ImportError:  # pragma: no cover - the notifications app is optional at import time
        logger.warning("notifications app missing; %s not sent", kind)
        return
    notify(
        kind=kind,
        recipients=list(recipients),
        workspace=post.workspace,
        post=post,
        actor=actor,
        params=params or None,
    )


# --- actions -------------------------------------------------------------------------------


def _check_schedulable(post: Post) -> None:
    from calendar_app.services.posts import _check_publishable, post_input_from

    _check_publishable(post_input_from(post))


def _start_round(post: Post, *, actor: User | None, action: str, comment: str = "") -> ReviewRound:
    """Cancel any running round and start a new one at step 1 with the steps as they are now."""
    post.review_rounds.filter(state=RoundState.ACTIVE).update(
        state=RoundState.CANCELLED, finished_at=timezone.now()
    )
    revision, _changed = revision_record(post=post, author=actor)
    round_ = ReviewRound.objects.create(
        post=post,
        steps=policy_steps(policy_for(post.workspace)),
        revision=revision,
        submitted_by=actor,
    )
    post_transition(
        post=post,
        to_status=S.IN_REVIEW,
        action=action,
        actor=actor,
        comment=comment,
        step=0,
        revision=revision,
    )
    _notify(
        "submitted",
        recipients=step_approvers(post.workspace, post, round_.step),
        post=post,
        actor=actor,
        step=round_.step["name"],
    )
    return round_


@transaction.atomic
def post_submit_for_review(
    *, membership: Membership, post_id: int, expected_version: int | None = None
) -> Post:
    require(membership, Action.POST_EDIT)
    post = post_lock(membership.workspace_id, post_id)
    check_version(post, expected_version)
    policy = policy_for(membership.workspace)
    if policy.mode == ApprovalMode.NONE:
        raise ValidationError(_("This workspace does not use approvals."))
    if post.status not in (S.DRAFT, S.CHANGES_REQUESTED, S.MISSED_APPROVAL):
        raise ValidationError(
            _("A post that is %(status)s cannot be submitted for review.")
            % {"status": post.get_status_display()},
            code="transition",
        )
    if post.scheduled_at is not None:
        if post.scheduled_at <= timezone.now():
            raise ValidationError(_("Move the post to a future time before submitting it."))
        _check_schedulable(post)
    _start_round(post, actor=membership.user, action="submit")
    return post


def _finish_step(
    post: Post,
    round_: ReviewRound,
    *,
    actor: User | None,
    actor_name: str,
    revision: PostRevision,
    action: str,
    comment: str = "",
) -> None:
    """The current step is done: go to the next one, or approve (and schedule if timed)."""
    done_step = round_.current_step
    round_.current_step += 1
    if round_.current_step < len(round_.steps):
        round_.save(update_fields=["current_step"])
        post_transition(
            post=post,
            to_status=S.IN_REVIEW,
            action=action,
            actor=actor,
            actor_name=actor_name,
            comment=comment,
            step=done_step,
            revision=revision,
        )
        _notify(
            "submitted",
            recipients=step_approvers(post.workspace, post, round_.step),
            post=post,
            actor=actor,
            step=round_.step["name"],
        )
        return
    round_.state = RoundState.APPROVED
    round_.finished_at = timezone.now()
    round_.save(update_fields=["current_step", "state", "finished_at"])
    post_transition(
        post=post,
        to_status=S.APPROVED,
        action=action,
        actor=actor,
        actor_name=actor_name,
        comment=comment,
        step=done_step,
        revision=revision,
    )
    recipients = [post.author] if post.author else []
    _notify("approved", recipients=recipients, post=post, actor=actor)
    if post.scheduled_at is not None and post.scheduled_at > timezone.now():
        post_transition(
            post=post,
            to_status=S.SCHEDULED,
            action="schedule_after_approval",
            actor=actor,
            actor_name=actor_name,
            revision=revision,
        )


@dataclass
class ApproverEdit:
    """Text an approver changes before approving: the master text and per-channel texts."""

    body: str
    variant_bodies: dict[int, str]


def _apply_approver_edit(post: Post, edit: ApproverEdit, actor: User) -> bool:
    changed = False
    if edit.body != post.body:
        post.body = edit.body
        post.save(update_fields=["body", "updated_at"])
        changed = True
    for variant in post.variants.select_related("channel"):
        if variant.channel_id in edit.variant_bodies:
            text = edit.variant_bodies[variant.channel_id]
            if text != variant.body_override:
                variant.body_override = text
                variant.save(update_fields=["body_override"])
                changed = True
    return changed


def _decide_setup(
    *,
    workspace: Workspace,
    post_id: int,
    expected_step: int | None,
    expected_revision: int | None,
) -> tuple[Post, ReviewRound, PostRevision]:
    post = post_lock(workspace.pk, post_id)
    round_ = _active_round(post)
    if post.status not in (S.IN_REVIEW, S.MISSED_APPROVAL) or round_ is None:
        raise ValidationError(
            _("“%(title)s” is not waiting for approval (it is %(status)s).")
            % {"title": post.display_title, "status": post.get_status_display()},
            code="transition",
        )
    if expected_step is not None and expected_step != round_.current_step:
        raise ValidationError(
            _("This step of “%(title)s” was already decided by someone else. Reload the page.")
            % {"title": post.display_title},
            code="stale",
        )
    revision = latest_revision(post)
    if expected_revision is not None and (revision is None or revision.number != expected_revision):
        raise ValidationError(
            _("“%(title)s” was changed since you opened it. Review the new version.")
            % {"title": post.display_title},
            code="stale",
        )
    return post, round_, revision


def _check_waiting_in_time(post: Post) -> None:
    """Approvals and skips only for posts in review whose time has not passed yet."""
    if post.status != S.IN_REVIEW:
        raise ValidationError(
            _("This post missed its time; approve it with a new time."), code="transition"
        )
    if post.scheduled_at is not None and post.scheduled_at <= timezone.now():
        raise ValidationError(
            _("This post missed its time; approve it with a new time."), code="transition"
        )


def _record_approval(
    post: Post,
    round_: ReviewRound,
    *,
    user: User | None,
    external_name: str = "",
    review_link: ReviewLink | None = None,
    revision: PostRevision,
    comment: str,
) -> None:
    step = round_.current_step
    if (
        user is not None
        and round_.decisions.filter(
            step=step, user=user, revision=revision, kind=DecisionKind.APPROVE
        ).exists()
    ):
        raise ValidationError(_("You already approved this step."), code="duplicate")
    try:
        with transaction.atomic():
            ReviewDecision.objects.create(
                round=round_,
                step=step,
                kind=DecisionKind.APPROVE,
                user=user,
                external_name=external_name,
                review_link=review_link,
                revision=revision,
                comment=comment,
            )
    except IntegrityError:
        raise ValidationError(_("You already approved this step."), code="duplicate") from None
    count = round_.decisions.filter(step=step, kind=DecisionKind.APPROVE, revision=revision).count()
    name = external_name or ""
    if count >= round_.steps[step].get("required", 1):
        _finish_step(
            post,
            round_,
            actor=user,
            actor_name=name,
            revision=revision,
            action="approve",
            comment=comment,
        )
    else:
        post_transition(
            post=post,
            to_status=post.status,
            action="approve_partial",
            actor=user,
            actor_name=name,
            comment=comment,
            step=step,
            revision=revision,
        )


@transaction.atomic
def post_approve(
    *,
    membership: Membership,
    post_id: int,
    expected_step: int | None = None,
    expected_revision: int | None = None,
    comment: str = "",
    edit: ApproverEdit | None = None,
) -> Post:
    """Approve the current step of a post in review, optionally after editing its text.

    An edit is saved as a new revision and the approval is for that revision. A step whose
    required count is reached advances; after the last one the post is approved (and scheduled
    if it has a time).
    """
    post, round_, revision = _decide_setup(
        workspace=membership.workspace,
        post_id=post_id,
        expected_step=expected_step,
        expected_revision=expected_revision,
    )
    _check_waiting_in_time(post)
    policy = policy_for(membership.workspace)
    if refusal := _approval_refusal(membership, post, round_, policy):
        raise PermissionDenied(refusal)
    if edit is not None and _apply_approver_edit(post, edit, membership.user):
        _check_schedulable(post)
        revision, _changed = revision_record(post=post, author=membership.user)
        post_transition(
            post=post,
            to_status=S.IN_REVIEW,
            action="approver_edit",
            actor=membership.user,
            step=round_.current_step,
            revision=revision,
        )
    _record_approval(post, round_, user=membership.user, revision=revision, comment=comment)
    return post


@transaction.atomic
def post_request_changes(
    *,
    membership: Membership,
    post_id: int,
    comment: str,
    expected_step: int | None = None,
    expected_revision: int | None = None,
) -> Post:
    if not comment.strip():
        raise ValidationError(_("Say what should change: a comment is required."))
    post, round_, revision = _decide_setup(
        workspace=membership.workspace,
        post_id=post_id,
        expected_step=expected_step,
        expected_revision=expected_revision,
    )
    policy = policy_for(membership.workspace)
    if refusal := _approval_refusal(membership, post, round_, policy):
        raise PermissionDenied(refusal)
    _changes_requested(post, round_, user=membership.user, revision=revision, comment=comment)
    return post


def _changes_requested(
    post: Post,
    round_: ReviewRound,
    *,
    user: User | None,
    revision: PostRevision | None,
    comment: str,
    external_name: str = "",
    review_link: ReviewLink | None = None,
) -> None:
    ReviewDecision.objects.create(
        round=round_,
        step=round_.current_step,
        kind=DecisionKind.REQUEST_CHANGES,
        user=user,
        external_name=external_name,
        review_link=review_link,
        revision=revision,
        comment=comment.strip(),
    )
    round_.state = RoundState.CHANGES_REQUESTED
    round_.finished_at = timezone.now()
    round_.save(update_fields=["state", "finished_at"])
    post_transition(
        post=post,
        to_status=S.CHANGES_REQUESTED,
        action="request_changes",
        actor=user,
        actor_name=external_name,
        comment=comment.strip(),
        step=round_.current_step,
        revision=revision,
    )
    recipients = [post.author] if post.author else []
    _notify(
        "changes_requested", recipients=recipients, post=post, actor=user, detail=comment.strip()
    )


@transaction.atomic
def post_skip_step(
    *,
    membership: Membership,
    post_id: int,
    comment: str = "",
    expected_step: int | None = None,
) -> Post:
    """Skip the current step; only roles the policy names may, and the skip is recorded."""
    post, round_, revision = _decide_setup(
        workspace=membership.workspace,
        post_id=post_id,
        expected_step=expected_step,
        expected_revision=None,
    )
    policy = policy_for(membership.workspace)
    if membership.role == Role.VIEWER or membership.role not in policy.skip_roles:
        raise PermissionDenied(_("Your role may not skip approval steps in this workspace."))
    _check_waiting_in_time(post)
    ReviewDecision.objects.create(
        round=round_,
        step=round_.current_step,
        kind=DecisionKind.SKIP,
        user=membership.user,
        revision=revision,
        comment=comment,
    )
    _finish_step(
        post,
        round_,
        actor=membership.user,
        actor_name="",
        revision=revision,
        action="skip_step",
        comment=comment,
    )
    return post


@transaction.atomic
def post_withdraw(
    *, membership: Membership, post_id: int, expected_version: int | None = None
) -> Post:
    """The author takes the post back to draft; a running review ends, its history stays."""
    require(membership, Action.POST_EDIT)
    post = post_lock(membership.workspace_id, post_id)
    check_version(post, expected_version)
    if post.author_id != membership.user_id:
        raise PermissionDenied(_("Only the author can withdraw a post."))
    if post.status == S.DRAFT:
        raise ValidationError(_("This post is already a draft."), code="transition")
    post.review_rounds.filter(state=RoundState.ACTIVE).update(
        state=RoundState.CANCELLED, finished_at=timezone.now()
    )
    post_transition(
        post=post,
        to_status=S.DRAFT,
        action="withdraw",
        actor=membership.user,
        revision=latest_revision(post),
    )
    return post


@transaction.atomic
def post_schedule(
    *, membership: Membership, post_id: int, expected_version: int | None = None
) -> Post:
    """Put a post in line for automatic publishing at its time.

    With approval required only approved posts can be scheduled; without, drafts can.
    """
    require(membership, Action.POST_RESCHEDULE)
    post = post_lock(membership.workspace_id, post_id)
    check_version(post, expected_version)
    policy = policy_for(membership.workspace)
    allowed_from = {S.APPROVED}
    if policy.mode != ApprovalMode.REQUIRED:
        allowed_from.add(S.DRAFT)
    if post.status not in allowed_from:
        if policy.mode == ApprovalMode.REQUIRED:
            raise ValidationError(
                _("This workspace requires approval: only approved posts can be scheduled."),
                code="transition",
            )
        raise ValidationError(
            _("A post that is %(status)s cannot be scheduled.")
            % {"status": post.get_status_display()},
            code="transition",
        )
    if post.scheduled_at is None or post.scheduled_at <= timezone.now():
        raise ValidationError(_("Give the post a time in the future before scheduling it."))
    _check_schedulable(post)
    revision, _changed = revision_record(post=post, author=membership.user)
    post_transition(
        post=post,
        to_status=S.SCHEDULED,
        action="schedule",
        actor=membership.user,
        revision=revision,
    )
    return post


@transaction.atomic
def post_approve_and_reschedule(
    *,
    membership: Membership,
    post_id: int,
    scheduled_at: dt.datetime,
    expected_step: int | None = None,
) -> Post:
    """For a post that missed its approval: approve the current step and give it a new time."""
    post, round_, revision = _decide_setup(
        workspace=membership.workspace,
        post_id=post_id,
        expected_step=expected_step,
        expected_revision=None,
    )
    if post.status != S.MISSED_APPROVAL:
        raise ValidationError(
            _("Only a post that missed its approval can be approved with a new time.")
        )
    policy = policy_for(membership.workspace)
    if refusal := _approval_refusal(membership, post, round_, policy):
        raise PermissionDenied(refusal)
    if scheduled_at <= timezone.now():
        raise ValidationError(_("A post cannot be scheduled in the past."))
    post.scheduled_at = scheduled_at
    post.save(update_fields=["scheduled_at", "updated_at"])
    _check_schedulable(post)
    revision, _changed = revision_record(post=post, author=membership.user)
    # Back in line (the new time), then the approval as usual.
    post_transition(
        post=post,
        to_status=S.IN_REVIEW,
        action="reschedule_after_miss",
        actor=membership.user,
        step=round_.current_step,
        revision=revision,
    )
    _record_approval(post, round_, user=membership.user, revision=revision, comment="")
    return post


# --- content edits (called by services.posts) -------------------------------------------------


def after_post_saved(*, post: Post, actor: User, previous_status: str, time_changed: bool) -> str:
    """Record the revision of a saved post and apply the review rules; returns a notice.

    Content changes of a post in review or approved/scheduled start a new review (earlier
    decisions stay in history); a time-only move does so too if the workspace's policy says so.
    """
    revision, content_changed = revision_record(post=post, author=actor)
    policy = policy_for(post.workspace)
    notice = ""
    if policy.mode == ApprovalMode.NONE:
        return _sync_schedule(post, actor, revision) or notice
    reviewed = previous_status in APPROVED_STATUSES or previous_status == S.IN_REVIEW
    needs_review = content_changed or (time_changed and policy.time_moves_need_review)
    if reviewed and needs_review:
        reason = (
            _("its content changed")
            if content_changed
            else _("its time changed and this workspace reviews time changes")
        )
        if post.scheduled_at is not None and post.scheduled_at <= timezone.now():
            post.review_rounds.filter(state=RoundState.ACTIVE).update(
                state=RoundState.CANCELLED, finished_at=timezone.now()
            )
            post_transition(
                post=post,
                to_status=S.DRAFT,
                action="edit_back_to_draft",
                actor=actor,
                comment=reason,
                revision=revision,
            )
            return _("“%(title)s” went back to draft because %(reason)s.") % {
                "title": post.display_title,
                "reason": reason,
            }
        _start_round(post, actor=actor, action="edit_back_to_review", comment=reason)
        return _(
            "“%(title)s” went back to review because %(reason)s; earlier approvals stay in "
            "its history."
        ) % {"title": post.display_title, "reason": reason}
    return _sync_schedule(post, actor, revision) or notice


def _sync_schedule(post: Post, actor: User, revision: PostRevision) -> str:
    """Approved + a time = scheduled; scheduled without a time = back to approved."""
    if post.status == S.APPROVED and post.scheduled_at and post.scheduled_at > timezone.now():
        post_transition(
            post=post, to_status=S.SCHEDULED, action="schedule", actor=actor, revision=revision
        )
    elif post.status == S.SCHEDULED and post.scheduled_at is None:
        post_transition(
            post=post,
            to_status=S.APPROVED,
            action="unschedule",
            actor=actor,
            revision=revision,
        )
        return _("“%(title)s” is an idea again; it stays approved.") % {"title": post.display_title}
    return ""


# --- what the publishing engine may send --------------------------------------------------------


def post_is_publishable(post: Post) -> bool:
    """Whether nothing in the workflow stands between this post and publishing at its time.

    Only scheduled posts with a time go out. With approval required, the last finished review
    round must be approved and be for the current content (no edit after the approval).
    """
    if post.status != S.SCHEDULED or post.scheduled_at is None:
        return False
    policy = policy_for(post.workspace)
    if policy.mode != ApprovalMode.REQUIRED:
        return True
    last_round = post.review_rounds.exclude(state=RoundState.CANCELLED).order_by("-id").first()
    if last_round is None or last_round.state != RoundState.APPROVED:
        return False
    latest = latest_revision(post)
    approved = (
        last_round.decisions.filter(kind__in=[DecisionKind.APPROVE, DecisionKind.SKIP])
        .order_by("-id")
        .first()
    )
    if latest is None or approved is None or approved.revision_id is None:
        return False
    return content_of(approved.revision.snapshot) == content_of(latest.snapshot) and content_of(
        latest.snapshot
    ) == content_of(revision_snapshot(post))


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
        _notify(
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
        round_ = _active_round(post)
        post_transition(
            post=post,
            to_status=S.MISSED_APPROVAL,
            action="missed_approval",
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
        _notify("approval_missed", recipients=recipients, post=post, actor=None)
    return len(posts)


# --- external reviewers ------------------------------------------------------------------------


def _external_refusal(round_: ReviewRound) -> str | None:
    step = round_.step
    if step is None or not step.get("external"):
        return _("This post is waiting for the team's approval, not yours.")
    return None


@transaction.atomic
def post_external_decide(
    *,
    link: ReviewLink,
    post_id: int,
    name: str,
    approve: bool,
    comment: str = "",
    expected_revision: int | None = None,
) -> Post:
    """An external reviewer (no account) approves or requests changes through a review link."""
    name = name.strip()
    if not name:
        raise ValidationError(_("Enter your name so the team knows who decided."))
    if not link.posts.filter(pk=post_id).exists():
        raise PermissionDenied(_("This link does not cover that post."))
    post, round_, revision = _decide_setup(
        workspace=link.workspace,
        post_id=post_id,
        expected_step=None,
        expected_revision=expected_revision,
    )
    _check_waiting_in_time(post)
    if refusal := _external_refusal(round_):
        raise PermissionDenied(refusal)
    if approve:
        _record_approval(
            post,
            round_,
            user=None,
            external_name=name,
            review_link=link,
            revision=revision,
            comment=comment,
        )
    else:
        if not comment.strip():
            raise ValidationError(_("Say what should change: a comment is required."))
        _changes_requested(
            post,
            round_,
            user=None,
            external_name=name,
            review_link=link,
            revision=revision,
            comment=comment,
        )
    return post


# --- comments ---------------------------------------------------------------------------------

MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]+)")


def mentioned_users(workspace: Workspace, body: str) -> list[User]:
    names = {m.rstrip(".") for m in MENTION_RE.findall(body)}
    if not names:
        return []
    return list(
        User.objects.filter(memberships__workspace=workspace, username__in=names).distinct()
    )


@transaction.atomic
def post_comment_add(
    *,
    membership: Membership | None,
    post_id: int,
    body: str,
    channel_id: int | None = None,
    internal: bool = True,
    link: ReviewLink | None = None,
    external_name: str = "",
) -> PostComment:
    """A comment on a post, optionally on one channel's variant; @username tells that member.

    Members other than viewers may comment (internal or shared); an external reviewer comments
    through a review link, always shared and under the name they give.
    """
    body = body.strip()
    if not body:
        raise ValidationError(_("Write something before sending the comment."))
    if membership is not None:
        require(membership, Action.POST_EDIT)
        workspace = membership.workspace
        author = membership.user
        external_name = ""
    else:
        if link is None or not link.posts.filter(pk=post_id).exists():
            raise PermissionDenied(_("This link does not cover that post."))
        external_name = external_name.strip()
        if not external_name:
            raise ValidationError(_("Enter your name so the team knows who wrote this."))
        workspace = link.workspace
        author = None
        internal = False
    post = post_lock(workspace.pk, post_id)
    channel = None
    if channel_id is not None:
        variant = post.variants.select_related("channel").filter(channel_id=channel_id).first()
        if variant is None:
            raise ValidationError(_("This post does not go to that channel."))
        channel = variant.channel
    comment = PostComment.objects.create(
        post=post,
        variant_channel=channel,
        author=author,
        external_name=external_name[:120],
        body=body,
        internal=internal,
    )
    mentioned = mentioned_users(workspace, body)
    if mentioned:
        _notify(
            "mentioned",
            recipients=mentioned,
            post=post,
            actor=author,
            detail=body[:200],
        )
    return comment


# --- review links ------------------------------------------------------------------------------

REVIEW_LINK_SALT = "calendar_app.review_link"
REVIEW_LINK_DAYS = 14
REVIEW_LINK_DAY_CHOICES = (1, 3, 7, 14, 30, 90)  # offered in the UI; any 1-90 is accepted


class ReviewLinkInvalid(PermissionDenied):
    """Tampered or unknown token."""


class ReviewLinkGone(Exception):
    """Expired or revoked link: the page answers 410."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def may_manage_review_links(membership: Membership) -> bool:
    return membership.role in (Role.OWNER, Role.MANAGER)


def _require_link_manager(membership: Membership) -> None:
    if not may_manage_review_links(membership):
        raise PermissionDenied(_("Only managers and owners may share review links."))


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def review_link_create(
    *, membership: Membership, post_ids: list[int], days: int = REVIEW_LINK_DAYS
) -> tuple[ReviewLink, str]:
    """A link for reviewers without an account; returns it and its token (shown only now).

    Managers and owners only: whoever holds the link may decide an external step, so an author
    must not be able to hand one to themselves.
    """
    _require_link_manager(membership)
    if not 1 <= days <= 90:
        raise ValidationError(_("A review link is valid for 1 to 90 days."))
    posts = list(Post.objects.filter(workspace=membership.workspace, pk__in=post_ids))
    if not posts or len(posts) != len(set(post_ids)):
        raise ValidationError(_("Choose posts of this workspace."), code="missing")
    secret = secrets.token_urlsafe(24)
    link = ReviewLink.objects.create(
        workspace=membership.workspace,
        token_hash=_token_hash(secret),
        created_by=membership.user,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    link.posts.set(posts)
    token = signing.TimestampSigner(salt=REVIEW_LINK_SALT).sign(f"{link.pk}.{secret}")
    return link, token


@transaction.atomic
def review_link_revoke(*, membership: Membership, link_id: int) -> ReviewLink:
    _require_link_manager(membership)
    try:
        link = ReviewLink.objects.select_for_update().get(
            pk=link_id, workspace=membership.workspace
        )
    except ReviewLink.DoesNotExist:
        raise ValidationError(_("This review link does not exist."), code="missing") from None
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])
    return link


def review_link_resolve(token: str) -> ReviewLink:
    """The link a token stands for; ReviewLinkInvalid (403) or ReviewLinkGone (410) otherwise."""
    try:
        value = signing.TimestampSigner(salt=REVIEW_LINK_SALT).unsign(token)
        pk, secret = value.split(".", 1)
        link = ReviewLink.objects.select_related("workspace").get(pk=int(pk))
    except (signing.BadSignature, ValueError, ReviewLink.DoesNotExist):
        raise ReviewLinkInvalid(_("This review link is not valid.")) from None
    if not hmac.compare_digest(_token_hash(secret), link.token_hash):
        raise ReviewLinkInvalid(_("This review link is not valid."))
    if link.revoked_at is not None:
        raise ReviewLinkGone(_("This review link was revoked. Ask the team for a new one."))
    if link.expires_at <= timezone.now():
        raise ReviewLinkGone(_("This review link has expired. Ask the team for a new one."))
    return link
