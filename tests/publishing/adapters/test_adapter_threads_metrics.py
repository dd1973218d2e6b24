"""Threads numbers: post insights, the profile's followers and its own posts, against responses
shaped like the Threads API (the `responses` library)."""

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
from publishing.adapters.threads import ThreadsAdapter

API = "https://graph.threads.test/v1.0"
TOKEN = "THAA-long-lived-secret"
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture
def adapter():
    return ThreadsAdapter(base_url=API, client_id="thapp", client_secret="thsecret")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="77", handle="acme")


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


def test_given_a_post_when_fetching_metrics_then_insights_mapped_shares_are_reposts_plus_shares(
    adapter, api, account, creds
):
    api.get(
        f"{API}/T1/insights",
        json=insights(views=500, likes=20, replies=3, reposts=2, quotes=1, shares=4),
    )

    [snapshot] = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["T1"])

    assert parse_qs(urlsplit(api.calls[0].request.url).query)["metric"] == [
        "views,likes,replies,reposts,quotes,shares"
    ]
    assert snapshot.values == {
        "impressions": 500,
        "likes": 20,
        "comments": 3,
        "quotes": 1,
        "shares": 6,
    }
    assert snapshot.raw == {
        "views": 500,
        "likes": 20,
        "replies": 3,
        "reposts": 2,
        "quotes": 1,
        "shares": 4,
    }


def test_given_insights_without_reposts_or_shares_when_fetching_then_shares_missing(
    adapter, api, account, creds
):
    api.get(f"{API}/T1/insights", json=insights(views=5, likes=0))

    [snapshot] = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["T1"])

    assert snapshot.values == {"impressions": 5, "likes": 0}


def test_given_a_deleted_post_when_fetching_metrics_then_missing(adapter, api, account, creds):
    api.get(f"{API}/T1/insights", json=insights(views=5))
    api.get(
        f"{API}/T2/insights",
        status=400,
        json={"error": {"message": "Object does not exist", "code": 100, "error_subcode": 33}},
    )

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["T1", "T2"])

    assert [s.remote_id for s in snapshots] == ["T1"]


def test_given_insights_refused_when_fetching_then_permanent_without_a_fallback_read(
    adapter, api, account, creds
):
    api.get(
        f"{API}/T1/insights",
        status=400,
        json={"error": {"message": "(#10) threads_manage_insights is missing", "code": 10}},
    )

    with pytest.raises(PermanentError, match="threads_manage_insights"):
        adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["T1"])

    assert len(api.calls) == 1


# -- fetch_account_metrics -------------------------------------------------------------------------


def test_given_a_profile_when_fetching_account_metrics_then_followers_from_user_insights(
    adapter, api, account, creds
):
    api.get(
        f"{API}/77/threads_insights",
        match=[matchers.query_param_matcher({"metric": "followers_count"}, strict_match=False)],
        json={
            "data": [{"name": "followers_count", "period": "day", "total_value": {"value": 4321}}]
        },
    )

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"followers": 4321}
    assert metrics.raw == {"followers_count": 4321}


# -- list_recent_posts -----------------------------------------------------------------------------


def thread(post_id: str, timestamp: str, media_type: str = "TEXT_POST") -> dict:
    return {
        "id": post_id,
        "text": f"Thread {post_id}",
        "permalink": f"https://www.threads.net/@acme/post/{post_id}",
        "timestamp": timestamp,
        "media_type": media_type,
    }


def test_given_pages_when_listing_then_own_posts_since_reposts_left_out(
    adapter, api, account, creds
):
    url = f"{API}/77/threads"
    api.get(
        url,
        match=[matchers.query_param_matcher({"limit": "100"}, strict_match=False)],
        json={
            "data": [
                thread("T4", "2026-05-20T10:00:00+0000"),
                thread("R1", "2026-05-19T10:00:00+0000", media_type="REPOST_FACADE"),
            ],
            "paging": {"cursors": {"after": "A1"}, "next": f"{url}?after=A1"},
        },
    )
    api.get(
        url,
        match=[matchers.query_param_matcher({"after": "A1"}, strict_match=False)],
        json={"data": [thread("T3", "2026-05-02T10:00:00+0000")], "paging": {}},
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["T4", "T3"]
    assert posts[0].url == "https://www.threads.net/@acme/post/T4"
    assert posts[0].text == "Thread T4"
    assert posts[0].metrics is None  # the listing has no counts; the first pull reads insights
    first = parse_qs(urlsplit(api.calls[0].request.url).query)
    assert first["since"] == [str(int(SINCE.timestamp()))]


def test_given_a_since_before_the_api_floor_when_listing_then_clamped(adapter, api, account, creds):
    api.get(f"{API}/77/threads", json={"data": []})

    adapter.list_recent_posts(
        account=account, credentials=creds, since=dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    )

    assert parse_qs(urlsplit(api.calls[0].request.url).query)["since"] == ["1712991600"]


# -- errors ----------------------------------------------------------------------------------------

CALLS = {
    "fetch_metrics": lambda a, acc, c: a.fetch_metrics(
        account=acc, credentials=c, remote_ids=["T1"]
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
        (
            429,
            {"error": {"message": "Too many calls", "code": 4}},
            {"Retry-After": "90"},
            RateLimited,
        ),
        (500, {"error": {"message": "Unknown error", "code": 1}}, {}, TransientError),
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
        assert error.retry_after == 90


def test_given_more_posts_than_the_limit_when_listing_then_stops_without_the_next_page(
    adapter, api, account, creds
):
    api.get(
        f"{API}/77/threads",
        json={
            "data": [thread(f"T{n}", f"2026-05-20T{20 - n:02d}:00:00+0000") for n in range(5)],
            "paging": {"cursors": {"after": "A1"}, "next": "more"},
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=2)

    assert [p.remote_id for p in posts] == ["T0", "T1"]
    assert len(api.calls) == 1
