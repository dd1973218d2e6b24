"""YouTube numbers: video statistics, the channel's subscribers and its uploads, against
responses shaped like the YouTube Data API v3 (the `responses` library)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from publishing.adapters.base import (
    Account,
    AuthExpired,
    Credentials,
    PermanentError,
    RateLimited,
    TransientError,
)
from publishing.adapters.youtube import YouTubeAdapter

API = "https://youtube.test"
TOKEN = "ya29.secret-access"
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture
def adapter():
    return YouTubeAdapter(base_url=API, client_id="gid", client_secret="gsecret")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="UC1", config={"uploads_playlist": "UU1"})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def video(video_id: str, **stats) -> dict:
    return {"id": video_id, "statistics": stats}


# -- fetch_metrics ---------------------------------------------------------------------------------


def test_given_videos_when_fetching_metrics_then_views_likes_comments_and_hidden_likes_missing(
    adapter, api, account, creds
):
    api.get(
        f"{API}/youtube/v3/videos",
        json={
            "items": [
                video("v1", viewCount="1500", likeCount="80", commentCount="7", favoriteCount="0"),
                video("v2", viewCount="30", commentCount="0"),  # likes hidden by the channel
            ]
        },
    )

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=["v1", "v2", "deleted"]
    )

    assert [(s.remote_id, s.values) for s in snapshots] == [
        ("v1", {"video_views": 1500, "likes": 80, "comments": 7}),
        ("v2", {"video_views": 30, "comments": 0}),
    ]
    assert snapshots[0].raw["favoriteCount"] == "0"
    query = parse_qs(urlsplit(api.calls[0].request.url).query)
    assert query["part"] == ["statistics"] and query["id"] == ["v1,v2,deleted"]


# -- fetch_account_metrics -------------------------------------------------------------------------


def channels(stats: dict) -> dict:
    return {"items": [{"id": "UC1", "statistics": stats}]}


def test_given_a_channel_when_fetching_account_metrics_then_subscribers_and_videos(
    adapter, api, account, creds
):
    api.get(
        f"{API}/youtube/v3/channels",
        match=[matchers.query_param_matcher({"part": "statistics", "mine": "true"})],
        json=channels(
            {
                "viewCount": "99000",
                "subscriberCount": "1234",
                "hiddenSubscriberCount": False,
                "videoCount": "56",
            }
        ),
    )

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"followers": 1234, "posts": 56}
    assert metrics.raw["viewCount"] == "99000"


def test_given_hidden_subscribers_when_fetching_account_metrics_then_followers_missing(
    adapter, api, account, creds
):
    api.get(
        f"{API}/youtube/v3/channels",
        json=channels(
            {"subscriberCount": "1000", "hiddenSubscriberCount": True, "videoCount": "5"}
        ),
    )

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"posts": 5}


def test_given_no_channel_when_fetching_account_metrics_then_permanent(
    adapter, api, account, creds
):
    api.get(f"{API}/youtube/v3/channels", json={"items": []})

    with pytest.raises(PermanentError, match="no longer has a YouTube channel"):
        adapter.fetch_account_metrics(account=account, credentials=creds)


# -- list_recent_posts -----------------------------------------------------------------------------


def upload(video_id: str, published: str | None, privacy: str = "public") -> dict:
    details = {"videoId": video_id}
    if published:
        details["videoPublishedAt"] = published
    return {
        "snippet": {"title": f"Video {video_id}", "resourceId": {"videoId": video_id}},
        "contentDetails": details,
        "status": {"privacyStatus": privacy},
    }


def test_given_uploads_when_listing_then_public_videos_since_with_statistics(
    adapter, api, account, creds
):
    url = f"{API}/youtube/v3/playlistItems"
    api.get(
        url,
        match=[matchers.query_param_matcher({"playlistId": "UU1"}, strict_match=False)],
        json={
            "items": [
                upload("v4", "2026-05-20T10:00:00Z"),
                upload("v3", "2026-05-19T10:00:00Z", privacy="private"),
                upload("gone", None),  # a deleted video stays in the playlist without a date
            ],
            "nextPageToken": "P2",
        },
    )
    api.get(
        url,
        match=[matchers.query_param_matcher({"pageToken": "P2"}, strict_match=False)],
        json={
            "items": [upload("v2", "2026-05-02T10:00:00Z"), upload("v1", "2026-04-02T10:00:00Z")],
            "nextPageToken": "P3",
        },
    )
    api.get(
        f"{API}/youtube/v3/videos",
        match=[matchers.query_param_matcher({"id": "v4,v2"}, strict_match=False)],
        json={"items": [video("v4", viewCount="10"), video("v2", viewCount="20", likeCount="2")]},
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["v4", "v2"]
    assert posts[0].url == "https://www.youtube.com/watch?v=v4"
    assert posts[0].text == "Video v4"
    assert posts[0].published_at == dt.datetime(2026, 5, 20, 10, tzinfo=dt.UTC)
    assert posts[1].metrics.values == {"video_views": 20, "likes": 2}
    first = parse_qs(urlsplit(api.calls[0].request.url).query)
    assert first["maxResults"] == ["50"] and first["part"] == ["snippet,contentDetails,status"]
    assert len(api.calls) == 3  # two pages and one statistics call


def test_given_no_uploads_playlist_when_listing_then_nothing(adapter, api, account, creds):
    api.get(f"{API}/youtube/v3/channels", json={"items": [{"contentDetails": {}}]})

    posts = adapter.list_recent_posts(
        account=Account(account_id="UC1"), credentials=creds, since=SINCE
    )

    assert posts == []


# -- errors ----------------------------------------------------------------------------------------

CALLS = {
    "fetch_metrics": lambda a, acc, c: a.fetch_metrics(
        account=acc, credentials=c, remote_ids=["v1"]
    ),
    "fetch_account_metrics": lambda a, acc, c: a.fetch_account_metrics(account=acc, credentials=c),
    "list_recent_posts": lambda a, acc, c: a.list_recent_posts(
        account=acc, credentials=c, since=SINCE
    ),
}


def google_error(code: int, reason: str) -> dict:
    return {
        "error": {
            "code": code,
            "message": f"Request had invalid credentials {TOKEN}",
            "errors": [{"reason": reason, "message": "x"}],
        }
    }


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    ("status_code", "reason", "expected"),
    [
        (401, "authError", AuthExpired),
        (403, "quotaExceeded", RateLimited),
        (403, "rateLimitExceeded", RateLimited),
        (503, "backendError", TransientError),
    ],
)
def test_given_an_error_when_reading_numbers_then_mapped_and_no_secret_in_it(
    adapter, api, account, creds, call, status_code, reason, expected
):
    api.add(
        responses.GET,
        re.compile(rf"{API}/youtube/v3/.*"),
        status=status_code,
        json=google_error(status_code, reason),
    )

    with pytest.raises(expected) as info:
        CALLS[call](adapter, account, creds)

    error = info.value
    assert TOKEN not in f"{error} {error.message} {error.detail}"
    if expected is RateLimited:
        assert error.retry_after > 0


def test_given_more_uploads_than_the_limit_when_listing_then_stops_and_reads_their_statistics(
    adapter, api, account, creds
):
    api.get(
        f"{API}/youtube/v3/playlistItems",
        json={
            "items": [upload(f"v{n}", f"2026-05-20T{20 - n:02d}:00:00Z") for n in range(5)],
            "nextPageToken": "P2",
        },
    )
    api.get(
        f"{API}/youtube/v3/videos",
        match=[matchers.query_param_matcher({"id": "v0,v1"}, strict_match=False)],
        json={"items": [video("v0", viewCount="1"), video("v1", viewCount="2")]},
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=2)

    assert [(p.remote_id, p.metrics.values) for p in posts] == [
        ("v0", {"video_views": 1}),
        ("v1", {"video_views": 2}),
    ]
