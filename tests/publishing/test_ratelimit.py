"""The per-channel token buckets in Redis (publishing.ratelimit): the platforms' posting quotas
and a platform's own "slow down"."""

from __future__ import annotations

import pytest
from django.conf import settings as project

from publishing import ratelimit

DAY = 24 * 3600
# What the platforms allow (docs/platforms.md): (posts, in seconds).
QUOTAS = {
    "instagram": (50, DAY),
    "threads": (250, DAY),
    "linkedin": (150, DAY),
    "telegram": (20, 60),
}


@pytest.fixture
def channel():
    channel_id = 2_000_000_001  # no row needed: a bucket is keyed by the channel's id
    ratelimit.rate_reset(channel_id=channel_id)
    yield channel_id
    ratelimit.rate_reset(channel_id=channel_id)


@pytest.mark.parametrize("platform", sorted(QUOTAS))
def test_a_platform_with_a_posting_quota_has_a_bucket_that_never_exceeds_it(platform):
    burst, rate = project.PUBLISHING_RATE_LIMITS[platform]
    posts, window = QUOTAS[platform]
    # A bucket lets at most its burst plus what refills during the window through.
    assert burst >= 1 and burst + rate * window <= posts


def test_given_an_instagram_channel_then_ten_posts_go_at_once_and_the_next_waits_its_slot(
    channel,
):
    waits = ratelimit.rate_take_many([(channel, "instagram")] * 11)

    assert waits[:10] == [0.0] * 10
    assert 2150 <= waits[10] <= 2170  # 40 a day after the first ten: one every 36 minutes


def test_given_a_hold_then_the_channels_next_token_comes_after_it(channel, settings):
    settings.PUBLISHING_RATE_LIMITS = {"default": (5, 0.5)}
    ratelimit.rate_hold(channel_id=channel, platform="mastodon", seconds=90)

    first = ratelimit.rate_take(channel_id=channel, platform="mastodon")
    assert 90 <= first <= 93  # the hold, then one slot (2 s at 0.5 a second)

    ratelimit.rate_hold(channel_id=channel, platform="mastodon", seconds=10)  # shorter: no change
    assert ratelimit.rate_take(channel_id=channel, platform="mastodon") >= first + 1.5
