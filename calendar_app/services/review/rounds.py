"""Review rounds and decisions: submit, approve, request changes, skip, withdraw, schedule, and
the review rules applied after a content edit.

Each member-facing service asks calendar_app.access for the post and the action (the rulebook
refuses what it does not allow, with a message for people), then writes; `post_transition`
checks every status move once more against the same table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from calendar_app import permissions
from calendar_app.access import (
    PostAccess,
    access_post,
    access_post_for_decision,
    raise_refusal,
)
from calendar_app.models import (
    ApprovalMode,
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
from calendar_app.policy import policy_for, policy_steps
from calendar_app.services.content import post_check_fits
from calendar_app.services.notices import post_notify
from calendar_app.services.review.revisions import latest_revision, revision_record
from calendar_app.services.review.transition import post_transition
from calendar_app.workflow import (
    APPROVED_STATUSES,
    PostAction,
    PostStatus,
    Refusal,
    action_refusal,
    time_has_passed,
)

S = PostStatus
A = PostAction


def active_round(post: Post) -> ReviewRound | None:
    return post.review_rounds.filter(state=RoundState.ACTIVE).first()


def step_approvers(workspace: Workspace, post: Post, step: dict | None) -> list[User]:
    """The members who may decide `step` of `post` (told when it waits for them): the same rule
    the services apply (permissions.decider_refusal)."""
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
        m.user
        for m in memberships
        if permissions.decider_refusal(
            m,
            step=step,
            author_id=post.author_id,
            last_editor_id=post.content_edited_by_id,
            allow_self=policy.allow_self_approval,
        )
        is None
    ]


# --- starting and finishing ---------------------------------------------------------------------


def start_round(
    post: Post, *, actor: User | None, action: PostAction, comment: str = ""
) -> ReviewRound:
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
    access = access_post(membership, post_id, action=A.SUBMIT, expected_version=expected_version)
    post = access.post
    if post.scheduled_at is not None:
        post_check_fits(post)
    start_round(post, actor=membership.user, action=A.SUBMIT)
    return post


def _finish_step(
    post: Post,
    round_: ReviewRound,
    *,
    actor: User | None,
    actor_name: str,
    revision: PostRevision,
    action: PostAction,
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
    if post.scheduled_at is not None and not time_has_passed(post.scheduled_at):
        post_transition(
            post=post,
            to_status=S.SCHEDULED,
            action=A.SCHEDULE_AFTER_APPROVAL,
            actor=actor,
            actor_name=actor_name,
            revision=revision,
        )


# --- deciding -----------------------------------------------------------------------------------


def decision_access(
    actor: Membership | ReviewLink,
    post_id: int,
    *,
    action: PostAction,
    expected_step: int | None,
    expected_revision: int | None,
) -> PostAccess:
    """The post for a decision: a decision taken on what the decider saw (the step and the
    revision of their page) is refused as stale before anything else, then the rulebook."""
    return access_post_for_decision(
        actor,
        post_id,
        action=action,
        expected_step=expected_step,
        expected_revision=expected_revision,
    )


def _own_post(actor_user_id: int | None, post: Post) -> bool:
    return permissions.own_work(
        actor_user_id, author_id=post.author_id, last_editor_id=post.content_edited_by_id
    )


def record_approval(
    access: PostAccess,
    *,
    user: User | None,
    review_link: ReviewLink | None = None,
    comment: str,
) -> None:
    """Count one approval of the current step for the latest revision; finish the step once it
    has as many approvals from different people as it needs."""
    post, round_, revision = access.post, access.round, access.revision
    step = round_.current_step
    external_name = review_link.recipient_name if review_link is not None else ""
    own = _own_post(user.pk if user else review_link.created_by_id, post)
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
                own_post=own,
            )
    except IntegrityError:
        raise ValidationError(_("You already approved this step."), code="duplicate") from None
    approvers = {
        f"user:{user_id}" if user_id is not None else f"email:{(email or '').lower()}"
        for user_id, email in round_.decisions.filter(
            step=step, kind=DecisionKind.APPROVE, revision=revision
        ).values_list("user_id", "review_link__recipient_email")
    }
    if len(approvers) >= round_.steps[step].get("required", 1):
        _finish_step(
            post,
            round_,
            actor=user,
            actor_name=external_name,
            revision=revision,
            action=A.APPROVE,
            comment=comment,
        )
    else:
        post_transition(
            post=post,
            to_status=post.status,
            action=A.APPROVE_PARTIAL,
            actor=user,
            actor_name=external_name,
            comment=comment,
            step=step,
            revision=revision,
        )


@dataclass
class ApproverEdit:
    """Text an approver changes while reviewing: the master text and per-channel texts."""

    body: str
    variant_bodies: dict[int, str]


@dataclass(frozen=True)
class Decided:
    """What a decision did: `approved` is False when the decider's own edit was saved instead
    (their change needs someone else's approval); `notice` says so."""

    post: Post
    approved: bool = True
    notice: str = ""


def _apply_approver_edit(post: Post, edit: ApproverEdit) -> bool:
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


def _decider_changed(
    access: PostAccess, membership: Membership, action: PostAction
) -> tuple[PostAccess, PostRevision, Refusal | None]:
    """Whoever decides the current step changed the post while deciding: record the new
    revision, put the post back in line for the step, and ask the rulebook again whether they
    may approve it (their own change, by separation of duties, usually not)."""
    post = access.post
    post_check_fits(post)
    revision, _changed = revision_record(post=post, author=membership.user)
    post_transition(
        post=post,
        to_status=S.IN_REVIEW,
        action=action,
        actor=membership.user,
        step=access.round.current_step,
        revision=revision,
    )
    access = access_post(membership, post.pk, action=None)
    return access, revision, action_refusal(membership, access.post, access.facts, A.APPROVE)


@transaction.atomic
def post_approve(
    *,
    membership: Membership,
    post_id: int,
    expected_step: int | None = None,
    expected_revision: int | None = None,
    comment: str = "",
    edit: ApproverEdit | None = None,
) -> Decided:
    """Approve the current step of a post in review.

    An approver who changes the text while reviewing has made the latest change: the edit is
    saved as a new revision for the step's other approvers, and does not count as approved
    (unless the policy lets authors approve their own posts). A step whose required count of
    different approvers is reached advances; after the last one the post is approved (and
    scheduled if it has a time).
    """
    access = decision_access(
        membership,
        post_id,
        action=A.APPROVE,
        expected_step=expected_step,
        expected_revision=expected_revision,
    )
    post = access.post
    if edit is not None and _apply_approver_edit(post, edit):
        access, revision, refused = _decider_changed(access, membership, A.APPROVER_EDIT)
        if refused is not None:
            post_notify(
                "submitted",
                recipients=step_approvers(post.workspace, post, access.facts.step),
                post=post,
                actor=membership.user,
                step=access.facts.step["name"],
            )
            return Decided(
                post=post,
                approved=False,
                notice=_(
                    "Your changes to “%(title)s” were saved as revision %(number)s. You made "
                    "them, so another approver of this step must approve them."
                )
                % {"title": post.display_title, "number": revision.number},
            )
    record_approval(access, user=membership.user, comment=comment)
    return Decided(post=post)


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
    access = decision_access(
        membership,
        post_id,
        action=A.REQUEST_CHANGES,
        expected_step=expected_step,
        expected_revision=expected_revision,
    )
    record_changes_requested(access, user=membership.user, comment=comment)
    return access.post


def record_changes_requested(
    access: PostAccess,
    *,
    user: User | None,
    comment: str,
    review_link: ReviewLink | None = None,
) -> None:
    post, round_, revision = access.post, access.round, access.revision
    external_name = review_link.recipient_name if review_link is not None else ""
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
        action=A.REQUEST_CHANGES,
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
    """Skip the current step. A skip clears a step like an approval: only roles the policy
    names may, never the post's author or last editor, and it is recorded with who and why."""
    if not comment.strip():
        raise ValidationError(_("Say why the step is skipped: a comment is required."))
    access = decision_access(
        membership, post_id, action=A.SKIP_STEP, expected_step=expected_step, expected_revision=None
    )
    post, round_ = access.post, access.round
    ReviewDecision.objects.create(
        round=round_,
        step=round_.current_step,
        kind=DecisionKind.SKIP,
        user=membership.user,
        revision=access.revision,
        comment=comment.strip(),
        own_post=_own_post(membership.user_id, post),
    )
    _finish_step(
        post,
        round_,
        actor=membership.user,
        actor_name="",
        revision=access.revision,
        action=A.SKIP_STEP,
        comment=comment.strip(),
    )
    return post


@transaction.atomic
def post_withdraw(
    *, membership: Membership, post_id: int, expected_version: int | None = None
) -> Post:
    """The author takes the post back to draft; a running review ends, its history stays."""
    access = access_post(membership, post_id, action=A.WITHDRAW, expected_version=expected_version)
    post = access.post
    post.review_rounds.filter(state=RoundState.ACTIVE).update(
        state=RoundState.CANCELLED, finished_at=timezone.now()
    )
    post_transition(
        post=post,
        to_status=S.DRAFT,
        action=A.WITHDRAW,
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
    access = access_post(membership, post_id, action=A.SCHEDULE, expected_version=expected_version)
    post = access.post
    post_check_fits(post)
    revision, _changed = revision_record(post=post, author=membership.user)
    post_transition(
        post=post,
        to_status=S.SCHEDULED,
        action=A.SCHEDULE,
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
    access = decision_access(
        membership,
        post_id,
        action=A.APPROVE_WITH_NEW_TIME,
        expected_step=expected_step,
        expected_revision=None,
    )
    post = access.post
    if time_has_passed(scheduled_at):
        raise ValidationError(_("A post cannot be scheduled in the past."))
    post.scheduled_at = scheduled_at
    post.save(update_fields=["scheduled_at", "updated_at"])
    # Back in line (the new time), then the approval as usual.
    access, _revision, refused = _decider_changed(access, membership, A.APPROVE_WITH_NEW_TIME)
    if refused is not None:
        raise_refusal(refused)
    record_approval(access, user=membership.user, comment="")
    return post


# --- content edits (called by services.posts) -------------------------------------------------


def after_post_saved(*, post: Post, actor: User, previous_status: str, time_changed: bool) -> str:
    """Record the revision of a saved post and apply the review rules; returns a notice.

    Content changes of a post in review or approved/scheduled start a new review (earlier
    decisions stay in history); a time-only move does so too if the workspace's policy says so.
    """
    revision, content_changed = revision_record(post=post, author=actor)
    policy = policy_for(post.workspace)
    if policy.mode == ApprovalMode.NONE:
        return _sync_schedule(post, actor, revision)
    reviewed = previous_status in APPROVED_STATUSES or previous_status == S.IN_REVIEW
    needs_review = content_changed or (time_changed and policy.time_moves_need_review)
    if reviewed and needs_review:
        reason = (
            _("its content changed")
            if content_changed
            else _("its time changed and this workspace reviews time changes")
        )
        if time_has_passed(post.scheduled_at):
            post.review_rounds.filter(state=RoundState.ACTIVE).update(
                state=RoundState.CANCELLED, finished_at=timezone.now()
            )
            post_transition(
                post=post,
                to_status=S.DRAFT,
                action=A.EDIT_BACK_TO_DRAFT,
                actor=actor,
                comment=reason,
                revision=revision,
            )
            return _("“%(title)s” went back to draft because %(reason)s.") % {
                "title": post.display_title,
                "reason": reason,
            }
        start_round(post, actor=actor, action=A.EDIT_BACK_TO_REVIEW, comment=reason)
        return _(
            "“%(title)s” went back to review because %(reason)s; earlier approvals stay in "
            "its history."
        ) % {"title": post.display_title, "reason": reason}
    return _sync_schedule(post, actor, revision)


def _sync_schedule(post: Post, actor: User, revision: PostRevision) -> str:
    """Approved + a time = scheduled; scheduled without a time = back to approved."""
    if post.status == S.APPROVED and post.scheduled_at and not time_has_passed(post.scheduled_at):
        post_transition(
            post=post,
            to_status=S.SCHEDULED,
            action=A.SCHEDULE_WITH_TIME,
            actor=actor,
            revision=revision,
        )
    elif post.status == S.SCHEDULED and post.scheduled_at is None:
        post_transition(
            post=post,
            to_status=S.APPROVED,
            action=A.BACK_TO_APPROVED,
            actor=actor,
            revision=revision,
        )
        return _("“%(title)s” is an idea again; it stays approved.") % {"title": post.display_title}
    return ""
