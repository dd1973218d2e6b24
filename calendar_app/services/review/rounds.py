"""Review rounds and decisions: submit, approve, request changes, skip, withdraw, schedule, and
the review rules applied after a content edit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from calendar_app.models import (
    ApprovalMode,
    ApprovalPolicy,
    DecisionKind,
    Membership,
    Post,
    PostRevision,
    ReviewDecision,
    ReviewLink,
    ReviewRound,
    Role,
    RoundState,
    Workspace,
)
from calendar_app.permissions import Action, require
from calendar_app.services.content import post_check_fits
from calendar_app.services.locking import check_version, post_lock
from calendar_app.services.notices import post_notify
from calendar_app.services.review.policy import policy_for, policy_steps
from calendar_app.services.review.revisions import latest_revision, revision_record
from calendar_app.services.review.transition import post_transition
from calendar_app.workflow import APPROVED_STATUSES, PostStatus

S = PostStatus


# --- who may approve -------------------------------------------------------------------------


def active_round(post: Post) -> ReviewRound | None:
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


# --- actions -------------------------------------------------------------------------------


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
    post_notify(
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
        post_check_fits(post)
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
        post_notify(
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
    post_notify("approved", recipients=recipients, post=post, actor=actor)
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


def round_for_decision(
    *,
    workspace: Workspace,
    post_id: int,
    expected_step: int | None,
    expected_revision: int | None,
) -> tuple[Post, ReviewRound, PostRevision]:
    post = post_lock(workspace.pk, post_id)
    round_ = active_round(post)
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


def require_waiting_in_time(post: Post) -> None:
    """Approvals and skips only for posts in review whose time has not passed yet."""
    if post.status != S.IN_REVIEW:
        raise ValidationError(
            _("This post missed its time; approve it with a new time."), code="transition"
        )
    if post.scheduled_at is not None and post.scheduled_at <= timezone.now():
        raise ValidationError(
            _("This post missed its time; approve it with a new time."), code="transition"
        )


def record_approval(
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
    post, round_, revision = round_for_decision(
        workspace=membership.workspace,
        post_id=post_id,
        expected_step=expected_step,
        expected_revision=expected_revision,
    )
    require_waiting_in_time(post)
    policy = policy_for(membership.workspace)
    if refusal := _approval_refusal(membership, post, round_, policy):
        raise PermissionDenied(refusal)
    if edit is not None and _apply_approver_edit(post, edit, membership.user):
        post_check_fits(post)
        revision, _changed = revision_record(post=post, author=membership.user)
        post_transition(
            post=post,
            to_status=S.IN_REVIEW,
            action="approver_edit",
            actor=membership.user,
            step=round_.current_step,
            revision=revision,
        )
    record_approval(post, round_, user=membership.user, revision=revision, comment=comment)
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
    post, round_, revision = round_for_decision(
        workspace=membership.workspace,
        post_id=post_id,
        expected_step=expected_step,
        expected_revision=expected_revision,
    )
    policy = policy_for(membership.workspace)
    if refusal := _approval_refusal(membership, post, round_, policy):
        raise PermissionDenied(refusal)
    record_changes_requested(post, round_, user=membership.user, revision=revision, comment=comment)
    return post


def record_changes_requested(
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
    post_notify(
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
    post, round_, revision = round_for_decision(
        workspace=membership.workspace,
        post_id=post_id,
        expected_step=expected_step,
        expected_revision=None,
    )
    policy = policy_for(membership.workspace)
    if membership.role == Role.VIEWER or membership.role not in policy.skip_roles:
        raise PermissionDenied(_("Your role may not skip approval steps in this workspace."))
    require_waiting_in_time(post)
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
    post_check_fits(post)
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
    post, round_, revision = round_for_decision(
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
    post_check_fits(post)
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
    record_approval(post, round_, user=membership.user, revision=revision, comment="")
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
