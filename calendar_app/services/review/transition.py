"""The one writer of `Post.status`: checks the move, locks the row, writes the audit event."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from calendar_app.models import (
    AuditEvent,
    Post,
    PostRevision,
)
from calendar_app.workflow import PostStatus, can_transition

S = PostStatus


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
