"""Revisions: a post's content as a numbered snapshot, and what counts as a content change."""

from __future__ import annotations

from accounts.models import User
from calendar_app.models import (
    Post,
    PostRevision,
)
from calendar_app.workflow import PostStatus

S = PostStatus


# --- revisions ----------------------------------------------------------------------------------

# Keys of a snapshot that are content (a change needs a new review); the rest is schedule.
CONTENT_KEYS = ("title", "body", "media", "channels")


def revision_snapshot(post: Post) -> dict:
    """The post's content as JSON: texts, media ids and the channel set with each variant."""
    variants = post.variants.select_related("channel").prefetch_related("media_override")
    return {
        "title": post.title,
        "body": post.body,
        "media": [pm.media_id for pm in post.post_media.order_by("position", "id")],
        "channels": {
            str(v.channel_id): {
                "name": v.channel.name,
                "platform": v.channel.platform,
                "title": v.title_override,
                "body": v.body_override,
                "first_comment": v.first_comment,
                "media": sorted(m.pk for m in v.media_override.all()),
            }
            for v in variants
        },
        "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
    }


def content_of(snapshot: dict) -> dict:
    channels = {
        key: {k: v for k, v in value.items() if k not in ("name", "platform")}
        for key, value in snapshot.get("channels", {}).items()
    }
    return {
        "title": snapshot.get("title", ""),
        "body": snapshot.get("body", ""),
        "media": snapshot.get("media", []),
        "channels": channels,
    }


def latest_revision(post: Post) -> PostRevision | None:
    return post.revisions.order_by("-number").first()


def revision_record(*, post: Post, author: User | None) -> tuple[PostRevision, bool]:
    """Keep the post's current content as a revision unless it equals the latest one.

    Returns the revision and whether its content differs from the one before (a schedule-only
    change writes a revision too, so the history shows it, but is not a content change). A
    content change makes `author` the post's `content_edited_by`.
    """
    snapshot = revision_snapshot(post)
    latest = latest_revision(post)
    if latest is not None and latest.snapshot == snapshot:
        return latest, False
    content_changed = latest is None or content_of(latest.snapshot) != content_of(snapshot)
    revision = PostRevision.objects.create(
        post=post,
        number=(latest.number + 1) if latest else 1,
        snapshot=snapshot,
        author=author,
    )
    if content_changed and author is not None and post.content_edited_by_id != author.pk:
        # Whoever made the latest content change never clears a step of it (permissions).
        post.content_edited_by = author
        Post.objects.filter(pk=post.pk).update(content_edited_by=author)
    return revision, content_changed
