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

The counter itself (Redis or the cache, keys of hashed addresses) is accounts.throttle's,
shared with the login, password-reset and review-link limits.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from accounts.throttle import address_hash, counter_delete, counter_incr

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


def _window(now: dt.datetime) -> tuple[int, int]:
    """(the window's number, seconds until it ends)."""
    seconds = int(now.timestamp())
    return seconds // WINDOW_SECONDS, WINDOW_SECONDS - seconds % WINDOW_SECONDS


def rate_key(address: str, window: int) -> str:
    # The database name keeps two installations (or test databases) on one Redis apart.
    database = settings.DATABASES["default"]["NAME"]
    return f"links:rate:{database}:{window}:{address_hash(address)}"


def redirect_rate_take(address: str, *, now: dt.datetime | None = None) -> RateDecision:
    """Count one request to the redirect from `address` and say what to do with it."""
    window, retry_after = _window(now or timezone.now())
    requests = counter_incr(rate_key(address, window), ttl=KEY_TTL_SECONDS)
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
    counter_delete(rate_key(address, window))
