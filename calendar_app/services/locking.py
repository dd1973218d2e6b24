"""Row locks and the optimistic version check every post write shares (posts and approvals)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from calendar_app.models import Post


class StaleEdit(ValidationError):
    """The post changed since the form or calendar was loaded."""


def post_lock(workspace_id: int, post_id: int) -> Post:
    """The post of this workspace, locked for the rest of the transaction."""
    try:
        return Post.objects.select_for_update().get(pk=post_id, workspace_id=workspace_id)
    except Post.DoesNotExist:
        raise ValidationError(_("This post does not exist (any more)."), code="missing") from None


def check_version(post: Post, expected_version: int | None) -> None:
    """Refuse a write based on an older version of the post (None: the caller did not say)."""
    if expected_version is not None and expected_version != post.version:
        raise StaleEdit(
            _("Someone else changed this post in the meantime. Reload to see their changes."),
            code="stale",
        )
