"""What is read from settings once and kept until those settings change, in one place: the
adapter registry, the editor's hints, the publication provider, the Redis clients and the
keyring each ask this module instead of pairing a `functools.cache` with a `setting_changed`
receiver of their own (override_settings in tests takes effect at once, as before).

    @settings_cached("PUBLISHING_REDIS_URL")
    def redis_client(): ...

    load_hook("POST_PUBLICATION")   # the callable a setting names by dotted path, or None
    load_hooks("EDITOR_HINTS")      # the callables a list setting names, in order
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

F = TypeVar("F", bound=Callable[..., Any])


def settings_cached(*names: str) -> Callable[[F], F]:
    """Cache the function's results (per arguments) until one of the settings `names` changes."""

    def decorate(func: F) -> F:
        cached = functools.cache(func)

        def reset(*, setting: str, **kwargs: Any) -> None:
            if setting in names:
                cached.cache_clear()

        setting_changed.connect(
            reset, weak=False, dispatch_uid=f"settings_cached:{func.__module__}.{func.__qualname__}"
        )
        return cached  # type: ignore[return-value]

    return decorate


@functools.cache
def _loaded(name: str) -> Any:
    value = getattr(settings, name, None)
    if isinstance(value, list | tuple):
        return [import_string(path) for path in value]
    return import_string(value) if value else None


def _reset(*, setting: str, **kwargs: Any) -> None:
    _loaded.cache_clear()


setting_changed.connect(_reset, weak=False, dispatch_uid="config.hooks._loaded")


def load_hook(name: str) -> Callable[..., Any] | None:
    """The callable the setting `name` names by dotted path (imported once), or None."""
    return _loaded(name)


def load_hooks(name: str) -> list[Callable[..., Any]]:
    """The callables the list setting `name` names, in its order (imported once)."""
    return list(_loaded(name) or [])
