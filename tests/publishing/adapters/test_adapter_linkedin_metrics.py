"""LinkedIn numbers: post metrics in batches, a company page's followers and its posts; what a
member's profile cannot give, against responses shaped like the versioned REST API."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, unquote, urlsplit

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
from publishing.adapters.linkedin import LinkedInAdapter

API = "https://api.linkedin.test"
TOKEN = "li-secret-access-token"
PERSON = "urn:li:person:abc123"
ORG = "urn:li:organization:2414183"
SINCE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture
def adapter():
    return LinkedInAdapter(base_url=API, client_id="cid", client_secret="csecret")


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def member():
    return Account(account_id=PERSON, config={"person_urn": PERSON})


@pytest.fixture
def org():
    return Account(account_id=ORG, config={"person_urn": PERSON, "organization_urn": ORG})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def millis(day: int, hour: int = 10) -> int:
    return int(dt.datetime(2026, 5, day, hour, tzinfo=dt.UTC).timestamp() * 1000)


# -- fetch_metrics ---------------------------------------------------------------------------------


def test_given_social_metadata_without_comment_summary_when_fetching_then_comments_missing(
    adapter, api, member, creds
):
    api.get(
        f"{API}/rest/socialMetadata",
        json={"results": {"urn:li:share:1": {"reactionSummaries": {"LIKE": {"count": 2}}}}},
    )

    [snapshot] = adapter.fetch_metrics(
        account=member, credentials=creds, remote_ids=["urn:li:share:1"]
    )

    assert snapshot.values == {"likes": 2}
    assert snapshot.raw["social"] == {"reactionSummaries": {"LIKE": {"count": 2}}}


def test_given_120_posts_when_fetching_metrics_then_batches_of_50(adapter, api, member, creds):
    api.get(f"{API}/rest/socialMetadata", json={"results": {}})

    adapter.fetch_metrics(
        account=member, credentials=creds, remote_ids=[f"urn:li:share:{n}" for n in range(120)]
    )

    sizes = [unquote(c.request.url).split("List(")[1].count("urn:li:share") for c in api.calls]
    assert sizes == [50, 50, 20]


def test_given_organization_statistics_refused_when_fetching_then_social_counts_only(
    adapter, api, org, creds
):
    api.get(
        f"{API}/rest/socialMetadata",
        json={"results": {"urn:li:share:1": {"commentSummary": {"count": 3}}}},
    )
    api.get(f"{API}/rest/organizationalEntityShareStatistics", status=403, json={"status": 403})

    [snapshot] = adapter.fetch_metrics(
        account=org, credentials=creds, remote_ids=["urn:li:share:1"]
    )

    assert snapshot.values == {"comments": 3}


# -- fetch_account_metrics -------------------------------------------------------------------------


def test_given_a_company_page_when_fetching_account_metrics_then_followers(
    adapter, api, org, creds
):
    api.get(
        f"{API}/rest/networkSizes/urn%3Ali%3Aorganization%3A2414183",
        match=[matchers.query_param_matcher({"edgeType": "COMPANY_FOLLOWED_BY_MEMBER"})],
        json={"firstDegreeSize": 15320},
    )

    metrics = adapter.fetch_account_metrics(account=org, credentials=creds)

    assert metrics.values == {"followers": 15320}
    assert api.calls[0].request.headers["LinkedIn-Version"] == adapter.version


def test_given_a_member_profile_when_fetching_account_metrics_then_missing_and_no_call(
    adapter, api, member, creds
):
    metrics = adapter.fetch_account_metrics(account=member, credentials=creds)

    assert metrics.values == {}  # not available: missing, never 0
    assert metrics.raw == {"unavailable": "member profile"}
    assert len(api.calls) == 0


# -- list_recent_posts -----------------------------------------------------------------------------


def li_post(number: int, day: int, **fields) -> dict:
    return {
        "id": f"urn:li:share:{number}",
        "author": ORG,
        "commentary": f"Post \\(number {number}\\)",
        "createdAt": millis(day),
        "publishedAt": millis(day, 11),
        "lifecycleState": "PUBLISHED",
        "visibility": "PUBLIC",
        **fields,
    }


def test_given_pages_when_listing_then_company_posts_since_without_reshares(
    adapter, api, org, creds
):
    api.get(
        f"{API}/rest/posts",
        match=[matchers.query_param_matcher({"start": "0"}, strict_match=False)],
        json={
            "elements": [
                li_post(5, 20),
                li_post(4, 19, reshareContext={"parent": "urn:li:share:99"}),
                li_post(3, 18, lifecycleState="DRAFT"),
            ],
            "paging": {"start": 0, "count": 100, "total": 5},
        },
    )
    api.get(
        f"{API}/rest/posts",
        match=[matchers.query_param_matcher({"start": "3"}, strict_match=False)],
        json={
            "elements": [li_post(2, 2), li_post(1, 1, createdAt=millis(1) - 86_400_000 * 2)],
            "paging": {"start": 3, "count": 100, "total": 5},
        },
    )

    posts = adapter.list_recent_posts(account=org, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["urn:li:share:5", "urn:li:share:2"]
    assert posts[0].url == "https://www.linkedin.com/feed/update/urn:li:share:5/"
    assert posts[0].text == "Post (number 5)"
    assert posts[0].published_at == dt.datetime(2026, 5, 20, 11, tzinfo=dt.UTC)
    first = parse_qs(urlsplit(api.calls[0].request.url).query)
    assert first["q"] == ["author"] and first["author"] == [ORG]
    assert first["sortBy"] == ["CREATED"] and first["count"] == ["100"]
    assert api.calls[0].request.headers["X-RestLi-Method"] == "FINDER"


def test_given_the_total_reached_when_listing_then_no_further_page(adapter, api, org, creds):
    api.get(
        f"{API}/rest/posts",
        json={"elements": [li_post(5, 20)], "paging": {"start": 0, "count": 100, "total": 1}},
    )

    posts = adapter.list_recent_posts(account=org, credentials=creds, since=SINCE)

    assert [p.remote_id for p in posts] == ["urn:li:share:5"]
    assert len(api.calls) == 1


def test_given_a_member_profile_when_listing_then_permanent_and_no_call(
    adapter, api, member, creds
):
    with pytest.raises(PermanentError, match="approved partner apps"):
        adapter.list_recent_posts(account=member, credentials=creds, since=SINCE)

    assert len(api.calls) == 0


# -- errors ----------------------------------------------------------------------------------------

CALLS = {
    "fetch_metrics": lambda a, acc, c: a.fetch_metrics(
        account=acc, credentials=c, remote_ids=["urn:li:share:1"]
    ),
    "fetch_account_metrics": lambda a, acc, c: a.fetch_account_metrics(account=acc, credentials=c),
    "list_recent_posts": lambda a, acc, c: a.list_recent_posts(
        account=acc, credentials=c, since=SINCE
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize(
    ("status_code", "expected"),
    [(401, AuthExpired), (429, RateLimited), (504, TransientError)],
)
def test_given_an_error_when_reading_numbers_then_mapped_and_no_secret_in_it(
    adapter, api, org, creds, call, status_code, expected
):
    api.add(
        responses.GET,
        re.compile(rf"{API}/rest/.*"),
        status=status_code,
        json={"status": status_code, "message": f"Bearer {TOKEN} rejected"},
    )

    with pytest.raises(expected) as info:
        CALLS[call](adapter, org, creds)

    error = info.value
    assert TOKEN not in f"{error} {error.message} {error.detail}"
    if expected is RateLimited:  # daily quotas without headers: wait for midnight UTC
        assert 0 < error.retry_after <= 86_400


def test_given_more_posts_than_the_limit_when_listing_then_stops_without_the_next_page(
    adapter, api, org, creds
):
    api.get(
        f"{API}/rest/posts",
        json={
            "elements": [li_post(n, 20 - n) for n in range(5)],
            "paging": {"start": 0, "count": 100, "total": 500},
        },
    )

    posts = adapter.list_recent_posts(account=org, credentials=creds, since=SINCE, limit=2)

    assert [p.remote_id for p in posts] == ["urn:li:share:0", "urn:li:share:1"]
    assert len(api.calls) == 1
