"""Analytics in the post editor (settings.EDITOR_HINTS): the best time to post beside the date
and time, and, for a post that is live, a link to its numbers. Both are htmx slots that load
themselves, so the editor's own page costs no query more."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html

from calendar_app.editor_hints import EditorHint


def editor_hints(*, workspace, post) -> list[EditorHint]:
    hints = [
        EditorHint(
            "when",
            format_html(
                '<div hx-get="{}" hx-trigger="load" hx-swap="outerHTML" '
                'data-testid="best-time-hint-slot"></div>',
                reverse("analytics:hint_best_time", args=[workspace.slug]),
            ),
        )
    ]
    if post is not None and post.pk is not None and post.scheduled_at is not None:
        hints.append(
            EditorHint(
                "post",
                format_html(
                    '<div hx-get="{}" hx-trigger="load" hx-swap="outerHTML" '
                    'data-testid="post-analytics-slot"></div>',
                    reverse("analytics:hint_post", args=[workspace.slug, post.pk]),
                ),
            )
        )
    return hints
