"""The approval workflow, by concern: revisions, rounds and decisions, the one
status writer (transition), the publish gate, the beat sweeps and external review links.

Callers use `from calendar_app.services import review` and `review.post_approve(...)`.
"""

from calendar_app.policy import default_step, policy_for, policy_steps
from calendar_app.services.review.external import (
    REVIEW_LINK_BAD_ATTEMPTS,
    REVIEW_LINK_DAY_CHOICES,
    REVIEW_LINK_DAYS,
    REVIEW_LINK_SALT,
    ReviewLinkGone,
    ReviewLinkInvalid,
    ReviewLinkThrottled,
    post_external_decide,
    review_link_attempts_reset,
    review_link_create,
    review_link_open,
    review_link_resolve,
    review_link_revoke,
)
from calendar_app.services.review.gate import post_cleared_for_publishing
from calendar_app.services.review.revisions import (
    content_of,
    latest_revision,
    revision_record,
    revision_snapshot,
)
from calendar_app.services.review.rounds import (
    ApproverEdit,
    Decided,
    active_round,
    after_post_saved,
    post_approve,
    post_approve_and_reschedule,
    post_request_changes,
    post_schedule,
    post_skip_step,
    post_submit_for_review,
    post_withdraw,
    step_approvers,
)
from calendar_app.services.review.sweeps import approvals_mark_missed, approvals_send_reminders
from calendar_app.services.review.transition import audit_record, post_transition

__all__ = [
    "REVIEW_LINK_BAD_ATTEMPTS",
    "REVIEW_LINK_DAYS",
    "REVIEW_LINK_DAY_CHOICES",
    "REVIEW_LINK_SALT",
    "ApproverEdit",
    "Decided",
    "ReviewLinkGone",
    "ReviewLinkInvalid",
    "ReviewLinkThrottled",
    "active_round",
    "after_post_saved",
    "approvals_mark_missed",
    "approvals_send_reminders",
    "audit_record",
    "content_of",
    "default_step",
    "latest_revision",
    "policy_for",
    "policy_steps",
    "post_approve",
    "post_approve_and_reschedule",
    "post_cleared_for_publishing",
    "post_external_decide",
    "post_request_changes",
    "post_schedule",
    "post_skip_step",
    "post_submit_for_review",
    "post_transition",
    "post_withdraw",
    "review_link_attempts_reset",
    "review_link_create",
    "review_link_open",
    "review_link_resolve",
    "review_link_revoke",
    "revision_record",
    "revision_snapshot",
    "step_approvers",
]
