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
