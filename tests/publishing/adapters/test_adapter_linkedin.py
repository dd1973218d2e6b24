"""The LinkedIn adapter against responses shaped like the versioned REST API."""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import responses
from responses import matchers

from publishing.adapters.base import (
    Account,
    AuthExpired,
    ConnectError,
    Credentials,
    LookupIncomplete,
    MediaItem,
    PermanentError,
    PublishedPart,
    PublishRequest,
    RateLimited,
)
from publishing.adapters.linkedin import LISTING_PAGE, LinkedInAdapter, little_escape

API = "https://api.linkedin.test"
OAUTH = "https://www.linkedin.com/oauth/v2"
TOKEN = "li-secret-access-token"
PERSON = "urn:li:person:abc123"
ORG = "urn:li:organization:2414183"


@pytest.fixture
def adapter():
    adapter = LinkedInAdapter(base_url=API, client_id="cid", client_secret="csecret")
    adapter.sleep = lambda seconds: None
    return adapter


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id=PERSON, config={"person_urn": PERSON})


@pytest.fixture
def org_account():
    return Account(account_id=ORG, config={"person_urn": PERSON, "organization_urn": ORG})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def media(kind="image", data=b"img", alt=""):
    return MediaItem(
        kind=kind,
        mime_type="image/jpeg" if kind == "image" else "video/mp4",
        filename="a.jpg" if kind == "image" else "a.mp4",
        size_bytes=len(data),
        open=lambda: io.BytesIO(data),
        alt_text=alt,
    )


def created(api, urn="urn:li:share:1"):
    api.post(f"{API}/rest/posts", status=201, headers={"x-restli-id": urn})


def bodies(api, path):
    return [
        json.loads(c.request.body)
        for c in api.calls
        if c.request.method == "POST" and urlsplit(c.request.url).path == path
    ]


# -- the little format ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello (world)", r"Hello \(world\)"),
        ("a_b *c* ~d~ <e> [f] {g} |h| @i \\", r"a\_b \*c\* \~d\~ \<e\> \[f\] \{g\} \|h\| \@i \\"),
        ("#Marketing ist toll", "#Marketing ist toll"),
        ("Nr. # 1", r"Nr. \# 1"),
        ("see https://ex.com/a_b_(c) now (ok)", r"see https://ex.com/a_b_(c) now \(ok\)"),
    ],
)
def test_given_reserved_characters_when_escaping_then_little_keeps_text_links_and_hashtags(
    text, expected
):
    assert little_escape(text) == expected


# -- connecting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "org_scopes"),
    [({}, False), ({"author_type": "organization"}, True)],
    ids=["member", "organization"],
)
def test_given_an_account_type_when_building_the_authorization_url_then_scopes_fit(
    adapter, config, org_scopes
):
    url, _account = adapter.authorization_url(
        redirect_uri="https://app.test/cb",
        state="s1",
        code_verifier="v" * 50,
        account=Account(config=config),
    )

    query = parse_qs(urlsplit(url).query)
    scopes = set(query["scope"][0].split())
    assert url.startswith(f"{OAUTH}/authorization?")
    assert query["state"] == ["s1"]
    assert "code_challenge" not in query  # LinkedIn web apps have no PKCE
    assert {"openid", "profile", "w_member_social"} <= scopes
    assert ("w_organization_social" in scopes) is org_scopes


def test_given_a_code_when_exchanging_then_the_member_is_identified(adapter, api):
    api.post(
        f"{OAUTH}/accessToken",
        json={
            "access_token": TOKEN,
            "expires_in": 5183999,
            "scope": "openid,profile,w_member_social",
        },
    )
    api.get(
        f"{API}/v2/userinfo",
        json={"sub": "abc123", "name": "Erika Muster", "picture": "https://media.test/p.jpg"},
    )

    result = adapter.exchange_code(
        code="c0de", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
    )

    body = parse_qs(api.calls[0].request.body)
    assert body["client_id"] == ["cid"] and body["client_secret"] == ["csecret"]
    assert body["code"] == ["c0de"]
    assert result.account.account_id == PERSON
    assert result.account.name == "Erika Muster"
    assert result.account.avatar_url == "https://media.test/p.jpg"
    assert result.account.config["person_urn"] == PERSON
    assert result.credentials.access_token == TOKEN
    assert result.credentials.refresh_token == ""


def test_given_an_organization_account_when_exchanging_then_its_pages_are_listed_and_first_picked(
    adapter, api
):
    api.post(f"{OAUTH}/accessToken", json={"access_token": TOKEN, "expires_in": 5183999})
    api.get(f"{API}/v2/userinfo", json={"sub": "abc123", "name": "Erika"})
    api.get(
        f"{API}/rest/organizationAcls",
        json={
            "elements": [
                {"organization": ORG, "role": "ADMINISTRATOR", "state": "APPROVED"},
                {"organization": "urn:li:organization:9", "role": "ANALYST", "state": "APPROVED"},
                {"organization": "urn:li:organization:7", "role": "CONTENT_ADMINISTRATOR"},
            ]
        },
    )
    api.get(
        f"{API}/rest/organizations/2414183",
        json={"localizedName": "Acme GmbH", "vanityName": "acme"},
    )

    result = adapter.exchange_code(
        code="c",
        redirect_uri="https://app.test/cb",
        code_verifier="v",
        account=Account(config={"author_type": "organization"}),
    )

    assert result.account.account_id == ORG
    assert result.account.name == "Acme GmbH"
    assert result.account.config["organizations"] == [ORG, "urn:li:organization:7"]
    assert result.account.config["organization_urn"] == ORG
    assert api.calls[2].request.headers["LinkedIn-Version"] == adapter.version


def test_given_a_refused_consent_when_exchanging_then_connect_error(adapter, api):
    api.post(
        f"{OAUTH}/accessToken",
        json={"error": "invalid_request", "error_description": "Unable to retrieve access token"},
        status=400,
    )

    with pytest.raises(ConnectError, match="Unable to retrieve access token"):
        adapter.exchange_code(
            code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
        )


@pytest.mark.parametrize(
    ("sent", "kept"), [("new-refresh", "new-refresh"), (None, "old-refresh")], ids=["new", "kept"]
)
def test_given_a_partner_refresh_token_when_refreshing_then_an_unsent_one_is_kept(
    adapter, api, account, sent, kept
):
    token = {"access_token": "fresh", "expires_in": 5183999}
    if sent:
        token["refresh_token"] = sent
    api.post(f"{OAUTH}/accessToken", json=token)

    fresh = adapter.refresh(
        account=account, credentials=Credentials(access_token=TOKEN, refresh_token="old-refresh")
    )

    assert fresh.access_token == "fresh"
    assert fresh.refresh_token == kept
    assert parse_qs(api.calls[0].request.body)["grant_type"] == ["refresh_token"]


def test_given_no_refresh_token_when_refreshing_then_reconnect_is_asked(adapter, account, creds):
    with pytest.raises(AuthExpired, match="reconnect"):
        adapter.refresh(account=account, credentials=creds)


# -- publishing -----------------------------------------------------------------------------------


def test_given_a_text_when_publishing_then_the_post_is_escaped_versioned_and_its_urn_read(
    adapter, api, account, creds
):
    created(api, "urn:li:share:777")
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Neu (endlich)!", idempotency_key="k"),
        on_part=lambda i, p: seen.append((i, p.remote_id)),
    )

    request = api.calls[0].request
    body = json.loads(request.body)
    assert request.headers["LinkedIn-Version"] == "202605"
    assert request.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert body["author"] == PERSON
    assert body["commentary"] == r"Neu \(endlich\)!"
    assert body["visibility"] == "PUBLIC"
    assert body["lifecycleState"] == "PUBLISHED"
    assert body["distribution"]["feedDistribution"] == "MAIN_FEED"
    assert result.remote_id == "urn:li:share:777"
    assert result.url == "https://www.linkedin.com/feed/update/urn:li:share:777/"
    assert seen == [(0, "urn:li:share:777")]


def test_given_two_images_when_publishing_as_an_organization_then_both_are_uploaded_as_multi_image(
    adapter, api, org_account, creds
):
    for n in (1, 2):
        api.post(
            f"{API}/rest/images",
            json={
                "value": {"uploadUrl": f"https://upload.test/img{n}", "image": f"urn:li:image:{n}"}
            },
        )
        api.put(f"https://upload.test/img{n}", status=201)
    created(api)

    adapter.publish(
        account=org_account,
        credentials=creds,
        request=PublishRequest(
            text="Bilder", idempotency_key="k", media=[media(alt="one"), media(data=b"two")]
        ),
    )

    init = bodies(api, "/rest/images")
    assert init[0] == {"initializeUploadRequest": {"owner": ORG}}
    assert "action=initializeUpload" in api.calls[0].request.url
    assert api.calls[1].request.body == b"img"
    post = bodies(api, "/rest/posts")[0]
    assert post["author"] == ORG
    assert post["content"] == {
        "multiImage": {
            "images": [
                {"id": "urn:li:image:1", "altText": "one"},
                {"id": "urn:li:image:2", "altText": ""},
            ]
        }
    }


def test_given_a_video_when_publishing_then_parts_are_uploaded_finalized_and_awaited(
    adapter, api, account, creds
):
    api.post(
        f"{API}/rest/videos",
        json={
            "value": {
                "video": "urn:li:video:V1",
                "uploadToken": "ut",
                "uploadInstructions": [
                    {"uploadUrl": "https://upload.test/p1", "firstByte": 0, "lastByte": 3},
                    {"uploadUrl": "https://upload.test/p2", "firstByte": 4, "lastByte": 5},
                ],
            }
        },
    )
    api.put("https://upload.test/p1", headers={"ETag": "e1"})
    api.put("https://upload.test/p2", headers={"ETag": "e2"})
    api.post(f"{API}/rest/videos", status=200)  # finalizeUpload
    api.get(f"{API}/rest/videos/urn%3Ali%3Avideo%3AV1", json={"status": "PROCESSING"})
    api.get(f"{API}/rest/videos/urn%3Ali%3Avideo%3AV1", json={"status": "AVAILABLE"})
    created(api)

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Film", title="Unser Film", idempotency_key="k", media=[media("video", b"abcdef")]
        ),
    )

    assert [c.request.body for c in api.calls if c.request.method == "PUT"] == [b"abcd", b"ef"]
    finalize = bodies(api, "/rest/videos")[1]
    assert finalize["finalizeUploadRequest"]["uploadedPartIds"] == ["e1", "e2"]
    assert bodies(api, "/rest/posts")[0]["content"] == {
        "media": {"id": "urn:li:video:V1", "title": "Unser Film"}
    }


def test_given_a_first_comment_when_publishing_then_it_goes_to_social_actions(
    adapter, api, account, creds
):
    created(api, "urn:li:share:5")
    api.post(
        f"{API}/rest/socialActions/urn%3Ali%3Ashare%3A5/comments",
        status=201,
        headers={"x-restli-id": "urn:li:comment:(urn:li:activity:5,9)"},
    )
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Post", idempotency_key="k", first_comment="Mehr: (Link)"),
        on_part=lambda i, p: seen.append((i, p.remote_id)),
    )

    comment = json.loads(api.calls[1].request.body)
    assert comment == {
        "actor": PERSON,
        "object": "urn:li:share:5",
        "message": {"text": r"Mehr: \(Link\)"},
    }
    assert seen == [(0, "urn:li:share:5"), (1, "urn:li:comment:(urn:li:activity:5,9)")]
    assert len(result.parts) == 2


def test_given_the_post_is_done_when_publishing_again_then_only_the_comment_is_posted(
    adapter, api, account, creds
):
    api.post(
        f"{API}/rest/socialActions/urn%3Ali%3Ashare%3A5/comments",
        status=201,
        headers={"x-restli-id": "c1"},
    )

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Post",
            idempotency_key="k",
            first_comment="Kommentar",
            done_parts=[PublishedPart("urn:li:share:5", "https://www.linkedin.com/x")],
        ),
    )

    assert len(api.calls) == 1
    assert result.remote_id == "urn:li:share:5"
    assert [p.remote_id for p in result.parts] == ["urn:li:share:5", "c1"]


def test_given_a_thread_when_validating_then_linkedin_says_it_has_none(adapter):
    problems = adapter.validate(PublishRequest(text="a", idempotency_key="k", thread=["b"]))

    assert any("no threads" in p for p in problems)


# -- errors ---------------------------------------------------------------------------------------


def test_given_a_duplicate_when_publishing_then_permanent_error_names_the_existing_urn(
    adapter, api, account, creds
):
    api.post(
        f"{API}/rest/posts",
        status=422,
        json={
            "message": "Content is a duplicate of urn:li:share:7145000000000000000",
            "errorDetails": {"inputErrors": [{"code": "DUPLICATE_POST"}]},
            "status": 422,
        },
    )

    with pytest.raises(PermanentError) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )
    assert "urn:li:share:7145000000000000000" in caught.value.message
    assert "duplicate_of=urn:li:share:7145000000000000000" in caught.value.detail


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    # With a Retry-After header: tests/publishing/adapters/test_adapter_contract.py (linkedin-429).
    [({}, 1, 86400)],
    ids=["daily-quota"],
)
def test_given_a_throttle_when_publishing_then_rate_limited_with_a_retry_after(
    adapter, api, account, creds, headers, low, high
):
    api.post(
        f"{API}/rest/posts",
        status=429,
        json={"message": "Resource level throttle"},
        headers=headers,
    )

    with pytest.raises(RateLimited) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )
    assert low <= caught.value.retry_after <= high


# -- reconciling, deleting, metrics -------------------------------------------------------------


def test_given_the_post_went_out_when_looking_for_it_then_the_author_finder_finds_it(
    adapter, api, account, creds
):
    api.get(
        f"{API}/rest/posts",
        json={
            "elements": [
                {"id": "urn:li:share:2", "commentary": "Other"},
                {"id": "urn:li:ugcPost:3", "commentary": r"Neu \(endlich\)!"},
            ]
        },
    )

    found = adapter.find_existing(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Neu (endlich)!", idempotency_key="k"),
    )

    query = parse_qs(urlsplit(api.calls[0].request.url).query)
    assert query["q"] == ["author"] and query["author"] == [PERSON]
    assert api.calls[0].request.headers["X-RestLi-Method"] == "FINDER"
    assert found.remote_id == "urn:li:ugcPost:3"


def test_given_no_read_permission_when_looking_for_a_post_then_none(adapter, api, account, creds):
    api.get(f"{API}/rest/posts", status=403, json={"message": "Not enough permissions"})

    assert (
        adapter.find_existing(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )
        is None
    )


# -- the look-up pages back to not_before ------------------------------------------------------

NOT_BEFORE = dt.datetime(2026, 3, 2, 8, 58, tzinfo=dt.UTC)
OURS = "Unser Beitrag von heute früh"


def posted(number: int, at: dt.datetime, text: str = "") -> dict:
    """One element of the posts finder: created and published at `at` (ms epoch)."""
    ms = int(at.timestamp() * 1000)
    return {
        "id": f"urn:li:share:{number}",
        "author": PERSON,
        "commentary": text or f"Beitrag {number}",
        "createdAt": ms,
        "publishedAt": ms,
        "lifecycleState": "PUBLISHED",
    }


def busy_account(posts: int, *, ours_at: int | None = None, older_from: int | None = None):
    """`posts` posts, newest created first, a second apart back from noon; the one at index
    `ours_at` is ours, and from index `older_from` on they were created before NOT_BEFORE."""
    noon = NOT_BEFORE.replace(hour=12)
    elements = []
    for index in range(posts):
        at = noon - dt.timedelta(seconds=index)
        if older_from is not None and index >= older_from:
            at = NOT_BEFORE - dt.timedelta(minutes=1 + index - older_from)
        elements.append(posted(index, at, OURS if index == ours_at else ""))
    return elements


def serve_pages(api, elements: list[dict], *, count: int = LISTING_PAGE) -> None:
    """The finder's pages of `elements` at start 0, count, 2 count... (exactly these queries;
    no paging.total, as LinkedIn often leaves it out)."""
    for start in range(0, len(elements), count):
        query = {"q": "author", "author": PERSON, "count": count, "start": start}
        api.get(
            f"{API}/rest/posts",
            match=[matchers.query_param_matcher({**query, "sortBy": "CREATED"})],
            json={
                "elements": elements[start : start + count],
                "paging": {"start": start, "count": count, "links": []},
            },
        )


def look_up(adapter, account, creds, *, not_before=NOT_BEFORE):
    return adapter.find_existing(
        account=account,
        credentials=creds,
        request=PublishRequest(text=OURS, idempotency_key="k", not_before=not_before),
    )


def starts(api) -> list[str]:
    return [parse_qs(urlsplit(c.request.url).query)["start"][0] for c in api.calls]


def test_given_our_post_behind_two_pages_of_newer_ones_when_looking_up_then_paging_finds_it(
    adapter, api, account, creds
):
    """The look-up used to read only the newest 20 posts: a post that went out before a busy
    stretch was not found and was posted a second time."""
    serve_pages(api, busy_account(3 * LISTING_PAGE, ours_at=2 * LISTING_PAGE + 7))

    found = look_up(adapter, account, creds)

    assert found is not None and found.remote_id == f"urn:li:share:{2 * LISTING_PAGE + 7}"
    assert found.url == f"https://www.linkedin.com/feed/update/urn:li:share:{2 * LISTING_PAGE + 7}/"
    assert starts(api) == ["0", "100", "200"]  # each page starts where the last one ended


def test_given_a_page_ending_before_not_before_then_no_further_page_is_read(
    adapter, api, account, creds
):
    # The second page ends with last week's identical post: older than the delivery, so not
    # ours, and every post behind it is older still.
    elements = busy_account(2 * LISTING_PAGE, older_from=2 * LISTING_PAGE - 1)
    elements[-1]["commentary"] = OURS
    serve_pages(api, elements)  # a third page would be refused by the mock

    assert look_up(adapter, account, creds) is None
    assert starts(api) == ["0", "100"]


def test_given_an_endless_busy_account_then_the_look_up_reads_at_most_its_bound(
    adapter, api, account, creds
):
    def page(request):
        start = int(parse_qs(urlsplit(request.url).query)["start"][0])
        elements = busy_account(start + LISTING_PAGE)[start:]  # all after not_before
        return 200, {}, json.dumps({"elements": elements, "paging": {"start": start}})

    api.add_callback(responses.GET, f"{API}/rest/posts", callback=page)

    # It read as far as it may without reaching not_before: it cannot tell, and says so.
    with pytest.raises(LookupIncomplete, match="20 pages"):
        look_up(adapter, account, creds)
    assert len(api.calls) == LinkedInAdapter.lookup_max_pages == 20


def test_given_no_not_before_then_only_the_newest_page_is_read_as_before(
    adapter, api, account, creds
):
    newest = LinkedInAdapter.recent_posts
    # Only the first page of 20 is served: asking for a second one fails the test.
    serve_pages(api, busy_account(newest, ours_at=None), count=newest)
    serve_pages(api, busy_account(LISTING_PAGE, ours_at=newest + 10))

    # Unbounded: the newest 20 only, as before, so ours (the 31st) is not seen.
    assert look_up(adapter, account, creds, not_before=None) is None
    assert len(api.calls) == 1
    # Bounded by not_before, the same account is read further back and ours is found.
    assert look_up(adapter, account, creds).remote_id == f"urn:li:share:{newest + 10}"


def test_given_a_post_when_deleting_then_the_urn_is_encoded(adapter, api, account, creds):
    api.delete(f"{API}/rest/posts/urn%3Ali%3Ashare%3A5", status=204)

    adapter.delete(account=account, credentials=creds, remote_id="urn:li:share:5")

    assert api.calls[0].request.headers["X-RestLi-Method"] == "DELETE"


def test_given_organization_posts_when_fetching_metrics_then_social_counts_and_statistics_merge(
    adapter, api, org_account, creds
):
    api.get(
        f"{API}/rest/socialMetadata",
        json={
            "results": {
                "urn:li:share:1": {
                    "reactionSummaries": {
                        "LIKE": {"reactionType": "LIKE", "count": 4},
                        "PRAISE": {"reactionType": "PRAISE", "count": 1},
                    },
                    "commentSummary": {"count": 2, "topLevelCount": 2},
                },
                "urn:li:ugcPost:2": {"reactionSummaries": {}, "commentSummary": {"count": 0}},
            }
        },
    )
    api.get(
        f"{API}/rest/organizationalEntityShareStatistics",
        json={
            "elements": [
                {
                    "share": "urn:li:share:1",
                    "totalShareStatistics": {
                        "impressionCount": 300,
                        "clickCount": 12,
                        "shareCount": 3,
                        "likeCount": 5,
                    },
                }
            ]
        },
    )

    snapshots = adapter.fetch_metrics(
        account=org_account, credentials=creds, remote_ids=["urn:li:share:1", "urn:li:ugcPost:2"]
    )

    social_url = unquote(api.calls[0].request.url)
    assert "ids=List(urn:li:share:1,urn:li:ugcPost:2)" in social_url
    assert "urn%3Ali%3Ashare%3A1" in api.calls[0].request.url
    stats_url = unquote(api.calls[1].request.url)
    assert (
        "shares=List(urn:li:share:1)" in stats_url
        and "ugcPosts=List(urn:li:ugcPost:2)" in stats_url
    )
    assert snapshots[0].values == {
        "likes": 5,
        "comments": 2,
        "impressions": 300,
        "clicks": 12,
        "shares": 3,
    }
    assert snapshots[1].values == {"likes": 0, "comments": 0}


def test_given_member_posts_when_fetching_metrics_then_only_social_counts_are_read(
    adapter, api, account, creds
):
    api.get(
        f"{API}/rest/socialMetadata",
        json={
            "results": {"urn:li:share:1": {"reactionSummaries": {}, "commentSummary": {"count": 1}}}
        },
    )

    snapshots = adapter.fetch_metrics(
        account=account, credentials=creds, remote_ids=["urn:li:share:1", "urn:li:share:gone"]
    )

    assert len(api.calls) == 1
    assert [s.remote_id for s in snapshots] == ["urn:li:share:1"]


def test_given_the_settings_when_getting_the_adapter_then_the_registry_builds_it():
    from publishing.adapters.registry import get_adapter

    adapter = get_adapter("linkedin")

    assert isinstance(adapter, LinkedInAdapter)
    assert adapter.base_url.startswith("https://")
