"""Writes for notifications: `notify()` is what the workflow and publishing call when something
happens; e-mails leave through a Celery task, only after the surrounding transaction commits.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from urllib.parse import urljoin

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User
from calendar_app.models import Membership, Post, Workspace
from config import task_registry
from notifications.models import (
    ACTOR_DELETED,
    Kind,
    Notification,
    NotificationPreference,
    render_message,
)
from notifications.texts import render_text

logger = logging.getLogger(__name__)


def is_local_path(url: str) -> bool:
    """A path on this site ("/w/acme/posts/1/"), never another host or scheme."""
    return url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=set())


def _json_params(params: dict | None) -> dict:
    """Params as plain JSON (lazy strings and dates become strings), for the row and the task."""
    return json.loads(json.dumps(params or {}, cls=DjangoJSONEncoder, default=str))


@transaction.atomic
def notify(
    *,
    kind: str,
    recipients: Iterable[User],
    workspace: Workspace,
    post: Post | None = None,
    actor: User | None = None,
    params: dict | None = None,
    url: str = "",
) -> None:
    """Tell `recipients` that `kind` happened in `workspace`, in the app and by e-mail.

    Each recipient is told once; never the actor about their own action, never someone who is
    not (or no longer) a member of the workspace, and only on the channels they left on.
    `params` fill the kind's sentence (see models.MESSAGES); `actor` and `post` are added from
    the objects. Kinds about a channel (publish_failed, channel_needs_reconnect,
    manual_post_due) need `channel` (its name); an optional `detail` (a comment, a platform's
    error) is shown as a second line. Other keys are stored but not shown.
    `url` is a local path; by default the post's editor.

    The e-mail is enqueued on commit with `robust=True`: a broker outage is logged and loses
    that e-mail, but never fails the action that notified.
    """
    kind = Kind(kind).value
    if url and not is_local_path(url):
        raise ValueError(f"A notification links to a local path, not {url!r}.")
    candidate_ids = {user.pk for user in recipients if user is not None and user.pk is not None}
    if actor is not None:
        candidate_ids.discard(actor.pk)
    if not candidate_ids:
        return
    member_ids = set(
        Membership.objects.filter(
            workspace=workspace, user_id__in=candidate_ids, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    if not member_ids:
        return
    preferences = {
        pref.user_id: pref
        for pref in NotificationPreference.objects.filter(user_id__in=member_ids, kind=kind)
    }

    params = dict(params or {})
    if actor is not None:
        params.setdefault("actor", str(actor))
    if post is not None:
        params.setdefault("post", post.display_title)
    params = _json_params(params)
    if not url and post is not None:
        url = reverse("calendar:post_edit", args=[workspace.slug, post.pk])

    now = timezone.now()
    rows = []
    mail_to = []
    for user_id in sorted(member_ids):
        pref = preferences.get(user_id)
        if pref is None or pref.in_app:
            rows.append(
                Notification(
                    recipient_id=user_id,
                    kind=kind,
                    workspace=workspace,
                    post=post,
                    actor=actor,
                    params=params,
                    url=url,
                    created_at=now,
                )
            )
        if pref is None or pref.email:
            mail_to.append(user_id)
    Notification.objects.bulk_create(rows)

    if mail_to:
        # By name from Celery's registry: the tasks module imports this one.
        notification_email_send = task_registry.task(
            "notifications.tasks", "notification_email_send"
        )
        for user_id in mail_to:
            task_kwargs = {
                "recipient_id": user_id,
                "kind": kind,
                "workspace_id": workspace.pk,
                "params": params,
                "url": url,
            }
            transaction.on_commit(
                lambda kw=task_kwargs: notification_email_send.delay(**kw), robust=True
            )


def notification_email_send(
    *, recipient_id: int, kind: str, workspace_id: int, params: dict, url: str
) -> bool:
    """Send one notification e-mail, in the recipient's language; False if there is nobody to
    send to (no address, left the workspace, or turned e-mail off in the meantime)."""
    user = User.objects.filter(pk=recipient_id, is_active=True).first()
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if user is None or workspace is None or not user.email:
        return False
    if not Membership.objects.filter(workspace=workspace, user=user).exists():
        return False
    pref = NotificationPreference.objects.filter(user=user, kind=kind).first()
    if pref is not None and not pref.email:
        return False

    language = user.language or workspace.language or settings.LANGUAGE_CODE
    link = urljoin(settings.SITE_URL.rstrip("/") + "/", url.lstrip("/")) if url else ""
    with translation.override(language):
        context = {
            "user": user,
            "workspace": workspace,
            "message": render_message(kind, params),
            "detail": render_text(params.get("detail_data"), str(params.get("detail", ""))),
            "link": link,
            "preferences_link": urljoin(
                settings.SITE_URL.rstrip("/") + "/",
                reverse("notifications:preferences").lstrip("/"),
            ),
        }
        subject = render_to_string("notifications/email/subject.txt", context)
        body = render_to_string("notifications/email/body.txt", context)
    subject = " ".join(subject.split())  # headers must be one line
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
    return True


@transaction.atomic
def notification_mark_read(
    *, user: User, ids: Iterable[int] | None = None, all: bool = False
) -> int:
    """Mark the user's notifications read: the given ids, or all of them. Other users'
    notifications are never touched. Returns how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if not all:
        wanted = [int(pk) for pk in (ids or [])]
        if not wanted:
            return 0
        unread = unread.filter(pk__in=wanted)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def notification_preferences_set(*, user: User, choices: dict[str, tuple[bool, bool]]) -> None:
    """Store (in_app, email) per kind; a kind with both on keeps no row (that is the default)."""
    for kind, (in_app, email) in choices.items():
        kind = Kind(kind).value
        if in_app and email:
            NotificationPreference.objects.filter(user=user, kind=kind).delete()
        else:
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"in_app": in_app, "email": email}
            )


def notifications_forget_user(*, user: User, batch_size: int = 500) -> None:
    """`user` deletes their account: their notifications and preferences go; in everyone else's
    notifications the name they acted under (copied into the parameters) gives way to "Deleted
    user". In batches, so a busy person's history never sits in memory at once. The caller
    holds the transaction."""
    Notification.objects.filter(recipient=user).delete()
    NotificationPreference.objects.filter(user=user).delete()
    told = Notification.objects.filter(actor=user).only("id", "params").order_by("id")
    batch: list[Notification] = []
    for notification in told.iterator(chunk_size=batch_size):
        params = dict(notification.params) if isinstance(notification.params, dict) else {}
        params.pop("actor", None)
        params[ACTOR_DELETED] = True
        notification.params = params
        batch.append(notification)
        if len(batch) >= batch_size:
            Notification.objects.bulk_update(batch, ["params"])
            batch = []
    if batch:
        Notification.objects.bulk_update(batch, ["params"])


# Read notifications are kept this long, unread ones longer: the bell is an inbox, not an archive
# (the audit trail keeps what happened to posts).
READ_KEEP_DAYS = 90
UNREAD_KEEP_DAYS = 365


@transaction.atomic
def notifications_purge_old(*, now: dt.datetime | None = None) -> int:
    """Delete read notifications older than READ_KEEP_DAYS and unread ones older than
    UNREAD_KEEP_DAYS. Returns how many were deleted."""
    now = now or timezone.now()
    old = Notification.objects.filter(
        Q(read_at__isnull=False, created_at__lt=now - dt.timedelta(days=READ_KEEP_DAYS))
        | Q(created_at__lt=now - dt.timedelta(days=UNREAD_KEEP_DAYS))
    )
    deleted, _per_model = old.delete()
    return deleted
