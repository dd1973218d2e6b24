"""Link tracking in the post editor (settings.EDITOR_HINTS): a note that links will be tagged
and/or shortened when the post goes out. Read from the workspace already loaded: no query."""

from __future__ import annotations

from django.utils.html import format_html
from django.utils.translation import gettext as _

from calendar_app.editor_hints import EditorHint


def editor_hints(*, workspace, post) -> list[EditorHint]:
    if workspace.utm_tagging and workspace.shorten_links:
        text = _(
            "Link tracking is on: links in this post get UTM parameters and are replaced by "
            "short links that count clicks when it goes out."
        )
    elif workspace.utm_tagging:
        text = _("Link tracking is on: links in this post get UTM parameters when it goes out.")
    elif workspace.shorten_links:
        text = _(
            "Link tracking is on: links in this post are replaced by short links that count "
            "clicks when it goes out."
        )
    else:
        return []
    return [
        EditorHint(
            "post",
            format_html(
                '<p class="small text-body-secondary mb-2" data-testid="link-tracking-hint">'
                '<i class="bi bi-link-45deg"></i> {}</p>',
                text,
            ),
        )
    ]
