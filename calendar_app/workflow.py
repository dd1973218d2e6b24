"""The post state machine: the status enum and the allowed moves.

Only drafts exist so far; the approval and publishing issues add their states and moves here,
and `post_transition` in services stays the only writer of `Post.status`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PostStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")


# from-status -> set of to-statuses
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    PostStatus.DRAFT: frozenset(),
}

# Statuses in which the content and time of a post may still be changed in the editor.
EDITABLE_STATUSES: frozenset[str] = frozenset({PostStatus.DRAFT})

# Bootstrap colour used for a status badge.
STATUS_BADGE: dict[str, str] = {PostStatus.DRAFT: "secondary"}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())
