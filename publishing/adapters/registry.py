"""Finds the adapter for a platform key from settings, like Django finds EMAIL_BACKEND.

    PUBLISHING_ADAPTERS = {
        "mastodon": {"BACKEND": "publishing.adapters.mastodon.MastodonAdapter", "OPTIONS": {...}},
    }

Adding a platform is one module with a PlatformAdapter subclass plus one entry here.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from config.hooks import settings_cached
from publishing.adapters.base import PlatformAdapter


class AdapterNotConfigured(ImproperlyConfigured):
    pass


@settings_cached("PUBLISHING_ADAPTERS")  # override_settings in tests takes effect at once
def get_adapter(platform: str) -> PlatformAdapter:
    """The (shared, stateless) adapter instance for `platform`."""
    entry = settings.PUBLISHING_ADAPTERS.get(platform)
    if entry is None:
        raise AdapterNotConfigured(
            f"No publishing adapter is configured for platform {platform!r}."
        )
    path = entry.get("BACKEND", "")
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise AdapterNotConfigured(
            f"PUBLISHING_ADAPTERS[{platform!r}]: cannot import {path!r} ({exc})."
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, PlatformAdapter)):
        raise AdapterNotConfigured(f"{path!r} is not a PlatformAdapter subclass.")
    return cls(**entry.get("OPTIONS", {}))


def configured_platforms() -> list[str]:
    return sorted(settings.PUBLISHING_ADAPTERS)
