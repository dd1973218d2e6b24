"""Pinterest numbers: a pin's lifetime metrics, the user's counts and their own pins, against
responses shaped like the Pinterest API v5 (the `responses` library)."""

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
    RateLimited,
    TransientError,
)
from publishing.adapters.pinterest import PinterestAdapter

API = "https://api.pinterest.test"
TOKEN = "pina_secret-access"
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture
def adapter():
    return PinterestAdapter(base_url=API, client_id="pinapp", client_secret="pinsecret")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="u1", handle="acme", config={"board_id": "B1"})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


LIFETIME = {
    "impression": 1000,
    "save": 25,
    "pin_click": 40,
    "outbound_click": 15,
    "reaction": 9,
    "comment": 2,
}


def pin(pin_id: str, created: str = "2026-05-20T08:30:00", **fields) -> dict:
    return {
        "id": pin_id,
        "created_at": created,
        "title": f"Pin {pin_id}",
        "description": "A pin",
        "board_id": "B1",
        "is_owner": True,
        "pin_metrics": {"90d": {"impression": 900}, "lifetime_metrics": dict(LIFETIME)},
        **fields,
    }


# -- fetch_metrics ---------------------------------------------------------------------------------


def test_given_pins_when_fetching_metrics_then_lifetime_numbers_mapped_deleted_left_out(
    adapter, api, account, creds
):
    api.get(
        f"{API}/v5/pins/P1",
        match=[matchers.query_param_matcher({"pin_metrics": "true"})],
        json=pin("P1"),
    )
    api.get(f"{API}/v5/pins/P2", status=404, json={"code": 50, "message": "Pin not found."})

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["P1", "P2"])

    assert [(s.remote_id, s.values) for s in snapshots] == [
        (
            "P1",
            {"impressions": 1000, "saves": 25, "clicks": 15, "likes": 9, "comments": 2},
        )
    ]
    assert snapshots[0].raw["lifetime_metrics"]["pin_click"] == 40


def test_given_a_pin_with_only_90_day_numbers_when_fetching_then_those_and_missing_stay_missing(
    adapter, api, account, creds
):
    api.get(
        f"{API}/v5/pins/P1",
        json=pin("P1", pin_metrics={"90d": {"impression": 70, "clickthrough": 3}}),
    )

    [snapshot] = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["P1"])

    assert snapshot.values == {"impressions": 70, "clicks": 3}


def test_given_the_capabilities_then_one_pin_per_request():
    assert PinterestAdapter.capabilities.metrics_batch_size == 1


# -- fetch_account_metrics -------------------------------------------------------------------------


def test_given_a_user_when_fetching_account_metrics_then_followers_following_pins(
    adapter, api, account, creds
):
    api.get(
        f"{API}/v5/user_account",
        json={
            "username": "acme",
            "follower_count": 640,
            "following_count": 33,
            "pin_count": 120,
            "monthly_views": 45000,
        },
    )

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"followers": 640, "following": 33, "posts": 120}
    assert metrics.raw["monthly_views"] == 45000


# -- list_recent_posts -----------------------------------------------------------------------------


def test_given_pages_when_listing_then_own_pins_since_with_metrics_saved_pins_left_out(
    adapter, api, account, creds
):
    url = f"{API}/v5/pins"
    api.get(
        url,
        match=[
            matchers.query_param_matcher(
                {"page_size": "100", "pin_metrics": "true"}, strict_match=True
            )
        ],
        json={
            "items": [
                pin("P5", "2026-05-20T08:30:00"),
                pin("S1", "2026-05-19T08:30:00", parent_pin_id="someone-else"),
                pin("S2", "2026-05-18T08:30:00", is_owner=False),
            ],
            "bookmark": "BM1",
        },
    )
    api.get(
        url,
        match=[matchers.query_param_matcher({"bookmark": "BM1"}, strict_match=False)],
        json={
            "items": [pin("P4", "2026-05-02T08:30:00"), pin("P3", "2026-04-02T08:30:00")],
            "bookmark": "BM2",
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["P5", "P4"]
    assert posts[0].url == "https://www.pinterest.com/pin/P5/"
    assert posts[0].text == "Pin P5"
    assert posts[0].published_at == dt.datetime(2026, 5, 20, 8, 30, tzinfo=dt.UTC)
    assert posts[0].metrics.values["impressions"] == 1000
    assert len(api.calls) == 2


def test_given_no_bookmark_when_listing_then_done(adapter, api, account, creds):
    api.get(f"{API}/v5/pins", json={"items": [pin("P5")], "bookmark": None})

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=5)

    assert [p.remote_id for p in posts] == ["P5"]
    assert parse_qs(urlsplit(api.calls[0].request.url).query)["page_size"] == ["100"]


# -- errors ----------------------------------------------------------------------------------------

CALLS = {
    "fetch_metrics": lambda a, acc, c: a.fetch_metrics(
        account=acc, credentials=c, remote_ids=["P1"]
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
        (429, {"Retry-After": "15"}, RateLimited),
        (500, {}, TransientError),
    ],
)
def test_given_an_error_when_reading_numbers_then_mapped_and_no_secret_in_it(
    adapter, api, account, creds, call, status_code, headers, expected
):
    api.add(
        responses.GET,
        re.compile(rf"{API}/v5/.*"),
        status=status_code,
        headers=headers,
        json={"code": 2, "message": f"Authentication failed for {TOKEN}"},
    )

    with pytest.raises(expected) as info:
        CALLS[call](adapter, account, creds)

    error = info.value
    assert TOKEN not in f"{error} {error.message} {error.detail}"
    if expected is RateLimited:
        assert error.retry_after == 15


def test_given_more_pins_than_the_limit_when_listing_then_stops_without_the_next_page(
    adapter, api, account, creds
):
    api.get(
        f"{API}/v5/pins",
        json={
            "items": [pin(f"P{n}", f"2026-05-20T{20 - n:02d}:00:00") for n in range(5)],
            "bookmark": "BM1",
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=2)

    assert [p.remote_id for p in posts] == ["P0", "P1"]
    assert len(api.calls) == 1
