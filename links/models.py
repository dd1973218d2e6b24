"""Link tracking: our short links (/l/<code>) and the clicks they counted.

A TrackedLink is made when a post goes out with link shortening on: one per (post, channel,
target URL), so every retry of a delivery sends the same short link. A LinkClick is one human
click (bots are filtered by user agent and only counted in `bot_clicks`); no IP address or
user agent is stored.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TrackedLink(models.Model):
    workspace = models.ForeignKey(
        "calendar_app.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    code = models.CharField(_("code"), max_length=16, unique=True)
    target_url = models.URLField(_("target URL"), max_length=2000)  # UTM parameters included
    target_hash = models.CharField(max_length=64)  # sha256 of target_url, for the unique key
    post = models.ForeignKey(
        "calendar_app.Post", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.ForeignKey(
        "calendar_app.Channel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    campaign = models.ForeignKey(
        "calendar_app.Campaign",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    clicks = models.PositiveIntegerField(_("clicks"), default=0)  # humans; = its LinkClick rows
    # one per visitor and UTC day; = its LinkClick rows with is_unique
    unique_clicks = models.PositiveIntegerField(_("unique clicks"), default=0)
    bot_clicks = models.PositiveIntegerField(_("bot clicks"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("tracked link")
        verbose_name_plural = _("tracked links")
        constraints = [
            models.UniqueConstraint(
                fields=["post", "channel", "target_hash"], name="tracked_link_unique"
            )
        ]
        indexes = [models.Index(fields=["workspace", "campaign"], name="tracked_link_ws_campaign")]

    def __str__(self) -> str:
        return f"/l/{self.code} → {self.target_url}"


class LinkClick(models.Model):
    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="click_set")
    workspace = models.ForeignKey(
        "calendar_app.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    clicked_at = models.DateTimeField(_("clicked"))
    referrer_host = models.CharField(_("referrer"), max_length=255, blank=True)
    # The visitor's first click on this link that UTC day. Clicks from before de-duplication
    # (migration 0002) all count as unique: nobody can tell their visitors apart any more.
    is_unique = models.BooleanField(_("unique"), default=True)

    class Meta:
        ordering = ["-clicked_at", "-id"]
        verbose_name = _("link click")
        verbose_name_plural = _("link clicks")
        indexes = [
            models.Index(fields=["link", "clicked_at"], name="link_click_link_at"),
            models.Index(fields=["workspace", "clicked_at"], name="link_click_ws_at"),
        ]

    def __str__(self) -> str:
        return f"click on {self.link_id} @ {self.clicked_at:%Y-%m-%d %H:%M}"


class LinkVisitor(models.Model):
    """A visitor seen on a link today: HMAC-SHA256 of (client address, user agent) keyed by
    SECRET_KEY and the UTC date (links.visitors.visitor_hash), never the address or the user
    agent themselves. Only the current day's rows are of use (tomorrow's key makes other
    hashes); older ones are purged hourly (links.services.link_visitors_purge)."""

    # No index of its own: the unique constraint (day first) serves the insert and the purge,
    # the table holds one day, and the redirect pays for every index on each insert.
    link = models.ForeignKey(
        TrackedLink, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField()  # UTC
    visitor = models.CharField(max_length=64)  # hex digest

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "link", "visitor"], name="link_visitor_unique")
        ]

    def __str__(self) -> str:
        return f"visitor of {self.link_id} on {self.day}"
