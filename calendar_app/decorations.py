"""What other parts of the product add to a post's calendar chip (e.g. publishing's "failed").

The calendar does not import them: providers are listed in settings.CALENDAR_DECORATORS, like
Django's backends, and each answers for a set of posts in one query.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.db.models import Q
from django.dispatch import receiver
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class ChipDecoration:
    kind: str  # a CSS modifier: cal-chip-<kind>
    icon: str  # bootstrap-icons name
    label: str  # short text for people, e.g. "Failed"
    detail: str = ""  # e.g. the reason of a failure, shown as the chip's tooltip


@cache
def _providers() -> list:
    return [import_string(path) for path in settings.CALENDAR_DECORATORS]


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs) -> None:
    if setting == "CALENDAR_DECORATORS":
        _providers.cache_clear()


def decorations_for(same_posts: Q) -> dict[int, ChipDecoration]:
    """{post id: decoration} for the posts `same_posts` (a condition on `post_id`) selects."""
    found: dict[int, ChipDecoration] = {}
    for provider in _providers():
        found.update(provider(same_posts))
    return found
