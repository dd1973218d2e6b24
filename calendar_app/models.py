"""The editorial domain: workspaces and their members, channels, campaigns, labels, posts.

Times are stored in UTC; a workspace's time zone is used only at the edges (forms, views).
"""

from __future__ import annotations

import uuid
import zoneinfo
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now as timezone_now
from django.utils.translation import gettext_lazy as _

from calendar_app.platforms import Platform, spec_for

color_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB, for example #0d6efd.")
)


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("%(tz)s is not a known time zone.") % {"tz": value}) from exc


class Workspace(models.Model):
    """A brand or client: the unit of membership, channels and content."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Berlin", validators=[validate_timezone]
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="de"
    )
    # Link tracking (the links app): add utm_* parameters to links when a post goes out, and
    # replace them with our own short links that count clicks.
    utm_tagging = models.BooleanField(_("add UTM parameters to links"), default=False)
    shorten_links = models.BooleanField(_("track clicks with short links"), default=False)
    # Members open the workspace's pages only from a session verified with a second factor
    # (calendar_app.permissions.two_factor_refusal); switched by owners.
    two_factor_required = models.BooleanField(
        _("members must use two-factor authentication"), default=False
    )
    # Members open the workspace's pages only from a session that signed in through the
    # identity provider (calendar_app.permissions.sso_refusal); switched by owners.
    sso_required = models.BooleanField(_("members must sign in with single sign-on"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")

    def __str__(self) -> str:
        return self.name

    @cached_property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    EDITOR = "editor", _("Editor")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace} ({self.role})"


class InvitationState(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class Invitation(models.Model):
    """An invitation to join a workspace, sent to an e-mail address with a role.

    Nobody becomes a member until the holder of the link accepts (with any account: the link is
    the proof; `accepted_by` records which). Only a hash of the token's secret is stored; the
    row is the record of who invited, revoked, accepted or declined, and when.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone_now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    declined_at = models.DateTimeField(null=True, blank=True)
    declined_by = models.ForeignKey(  # empty when declined without logging in
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            # One open invitation per address and workspace: a new one replaces the old.
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=Q(accepted_at__isnull=True, declined_at__isnull=True)
                & Q(revoked_at__isnull=True),
                name="invitation_one_open_per_address",
            )
        ]

    def __str__(self) -> str:
        return f"invitation {self.pk} to {self.workspace_id}"

    def state_at(self, moment) -> str:
        if self.accepted_at is not None:
            return InvitationState.ACCEPTED
        if self.declined_at is not None:
            return InvitationState.DECLINED
        if self.revoked_at is not None:
            return InvitationState.REVOKED
        if self.expires_at <= moment:
            return InvitationState.EXPIRED
        return InvitationState.PENDING

    @property
    def state(self) -> str:
        return self.state_at(timezone_now())


class ChannelState(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnect")
    PAUSED = "paused", _("Paused")


class Channel(models.Model):
    """A place posts go to: a social account, a blog, or a manual channel."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="channels")
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    name = models.CharField(_("display name"), max_length=120)
    handle = models.CharField(_("handle"), max_length=200, blank=True)
    account_id = models.CharField(_("account id"), max_length=200, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/", blank=True)
    state = models.CharField(
        _("state"), max_length=20, choices=ChannelState.choices, default=ChannelState.CONNECTED
    )
    # While paused: the state resuming returns to (a channel that needed reconnecting before it
    # was paused still needs it afterwards).
    state_before_pause = models.CharField(
        max_length=20, choices=ChannelState.choices, blank=True, default=""
    )
    # Non-secret account settings from the connection (instance/site URL, chat id, board id...);
    # secrets live encrypted in publishing.ChannelCredentials.
    config = models.JSONField(_("account settings"), default=dict, blank=True)
    # Facts the delivery side learns about a connected account's health (read by
    # calendar_app.channel_health, which states what they mean): when its connection ends
    # unless someone reconnects (a token that cannot renew itself; empty: it renews itself),
    # permissions the account did not grant, and until when the platform's posting quota is
    # used up.
    access_ends_at = models.DateTimeField(_("connection ends"), null=True, blank=True)
    access_warned_for = models.DateTimeField(null=True, blank=True, editable=False)
    missing_permissions = models.JSONField(default=list, blank=True, editable=False)
    quota_until = models.DateTimeField(_("posting quota used up until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["platform", "name"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "platform", "account_id"],
                condition=~Q(account_id=""),
                name="channel_unique_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def spec(self):
        return spec_for(self.platform)


class Campaign(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=120)
    color = models.CharField(
        _("colour"), max_length=7, default="#0d6efd", validators=[color_validator]
    )
    starts_on = models.DateField(_("start"), null=True, blank=True)
    ends_on = models.DateField(_("end"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    # utm_campaign value for its posts' links; empty: derived from the name (links app).
    utm_campaign = models.SlugField(_("UTM campaign"), max_length=100, blank=True)
    budget = models.DecimalField(  # for cost per click in the campaign report
        _("budget"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")

    class Meta:
        ordering = ["name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="campaign_unique_name"),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="campaign_end_after_start",
                violation_error_message=_("A campaign cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(
        _("colour"), max_length=7, default="#6c757d", validators=[color_validator]
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="label_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


def media_upload_to(instance: MediaAsset, filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"media/{instance.workspace_id}/{uuid.uuid4().hex}.{ext}"


def thumbnail_upload_to(instance: MediaAsset, filename: str) -> str:
    return f"thumbs/{instance.workspace_id}/{uuid.uuid4().hex}.webp"


class MediaKind(models.TextChoices):
    IMAGE = "image", _("image")
    VIDEO = "video", _("video")


class MediaAsset(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="media")
    file = models.FileField(_("file"), upload_to=media_upload_to, max_length=255)
    thumbnail = models.ImageField(
        _("thumbnail"), upload_to=thumbnail_upload_to, blank=True, max_length=255
    )
    kind = models.CharField(_("kind"), max_length=8, choices=MediaKind.choices)
    mime_type = models.CharField(_("type"), max_length=100)
    size_bytes = models.PositiveBigIntegerField(_("size"))
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    alt_text = models.CharField(_("alt text"), max_length=1000, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("media file")
        verbose_name_plural = _("media files")

    def __str__(self) -> str:
        return self.original_name


class PostStatus(models.TextChoices):
    """Where a post is in the approval workflow (calendar_app.workflow states what may move it;
    what happened on the platforms is derived from its deliveries, never stored here)."""

    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    APPROVED = "approved", _("Approved")
    SCHEDULED = "scheduled", _("Scheduled")
    MISSED_APPROVAL = "missed_approval", _("Missed approval")


class Post(models.Model):
    """One piece of content: a master text and its per-channel variants.

    A post without `scheduled_at` is an idea. `status` is written only by the workflow services.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="posts")
    title = models.CharField(_("title"), max_length=200, blank=True)
    note = models.TextField(_("internal note"), blank=True)
    body = models.TextField(_("text"), blank=True)
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=24, choices=PostStatus.choices, default=PostStatus.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="posts"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="posts"
    )
    labels = models.ManyToManyField(Label, blank=True, related_name="posts")
    channels = models.ManyToManyField(Channel, through="PostVariant", related_name="posts")
    media = models.ManyToManyField(
        MediaAsset, through="PostMedia", related_name="posts", blank=True
    )
    # Who made the latest content change (the author at first): like the author, never the one
    # who clears a required step of it (calendar_app.permissions).
    content_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Optimistic lock: every content save increments it, a form carrying an older one is stale.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["scheduled_at", "id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [
            models.Index(fields=["workspace", "scheduled_at"], name="post_ws_scheduled"),
            models.Index(fields=["workspace", "status"], name="post_ws_status"),
        ]

    def __str__(self) -> str:
        return self.display_title

    @property
    def display_title(self) -> str:
        if self.title:
            return self.title
        first_line = self.body.strip().splitlines()[0] if self.body.strip() else ""
        return first_line[:60] or str(_("Untitled post"))

    @property
    def is_idea(self) -> bool:
        return self.scheduled_at is None


class PostMedia(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="post_media")
    media = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["post", "media"], name="postmedia_unique")]

    def __str__(self) -> str:
        return f"{self.post_id}#{self.position}: {self.media_id}"


class PostVariant(models.Model):
    """A post on one channel: empty overrides fall back to the post's master text and media."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="variants")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="variants")
    body_override = models.TextField(_("text for this channel"), blank=True)
    title_override = models.CharField(_("title for this channel"), max_length=200, blank=True)
    first_comment = models.TextField(_("first comment"), blank=True)
    media_override = models.ManyToManyField(MediaAsset, blank=True, related_name="+")
    # The post's time for which its author and the managers were told that this channel holds
    # it: ahead of time, and at its time (calendar_app.services.held); a moved post is told anew.
    held_warned_for = models.DateTimeField(null=True, blank=True, editable=False)
    held_told_for = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["channel__platform", "channel__name"]
        verbose_name = _("channel variant")
        verbose_name_plural = _("channel variants")
        constraints = [
            models.UniqueConstraint(fields=["post", "channel"], name="variant_unique_channel")
        ]

    def __str__(self) -> str:
        return f"{self.post} → {self.channel}"

    @property
    def effective_body(self) -> str:
        return self.body_override or self.post.body

    @property
    def effective_title(self) -> str:
        return self.title_override or self.post.title


# --- approval workflow ---------------------------------------------------------------------------
# The policy a workspace sets, the review rounds a post goes through (with the steps snapshotted at
# submission), the decisions taken in them, content revisions, the audit trail, comments and
# external review links. Post.status itself is written only by services.review.post_transition.


class ApprovalMode(models.TextChoices):
    NONE = "none", _("No approval")
    OPTIONAL = "optional", _("Optional approval")
    REQUIRED = "required", _("Approval required")


class ApprovalPolicy(models.Model):
    """How a workspace approves posts. A workspace without a row uses the defaults (required)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="approval_policy"
    )
    mode = models.CharField(
        _("approval mode"),
        max_length=12,
        choices=ApprovalMode.choices,
        default=ApprovalMode.REQUIRED,
    )
    allow_self_approval = models.BooleanField(
        _("authors may approve their own posts"), default=False
    )
    time_moves_need_review = models.BooleanField(
        _("moving an approved post to another time needs a new review"), default=False
    )
    reminder_hours = models.PositiveSmallIntegerField(
        _("remind approvers this many hours before the time"), default=24
    )
    # Roles allowed to skip a step (every skip is recorded).
    skip_roles = models.JSONField(_("roles that may skip a step"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("approval policy")
        verbose_name_plural = _("approval policies")

    def __str__(self) -> str:
        return f"{self.workspace}: {self.get_mode_display()}"


class ApprovalStep(models.Model):
    """One step of a workspace's approval chain, e.g. "Team lead" then "Legal"."""

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(_("name"), max_length=80)
    approver_roles = models.JSONField(_("roles that may approve"), default=list, blank=True)
    approver_members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        verbose_name=_("members who may approve"),
    )
    external = models.BooleanField(_("an external reviewer may approve"), default=False)
    required_approvals = models.PositiveSmallIntegerField(_("approvals needed"), default=1)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("approval step")
        verbose_name_plural = _("approval steps")

    def __str__(self) -> str:
        return self.name


class PostRevision(models.Model):
    """A saved state of a post's content (texts, media, channels), numbered per post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone_now)

    class Meta:
        ordering = ["post", "number"]
        constraints = [
            models.UniqueConstraint(fields=["post", "number"], name="revision_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.post_id} r{self.number}"


class RoundState(models.TextChoices):
    ACTIVE = "active", _("In progress")
    APPROVED = "approved", _("Approved")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    CANCELLED = "cancelled", _("Cancelled")


class ReviewRound(models.Model):
    """One pass of a post through the approval steps, with the steps as they were at submission."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="review_rounds")
    # [{"name", "roles": [...], "members": [user ids], "external": bool, "required": int}]
    steps = models.JSONField()
    current_step = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=20, choices=RoundState.choices, default=RoundState.ACTIVE)
    revision = models.ForeignKey(
        PostRevision, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone_now)
    finished_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["post", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post"], condition=Q(state="active"), name="review_round_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.post_id} round {self.pk} ({self.state})"

    @property
    def step(self) -> dict | None:
        if self.state != RoundState.ACTIVE or self.current_step >= len(self.steps):
            return None
        return self.steps[self.current_step]


class DecisionKind(models.TextChoices):
    APPROVE = "approve", _("Approved")
    REQUEST_CHANGES = "request_changes", _("Requested changes")
    SKIP = "skip", _("Skipped the step")


class ReviewDecision(models.Model):
    """An approval, a change request or a skip, for one step and the revision it was given for."""

    round = models.ForeignKey(ReviewRound, on_delete=models.CASCADE, related_name="decisions")
    step = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=20, choices=DecisionKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    external_name = models.CharField(max_length=120, blank=True)
    review_link = models.ForeignKey(
        "ReviewLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revision = models.ForeignKey(
        PostRevision, on_delete=models.SET_NULL, null=True, related_name="decisions"
    )
    comment = models.TextField(blank=True)
    # Taken by the post's author (or its last editor) because the policy allows authors to
    # approve their own posts: shown as such in the history.
    own_post = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone_now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One person counts once per step and revision (a second click or a race cannot
            # double-count; after an approver's edit the others may approve the new text).
            models.UniqueConstraint(
                fields=["round", "step", "user", "revision", "kind"],
                condition=Q(user__isnull=False),
                name="decision_once_per_user_step_rev",
            ),
            # So does a review link (issued to one recipient).
            models.UniqueConstraint(
                fields=["round", "step", "review_link", "revision", "kind"],
                condition=Q(review_link__isnull=False),
                name="decision_once_per_link_step_rev",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} step {self.step} of round {self.round_id}"

    @property
    def actor_name(self) -> str:
        if self.user is not None:
            return self.user.display_name
        return self.external_name


class AuditEvent(models.Model):
    """Who moved a post from which status to which, when, why, and for which revision."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="audit_events")
    action = models.CharField(max_length=40)
    from_status = models.CharField(max_length=24)
    to_status = models.CharField(max_length=24)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=120, blank=True)  # external reviewer or "system"
    comment = models.TextField(blank=True)
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    revision = models.ForeignKey(
        PostRevision, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone_now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["post", "created_at"], name="audit_post_created")]

    def __str__(self) -> str:
        return f"{self.post_id}: {self.from_status} -> {self.to_status} ({self.action})"


class PostComment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    variant_channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    external_name = models.CharField(max_length=120, blank=True)
    body = models.TextField(_("comment"))
    internal = models.BooleanField(_("internal (never shown to external reviewers)"), default=True)
    created_at = models.DateTimeField(default=timezone_now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.post_id}"

    @property
    def author_name(self) -> str:
        if self.author is not None:
            return self.author.display_name
        return self.external_name


class ReviewLink(models.Model):
    """A signed, expiring, revocable link for one reviewer without an account.

    Issued to one recipient (name and e-mail): their decisions carry that name, a step needing
    two external approvals needs two recipients. Only a hash of the token's random part is
    stored; the signed token itself is shown once. Links from before recipients (no e-mail)
    collect comments only.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    posts = models.ManyToManyField(Post, related_name="review_links")
    recipient_name = models.CharField(_("reviewer's name"), max_length=120, blank=True)
    recipient_email = models.EmailField(_("reviewer's e-mail"), blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone_now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"review link {self.pk}"
