"""A person's own data as one JSON document (the data protection right of access).

Only what is about them or written by them, with just enough context to read it (workspace
names, post ids): never other people's addresses, comments or the external reviewers they
invited. Written piece by piece from database cursors, so a heavy user's export never sits in
memory; one query per section.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.utils import timezone, translation

from accounts.models import User
from calendar_app.models import (
    AuditEvent,
    Invitation,
    MediaAsset,
    Membership,
    Post,
    PostComment,
    PostRevision,
    ReviewDecision,
    ReviewLink,
)
from notifications.models import Notification, NotificationPreference, render_message
from publishing.models import Delivery

EXPORT_FORMAT = "content-calendar.personal-data/1"
CHUNK = 1000  # rows fetched from the cursor at a time

Row = dict[str, Any]


def _dumps(value: Any) -> str:
    # ensure_ascii off: the file is UTF-8 and umlauts stay readable; times are ISO 8601 (UTC).
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)


def _rows(queryset: QuerySet, rename: dict[str, str]) -> Iterator[Row]:
    """The queryset's values, keys renamed for people (workspace__name → workspace)."""
    for row in queryset.values(*rename).iterator(chunk_size=CHUNK):
        yield {rename[key]: value for key, value in row.items()}


def _notifications(user: User) -> Iterator[Row]:
    fields = ("id", "workspace__name", "kind", "params", "post_id", "created_at", "read_at")
    rows = Notification.objects.filter(recipient=user).order_by("created_at", "id")
    for row in rows.values(*fields).iterator(chunk_size=CHUNK):
        yield {
            "id": row["id"],
            "workspace": row["workspace__name"],
            "kind": row["kind"],
            # The sentence as the bell showed it; the parameters behind it may quote others.
            "message": render_message(row["kind"], row["params"]),
            "post": row["post_id"],
            "created_at": row["created_at"],
            "read_at": row["read_at"],
        }


def _sections(user: User) -> list[tuple[str, Callable[[], Iterable[Row]]]]:
    ws = "workspace__name"
    return [
        (
            "memberships",
            lambda: _rows(
                Membership.objects.filter(user=user).order_by("created_at", "id"),
                {
                    ws: "workspace",
                    "workspace__slug": "workspace_slug",
                    "role": "role",
                    "created_at": "member_since",
                },
            ),
        ),
        (
            "posts_authored",
            lambda: _rows(
                Post.objects.filter(author=user).order_by("created_at", "id"),
                {
                    "id": "id",
                    ws: "workspace",
                    "title": "title",
                    "status": "status",
                    "scheduled_at": "scheduled_at",
                    "created_at": "created_at",
                    "updated_at": "updated_at",
                },
            ),
        ),
        (
            "post_revisions",
            lambda: _rows(
                PostRevision.objects.filter(author=user).order_by("created_at", "id"),
                {
                    "post_id": "post",
                    "post__workspace__name": "workspace",
                    "number": "number",
                    "created_at": "created_at",
                },
            ),
        ),
        (
            "comments",
            lambda: _rows(
                PostComment.objects.filter(author=user).order_by("created_at", "id"),
                {
                    "id": "id",
                    "post_id": "post",
                    "post__workspace__name": "workspace",
                    "variant_channel__name": "channel",
                    "internal": "internal",
                    "body": "text",
                    "created_at": "created_at",
                },
            ),
        ),
        (
            "review_decisions",
            lambda: _rows(
                ReviewDecision.objects.filter(user=user).order_by("created_at", "id"),
                {
                    "id": "id",
                    "round__post_id": "post",
                    "round__post__workspace__name": "workspace",
                    "step": "step",
                    "kind": "kind",
                    "comment": "comment",
                    "own_post": "own_post",
                    "created_at": "created_at",
                },
            ),
        ),
        (
            "audit_events",
            lambda: _rows(
                AuditEvent.objects.filter(actor=user).order_by("created_at", "id"),
                {
                    "id": "id",
                    "post_id": "post",
                    ws: "workspace",
                    "action": "action",
                    "from_status": "from_status",
                    "to_status": "to_status",
                    "comment": "comment",
                    "created_at": "created_at",
                },
            ),
        ),
        ("notifications", lambda: _notifications(user)),
        (
            "notification_preferences",
            lambda: _rows(
                NotificationPreference.objects.filter(user=user).order_by("kind"),
                {"kind": "kind", "in_app": "in_app", "email": "by_email"},
            ),
        ),
        (
            "media_uploaded",
            lambda: _rows(
                MediaAsset.objects.filter(uploaded_by=user).order_by("created_at", "id"),
                {
                    "id": "id",
                    ws: "workspace",
                    "original_name": "file_name",
                    "kind": "kind",
                    "size_bytes": "size_bytes",
                    "created_at": "created_at",
                },
            ),
        ),
        (
            # Who the links were for is the reviewers' data, not yours: left out.
            "review_links_created",
            lambda: _rows(
                ReviewLink.objects.filter(created_by=user).order_by("created_at", "id"),
                {
                    "id": "id",
                    ws: "workspace",
                    "created_at": "created_at",
                    "expires_at": "expires_at",
                    "revoked_at": "revoked_at",
                },
            ),
        ),
        (
            # So are the addresses you invited.
            "invitations_sent",
            lambda: _rows(
                Invitation.objects.filter(invited_by=user).order_by("created_at", "id"),
                {
                    "id": "id",
                    ws: "workspace",
                    "role": "role",
                    "created_at": "created_at",
                    "accepted_at": "accepted_at",
                    "declined_at": "declined_at",
                    "revoked_at": "revoked_at",
                },
            ),
        ),
        (
            "invitations_answered",
            lambda: _rows(
                Invitation.objects.filter(Q(accepted_by=user) | Q(declined_by=user)).order_by(
                    "created_at", "id"
                ),
                {
                    "id": "id",
                    ws: "workspace",
                    "email": "sent_to",
                    "role": "role",
                    "accepted_at": "accepted_at",
                    "declined_at": "declined_at",
                },
            ),
        ),
        (
            "manual_posts_assigned",
            lambda: _rows(
                Delivery.objects.filter(assignee=user).order_by("due_at", "id"),
                {
                    "post_id": "post",
                    ws: "workspace",
                    "channel__name": "channel",
                    "state": "state",
                    "due_at": "due_at",
                    "published_at": "published_at",
                },
            ),
        ),
    ]


def _profile(user: User) -> Row:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "language": user.language,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "is_staff": user.is_staff,
    }


def personal_data_export(user: User, *, language: str | None = None) -> Iterator[str]:
    """The JSON document in pieces, for a streaming response: `{"format", "exported_at",
    "profile", <section>: [rows...], ...}`. Texts (notification sentences) in `language`."""
    with translation.override(language or translation.get_language()):
        head = {
            "format": EXPORT_FORMAT,
            "exported_at": timezone.now(),
            "profile": _profile(user),
        }
        yield _dumps(head)[:-1]  # the object stays open for the sections
        for key, rows in _sections(user):
            yield f",\n{_dumps(key)}: ["
            separator = "\n  "
            for row in rows():
                yield separator + _dumps(row)
                separator = ",\n  "
            yield "\n]"
        yield "}\n"
