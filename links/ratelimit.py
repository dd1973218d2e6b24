"""Per-address limits of the short-link redirect: a request counter per client address and minute.

Up to LINKS_RATE_COUNT_PER_MINUTE requests a minute from one address count as clicks; beyond
that they are still redirected but counted nowhere; beyond LINKS_RATE_REFUSE_PER_MINUTE they are
answered 429 with Retry-After (settings explain the numbers). Every request to /l/ counts, any
method and any code, so guessing codes is limited too.

The counter is a fixed window per minute: in Redis (LINKS_REDIS_URL, one round trip for INCR and
EXPIRE) so that every web process shares it, else in Django's default cache, which is per
process (`make run` on the embedded broker, tests without Redis). Keys hold a keyed hash of the
address, never the address. A Redis that does not answer never breaks a redirect: the request
is counted as if unlimited, with a warning.

The same counter serves other per-address limits (the review links' guessing throttle) through
`address_count_*`: a scope of their own and a window of any length.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone

from links.visitors import address_hash

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
KEY_TTL_SECONDS = 2 * WINDOW_SECONDS  # a window's key outlives it a little, then goes


class RateVerdict(enum.Enum):
    COUNT = "count"  # within the limit: a GET counts as a click
    SKIP = "skip"  # over the counting limit: redirect, count nothing
    REFUSE = "refuse"  # far over it: 429


@dataclass(frozen=True)
class RateDecision:
    verdict: RateVerdict
    requests: int  # requests from this address in the current window, this one included
    retry_after: int  # seconds until the window ends (for Retry-After)


@cache
def _client() -> redis.Redis | None:
    url = settings.LINKS_REDIS_URL
    return (
        redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) if url else None
    )


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs) -> None:
    if setting == "LINKS_REDIS_URL":
        _client.cache_clear()


def _window(now: dt.datetime) -> tuple[int, int]:
    """(the window's number, seconds until it ends)."""
    seconds = int(now.timestamp())
    return seconds // WINDOW_SECONDS, WINDOW_SECONDS - seconds % WINDOW_SECONDS


def rate_key(address: str, window: int) -> str:
    # The database name keeps two installations (or test databases) on one Redis apart.
    database = settings.DATABASES["default"]["NAME"]
    return f"links:rate:{database}:{window}:{address_hash(address)}"


def _count_in_cache(key: str, ttl: int) -> int:
    store = caches["default"]
    store.add(key, 0, timeout=ttl)
    try:
        return store.incr(key)
    except ValueError:  # expired between add and incr
        store.set(key, 1, timeout=ttl)
        return 1


def _count(key: str, ttl: int = KEY_TTL_SECONDS) -> int:
    client = _client()
    if client is None:
        return _count_in_cache(key, ttl)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, ttl)
        count, _expiry_set = pipe.execute()
        return int(count)
    except redis.RedisError as exc:
        logger.warning("Rate limit unavailable (Redis: %s); not limiting: %s.", exc, key)
        return 0


def redirect_rate_take(address: str, *, now: dt.datetime | None = None) -> RateDecision:
    """Count one request to the redirect from `address` and say what to do with it."""
    window, retry_after = _window(now or timezone.now())
    requests = _count(rate_key(address, window))
    if requests > settings.LINKS_RATE_REFUSE_PER_MINUTE:
        verdict = RateVerdict.REFUSE
    elif requests > settings.LINKS_RATE_COUNT_PER_MINUTE:
        verdict = RateVerdict.SKIP
    else:
        verdict = RateVerdict.COUNT
    return RateDecision(verdict=verdict, requests=requests, retry_after=retry_after)


def redirect_rate_reset(address: str, *, now: dt.datetime | None = None) -> None:
    """Forget the address's count of the current window (tests, and an operator lifting a block
    early)."""
    window, _retry_after = _window(now or timezone.now())
    key = rate_key(address, window)
    client = _client()
    if client is None:
        caches["default"].delete(key)
    else:
        client.delete(key)


# --- the same counter for other per-address limits --------------------------------------------


def address_count_key(scope: str, address: str, *, window_seconds: int, now: dt.datetime) -> str:
    window = int(now.timestamp()) // window_seconds
    database = settings.DATABASES["default"]["NAME"]
    return f"{scope}:rate:{database}:{window_seconds}:{window}:{address_hash(address)}"


def _retry_after(now: dt.datetime, window_seconds: int) -> int:
    return window_seconds - int(now.timestamp()) % window_seconds


def address_count_take(
    scope: str, address: str, *, window_seconds: int, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Count one event of `scope` from `address` in the current fixed window of
    `window_seconds`: (events this window, this one included; seconds until the window ends).
    A Redis that does not answer counts 0."""
    now = now or timezone.now()
    key = address_count_key(scope, address, window_seconds=window_seconds, now=now)
    return _count(key, ttl=2 * window_seconds), _retry_after(now, window_seconds)


def address_count_peek(
    scope: str, address: str, *, window_seconds: int, now: dt.datetime | None = None
) -> tuple[int, int]:
    """`address_count_take` without counting: (events so far this window, seconds left)."""
    now = now or timezone.now()
    key = address_count_key(scope, address, window_seconds=window_seconds, now=now)
    client = _client()
    if client is None:
        count = caches["default"].get(key, 0)
    else:
        try:
            count = client.get(key) or 0
        except redis.RedisError as exc:
            logger.warning("Rate limit %s unavailable (Redis: %s); not limiting.", scope, exc)
            count = 0
    return int(count), _retry_after(now, window_seconds)


def address_count_reset(
    scope: str, address: str, *, window_seconds: int, now: dt.datetime | None = None
) -> None:
    """Forget the address's events of `scope` in the current window (tests, an operator)."""
    key = address_count_key(
        scope, address, window_seconds=window_seconds, now=now or timezone.now()
    )
    client = _client()
    if client is None:
        caches["default"].delete(key)
    else:
        client.delete(key)
