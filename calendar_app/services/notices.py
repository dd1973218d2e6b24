"""Notifications about a post, from the editorial services."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from accounts.models import User
from calendar_app.models import (
    Post,
)
from calendar_app.workflow import PostStatus

S = PostStatus

logger = logging.getLogger(__name__)


def post_notify(
    kind: str,
    *,
    recipients: Iterable[User],
    post: Post,
    actor: User | None,
    actor_name: str = "",
    **params,
):
    """Tell `recipients` about `post`; `actor_name` names an actor who is no member (an
    external reviewer)."""
    if actor is None and actor_name:
        params["actor"] = actor_name
    try:
        from notifications.services import notify
    except ImportError:  # pragma: no cover - the notifications app is optional at import time
        logger.warning("notifications app missing; %s not sent", kind)
        return
    notify(
        kind=kind,
        recipients=list(recipients),
        workspace=post.workspace,
        post=post,
        actor=actor,
        params=params or None,
    )
