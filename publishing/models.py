"""The delivery side's own records: heartbeats, credentials, deliveries and attempts."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """The last time a periodic process (e.g. "beat") was seen doing its work."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    last_seen = models.DateTimeField(_("last seen"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class ChannelCredentials(models.Model):
    """The secrets of one connected channel, encrypted at rest (publishing.credentials).

    `ciphertext` is a Fernet token of the JSON of base.Credentials; nothing readable is stored.
    `version` grows with every write, so a refresh can tell that another worker got there first.
    """

    channel = models.OneToOneField(
        "calendar_app.Channel", on_delete=models.CASCADE, related_name="credentials"
    )
    ciphertext = models.TextField(_("encrypted credentials"))
    expires_at = models.DateTimeField(_("access token expires"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("channel credentials")
        verbose_name_plural = _("channel credentials")
        indexes = [models.Index(fields=["expires_at"], name="credentials_expires_idx")]

    def __str__(self) -> str:
        return f"credentials of channel {self.channel_id} (v{self.version})"


class OAuthAppRegistration(models.Model):
    """Our OAuth app on a self-hosted instance (Mastodon registers apps per server, on first
    use). The client secret is encrypted like channel credentials."""

    platform = models.CharField(_("platform"), max_length=20)
    instance = models.CharField(_("instance"), max_length=255)  # "https://host[:port]"
    redirect_uri = models.CharField(_("redirect URL"), max_length=500)
    client_id = models.CharField(_("client id"), max_length=255)
    client_secret_ciphertext = models.TextField(_("encrypted client secret"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("OAuth app registration")
        verbose_name_plural = _("OAuth app registrations")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "instance", "redirect_uri"], name="oauth_app_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.platform} app on {self.instance}"


# --- deliveries ---------------------------------------------------------------------------------
# A delivery is one post on one channel; an attempt is one try at publishing it. The post's
# overall publishing state is derived from its deliveries (selectors.post_delivery_summary).


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    QUEUED = "queued", _("Queued")
    PUBLISHING = "publishing", _("Publishing")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    MISSED = "missed", _("Missed")


# Bootstrap colour of a delivery state's badge.
STATE_BADGE = {
    DeliveryState.PENDING: "secondary",
    DeliveryState.QUEUED: "info",
    DeliveryState.PUBLISHING: "primary",
    DeliveryState.PUBLISHED: "success",
    DeliveryState.FAILED: "danger",
    DeliveryState.CANCELLED: "light",
    DeliveryState.MISSED: "dark",
}


class Delivery(models.Model):
    """One post on one channel, from due to published (or failed, cancelled, missed).

    `job` grows with every hand-over to a worker: a publish task carries the job it was sent for
    and does nothing when the row moved on (edited, rescheduled, redelivered by the broker).
    `idempotency_key` is fixed at creation, so every retry of this delivery sends the same key.
    """

    post = models.ForeignKey(
        "calendar_app.Post", on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(
        "calendar_app.Channel", on_delete=models.CASCADE, related_name="deliveries"
    )
    workspace = models.ForeignKey(
        "calendar_app.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    due_at = models.DateTimeField(_("due"))  # the post's time this delivery is for
    run_at = models.DateTimeField(_("next try"))  # due_at, a backoff, or "now"
    late_ok = models.BooleanField(default=False)  # publish/retry now: no lateness cutoff
    idempotency_key = models.CharField(max_length=64, unique=True)
    job = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When it entered queued or publishing: the lease, and the grace for a lost task message.
    claimed_at = models.DateTimeField(null=True, blank=True)
    reconcile = models.BooleanField(default=False)  # a call's outcome is unknown: look first
    rate_reserved = models.BooleanField(default=False)  # holds a reserved rate-limit token
    parts = models.JSONField(default=list, blank=True)  # [{remote_id, url}] as they went out
    remote_id = models.CharField(_("remote id"), max_length=500, blank=True)
    url = models.URLField(_("public URL"), max_length=1000, blank=True)
    error = models.TextField(_("reason"), blank=True)
    assignee = models.ForeignKey(  # manual channels: who posts it by hand (default the author)
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["post", "channel"], name="delivery_unique_channel")
        ]
        indexes = [
            models.Index(fields=["state", "run_at"], name="delivery_state_run"),
            models.Index(fields=["workspace", "-updated_at"], name="delivery_ws_updated"),
        ]

    def __str__(self) -> str:
        return f"post {self.post_id} → channel {self.channel_id}: {self.state}"

    @property
    def badge(self) -> str:
        return STATE_BADGE.get(self.state, "secondary")


class AttemptOutcome(models.TextChoices):
    PUBLISHED = "published", _("Published")
    FOUND = "found", _("Found already published")
    RETRY = "retry", _("Will retry")
    RATE_LIMITED = "rate_limited", _("Rate limited")
    FAILED = "failed", _("Failed")
    ABANDONED = "abandoned", _("Interrupted")


OUTCOME_BADGE = {
    AttemptOutcome.PUBLISHED: "success",
    AttemptOutcome.FOUND: "success",
    AttemptOutcome.RETRY: "warning",
    AttemptOutcome.RATE_LIMITED: "warning",
    AttemptOutcome.FAILED: "danger",
    AttemptOutcome.ABANDONED: "secondary",
}


class Attempt(models.Model):
    """One try at publishing a delivery: who, when, with which key, and how it ended.
    An attempt without `finished_at` is running, or its worker died (the reconciler ends it)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_set")
    workspace = models.ForeignKey(
        "calendar_app.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=AttemptOutcome.choices, blank=True
    )
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.TextField(_("platform error"), blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("publish attempt")
        verbose_name_plural = _("publish attempts")
        indexes = [models.Index(fields=["workspace", "-started_at"], name="attempt_ws_started")]

    def __str__(self) -> str:
        return f"attempt {self.pk} of delivery {self.delivery_id}: {self.outcome or 'running'}"

    @property
    def badge(self) -> str:
        return OUTCOME_BADGE.get(self.outcome, "info")

    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds() * 1000)
