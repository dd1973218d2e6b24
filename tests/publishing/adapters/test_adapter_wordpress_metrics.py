"""WordPress numbers: comment counts of posts that still exist, the site's number of posts and
its recent posts, against responses shaped like the core REST API (the `responses` library)."""

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
from publishing.adapters.wordpress import WordPressAdapter

SITE = "https://blog.test"
ROOT = SITE + "/wp-json/"
PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture
def adapter():
    return WordPressAdapter(base_url="")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(
        account_id=SITE,
        handle="redaktion",
        config={"site_url": SITE, "api_root": ROOT, "username": "redaktion", "user_id": 7},
    )


@pytest.fixture
def creds():
    return Credentials(access_token=PASSWORD)


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


# -- fetch_metrics ---------------------------------------------------------------------------------


def test_given_posts_when_fetching_metrics_then_comment_counts_of_existing_ones(
    adapter, api, account, creds
):
    api.get(
        f"{ROOT}wp/v2/posts",
        match=[matchers.query_param_matcher({"include": "101,102,103"}, strict_match=False)],
        json=[{"id": 101}, {"id": 103}],  # 102 was trashed or deleted
    )
    api.get(
        f"{ROOT}wp/v2/comments",
        match=[matchers.query_param_matcher({"post": "101"}, strict_match=False)],
        json=[{"id": 1}],
        headers={"X-WP-Total": "4", "X-WP-TotalPages": "4"},
    )
    api.get(
        f"{ROOT}wp/v2/comments",
        match=[matchers.query_param_matcher({"post": "103"}, strict_match=False)],
        json=[],
        headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"},
    )

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=["101", "102", "103", "comment:9"]
    )

    assert [(s.remote_id, s.values) for s in snapshots] == [
        ("101", {"comments": 4}),
        ("103", {"comments": 0}),
    ]
    assert query(api.calls[0])["status"] == ["any"]
    assert api.calls[0].request.headers["Authorization"].startswith("Basic ")


def test_given_comments_switched_off_when_fetching_metrics_then_the_count_is_missing(
    adapter, api, account, creds
):
    api.get(f"{ROOT}wp/v2/posts", json=[{"id": 101}])
    api.get(
        f"{ROOT}wp/v2/comments",
        status=404,
        json={"code": "rest_no_route", "message": "No route was found"},
    )

    [snapshot] = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["101"])

    assert (snapshot.remote_id, snapshot.values) == ("101", {})


def test_given_150_posts_when_fetching_metrics_then_existence_asked_per_100(
    adapter, api, account, creds
):
    api.get(f"{ROOT}wp/v2/posts", json=[])

    adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=[str(n) for n in range(1, 151)]
    )

    assert [len(query(c)["include"][0].split(",")) for c in api.calls] == [100, 50]


# -- fetch_account_metrics -------------------------------------------------------------------------


def test_given_a_site_when_fetching_account_metrics_then_number_of_published_posts(
    adapter, api, account, creds
):
    api.get(f"{ROOT}wp/v2/posts", json=[{"id": 1}], headers={"X-WP-Total": "238"})

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"posts": 238}
    assert query(api.calls[0])["per_page"] == ["1"]


# -- list_recent_posts -----------------------------------------------------------------------------


def wp_post(post_id: int, date_gmt: str) -> dict:
    return {
        "id": post_id,
        "date_gmt": date_gmt,
        "link": f"{SITE}/?p={post_id}",
        "title": {"rendered": f"Post &amp; <em>{post_id}</em>"},
    }


def test_given_pages_when_listing_then_posts_since_by_gmt_date(adapter, api, account, creds):
    api.get(
        f"{ROOT}wp/v2/posts",
        match=[matchers.query_param_matcher({"page": "1"}, strict_match=False)],
        json=[wp_post(5, "2026-05-20T08:00:00"), wp_post(4, "2026-05-10T08:00:00")],
        headers={"X-WP-Total": "4", "X-WP-TotalPages": "2"},
    )
    api.get(
        f"{ROOT}wp/v2/posts",
        match=[matchers.query_param_matcher({"page": "2"}, strict_match=False)],
        json=[wp_post(3, "2026-05-01T06:00:00"), wp_post(2, "2026-04-30T23:30:00")],
        headers={"X-WP-Total": "4", "X-WP-TotalPages": "2"},
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["5", "4", "3"]
    assert posts[0].url == f"{SITE}/?p=5"
    assert posts[0].text == "Post & 5"
    assert posts[0].published_at == dt.datetime(2026, 5, 20, 8, tzinfo=dt.UTC)
    assert posts[0].metrics is None
    first = query(api.calls[0])
    # WordPress compares `after` with the site's local time: a day earlier, date_gmt decides.
    assert first["after"] == ["2026-04-30T00:00:00"]
    assert first["orderby"] == ["date"] and first["order"] == ["desc"]
    assert first["per_page"] == ["100"]


def test_given_the_last_page_when_listing_then_no_further_request(adapter, api, account, creds):
    api.get(
        f"{ROOT}wp/v2/posts",
        json=[wp_post(5, "2026-05-20T08:00:00")],
        headers={"X-WP-Total": "1", "X-WP-TotalPages": "1"},
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["5"]
    assert len(api.calls) == 1


# -- errors ----------------------------------------------------------------------------------------

CALLS = {
    "fetch_metrics": lambda a, acc, c: a.fetch_metrics(
        account=acc, credentials=c, remote_ids=["1"]
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
        (401, {"code": "incorrect_password", "message": "Wrong"}, {}, AuthExpired),
        (429, {"message": "Slow down"}, {"Retry-After": "30"}, RateLimited),
        (503, {"message": "Maintenance"}, {}, TransientError),
        (403, {"code": "rest_forbidden", "message": "Blocked by a plugin"}, {}, PermanentError),
    ],
)
def test_given_an_error_when_reading_numbers_then_mapped_and_no_password_in_it(
    adapter, api, account, creds, call, status_code, body, headers, expected
):
    api.add(
        responses.GET,
        re.compile(rf"{ROOT}.*"),
        status=status_code,
        headers=headers,
        json={**body, "message": f"{body['message']} ({PASSWORD})"},
    )

    with pytest.raises(expected) as info:
        CALLS[call](adapter, account, creds)

    error = info.value
    assert PASSWORD not in f"{error} {error.message} {error.detail}"
    if expected is RateLimited:
        assert error.retry_after == 30


def test_given_more_posts_than_the_limit_when_listing_then_stops_without_the_next_page(
    adapter, api, account, creds
):
    api.get(
        f"{ROOT}wp/v2/posts",
        json=[wp_post(10 - n, f"2026-05-20T{20 - n:02d}:00:00") for n in range(5)],
        headers={"X-WP-Total": "500", "X-WP-TotalPages": "5"},
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=2)

    assert [p.remote_id for p in posts] == ["10", "9"]
    assert len(api.calls) == 1
