"""The one writer of `Post.status`: checks the move against the rulebook, locks the row, writes
the audit event."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from calendar_app.models import AuditEvent, Post, PostRevision
from calendar_app.publication import publication_of
from calendar_app.workflow import PostAction, move_refusal


def post_transition(
    *,
    post: Post,
    to_status: str,
    action: PostAction,
    actor: User | None = None,
    actor_name: str = "",
    comment: str = "",
    step: int | None = None,
    revision: PostRevision | None = None,
) -> AuditEvent:
    """Move a post to `to_status` by `action` and record it. The only place that writes
    `Post.status`.

    Must run inside a transaction; the row is (re-)locked here so that the check and the write
    see the same state. Refuses a move the action's rule does not list, and any move of a post
    that went out unless the rule allows it (workflow.move_refusal): whoever calls it wrongly,
    the history cannot be rewritten.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("post_transition must run inside a transaction.")
    action = PostAction(action)
    locked = Post.objects.select_for_update().only("id", "status").get(pk=post.pk)
    from_status = locked.status
    if refusal := move_refusal(action, from_status, to_status, publication_of(post.pk)):
        raise ValidationError(refusal, code="transition")
    post.status = to_status
    post.version += 1
    Post.objects.filter(pk=post.pk).update(
        status=to_status, version=post.version, updated_at=timezone.now()
    )
    return AuditEvent.objects.create(
        workspace_id=post.workspace_id,
        post=post,
        action=action.value,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        actor_name=actor_name,
        comment=comment,
        step=step,
        revision=revision,
    )


def audit_record(
    *, post: Post, action: PostAction, actor: User | None, comment: str = ""
) -> AuditEvent:
    """An event in the post's audit trail that changes no status (a review link issued to
    someone, revoked)."""
    return AuditEvent.objects.create(
        workspace_id=post.workspace_id,
        post=post,
        action=PostAction(action).value,
        from_status=post.status,
        to_status=post.status,
        actor=actor,
        comment=comment,
    )
