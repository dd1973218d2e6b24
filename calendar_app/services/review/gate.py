"""What the publishing engine may send: the workflow's side of "may this post go out"."""

from __future__ import annotations

from calendar_app.models import (
    ApprovalMode,
    DecisionKind,
    Post,
    PostRevision,
    RoundState,
)
from calendar_app.policy import policy_for
from calendar_app.services.review.revisions import content_of, latest_revision, revision_snapshot
from calendar_app.workflow import PostStatus

S = PostStatus


# --- what the publishing engine may send --------------------------------------------------------


def post_cleared_for_publishing(post: Post) -> bool:
    """Whether nothing in the workflow stands between this post and publishing at its time.

    Only scheduled posts with a time go out. With approval required, the last finished review
    round must be approved, every one of its steps cleared as the rulebook demands (as many
    different approvers as the step needs, or a skip; by the post's author or last editor only
    where the policy allows it), and the last clearing decision be for the current content (no
    edit after the approval). Checked again here, at every hand-over, whatever wrote the rows.
    """
    if post.status != S.SCHEDULED or post.scheduled_at is None:
        return False
    policy = policy_for(post.workspace)
    if policy.mode != ApprovalMode.REQUIRED:
        return True
    last_round = post.review_rounds.exclude(state=RoundState.CANCELLED).order_by("-id").first()
    if last_round is None or last_round.state != RoundState.APPROVED:
        return False
    decisions = list(
        last_round.decisions.filter(kind__in=[DecisionKind.APPROVE, DecisionKind.SKIP])
        .order_by("id")
        .values_list(
            "step", "kind", "user_id", "review_link__recipient_email", "own_post", "revision_id"
        )
    )
    allow_own = policy.allow_self_approval
    for index, step in enumerate(last_round.steps):
        counted = [d for d in decisions if d[0] == index and (allow_own or not d[4])]
        if any(kind == DecisionKind.SKIP for _s, kind, *_rest in counted):
            continue
        # The approvals of the revision the step was cleared at, one per person.
        cleared_at = counted[-1][5] if counted else None
        people = {
            ("user", user) if user is not None else ("email", (email or "").lower())
            for _step, _kind, user, email, _own, revision_id in counted
            if revision_id == cleared_at
        } - {("email", "")}
        if len(people) < step.get("required", 1):
            return False
    latest = latest_revision(post)
    last_revision_id = decisions[-1][5] if decisions else None
    if latest is None or last_revision_id is None:
        return False
    approved = PostRevision.objects.filter(pk=last_revision_id).values_list("snapshot", flat=True)
    approved_snapshot = approved.first()
    if approved_snapshot is None:
        return False
    current = content_of(revision_snapshot(post))
    return content_of(approved_snapshot) == content_of(latest.snapshot) == current
