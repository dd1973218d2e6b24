"""The delivery side's own records. So far: heartbeats that show the beat and workers are alive."""

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
