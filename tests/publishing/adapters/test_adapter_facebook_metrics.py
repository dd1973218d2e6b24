"""Facebook Page numbers: post metrics through Graph batch requests (deleted posts, refused
insights, unanswered requests), the Page's followers and its published posts, against responses
shaped like the Graph API (the `responses` library)."""

from __future__ import annotations

import datetime as dt
import json
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
from publishing.adapters.facebook import FacebookAdapter

API = "https://graph.facebook.test/v25.0"
PAGE_TOKEN = "EAAB-page-secret-token"
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
GONE = {
    "error": {
        "message": "Unsupported get request. Object with ID '111_9' does not exist",
        "type": "GraphMethodException",
        "code": 100,
        "error_subcode": 33,
    }
}
NO_INSIGHTS = {
    "error": {"message": "(#100) The value must be a valid insights metric", "code": 100}
}


@pytest.fixture
def adapter():
    return FacebookAdapter(base_url=API, client_id="appid", client_secret="appsecret")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="111", config={"page_id": "111"})


@pytest.fixture
def creds():
    return Credentials(access_token=PAGE_TOKEN)


def post_body(likes=12, comments=4, shares=3, views=900, clicks=20) -> dict:
    body = {
        "id": "x",
        "reactions": {"data": [], "summary": {"total_count": likes}},
        "comments": {"data": [], "summary": {"total_count": comments}},
    }
    if shares is not None:
        body["shares"] = {"count": shares}
    if views is not None:
        body["insights"] = {
            "data": [
                {"name": "post_media_view", "period": "lifetime", "values": [{"value": views}]},
                {"name": "post_clicks", "period": "lifetime", "values": [{"value": clicks}]},
            ]
        }
    return body


class GraphBatch:
    """The batch endpoint: answers each relative URL from `answers[(post id, with insights)]`,
    a (code, body) pair or None for "not completed in time"; records every batch it got."""

    def __init__(self, api, answers):
        self.answers = answers
        self.batches: list[list[dict]] = []
        self.forms: list[dict] = []
        api.add_callback(responses.POST, f"{API}/", callback=self.answer)

    def answer(self, request):
        form = parse_qs(request.body)
        self.forms.append(form)
        batch = json.loads(form["batch"][0])
        self.batches.append(batch)
        out = []
        for item in batch:
            post_id, _sep, query = item["relative_url"].partition("?")
            key = (post_id, "insights.metric(" in query)
            answer = self.answers.get(key, self.answers.get(post_id))
            if answer is None:
                out.append(None)
                continue
            code, body = answer
            out.append({"code": code, "body": json.dumps(body)})
        return 200, {}, json.dumps(out)


# -- fetch_metrics ---------------------------------------------------------------------------------


def test_given_posts_when_fetching_metrics_then_counts_and_views_mapped_in_one_batch(
    adapter, api, account, creds
):
    batch = GraphBatch(
        api,
        {
            "111_1": (200, post_body()),
            "111_2": (200, post_body(likes=0, comments=0, shares=None, views=5, clicks=0)),
        },
    )

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=["111_1", "111_2"]
    )

    assert [(s.remote_id, s.values) for s in snapshots] == [
        ("111_1", {"likes": 12, "comments": 4, "shares": 3, "impressions": 900, "clicks": 20}),
        # Graph leaves out `shares` of a post nobody shared.
        ("111_2", {"likes": 0, "comments": 0, "shares": 0, "impressions": 5, "clicks": 0}),
    ]
    assert len(batch.batches) == 1
    [first, _second] = batch.batches[0]
    assert first["method"] == "GET"
    assert first["relative_url"].startswith("111_1?fields=")
    assert "insights.metric(post_media_view,post_clicks)" in first["relative_url"]
    assert "reactions.summary(total_count)" in first["relative_url"]
    assert batch.forms[0]["access_token"] == [PAGE_TOKEN]
    assert PAGE_TOKEN not in first["relative_url"]
    assert snapshots[0].raw["insights"]["data"][0]["name"] == "post_media_view"


def test_given_a_deleted_post_when_fetching_metrics_then_only_it_is_missing(
    adapter, api, account, creds
):
    GraphBatch(api, {"111_1": (200, post_body()), "111_9": (400, GONE)})

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=["111_1", "111_9"]
    )

    assert [s.remote_id for s in snapshots] == ["111_1"]


def test_given_insights_refused_when_fetching_metrics_then_counts_read_again_without_them(
    adapter, api, account, creds
):
    batch = GraphBatch(
        api,
        {
            ("111_1", True): (400, NO_INSIGHTS),
            ("111_1", False): (200, post_body(views=None)),
            "111_2": (200, post_body()),
        },
    )

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=["111_1", "111_2"]
    )

    assert [(s.remote_id, s.values) for s in snapshots] == [
        ("111_1", {"likes": 12, "comments": 4, "shares": 3}),
        ("111_2", {"likes": 12, "comments": 4, "shares": 3, "impressions": 900, "clicks": 20}),
    ]
    assert [len(b) for b in batch.batches] == [2, 1]
    assert "insights" not in batch.batches[1][0]["relative_url"]


def test_given_a_request_not_completed_in_time_when_fetching_then_asked_once_more(
    adapter, api, account, creds
):
    calls = {"n": 0}

    def answer(request):
        calls["n"] += 1
        batch = json.loads(parse_qs(request.body)["batch"][0])
        if calls["n"] == 1:
            return 200, {}, json.dumps([{"code": 200, "body": json.dumps(post_body())}, None])
        assert [item["relative_url"].split("?")[0] for item in batch] == ["111_2"]
        return 200, {}, json.dumps([{"code": 200, "body": json.dumps(post_body(likes=1))}])

    api.add_callback(responses.POST, f"{API}/", callback=answer)

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=["111_1", "111_2"]
    )

    assert [(s.remote_id, s.values["likes"]) for s in snapshots] == [("111_1", 12), ("111_2", 1)]


def test_given_a_request_never_completed_when_fetching_then_transient(adapter, api, account, creds):
    GraphBatch(api, {"111_1": (200, post_body()), "111_2": None})

    with pytest.raises(TransientError):
        adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["111_1", "111_2"])


def test_given_120_posts_when_fetching_metrics_then_batches_of_50(adapter, api, account, creds):
    ids = [f"111_{n}" for n in range(120)]
    batch = GraphBatch(api, {i: (200, post_body()) for i in ids})

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=ids)

    assert [len(b) for b in batch.batches] == [50, 50, 20]
    assert len(snapshots) == 120
    assert adapter.capabilities.metrics_batch_size == 50


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ({"message": f"Error validating access token {PAGE_TOKEN}", "code": 190}, AuthExpired),
        ({"message": "(#32) Page request limit reached", "code": 32}, RateLimited),
        ({"message": "An unexpected error has occurred", "code": 2}, TransientError),
    ],
)
def test_given_a_failed_request_inside_the_batch_when_fetching_then_mapped_without_secret(
    adapter, api, account, creds, error, expected
):
    GraphBatch(api, {"111_1": (400, {"error": error})})

    with pytest.raises(expected) as info:
        adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["111_1"])

    assert PAGE_TOKEN not in f"{info.value} {info.value.message} {info.value.detail}"


def test_given_a_permission_error_even_without_insights_when_fetching_then_permanent(
    adapter, api, account, creds
):
    refused = {"error": {"message": "(#10) Permission denied", "code": 10}}
    GraphBatch(api, {"111_1": (400, refused)})

    with pytest.raises(PermanentError, match="Permission denied"):
        adapter.fetch_metrics(account=account, credentials=creds, remote_ids=["111_1"])


# -- fetch_account_metrics -------------------------------------------------------------------------


def test_given_a_page_when_fetching_account_metrics_then_followers(adapter, api, account, creds):
    api.get(
        f"{API}/111",
        match=[
            matchers.query_param_matcher(
                {"fields": "followers_count,fan_count", "access_token": PAGE_TOKEN}
            )
        ],
        json={"id": "111", "followers_count": 2500, "fan_count": 2300},
    )

    metrics = adapter.fetch_account_metrics(account=account, credentials=creds)

    assert metrics.values == {"followers": 2500}
    assert metrics.raw == {"followers_count": 2500, "fan_count": 2300}


# -- list_recent_posts -----------------------------------------------------------------------------


def listed(post_id: str, created: str) -> dict:
    return {
        "id": post_id,
        "message": f"Post {post_id}",
        "created_time": created,
        "permalink_url": f"https://www.facebook.com/111/posts/{post_id}",
        **{k: v for k, v in post_body(views=None).items() if k != "id"},
    }


def test_given_two_pages_when_listing_then_page_posts_since_with_counts(
    adapter, api, account, creds
):
    url = f"{API}/111/published_posts"
    api.get(
        url,
        match=[matchers.query_param_matcher({"limit": "100"}, strict_match=False)],
        json={
            "data": [listed("111_3", "2026-05-20T10:00:00+0000")],
            "paging": {"cursors": {"after": "C1"}, "next": f"{url}?after=C1"},
        },
    )
    api.get(
        url,
        match=[matchers.query_param_matcher({"after": "C1"}, strict_match=False)],
        json={
            "data": [
                listed("111_2", "2026-05-02T10:00:00+0000"),
                listed("111_1", "2026-04-20T10:00:00+0000"),
            ],
            "paging": {"cursors": {"after": "C2"}, "next": f"{url}?after=C2"},
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["111_3", "111_2"]
    assert posts[0].url == "https://www.facebook.com/111/posts/111_3"
    assert posts[0].text == "Post 111_3"
    assert posts[0].published_at == dt.datetime(2026, 5, 20, 10, tzinfo=dt.UTC)
    assert posts[0].metrics.values == {"likes": 12, "comments": 4, "shares": 3}
    first = parse_qs(urlsplit(api.calls[0].request.url).query)
    assert first["since"] == [str(int(SINCE.timestamp()))]
    assert len(api.calls) == 2


def test_given_a_last_page_without_next_when_listing_then_done(adapter, api, account, creds):
    api.get(
        f"{API}/111/published_posts",
        json={"data": [listed("111_3", "2026-05-20T10:00:00+0000")], "paging": {}},
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=50)

    assert [p.remote_id for p in posts] == ["111_3"]


# -- errors ----------------------------------------------------------------------------------------

CALLS = {
    "fetch_metrics": lambda a, acc, c: a.fetch_metrics(
        account=acc, credentials=c, remote_ids=["111_1"]
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
        (401, {"error": {"message": "Invalid OAuth access token", "code": 190}}, {}, AuthExpired),
        (
            400,
            {"error": {"message": "(#4) Application request limit reached", "code": 4}},
            {
                "X-Business-Use-Case-Usage": json.dumps(
                    {"111": [{"type": "pages", "estimated_time_to_regain_access": 5}]}
                )
            },
            RateLimited,
        ),
        (
            500,
            {"error": {"message": "Service temporarily unavailable", "code": 2}},
            {},
            TransientError,
        ),
    ],
)
def test_given_an_error_when_reading_numbers_then_mapped_and_no_secret_in_it(
    adapter, api, account, creds, call, status_code, body, headers, expected
):
    echoed = {"error": {**body["error"], "message": f"{body['error']['message']} {PAGE_TOKEN}"}}
    for method in (responses.GET, responses.POST):
        api.add(
            method,
            re.compile(rf"{API}/.*"),
            status=status_code,
            headers=headers,
            json=echoed,
        )
    api.assert_all_requests_are_fired = False

    with pytest.raises(expected) as info:
        CALLS[call](adapter, account, creds)

    error = info.value
    assert PAGE_TOKEN not in f"{error} {error.message} {error.detail}"
    if expected is RateLimited:
        assert error.retry_after == 300


def test_given_more_posts_than_the_limit_when_listing_then_stops_without_the_next_page(
    adapter, api, account, creds
):
    url = f"{API}/111/published_posts"
    api.get(
        url,
        json={
            "data": [listed(f"111_{n}", f"2026-05-20T{20 - n:02d}:00:00+0000") for n in range(6)],
            "paging": {"cursors": {"after": "C1"}, "next": f"{url}?after=C1"},
        },
    )

    posts = adapter.list_recent_posts(account=account, credentials=creds, since=SINCE, limit=3)

    assert [p.remote_id for p in posts] == ["111_0", "111_1", "111_2"]
    assert len(api.calls) == 1
