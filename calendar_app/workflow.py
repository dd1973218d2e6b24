"""The post state machine: the status enum and the allowed moves.

`services.review.post_transition` is the only writer of `Post.status`; it refuses any move
not listed here. The publishing issue adds its states after SCHEDULED (queued, published,
failed...) by extending the enum and this table.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PostStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    SCHEDULED = "scheduled", _("Scheduled")
    MISSED_APPROVAL = "missed_approval", _("Missed approval")


S = PostStatus

# from-status -> set of to-statuses. IN_REVIEW -> IN_REVIEW is a step advancing (or a content
# change restarting the review), recorded like any other move.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.IN_REVIEW, S.SCHEDULED}),
    S.IN_REVIEW: frozenset(
        {S.IN_REVIEW, S.APPROVED, S.CHANGES_REQUESTED, S.DRAFT, S.MISSED_APPROVAL}
    ),
    S.CHANGES_REQUESTED: frozenset({S.IN_REVIEW, S.DRAFT, S.MISSED_APPROVAL}),
    S.APPROVED: frozenset({S.SCHEDULED, S.IN_REVIEW, S.DRAFT}),
    S.SCHEDULED: frozenset({S.IN_REVIEW, S.DRAFT}),
    S.MISSED_APPROVAL: frozenset({S.SCHEDULED, S.IN_REVIEW, S.DRAFT}),
}

# Statuses whose content may be changed in the editor. Approved and scheduled posts may be
# edited too, but a content change sends them back to review (services.posts decides).
EDITABLE_STATUSES: frozenset[str] = frozenset(
    {S.DRAFT, S.CHANGES_REQUESTED, S.IN_REVIEW, S.APPROVED, S.SCHEDULED, S.MISSED_APPROVAL}
)

# Statuses in which the post waits for approvers (the queue, reminders, the missed sweep).
AWAITING_APPROVAL: frozenset[str] = frozenset({S.IN_REVIEW})

# Statuses that carry a completed approval; a content edit here restarts the review.
APPROVED_STATUSES: frozenset[str] = frozenset({S.APPROVED, S.SCHEDULED})

# Bootstrap colour used for a status badge.
STATUS_BADGE: dict[str, str] = {
    S.DRAFT: "secondary",
    S.IN_REVIEW: "warning",
    S.CHANGES_REQUESTED: "danger",
    S.APPROVED: "success",
    S.SCHEDULED: "primary",
    S.MISSED_APPROVAL: "dark",
}

# Bootstrap icon shown next to the status.
STATUS_ICON: dict[str, str] = {
    S.DRAFT: "pencil",
    S.IN_REVIEW: "hourglass-split",
    S.CHANGES_REQUESTED: "arrow-return-left",
    S.APPROVED: "check-circle",
    S.SCHEDULED: "calendar-check",
    S.MISSED_APPROVAL: "exclamation-octagon",
}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())
