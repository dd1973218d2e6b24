"""The media search parameters of the library page and the editor's picker. They only parse."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

SEARCH_MAX_LENGTH = 200
# The largest id a bigint column holds: a larger "before" would fail in the database, not here.
MAX_MEDIA_ID = 2**63 - 1


class MediaSearchForm(forms.Form):
    """`?q=`: the assets whose file name or alt text contains it (the library page)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        error_messages={
            "max_length": _("The search may be at most %(limit_value)d characters long.")
        },
    )

    def error_text(self) -> str:
        """Every error in one line, for a JSON answer."""
        return " ".join(message for errors in self.errors.values() for message in errors)


class MediaPickerForm(MediaSearchForm):
    """The picker's pages: `?q=` as in the library, `?before=<id>` for the assets older than it."""

    before = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MEDIA_ID,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": _("“before” must be the id of a media file, a whole number from 1."),
            "min_value": _("“before” must be the id of a media file, a whole number from 1."),
            "max_value": _("“before” must be the id of a media file, a whole number from 1."),
        },
    )
