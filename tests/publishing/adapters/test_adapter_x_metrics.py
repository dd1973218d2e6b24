"""X's numbers: post metrics (public + non-public by age, video views), the user's counts and
their own recent posts, against responses shaped like API v2 (the `responses` library)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import time_machine
from responses import matchers

from publishing.adapters.base import (
    Account,
    AuthExpired,
    Credentials,
    PermanentError,
    RateLimited,
    TransientError,
)
from publishing.adapters.x import XAdapter, created_at_of

API = "https://api.x.test"
TOKEN = "x-secret-access-token-123"
NOW = dt.datetime(2026, 5, 21, 12, 0, tzinfo=dt.UTC)
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
NOT_FOUND = "https://api.twitter.com/2/problems/resource-not-found"


def snowflake(when: dt.datetime, sequence: int = 1) -> str:
    return str(((int(when.timestamp() * 1000) - 1_288_834_974_657) << 22) | sequence)


RECENT = snowflake(NOW - dt.timedelta(days=2))
RECENT_2 = snowflake(NOW - dt.timedelta(days=3))
OLD = snowflake(NOW - dt.timedelta(days=40))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def adapter():
    return XAdapter(base_url=API, client_id="cid", client_secret="csecret")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="42", handle="acme", config={"username": "acme"})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def public(**overrides) -> dict:
    return {
        "retweet_count": 2,
        "reply_count": 3,
        "like_count": 10,
        "quote_count": 1,
        "bookmark_count": 4,
        "impression_count": 500,
        **overrides,
    }


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_given_snowflake_ids_when_reading_their_age_then_creation_time():
    assert created_at_of(snowflake(NOW)) == NOW
    assert created_at_of("not-an-id") is None


# -- fetch_metrics ---------------------------------------------------------------------------------


def test_given_recent_and_old_posts_when_fetching_metrics_then_non_public_only_for_recent(
    adapter, api, account, creds
):
    api.get(
        f"{API}/2/tweets",
        match=[matchers.query_param_matcher({"ids": RECENT}, strict_match=False)],
        json={
            "data": [
                {
                    "id": RECENT,
                    "public_metrics": public(),
                    "non_public_metrics": {
                        "impression_count": 640,
                        "url_link_clicks": 25,
                        "user_profile_clicks": 3,
                    },
                }
            ]
        },
    )
    api.get(
        f"{API}/2/tweets",
        match=[matchers.query_param_matcher({"ids": OLD}, strict_match=False)],
        json={"data": [{"id": OLD, "public_metrics": public(impression_count=90)}]},
    )

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=[OLD, RECENT])

    assert [(s.remote_id, s.values) for s in snapshots] == [
        (
            OLD,
            {"likes": 10, "comments": 3, "shares": 2, "quotes": 1, "saves": 4, "impressions": 90},
        ),
        (
            RECENT,
            {
                "likes": 10,
                "comments": 3,
                "shares": 2,
                "quotes": 1,
                "saves": 4,
                "impressions": 640,
                "clicks": 25,
            },
        ),
    ]
    fields = {query(c)["ids"][0]: query(c)["tweet.fields"][0] for c in api.calls}
    assert fields == {RECENT: "public_metrics,non_public_metrics", OLD: "public_metrics"}
    assert snapshots[1].raw["non_public_metrics"]["user_profile_clicks"] == 3


def test_given_deleted_and_refused_posts_when_fetching_metrics_then_deleted_missing_refused_public(
    adapter, api, account, creds
):
    api.get(
        f"{API}/2/tweets",
        match=[
            matchers.query_param_matcher(
                {
                    "ids": f"{RECENT},{RECENT_2}",
                    "tweet.fields": "public_metrics,non_public_metrics",
                },
                strict_match=False,
            )
        ],
        json={
            "errors": [
                {"resource_id": RECENT, "type": NOT_FOUND, "title": "Not Found Error"},
                {
                    "resource_id": RECENT_2,
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
                    "title": "Field Authorization Error",
                },
            ]
        },
    )
    api.get(
        f"{API}/2/tweets",
        match=[
            matchers.query_param_matcher(
                {"ids": RECENT_2, "tweet.fields": "public_metrics"}, strict_match=False
            )
        ],
        json={"data": [{"id": RECENT_2, "public_metrics": public()}]},
    )

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=[RECENT, RECENT_2]
    )

    assert [s.remote_id for s in snapshots] == [RECENT_2]
    assert "clicks" not in snapshots[0].values
    assert len(api.calls) == 2


def test_given_the_whole_request_refused_for_non_public_fields_when_fetching_then_public_only(
    adapter, api, account, creds
):
    api.get(
        f"{API}/2/tweets",
        match=[
            matchers.query_param_matcher(
                {"tweet.fields": "public_metrics,non_public_metrics"}, strict_match=False
            )
        ],
        status=403,
        json={"title": "Forbidden", "detail": "non_public_metrics are not available"},
    )
    api.get(
        f"{API}/2/tweets",
        match=[
            matchers.query_param_matcher({"tweet.fields": "public_metrics"}, strict_match=False)
        ],
        json={"data": [{"id": RECENT, "public_metrics": public()}]},
    )

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=[RECENT])

    assert snapshots[0].values["likes"] == 10


def test_given_a_video_post_when_fetching_metrics_then_video_views_from_its_media(
    adapter, api, account, creds
):
    api.get(
        f"{API}/2/tweets",
        json={
            "data": [
                {
                    "id": OLD,
                    "public_metrics": public(),
                    "attachments": {"media_keys": ["7_1", "3_2"]},
                },
            ],
            "includes": {
                "media": [
                    {"media_key": "7_1", "type": "video", "public_metrics": {"view_count": 321}},
                    {"media_key": "3_2", "type": "photo"},
                ]
            },
        },
    )

    [snapshot] = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=[OLD])

    assert snapshot.values["video_views"] == 321
    assert query(api.calls[0])["expansions"] == ["attachments.media_keys"]
    assert snapshot.raw["media"] == [
        {"media_key": "7_1", "type": "video", "public_metrics": {"view_count": 321}}
    ]


def test_given_a_post_without_some_metrics_when_fetching_then_they_are_missing_not_zero(
    adapter, api, account, creds
):
    api.get(
        f"{API}/2/tweets",
        json={"data": [{"id": OLD, "public_metrics": {"like_count": 0, "reply_count": 2}}]},
    )

    [snapshot] = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=[OLD])

    assert snapshot.values == {"likes": 0, "comments": 2}


def test_given_250_posts_when_fetching_metrics_then_batches_of_100(adapter, api, account, creds):
    ids = [snowflake(NOW - dt.timedelta(days=40), n) for n in range(250)]
    api.get(f"{API}/2/tweets", json={"data": []})

    adapter.fetch_metrics(account=account, credentials=creds, remote_ids=ids)

    assert [len(query(c)["ids"][0].split(",")) for c in api.calls] == [100, 100, 50]


# -- fetch_account_metrics -------------------------------------------------------------------------


def test_given_the_user_when_fetching_account_metrics_then_followers_following_posts(
    adapter, api, account, creds
):
    api.get(
        f"{API}/2/users/me",
        match=[matchers.query_param_matcher({"user.fields": "public_metrics"})],
        json={
            "data": {
                "id": "42",
                "public_metrics": {
                    "followers_count": 5000,
                    "following_count": 300,
                    "tweet_count": 12000,
                    "listed_count": 40,
                },
            }
        },
    )

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"followers": 5000, "following": 300, "posts": 12000}
    assert metrics.raw["public_metrics"]["listed_count"] == 40


# -- list_recent_posts -----------------------------------------------------------------------------


def timeline_post(when: dt.datetime, text: str = "Hello") -> dict:
    post_id = snowflake(when)
    return {
        "id": post_id,
        "text": text,
        "created_at": when.isoformat().replace("+00:00", ".000Z"),
        "public_metrics": public(),
    }


def test_given_two_pages_when_listing_then_own_posts_since_with_metrics(
    adapter, api, account, creds
):
    newest = timeline_post(NOW - dt.timedelta(days=1), "Newest")
    older = timeline_post(NOW - dt.timedelta(days=10))
    api.get(
        f"{API}/2/users/42/tweets",
        match=[matchers.query_param_matcher({"max_results": "100"}, strict_match=False)],
        json={"data": [newest], "meta": {"result_count": 1, "next_token": "t2"}},
    )
    api.get(
        f"{API}/2/users/42/tweets",
        match=[matchers.query_param_matcher({"pagination_token": "t2"}, strict_match=False)],
        json={"data": [older], "meta": {"result_count": 1}},
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == [newest["id"], older["id"]]
    assert posts[0].url == f"https://x.com/acme/status/{newest['id']}"
    assert posts[0].text == "Newest"
    assert posts[0].published_at == NOW - dt.timedelta(days=1)
    assert posts[0].metrics.values["likes"] == 10
    first = query(api.calls[0])
    assert first["exclude"] == ["retweets,replies"]
    assert first["start_time"] == ["2026-05-01T00:00:00Z"]
    # The window reaches back 20 days: non-public metrics are available for all of it.
    assert first["tweet.fields"] == ["created_at,public_metrics,non_public_metrics"]


def test_given_a_window_older_than_30_days_when_listing_then_public_metrics_only(
    adapter, api, account, creds
):
    api.get(f"{API}/2/users/42/tweets", json={"meta": {"result_count": 0}})

    posts = adapter.list_recent_posts(
        account=account, credentials=creds, since=NOW - dt.timedelta(days=30)
    )

    assert posts == []
    assert query(api.calls[0])["tweet.fields"] == ["created_at,public_metrics"]


def test_given_more_posts_than_the_limit_when_listing_then_stops_at_the_limit(
    adapter, api, account, creds
):
    api.get(
        f"{API}/2/users/42/tweets",
        json={
            "data": [timeline_post(NOW - dt.timedelta(hours=n)) for n in range(1, 11)],
            "meta": {"next_token": "more"},
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=4)

    assert len(posts) == 4
    assert len(api.calls) == 1


# -- errors ----------------------------------------------------------------------------------------

CALLS = {
    "fetch_metrics": lambda a, acc, c: a.fetch_metrics(
        account=acc, credentials=c, remote_ids=[OLD]
    ),
    "fetch_account_metrics": lambda a, acc, c: a.fetch_account_metrics(account=acc, credentials=c),
    "list_recent_posts": lambda a, acc, c: a.list_recent_posts(
        account=acc, credentials=c, since=SINCE
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    ("status_code", "headers", "expected"),
    [
        (401, {}, AuthExpired),
        (429, {"x-rate-limit-reset": str(int(NOW.timestamp()) + 600)}, RateLimited),
        (503, {}, TransientError),
        (400, {}, PermanentError),
    ],
)
def test_given_an_error_when_reading_numbers_then_mapped_and_no_secret_in_it(
    adapter, api, account, creds, call, status_code, headers, expected
):
    api.add(
        responses.GET,
        re.compile(rf"{API}/2/.*"),
        status=status_code,
        headers=headers,
        json={"title": "Error", "detail": f"token {TOKEN} refused", "access_token": TOKEN},
    )

    with pytest.raises(expected) as info:
        CALLS[call](adapter, account, creds)

    error = info.value
    assert TOKEN not in f"{error} {error.message} {error.detail}"
    if expected is RateLimited:
        assert error.retry_after == pytest.approx(600, abs=1)


def test_given_a_post_older_than_since_in_the_answer_when_listing_then_the_walk_stops_there(
    adapter, api, account, creds
):
    api.get(
        f"{API}/2/users/42/tweets",
        json={
            "data": [
                timeline_post(NOW - dt.timedelta(days=1)),
                timeline_post(SINCE - dt.timedelta(minutes=1)),
            ],
            "meta": {"next_token": "more"},
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert len(posts) == 1
    assert len(api.calls) == 1
