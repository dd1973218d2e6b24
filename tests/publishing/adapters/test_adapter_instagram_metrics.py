"""Instagram numbers: media insights (with the like/comment fallback), the account's counts and
its media history, against responses shaped like the Instagram API (the `responses` library)."""

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
from publishing.adapters.instagram import InstagramAdapter

API = "https://graph.instagram.test/v25.0"
TOKEN = "IGAA-long-lived-secret"
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
GONE = {
    "error": {
        "message": "Unsupported get request. Object with ID 'M9' does not exist",
        "code": 100,
        "error_subcode": 33,
    }
}


@pytest.fixture
def adapter():
    return InstagramAdapter(base_url=API, client_id="igapp", client_secret="igsecret")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="1784", handle="acme")


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def insights(**values) -> dict:
    return {
        "data": [
            {"name": name, "period": "lifetime", "values": [{"value": value}]}
            for name, value in values.items()
        ]
    }


# -- fetch_metrics ---------------------------------------------------------------------------------


def test_given_media_when_fetching_metrics_then_insights_mapped_and_reach_kept_raw(
    adapter, api, account, creds
):
    api.get(
        f"{API}/M1/insights",
        json={
            "data": [
                {"name": "views", "period": "lifetime", "values": [{"value": 1200}]},
                {"name": "reach", "period": "lifetime", "values": [{"value": 900}]},
                {"name": "likes", "period": "lifetime", "values": [{"value": 80}]},
                {"name": "comments", "period": "lifetime", "values": [{"value": 5}]},
                {"name": "shares", "period": "lifetime", "total_value": {"value": 7}},
                {"name": "saved", "period": "lifetime", "values": [{"value": 11}]},
            ]
        },
    )

    [snapshot] = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["M1"])

    query = parse_qs(urlsplit(api.calls[0].request.url).query)
    assert query["metric"] == ["views,reach,likes,comments,shares,saved"]
    assert snapshot.values == {
        "impressions": 1200,
        "likes": 80,
        "comments": 5,
        "shares": 7,
        "saves": 11,
    }
    assert snapshot.raw["reach"] == 900


def test_given_insights_without_some_metrics_when_fetching_then_those_are_missing(
    adapter, api, account, creds
):
    api.get(f"{API}/M1/insights", json=insights(views=10, likes=0))

    [snapshot] = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["M1"])

    assert snapshot.values == {"impressions": 10, "likes": 0}


def test_given_too_few_viewers_when_fetching_metrics_then_likes_and_comments_from_fields(
    adapter, api, account, creds
):
    api.get(
        f"{API}/M2/insights",
        status=400,
        json={
            "error": {"message": "Not enough viewers for the media to show insights", "code": 10}
        },
    )
    api.get(
        f"{API}/M2",
        match=[
            matchers.query_param_matcher(
                {"fields": "like_count,comments_count"}, strict_match=False
            )
        ],
        json={"id": "M2", "like_count": 3, "comments_count": 1},
    )

    [snapshot] = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["M2"])

    assert (snapshot.remote_id, snapshot.values) == ("M2", {"likes": 3, "comments": 1})


def test_given_deleted_media_when_fetching_metrics_then_missing(adapter, api, account, creds):
    api.get(f"{API}/M1/insights", json=insights(views=10))
    api.get(f"{API}/M9/insights", status=400, json=GONE)

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["M1", "M9"])

    assert [s.remote_id for s in snapshots] == ["M1"]


def test_given_media_gone_between_insights_and_fields_when_fetching_then_missing(
    adapter, api, account, creds
):
    api.get(f"{API}/M3/insights", status=400, json={"error": {"message": "x", "code": 10}})
    api.get(f"{API}/M3", status=400, json=GONE)

    assert adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["M3"]) == []


# -- fetch_account_metrics -------------------------------------------------------------------------


def test_given_an_account_when_fetching_account_metrics_then_followers_follows_media(
    adapter, api, account, creds
):
    api.get(
        f"{API}/1784",
        match=[
            matchers.query_param_matcher(
                {"fields": "followers_count,follows_count,media_count"}, strict_match=False
            )
        ],
        json={"id": "1784", "followers_count": 800, "follows_count": 50, "media_count": 210},
    )

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"followers": 800, "following": 50, "posts": 210}


# -- list_recent_posts -----------------------------------------------------------------------------


def media(media_id: str, timestamp: str, **fields) -> dict:
    return {
        "id": media_id,
        "caption": f"Caption {media_id}",
        "permalink": f"https://www.instagram.com/p/{media_id}/",
        "timestamp": timestamp,
        "media_type": "IMAGE",
        "like_count": 9,
        "comments_count": 2,
        **fields,
    }


def test_given_two_pages_when_listing_then_media_since_with_like_and_comment_counts(
    adapter, api, account, creds
):
    url = f"{API}/1784/media"
    api.get(
        url,
        match=[matchers.query_param_matcher({"limit": "50"}, strict_match=False)],
        json={
            "data": [media("M3", "2026-05-20T10:00:00+0000")],
            "paging": {"cursors": {"after": "A1"}, "next": f"{url}?after=A1"},
        },
    )
    api.get(
        url,
        match=[matchers.query_param_matcher({"after": "A1"}, strict_match=False)],
        json={
            "data": [
                media("M2", "2026-05-03T10:00:00+0000", like_count=None),
                media("M1", "2026-04-03T10:00:00+0000"),
            ],
            "paging": {"cursors": {"after": "A2"}, "next": f"{url}?after=A2"},
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["M3", "M2"]
    assert posts[0].url == "https://www.instagram.com/p/M3/"
    assert posts[0].text == "Caption M3"
    assert posts[0].published_at == dt.datetime(2026, 5, 20, 10, tzinfo=dt.UTC)
    assert posts[0].metrics.values == {"likes": 9, "comments": 2}
    assert posts[1].metrics.values == {"comments": 2}  # likes hidden: missing, not 0
    assert len(api.calls) == 2


def test_given_more_media_than_the_limit_when_listing_then_stops(adapter, api, account, creds):
    api.get(
        f"{API}/1784/media",
        json={
            "data": [media(f"M{n}", f"2026-05-20T{20 - n:02d}:00:00+0000") for n in range(10)],
            "paging": {"cursors": {"after": "A1"}, "next": "more"},
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=2)

    assert [p.remote_id for p in posts] == ["M0", "M1"]
    assert len(api.calls) == 1


# -- errors ----------------------------------------------------------------------------------------

CALLS = {
    "fetch_metrics": lambda a, acc, c: a.fetch_metrics(
        account=acc, credentials=c, remote_ids=["M1"]
    ),
    "fetch_account_metrics": lambda a, acc, c: a.fetch_account_metrics(account=acc, credentials=c),
    "list_recent_posts": lambda a, acc, c: a.list_recent_posts(
        account=acc, credentials=c, since=SINCE
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    ("status_code", "body", "headers", "expected"),
    [
        (400, {"error": {"message": "Session has expired", "code": 190}}, {}, AuthExpired),
        (401, {"error": {"message": "Invalid token"}}, {}, AuthExpired),
        (
            429,
            {"error": {"message": "Too many calls", "code": 4}},
            {"Retry-After": "120"},
            RateLimited,
        ),
        (503, {"error": {"message": "Unavailable", "code": 2}}, {}, TransientError),
    ],
)
def test_given_an_error_when_reading_numbers_then_mapped_and_no_secret_in_it(
    adapter, api, account, creds, call, status_code, body, headers, expected
):
    echoed = {"error": {**body["error"], "message": f"{body['error']['message']} {TOKEN}"}}
    api.add(
        responses.GET, re.compile(rf"{API}/.*"), status=status_code, headers=headers, json=echoed
    )

    with pytest.raises(expected) as info:
        CALLS[call](adapter, account, creds)

    error = info.value
    assert TOKEN not in f"{error} {error.message} {error.detail}"
    if expected is RateLimited:
        assert error.retry_after == 120


def test_given_a_permission_error_on_both_reads_when_fetching_then_permanent(
    adapter, api, account, creds
):
    refused = {"error": {"message": "(#10) Application does not have permission", "code": 10}}
    api.get(f"{API}/M1/insights", status=403, json=refused)
    api.get(f"{API}/M1", status=403, json=refused)

    with pytest.raises(PermanentError, match="permission"):
        adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["M1"])
