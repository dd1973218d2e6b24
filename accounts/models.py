"""Users: Django's user plus the preferences the UI needs (language).

A deleted account keeps its row, pseudonymised (accounts.services.account_delete), so that
posts, comments, decisions and the audit trail keep pointing at one distinct, nameless person.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Language of the interface; empty follows the browser."),
    )
    # Set when the person deleted their account: names and address are gone, the row stays.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """How pages, history and notifications name this person."""
        if self.deleted_at is not None:
            return gettext("Deleted user")
        return self.get_full_name() or self.username
