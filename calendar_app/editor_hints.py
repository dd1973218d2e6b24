"""What other parts of the product show in the post editor beside its fields (e.g. analytics'
best time to post next to the date and time).

The editor does not import them: providers are listed in settings.EDITOR_HINTS, like
POST_PUBLICATION, and are called as provider(workspace=..., post=...) (post None while a new
post is written). Each returns EditorHint objects. Providers run on every editor render and must
not query the database: one that needs data returns a slot that loads itself (hx-get).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString

from config.hooks import load_hooks

# Where a hint goes: beside the date and time, or above the publishing panel of a saved post.
SLOTS = ("when", "post")


@dataclass(frozen=True)
class EditorHint:
    slot: str  # one of SLOTS
    html: SafeString  # already escaped by the provider


def hints_for(*, workspace, post, slot: str) -> list[SafeString]:
    """The HTML of every provider's hints for `slot`, in settings order."""
    return [
        hint.html
        for provider in load_hooks("EDITOR_HINTS")
        for hint in provider(workspace=workspace, post=post)
        if hint.slot == slot
    ]
