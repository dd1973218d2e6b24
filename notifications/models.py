"""Notifications: what happened, for whom, and how each user wants to hear about each kind.

A notification stores its kind and parameters, not a sentence: the text is rendered when it is
read, in the reader's language (see `Notification.message`).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from notifications.texts import render_text


class Kind(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted for review")
    APPROVED = "approved", _("Approved")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    MENTIONED = "mentioned", _("Mentioned")
    COMMENTED = "commented", _("New comment")
    APPROVAL_REMINDER = "approval_reminder", _("Approval reminder")
    APPROVAL_MISSED = "approval_missed", _("Approval missed")
    PUBLISH_FAILED = "publish_failed", _("Publishing failed")
    PUBLISH_UNKNOWN = "publish_unknown", _("Publishing outcome unknown")
    CHANNEL_NEEDS_RECONNECT = "channel_needs_reconnect", _("Channel needs reconnecting")
    MANUAL_POST_DUE = "manual_post_due", _("Manual post due")
    POST_HELD = "post_held", _("Post held by its channel")
    CHANNEL_ACCESS_ENDING = "channel_access_ending", _("Channel connection ending")


# Shown on the preferences page under each kind's label.
DESCRIPTIONS: dict[str, str] = {
    Kind.SUBMITTED: _("Someone submits a post for review that you can approve."),
    Kind.APPROVED: _("A post you submitted is approved."),
    Kind.CHANGES_REQUESTED: _("A reviewer asks for changes to a post you submitted."),
    Kind.MENTIONED: _("Someone mentions you in a comment."),
    Kind.COMMENTED: _(
        "Someone (a team member or an external reviewer) comments on a post you wrote or "
        "commented on."
    ),
    Kind.APPROVAL_REMINDER: _("A post waiting for your approval is scheduled soon."),
    Kind.APPROVAL_MISSED: _("A post was not approved before its time and was not published."),
    Kind.PUBLISH_FAILED: _("A post could not be published on one of its channels."),
    Kind.PUBLISH_UNKNOWN: _(
        "It could not be told whether a post went out on one of its channels: check and say."
    ),
    Kind.CHANNEL_NEEDS_RECONNECT: _("A channel lost its connection and must be reconnected."),
    Kind.MANUAL_POST_DUE: _("A post on a manual channel is due to be posted by hand."),
    Kind.POST_HELD: _(
        "A planned post cannot go out because its channel is not connected or paused: a day "
        "before its time, and again at its time."
    ),
    Kind.CHANNEL_ACCESS_ENDING: _(
        "A channel's connection ends soon and must be renewed by reconnecting it."
    ),
}

# The sentence of each kind. Parameters: actor and post are filled in by notify(); channel and
# detail come from the caller's params where a kind needs them.
MESSAGES: dict[str, str] = {
    Kind.SUBMITTED: _("%(actor)s submitted “%(post)s” for review"),
    Kind.APPROVED: _("%(actor)s approved “%(post)s”"),
    Kind.CHANGES_REQUESTED: _("%(actor)s requested changes to “%(post)s”"),
    Kind.MENTIONED: _("%(actor)s mentioned you in a comment on “%(post)s”"),
    Kind.COMMENTED: _("%(actor)s commented on “%(post)s”"),
    Kind.APPROVAL_REMINDER: _("“%(post)s” is waiting for your approval"),
    Kind.APPROVAL_MISSED: _("“%(post)s” was not approved in time and was not published"),
    Kind.PUBLISH_FAILED: _("“%(post)s” could not be published on %(channel)s"),
    Kind.PUBLISH_UNKNOWN: _("“%(post)s” may already be live on %(channel)s: please check"),
    Kind.CHANNEL_NEEDS_RECONNECT: _("The channel %(channel)s needs to be reconnected"),
    Kind.MANUAL_POST_DUE: _("“%(post)s” is due to be posted by hand on %(channel)s"),
    Kind.POST_HELD: _("“%(post)s” will not go out on %(channel)s at %(when)s"),
    Kind.CHANNEL_ACCESS_ENDING: _("The connection of %(channel)s ends at %(when)s: reconnect it"),
}

# A kind's other sentence, chosen by params["moment"] (post_held: ahead of time, or at it).
MOMENT_MESSAGES: dict[tuple[str, str], str] = {
    (Kind.POST_HELD, "due"): _("“%(post)s” did not go out on %(channel)s at %(when)s: it is held"),
}

ICONS: dict[str, str] = {
    Kind.SUBMITTED: "send",
    Kind.APPROVED: "check-circle",
    Kind.CHANGES_REQUESTED: "pencil-square",
    Kind.MENTIONED: "at",
    Kind.COMMENTED: "chat-left-text",
    Kind.APPROVAL_REMINDER: "alarm",
    Kind.APPROVAL_MISSED: "calendar-x",
    Kind.PUBLISH_FAILED: "exclamation-triangle",
    Kind.PUBLISH_UNKNOWN: "question-circle",
    Kind.CHANNEL_NEEDS_RECONNECT: "plug",
    Kind.MANUAL_POST_DUE: "hand-index",
    Kind.POST_HELD: "pause-circle",
    Kind.CHANNEL_ACCESS_ENDING: "hourglass-split",
}


# An actor who deleted their account: the notification's "actor" parameter (their name, copied
# in when it was made) is replaced by this flag, read as "Deleted user" in the reader's language.
ACTOR_DELETED = "actor_deleted"
DELETED_ACTOR = _("Deleted user")


class _Params(dict):
    """Formatting parameters that never raise: a missing one renders as an ellipsis."""

    def __missing__(self, key: str) -> str:
        return "…"


def render_message(kind: str, params: dict) -> str:
    """The sentence for `kind` in the active language. A moment given as `at` (ISO 8601) with
    the workspace's `tz` is shown as `when`, in the reader's language and that zone."""
    params = dict(params or {})
    if params.get(ACTOR_DELETED):
        params["actor"] = DELETED_ACTOR
    template = MOMENT_MESSAGES.get((kind, params.get("moment", ""))) or MESSAGES.get(kind)
    if template is None:
        return str(Kind(kind).label) if kind in Kind.values else kind
    if params.get("at") and "when" not in params:
        params["when"] = local_moment(params["at"], params.get("tz", ""))
    return str(template) % _Params(params)


def local_moment(at: str, tz: str) -> str:
    """An ISO 8601 moment as the active language writes it, in the zone `tz` (UTC if unknown)."""
    try:
        moment = dt.datetime.fromisoformat(at)
        zone = zoneinfo.ZoneInfo(tz) if tz else dt.UTC
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return "…"
    return date_format(moment.astimezone(zone), "SHORT_DATETIME_FORMAT")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    workspace = models.ForeignKey(
        "calendar_app.Workspace", on_delete=models.CASCADE, related_name="notifications"
    )
    post = models.ForeignKey(
        "calendar_app.Post",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Names are copied in when the notification is made, so the text survives a deleted post.
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_new"),
            # The navbar counts these on every page.
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient}"

    @property
    def message(self) -> str:
        return render_message(self.kind, self.params)

    @property
    def detail(self) -> str:
        """An optional second line (a reviewer's comment, a platform's error)."""
        if not isinstance(self.params, dict):
            return ""
        # A platform's error kept as a message id (notifications.texts): in the reader's language.
        return render_text(self.params.get("detail_data"), str(self.params.get("detail", "")))

    @property
    def icon(self) -> str:
        return ICONS.get(self.kind, "bell")

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class NotificationPreference(models.Model):
    """A user's choice for one kind; no row means both channels are on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    in_app = models.BooleanField(_("in the app"), default=True)
    email = models.BooleanField(_("by e-mail"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_pref_unique_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind}"
