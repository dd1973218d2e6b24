"""Who is asking, and how often: the client's address (behind trusted proxies), and counters
per address and fixed window for every limit that guards an endpoint (the login and
password-reset limits, the review links' guessing throttle, the short-link redirect).

The counters live in Redis (LINKS_REDIS_URL: one round trip for INCR and EXPIRE) so that every
web process shares them, else in Django's default cache, which is per process (`make run` on
the embedded broker, tests without Redis). Keys hold a keyed hash of the address, never the
address. A Redis that does not answer never breaks what a limit guards: the request counts as
if unlimited, with a warning."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging

import redis
from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac

from config.hooks import settings_cached

logger = logging.getLogger(__name__)

# An IPv6 subscriber (a home line, a phone) gets a whole /64 and its devices pick new addresses
# inside it every few hours: the /64 is what stands for one client.
IPV6_CLIENT_PREFIX = 64


def normalized_address(value: str) -> str:
    """An address as the key of its client: IPv4 as is, IPv6 as its /64 network (an
    IPv4-mapped one as the IPv4 address); "" if it is not an address."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return ""
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def client_address(request: HttpRequest) -> str:
    """The client's address (an IPv6 client's /64): REMOTE_ADDR, unless the site runs behind
    LINKS_TRUSTED_PROXY_COUNT = n reverse proxies that each append the address they saw to
    X-Forwarded-For; then the n-th entry from the right. Entries further left are whatever the
    client sent and never trusted; a header with fewer than n entries did not come through the
    proxies, and REMOTE_ADDR stands. "" when there is no valid address."""
    proxies = settings.LINKS_TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            entry
            for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if entry.strip()
        ]
        if len(forwarded) >= proxies and (address := normalized_address(forwarded[-proxies])):
            return address
    return normalized_address(request.META.get("REMOTE_ADDR", ""))


def address_hash(address: str) -> str:
    """A keyed hash of the address alone, for the rate limiter's keys (so not even Redis holds
    an address in clear)."""
    return salted_hmac("links.rate", address, algorithm="sha256").hexdigest()[:32]


# --- counters ------------------------------------------------------------------------------------


@settings_cached("LINKS_REDIS_URL")
def redis_client() -> redis.Redis | None:
    url = settings.LINKS_REDIS_URL
    return (
        redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) if url else None
    )


def _count_in_cache(key: str, ttl: int) -> int:
    store = caches["default"]
    store.add(key, 0, timeout=ttl)
    try:
        return store.incr(key)
    except ValueError:  # expired between add and incr
        store.set(key, 1, timeout=ttl)
        return 1


def counter_incr(key: str, *, ttl: int) -> int:
    """Add one to the counter `key` (created with `ttl` seconds to live); its new value. A
    Redis that does not answer counts 0 (a limit never breaks what it guards)."""
    client = redis_client()
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


def counter_delete(key: str) -> None:
    client = redis_client()
    if client is None:
        caches["default"].delete(key)
    else:
        client.delete(key)


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
    return counter_incr(key, ttl=2 * window_seconds), _retry_after(now, window_seconds)


def address_count_peek(
    scope: str, address: str, *, window_seconds: int, now: dt.datetime | None = None
) -> tuple[int, int]:
    """`address_count_take` without counting: (events so far this window, seconds left)."""
    now = now or timezone.now()
    key = address_count_key(scope, address, window_seconds=window_seconds, now=now)
    client = redis_client()
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
    counter_delete(key)
