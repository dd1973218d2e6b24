"""What the publishing engine may send: the workflow's side of "may this post go out"."""

from __future__ import annotations

from calendar_app.models import (
    ApprovalMode,
    DecisionKind,
    Post,
    RoundState,
)
from calendar_app.services.review.policy import policy_for
from calendar_app.services.review.revisions import content_of, latest_revision, revision_snapshot
from calendar_app.workflow import PostStatus

S = PostStatus


# --- what the publishing engine may send --------------------------------------------------------


def post_cleared_for_publishing(post: Post) -> bool:
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
