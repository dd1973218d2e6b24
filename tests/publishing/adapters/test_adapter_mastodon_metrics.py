"""Mastodon's numbers: status counts, account counts and the account's own recent statuses,
against responses shaped like the Mastodon API (the `responses` library)."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from publishing.adapters.base import (
    Account,
    AuthExpired,
    Credentials,
    RateLimited,
    TransientError,
)
from publishing.adapters.mastodon import MastodonAdapter

INSTANCE = "https://social.test"
TOKEN = "mastodon-secret-token-123"
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture
def adapter():
    return MastodonAdapter()


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="109", handle="@acme@social.test", config={"instance_url": INSTANCE})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def status(status_id: str, created: str, **fields) -> dict:
    return {
        "id": status_id,
        "created_at": created,
        "url": f"{INSTANCE}/@acme/{status_id}",
        "uri": f"{INSTANCE}/users/acme/statuses/{status_id}",
        "content": f"<p>Post {status_id}</p>",
        "visibility": "public",
        "in_reply_to_id": None,
        "reblog": None,
        "favourites_count": 1,
        "reblogs_count": 2,
        "replies_count": 3,
        **fields,
    }


def queries(api, path: str) -> list[dict[str, list[str]]]:
    return [
        parse_qs(urlsplit(c.request.url).query)
        for c in api.calls
        if urlsplit(c.request.url).path == path
    ]


# -- fetch_metrics ---------------------------------------------------------------------------------


def test_given_statuses_when_fetching_metrics_then_counts_mapped_and_missing_ones_absent(
    adapter, api, account, creds
):
    api.get(
        f"{INSTANCE}/api/v1/statuses",
        json=[
            status("1", "2026-05-02T10:00:00.000Z", quotes_count=4),
            {"id": "2", "favourites_count": 0},  # an odd server reporting only favourites
        ],
    )

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["1", "2"])

    assert [(s.remote_id, s.values) for s in snapshots] == [
        ("1", {"likes": 1, "shares": 2, "comments": 3, "quotes": 4}),
        ("2", {"likes": 0}),
    ]
    assert snapshots[0].raw == {
        "favourites_count": 1,
        "reblogs_count": 2,
        "replies_count": 3,
        "quotes_count": 4,
    }


def test_given_a_deleted_status_when_fetching_metrics_then_it_is_missing(
    adapter, api, account, creds
):
    api.get(f"{INSTANCE}/api/v1/statuses", json=[status("1", "2026-05-02T10:00:00Z")])

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["1", "2"])

    assert [s.remote_id for s in snapshots] == ["1"]
    assert queries(api, "/api/v1/statuses")[0]["id[]"] == ["1", "2"]


# -- fetch_account_metrics -------------------------------------------------------------------------


def test_given_an_account_when_fetching_account_metrics_then_followers_following_posts(
    adapter, api, account, creds
):
    api.get(
        f"{INSTANCE}/api/v1/accounts/verify_credentials",
        json={"id": "109", "followers_count": 1200, "following_count": 80, "statuses_count": 345},
    )

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"followers": 1200, "following": 80, "posts": 345}
    assert metrics.raw == {"followers_count": 1200, "following_count": 80, "statuses_count": 345}
    assert api.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


# -- list_recent_posts -----------------------------------------------------------------------------


def test_given_two_pages_when_listing_then_own_top_level_posts_until_since(
    adapter, api, account, creds
):
    url = f"{INSTANCE}/api/v1/accounts/109/statuses"
    api.get(
        url,
        match=[responses.matchers.query_param_matcher({}, strict_match=False)],
        json=[
            status("50", "2026-05-20T10:00:00Z"),
            status("49", "2026-05-19T10:00:00Z", in_reply_to_id="48"),  # a thread part
            status("47", "2026-05-18T10:00:00Z", visibility="direct"),
            status("46", "2026-05-17T10:00:00Z", reblog={"id": "9"}),  # a boost
        ],
    )
    api.get(
        url,
        match=[responses.matchers.query_param_matcher({"max_id": "46"}, strict_match=False)],
        json=[
            status("45", "2026-05-02T10:00:00Z"),
            status("40", "2026-04-30T10:00:00Z"),  # before `since`: the walk stops here
            status("39", "2026-04-29T10:00:00Z"),
        ],
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["50", "45"]
    assert posts[0].url == f"{INSTANCE}/@acme/50"
    assert posts[0].text == "Post 50"
    assert posts[0].published_at == dt.datetime(2026, 5, 20, 10, tzinfo=dt.UTC)
    assert posts[0].metrics.values == {"likes": 1, "shares": 2, "comments": 3}
    first, second = queries(api, "/api/v1/accounts/109/statuses")
    assert first["exclude_reblogs"] == ["true"] and first["exclude_replies"] == ["true"]
    assert first["limit"] == ["40"]
    assert second["max_id"] == ["46"]


def test_given_more_posts_than_the_limit_when_listing_then_stops_at_the_limit(
    adapter, api, account, creds
):
    api.get(
        f"{INSTANCE}/api/v1/accounts/109/statuses",
        json=[status(str(100 - n), f"2026-05-20T{23 - n:02d}:00:00Z") for n in range(20)],
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=5)

    assert [p.remote_id for p in posts] == ["100", "99", "98", "97", "96"]
    assert len(api.calls) == 1


def test_given_an_empty_page_when_listing_then_done(adapter, api, account, creds):
    url = f"{INSTANCE}/api/v1/accounts/109/statuses"
    api.get(
        url,
        match=[responses.matchers.query_param_matcher({}, strict_match=False)],
        json=[status("50", "2026-05-20T10:00:00Z")],
    )
    api.get(
        url,
        match=[responses.matchers.query_param_matcher({"max_id": "50"}, strict_match=False)],
        json=[],
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["50"]


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
    ("status_code", "headers", "expected"),
    [
        (401, {}, AuthExpired),
        (429, {"X-RateLimit-Reset": "2099-01-01T00:00:00.000Z"}, RateLimited),
        (429, {"Retry-After": "42"}, RateLimited),
        (503, {}, TransientError),
    ],
)
def test_given_an_error_when_reading_numbers_then_mapped_and_no_secret_in_it(
    adapter, api, account, creds, call, status_code, headers, expected
):
    api.add(
        responses.GET,
        re.compile(rf"{INSTANCE}/api/v1/.*"),
        status=status_code,
        headers=headers,
        json={"error": f"The access token {TOKEN} is invalid"},
    )

    with pytest.raises(expected) as info:
        CALLS[call](adapter, account, creds)

    error = info.value
    assert TOKEN not in f"{error} {error.message} {error.detail}"
    if headers.get("Retry-After"):
        assert error.retry_after == 42
    elif expected is RateLimited:
        assert error.retry_after > 0
