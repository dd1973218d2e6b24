"""Per-channel rate limiting shared by every worker: a token bucket in Redis.

A caller that finds the bucket empty reserves the next free slot (the bucket goes negative) and
is told how long to wait; it comes back then and publishes without taking another token. So
500 posts due at 09:00 on one account go out one slot after another instead of failing or
stampeding. Platforms with a published quota have a bucket that keeps within it
(settings.PUBLISHING_RATE_LIMITS), and a platform's own "slow down" holds the channel's bucket
for as long as it asked (`rate_hold`). The dispatcher takes the tokens of a whole batch in one
round trip (`rate_take_many`); a worker takes one itself only when its delivery waited in the
queue longer than a token stays valid. Without a Redis URL (the embedded development broker)
nothing is limited.
"""

from __future__ import annotations

import datetime as dt

import redis
from django.conf import settings

from config.hooks import settings_cached

# The bucket in KEYS[1] refilled up to now (ARGV[1] burst, ARGV[2] tokens per second), by
# Redis' own clock so workers need not agree; a script goes on from here and saves it.
_REFILL = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
"""
_SAVE = """
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 60)
"""
# Take one token. Returns the seconds to wait for it (0: go now), as a string (Lua floats).
_TAKE = (
    _REFILL
    + "tokens = tokens - 1\n"
    + _SAVE
    + "if tokens >= 0 then return '0' end\nreturn tostring(-tokens / rate)\n"
)
# ARGV[3] seconds: the platform said "slow down". Empty the bucket so that the channel's next
# token comes only after that long (and a slot), for every worker.
_HOLD = _REFILL + "tokens = math.min(tokens, -tonumber(ARGV[3]) * rate)\n" + _SAVE + "return 'ok'\n"


_REDIS_SETTINGS = ("PUBLISHING_REDIS_URL", "PUBLISHING_RATE_LIMITS")


@settings_cached(*_REDIS_SETTINGS)
def _client() -> redis.Redis | None:
    url = settings.PUBLISHING_REDIS_URL
    return redis.Redis.from_url(url, socket_timeout=5) if url else None


@settings_cached(*_REDIS_SETTINGS)
def _script():
    client = _client()
    return client.register_script(_TAKE) if client is not None else None


@settings_cached(*_REDIS_SETTINGS)
def _hold_script():
    client = _client()
    return client.register_script(_HOLD) if client is not None else None


def limits_for(platform: str) -> tuple[float, float]:
    """(burst, tokens per second) for a platform: its own entry or "default"."""
    table = settings.PUBLISHING_RATE_LIMITS
    return tuple(table.get(platform, table["default"]))  # type: ignore[return-value]


def bucket_key(channel_id: int) -> str:
    # The database name keeps two installations (or test databases) on one Redis apart.
    return f"publishing:bucket:{settings.DATABASES['default']['NAME']}:{channel_id}"


def bucket_take(key: str, *, burst: float, rate: float) -> float:
    """Take (or reserve) one token of the bucket `key` (the engine's token bucket script, for
    any bucket: the metrics' read buckets use it too); the seconds to wait for it. Without
    Redis (the embedded development broker) nothing is limited: 0."""
    script = _script()
    if script is None:
        return 0.0
    return float(script(keys=[key], args=[burst, rate]))


def bucket_reset(key: str) -> None:
    client = _client()
    if client is not None:
        client.delete(key)


def rate_take(*, channel_id: int, platform: str) -> float:
    """Take (or reserve) one publishing token of the channel; the seconds to wait for it."""
    burst, rate = limits_for(platform)
    return bucket_take(bucket_key(channel_id), burst=burst, rate=rate)


def rate_take_many(channels: list[tuple[int, str]]) -> list[float]:
    """`rate_take` for each (channel id, platform) in turn, in one round trip to Redis (a
    pipeline; each take is still atomic on its own). The seconds to wait, in the same order."""
    script = _script()
    if script is None or not channels:
        return [0.0] * len(channels)
    pipe = _client().pipeline(transaction=False)
    for channel_id, platform in channels:
        burst, rate = limits_for(platform)
        script(keys=[bucket_key(channel_id)], args=[burst, rate], client=pipe)
    return [float(wait) for wait in pipe.execute()]


def rate_hold(*, channel_id: int, platform: str, seconds: float) -> None:
    """The platform asked us to slow down for `seconds`: the channel's next token (for any
    worker, and for the dispatcher's next batch) comes no sooner than that."""
    script = _hold_script()
    if script is None or seconds <= 0:
        return
    burst, rate = limits_for(platform)
    script(keys=[bucket_key(channel_id)], args=[burst, rate, seconds])


def token_fresh(taken_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether a token taken at `taken_at` may still be spent at `now`. A token spent late
    lets calls bunch up (a backlog clearing at once), by at most this validity's worth of the
    channel's rate."""
    if taken_at is None:
        return False
    return (now - taken_at).total_seconds() <= settings.PUBLISHING_RATE_TOKEN_SECONDS


def rate_reset(*, channel_id: int) -> None:
    """Forget a channel's bucket (tests, and a reconnected account starting afresh)."""
    bucket_reset(bucket_key(channel_id))
