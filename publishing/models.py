"""The delivery side's own records: heartbeats, credentials, deliveries and attempts."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.texts import as_written, render_text


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
    # The scopes the app was registered for; another list registers it again.
    scopes = models.CharField(_("scopes"), max_length=500, blank=True, default="")
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
    # The look-up could not tell whether an earlier attempt went out: it may already be live.
    # Nothing posts it again on its own; a person says "it is live (here is the link)" or "post
    # it again" (services.delivery_confirm_live / delivery_post_again), or retries the look-up.
    UNKNOWN = "unknown", _("May already be live")


# Bootstrap colour of a delivery state's badge.
STATE_BADGE = {
    DeliveryState.PENDING: "secondary",
    DeliveryState.QUEUED: "info",
    DeliveryState.PUBLISHING: "primary",
    DeliveryState.PUBLISHED: "success",
    DeliveryState.FAILED: "danger",
    DeliveryState.CANCELLED: "light",
    DeliveryState.MISSED: "dark",
    DeliveryState.UNKNOWN: "warning",
}


class Delivery(models.Model):
    """One post on one channel, from due to published (or failed, cancelled, missed).

    `job` grows with every hand-over to a worker: a publish task carries the job it was sent for
    and does nothing when the row moved on (edited, rescheduled, redelivered by the broker).
    `idempotency_key` is fixed at creation, so every retry of this delivery sends the same key.
    """

    # No index of their own for post and workspace: the unique (post, channel) and the
    # (workspace, -updated_at) indexes lead with them, and every claim and result writes to each
    # index of this table.
    post = models.ForeignKey(
        "calendar_app.Post", on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    channel = models.ForeignKey(
        "calendar_app.Channel", on_delete=models.CASCADE, related_name="deliveries"
    )
    workspace = models.ForeignKey(
        "calendar_app.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
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
    # The reason as a message id and its parameters (notifications.texts), read in the reader's
    # language; empty where the reason is plain text.
    error_data = models.JSONField(default=dict, blank=True)
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

    @property
    def next_try_at(self):
        """When a pending delivery that was put off tries again; None once that time passed
        (then it is due, and the dispatcher hands it over) or when it was not put off."""
        if self.state != DeliveryState.PENDING or self.run_at <= self.due_at:
            return None
        return self.run_at if self.run_at > timezone.now() else None

    @property
    def error_text(self) -> str:
        """The reason in the reader's language (as written, where it was plain text)."""
        return render_text(self.error_data, as_written(self.error))


class AttemptOutcome(models.TextChoices):
    PUBLISHED = "published", _("Published")
    FOUND = "found", _("Found already published")
    RETRY = "retry", _("Will retry")
    RATE_LIMITED = "rate_limited", _("Rate limited")
    FAILED = "failed", _("Failed")
    ABANDONED = "abandoned", _("Interrupted")
    UNKNOWN = "unknown", _("Could not tell whether it is live")
    DECIDED = "decided", _("Decided by a person")  # "it is live" / "post it again", with who


OUTCOME_BADGE = {
    AttemptOutcome.PUBLISHED: "success",
    AttemptOutcome.FOUND: "success",
    AttemptOutcome.RETRY: "warning",
    AttemptOutcome.RATE_LIMITED: "warning",
    AttemptOutcome.FAILED: "danger",
    AttemptOutcome.ABANDONED: "secondary",
    AttemptOutcome.UNKNOWN: "warning",
    AttemptOutcome.DECIDED: "info",
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
    error_data = models.JSONField(default=dict, blank=True)  # as Delivery.error_data
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
    def error_text(self) -> str:
        return render_text(self.error_data, as_written(self.error))

    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds() * 1000)


# --- engagement metrics ---------------------------------------------------------------------------
# A RemotePost is one post live on a platform whose numbers we pull: one of our deliveries, or a
# post found on the account when it was connected (backfill), so the dashboard is useful on day
# one. MetricSnapshot is its time series (post-lifetime totals at a moment); AccountSnapshot is
# the account's own daily numbers (followers). The two kinds are never summed into each other.


class MetricColumns(models.Model):
    """A post's lifetime numbers (adapters.base.METRIC_NAMES); NULL where the platform does not
    report the number. On RemotePost the latest ones, on MetricSnapshot those of one pull."""

    likes = models.BigIntegerField(_("likes"), null=True, blank=True)
    comments = models.BigIntegerField(_("comments"), null=True, blank=True)
    shares = models.BigIntegerField(_("shares"), null=True, blank=True)
    impressions = models.BigIntegerField(_("impressions"), null=True, blank=True)
    clicks = models.BigIntegerField(_("clicks"), null=True, blank=True)
    saves = models.BigIntegerField(_("saves"), null=True, blank=True)
    video_views = models.BigIntegerField(_("video views"), null=True, blank=True)
    quotes = models.BigIntegerField(_("quotes"), null=True, blank=True)

    class Meta:
        abstract = True


class RemotePostSource(models.TextChoices):
    APP = "app", _("Published with this app")
    IMPORTED = "imported", _("Found on the account")


class RemotePost(MetricColumns):
    """A post on a platform whose engagement we follow, with its pull schedule and the latest
    lifetime totals (copied from its newest snapshot, so aggregates never scan the series).

    `next_pull_at` is when its numbers are due again (NULL: the schedule has ended); `step` is
    the index of the next step of the decaying schedule (publishing.metrics); `unchanged` counts
    pulls in a row that brought the same numbers (such posts are pulled less often).
    Metric columns are NULL where the platform does not report that number.
    """

    workspace = models.ForeignKey(
        "calendar_app.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "calendar_app.Channel", on_delete=models.CASCADE, related_name="remote_posts"
    )
    delivery = models.OneToOneField(  # NULL for imported posts, or once our post was deleted
        Delivery,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="remote_post",
    )
    source = models.CharField(
        _("source"), max_length=10, choices=RemotePostSource.choices, default=RemotePostSource.APP
    )
    remote_id = models.CharField(_("remote id"), max_length=500)
    url = models.URLField(_("public URL"), max_length=1000, blank=True)
    text = models.TextField(_("text"), blank=True)  # an excerpt, for lists and imported posts
    published_at = models.DateTimeField(_("published"))
    # the pull schedule
    next_pull_at = models.DateTimeField(_("next pull"), null=True, blank=True)
    step = models.PositiveSmallIntegerField(default=0)
    unchanged = models.PositiveSmallIntegerField(default=0)
    failures = models.PositiveSmallIntegerField(default=0)
    last_pulled_at = models.DateTimeField(_("last pulled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("published post")
        verbose_name_plural = _("published posts")
        constraints = [
            models.UniqueConstraint(fields=["channel", "remote_id"], name="remote_post_unique")
        ]
        indexes = [
            models.Index(
                fields=["next_pull_at"],
                name="remote_post_due",
                condition=models.Q(next_pull_at__isnull=False),
            ),
            models.Index(fields=["workspace", "published_at"], name="remote_post_ws_published"),
            models.Index(fields=["channel", "published_at"], name="remote_post_ch_published"),
        ]

    def __str__(self) -> str:
        return f"{self.remote_id} on channel {self.channel_id}"


class MetricSnapshot(MetricColumns):
    """A remote post's lifetime totals at one moment. `seq` is the pull's number for this post:
    (remote_post, seq) is unique, so a pull that runs twice never stores two snapshots."""

    remote_post = models.ForeignKey(RemotePost, on_delete=models.CASCADE, related_name="snapshots")
    seq = models.PositiveIntegerField()
    taken_at = models.DateTimeField(_("taken"))
    raw = models.JSONField(default=dict, blank=True)  # the platform's payload, as received

    class Meta:
        ordering = ["remote_post", "taken_at"]
        verbose_name = _("metric snapshot")
        verbose_name_plural = _("metric snapshots")
        constraints = [
            models.UniqueConstraint(fields=["remote_post", "seq"], name="metric_snapshot_unique")
        ]

    def __str__(self) -> str:
        return f"snapshot {self.seq} of {self.remote_post_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class AccountSnapshot(models.Model):
    """An account's own numbers on one day (followers...): period metrics, kept apart from the
    post-lifetime ones. One row per channel and day; a later pull that day updates it."""

    workspace = models.ForeignKey(
        "calendar_app.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(
        "calendar_app.Channel", on_delete=models.CASCADE, related_name="account_snapshots"
    )
    day = models.DateField(_("day"))
    taken_at = models.DateTimeField(_("taken"))
    followers = models.BigIntegerField(_("followers"), null=True, blank=True)
    following = models.BigIntegerField(_("following"), null=True, blank=True)
    posts = models.BigIntegerField(_("posts"), null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["channel", "day"]
        verbose_name = _("account snapshot")
        verbose_name_plural = _("account snapshots")
        constraints = [
            models.UniqueConstraint(fields=["channel", "day"], name="account_snapshot_unique")
        ]
        indexes = [models.Index(fields=["workspace", "day"], name="account_snapshot_ws_day")]

    def __str__(self) -> str:
        return f"channel {self.channel_id} on {self.day}"


# --- the test network -----------------------------------------------------------------------------


class SandboxPost(models.Model):
    """A post on the built-in test network (publishing.adapters.testnet): the "platform" is
    this installation, the feed is a page of it. Nothing here ever leaves the server."""

    account_id = models.CharField(_("test account"), max_length=64, db_index=True)
    remote_id = models.CharField(_("remote id"), max_length=64, unique=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80)
    reply_to = models.CharField(_("in reply to"), max_length=64, blank=True)
    title = models.CharField(_("title"), max_length=300, blank=True)
    text = models.TextField(_("text"), blank=True)
    media = models.JSONField(_("media"), default=list, blank=True)  # [{"kind", "name", "alt"}]
    created_at = models.DateTimeField(_("posted"), default=timezone.now)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("test network post")
        verbose_name_plural = _("test network posts")
        constraints = [
            # The network honours an idempotency key for ever: a repeat is the same post.
            models.UniqueConstraint(
                fields=["account_id", "idempotency_key"], name="sandbox_post_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.text[:40]}"
