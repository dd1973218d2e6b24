"""The optimistic version check every post write shares (calendar_app.access applies it)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from calendar_app.models import Post


class StaleEdit(ValidationError):
    """The post changed since the form or calendar was loaded."""


def check_version(post: Post, expected_version: int | None) -> None:
    """Refuse a write based on an older version of the post (None: the caller did not say)."""
    if expected_version is not None and expected_version != post.version:
        raise StaleEdit(
            _("Someone else changed this post in the meantime. Reload to see their changes."),
            code="stale",
        )
