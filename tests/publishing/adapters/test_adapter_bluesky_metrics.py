"""Bluesky's numbers from the AppView: post counts, profile counts and the author feed, against
responses shaped like the XRPC API (the `responses` library)."""

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
from publishing.adapters.bluesky import BlueskyAdapter

PDS = "https://pds.test"
APPVIEW = "https://appview.test"
DID = "did:plc:acme123"
OTHER = "did:plc:someoneelse"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkaWQifQ.c2lnbmF0dXJl"
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture
def adapter():
    return BlueskyAdapter(base_url=PDS, appview_url=APPVIEW)


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id=DID, handle="acme.test", config={"pds_url": PDS})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN, extra={"did": DID})


def uri(rkey: str, did: str = DID) -> str:
    return f"at://{did}/app.bsky.feed.post/{rkey}"


def post_view(rkey: str, created: str, *, did: str = DID, reply: bool = False, **counts) -> dict:
    record = {"$type": "app.bsky.feed.post", "text": f"Post {rkey}", "createdAt": created}
    if reply:
        record["reply"] = {"root": {"uri": uri("root"), "cid": "c"}, "parent": {"uri": "p"}}
    return {
        "uri": uri(rkey, did),
        "cid": f"cid-{rkey}",
        "author": {"did": did, "handle": "acme.test"},
        "record": record,
        "indexedAt": created,
        "likeCount": 5,
        "replyCount": 1,
        "repostCount": 2,
        "quoteCount": 0,
        **counts,
    }


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


# -- fetch_metrics ---------------------------------------------------------------------------------


def test_given_posts_when_fetching_metrics_then_counts_mapped_missing_absent_deleted_left_out(
    adapter, api, account, creds
):
    sparse = post_view("b", "2026-05-02T10:00:00Z")
    del sparse["quoteCount"], sparse["replyCount"]
    api.get(
        f"{APPVIEW}/xrpc/app.bsky.feed.getPosts",
        json={"posts": [post_view("a", "2026-05-02T10:00:00Z", quoteCount=3), sparse]},
    )

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=[uri("a"), uri("b"), uri("gone")]
    )

    assert [(s.remote_id, s.values) for s in snapshots] == [
        (uri("a"), {"likes": 5, "comments": 1, "shares": 2, "quotes": 3}),
        (uri("b"), {"likes": 5, "shares": 2}),
    ]
    assert snapshots[0].raw == {"likeCount": 5, "replyCount": 1, "repostCount": 2, "quoteCount": 3}
    assert query(api.calls[0])["uris"] == [uri("a"), uri("b"), uri("gone")]


def test_given_60_posts_when_fetching_metrics_then_batches_of_25(adapter, api, account, creds):
    api.get(f"{APPVIEW}/xrpc/app.bsky.feed.getPosts", json={"posts": []})

    adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=[uri(str(n)) for n in range(60)]
    )

    assert [len(query(c)["uris"]) for c in api.calls] == [25, 25, 10]
    assert adapter.capabilities.metrics_batch_size == 25


# -- fetch_account_metrics -------------------------------------------------------------------------


def test_given_a_profile_when_fetching_account_metrics_then_followers_follows_posts(
    adapter, api, account, creds
):
    api.get(
        f"{APPVIEW}/xrpc/app.bsky.actor.getProfile",
        json={"did": DID, "followersCount": 900, "followsCount": 120, "postsCount": 4321},
    )

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"followers": 900, "following": 120, "posts": 4321}
    assert query(api.calls[0])["actor"] == [DID]


def test_given_a_profile_without_counts_when_fetching_account_metrics_then_they_are_missing(
    adapter, api, account, creds
):
    api.get(f"{APPVIEW}/xrpc/app.bsky.actor.getProfile", json={"did": DID, "postsCount": 3})

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"posts": 3}


# -- list_recent_posts -----------------------------------------------------------------------------


def feed_url() -> str:
    return f"{APPVIEW}/xrpc/app.bsky.feed.getAuthorFeed"


def test_given_an_author_feed_when_listing_then_own_top_level_posts_until_since(
    adapter, api, account, creds
):
    api.get(
        feed_url(),
        match=[
            responses.matchers.query_param_matcher(
                {"filter": "posts_no_replies"}, strict_match=False
            )
        ],
        json={
            "feed": [
                {  # a pinned older post comes first when pins are included
                    "post": post_view("pinned", "2026-01-01T00:00:00Z"),
                    "reason": {"$type": "app.bsky.feed.defs#reasonPin"},
                },
                {"post": post_view("p3", "2026-05-20T10:00:00.000Z")},
                {
                    "post": post_view("theirs", "2026-05-18T10:00:00Z", did=OTHER),
                    "reason": {
                        "$type": "app.bsky.feed.defs#reasonRepost",
                        "by": {"did": DID},
                        "indexedAt": "2026-05-19T10:00:00Z",
                    },
                },
                {"post": post_view("r1", "2026-05-17T10:00:00Z", reply=True)},
                {"post": post_view("x1", "2026-05-16T10:00:00Z", did=OTHER)},
            ],
            "cursor": "page2",
        },
    )
    api.get(
        feed_url(),
        match=[responses.matchers.query_param_matcher({"cursor": "page2"}, strict_match=False)],
        json={
            "feed": [
                {"post": post_view("p2", "2026-05-02T10:00:00Z")},
                {"post": post_view("p1", "2026-04-30T10:00:00Z")},
            ],
            "cursor": "page3",
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == [uri("p3"), uri("p2")]
    assert posts[0].url == "https://bsky.app/profile/acme.test/post/p3"
    assert posts[0].text == "Post p3"
    assert posts[0].published_at == dt.datetime(2026, 5, 20, 10, tzinfo=dt.UTC)
    assert posts[0].metrics.values == {"likes": 5, "comments": 1, "shares": 2, "quotes": 0}
    assert query(api.calls[0])["actor"] == [DID]
    assert query(api.calls[0])["limit"] == ["100"]
    assert len(api.calls) == 2  # page3 is never asked for


def test_given_more_posts_than_the_limit_when_listing_then_stops_at_the_limit(
    adapter, api, account, creds
):
    api.get(
        feed_url(),
        json={
            "feed": [
                {"post": post_view(f"p{n}", f"2026-05-20T{20 - n:02d}:00:00Z")} for n in range(8)
            ],
            "cursor": "more",
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=3)

    assert [p.remote_id for p in posts] == [uri("p0"), uri("p1"), uri("p2")]
    assert len(api.calls) == 1


def test_given_the_last_page_when_listing_then_no_cursor_means_done(adapter, api, account, creds):
    api.get(feed_url(), json={"feed": [{"post": post_view("p1", "2026-05-20T10:00:00Z")}]})

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == [uri("p1")]


# -- errors ----------------------------------------------------------------------------------------

CALLS = {
    "fetch_metrics": lambda a, acc, c: a.fetch_metrics(
        account=acc, credentials=c, remote_ids=[uri("a")]
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
        (401, {"error": "AuthenticationRequired"}, {}, AuthExpired),
        (400, {"error": "ExpiredToken", "message": "Token has expired"}, {}, AuthExpired),
        (429, {"error": "RateLimitExceeded"}, {"RateLimit-Reset": "60"}, RateLimited),
        (502, {"error": "UpstreamFailure"}, {}, TransientError),
    ],
)
def test_given_an_error_when_reading_numbers_then_mapped_and_no_secret_in_it(
    adapter, api, account, creds, call, status_code, body, headers, expected
):
    api.add(
        responses.GET,
        re.compile(rf"{APPVIEW}/xrpc/.*"),
        status=status_code,
        headers=headers,
        json={**body, "message": f"{body.get('message', '')} Bearer {TOKEN}"},
    )

    with pytest.raises(expected) as info:
        CALLS[call](adapter, account, creds)

    error = info.value
    assert TOKEN not in f"{error} {error.message} {error.detail}"
    if expected is RateLimited:
        assert error.retry_after == 60
