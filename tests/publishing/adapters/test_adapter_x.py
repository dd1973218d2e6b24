"""The X adapter against responses shaped like API v2 (the `responses` library)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import time
from urllib.parse import parse_qs, urlsplit

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
from publishing.adapters.oauth2 import pkce_challenge
from publishing.adapters.x import XAdapter

API = "https://api.x.test"
TOKEN = "secret-access-token-123"
REFRESH = "secret-refresh-token-456"


@pytest.fixture
def adapter():
    adapter = XAdapter(base_url=API, client_id="cid", client_secret="csecret")
    adapter.poll_interval = 0
    adapter.sleep = lambda seconds: None
    return adapter


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="42", handle="acme", config={"username": "acme"})


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN, refresh_token=REFRESH)


def media(kind="image", mime="image/png", data=b"\x89PNG data", alt=""):
    return MediaItem(
        kind=kind,
        mime_type=mime,
        filename=f"file.{mime.split('/')[1]}",
        size_bytes=len(data),
        open=lambda: io.BytesIO(data),
        alt_text=alt,
    )


def posted(api):
    return [
        json.loads(c.request.body)
        for c in api.calls
        if c.request.method == "POST" and c.request.url.endswith("/2/tweets")
    ]


def tweet(api, *ids):
    for remote_id in ids:
        api.post(f"{API}/2/tweets", json={"data": {"id": remote_id, "text": "x"}}, status=201)


# -- connecting -----------------------------------------------------------------------------------


def test_given_an_app_when_building_the_authorization_url_then_state_pkce_and_scopes_are_in_it(
    adapter,
):
    url, account = adapter.authorization_url(
        redirect_uri="https://app.test/connect/callback/",
        state="st4te",
        code_verifier="v" * 50,
        account=Account(),
    )

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://x.com/i/oauth2/authorize"
    assert query["state"] == ["st4te"]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == ["cid"]
    assert query["redirect_uri"] == ["https://app.test/connect/callback/"]
    assert query["code_challenge"] == [pkce_challenge("v" * 50)]
    assert query["code_challenge_method"] == ["S256"]
    assert set(query["scope"][0].split()) >= {"tweet.write", "media.write", "offline.access"}
    assert account == Account()


def test_given_the_rfc_7636_example_when_computing_the_challenge_then_it_matches():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_given_no_client_credentials_when_connecting_then_a_clear_error_is_raised():
    with pytest.raises(ConnectError, match="client ID and secret"):
        XAdapter(base_url=API).authorization_url(
            redirect_uri="https://app.test/cb", state="s", code_verifier="v" * 50, account=Account()
        )


def test_given_a_code_when_exchanging_then_basic_auth_and_verifier_are_sent_and_the_user_identified(
    adapter, api
):
    api.post(
        f"{API}/2/oauth2/token",
        json={
            "token_type": "bearer",
            "access_token": TOKEN,
            "refresh_token": REFRESH,
            "expires_in": 7200,
            "scope": "tweet.read tweet.write users.read media.write offline.access",
        },
    )
    api.get(
        f"{API}/2/users/me",
        json={
            "data": {
                "id": "42",
                "username": "acme",
                "name": "Acme GmbH",
                "profile_image_url": "https://pbs.twimg.test/a.jpg",
            }
        },
        match=[matchers.header_matcher({"Authorization": f"Bearer {TOKEN}"})],
    )

    result = adapter.exchange_code(
        code="the-code",
        redirect_uri="https://app.test/cb",
        code_verifier="v" * 50,
        account=Account(),
    )

    token_request = api.calls[0].request
    body = parse_qs(token_request.body)
    assert body["code"] == ["the-code"]
    assert body["code_verifier"] == ["v" * 50]
    assert body["grant_type"] == ["authorization_code"]
    assert (
        token_request.headers["Authorization"]
        == "Basic " + base64.b64encode(b"cid:csecret").decode()
    )
    assert result.credentials.access_token == TOKEN
    assert result.credentials.refresh_token == REFRESH
    assert result.credentials.expires_at is not None
    assert result.account.account_id == "42"
    assert result.account.handle == "acme"
    assert result.account.name == "Acme GmbH"
    assert result.account.avatar_url == "https://pbs.twimg.test/a.jpg"
    assert result.account.config["username"] == "acme"


def test_given_a_refused_code_when_exchanging_then_connect_error_without_secrets(adapter, api):
    api.post(
        f"{API}/2/oauth2/token",
        json={
            "error": "invalid_request",
            "error_description": "Value passed for the code was invalid",
        },
        status=400,
    )

    with pytest.raises(ConnectError) as caught:
        adapter.exchange_code(
            code="bad",
            redirect_uri="https://app.test/cb",
            code_verifier="v" * 50,
            account=Account(),
        )

    assert "code was invalid" in caught.value.message
    assert "csecret" not in str(caught.value) + caught.value.detail


@pytest.mark.parametrize(
    ("response_refresh", "expected"),
    [("rotated-refresh-789", "rotated-refresh-789"), (None, REFRESH)],
    ids=["rotated", "not-resent"],
)
def test_given_a_refresh_token_when_refreshing_then_the_rotated_one_is_kept_or_the_old_one_stays(
    adapter, api, account, creds, response_refresh, expected
):
    token = {"token_type": "bearer", "access_token": "new-access", "expires_in": 7200}
    if response_refresh:
        token["refresh_token"] = response_refresh
    api.post(f"{API}/2/oauth2/token", json=token)

    fresh = adapter.refresh(account=account, credentials=creds)

    body = parse_qs(api.calls[0].request.body)
    assert body["grant_type"] == ["refresh_token"]
    assert body["refresh_token"] == [REFRESH]
    assert fresh.access_token == "new-access"
    assert fresh.refresh_token == expected


def test_given_a_revoked_refresh_token_when_refreshing_then_auth_expired_without_secrets(
    adapter, api, account, creds
):
    api.post(
        f"{API}/2/oauth2/token",
        json={
            "error": "invalid_request",
            "error_description": "Value passed for the token was invalid.",
        },
        status=400,
    )

    with pytest.raises(AuthExpired) as caught:
        adapter.refresh(account=account, credentials=creds)

    text = str(caught.value) + caught.value.detail
    assert REFRESH not in text and TOKEN not in text


def test_given_no_refresh_token_when_refreshing_then_auth_expired_asks_to_reconnect(
    adapter, account
):
    with pytest.raises(AuthExpired, match="reconnect"):
        adapter.refresh(account=account, credentials=Credentials(access_token=TOKEN))


# -- publishing -----------------------------------------------------------------------------------


def test_given_a_text_when_publishing_then_one_post_is_created_with_its_url(
    adapter, api, account, creds
):
    tweet(api, "100")
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Hallo Welt", idempotency_key="k"),
        on_part=lambda i, part: seen.append((i, part.remote_id)),
    )

    assert posted(api) == [{"text": "Hallo Welt"}]
    assert api.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert result.remote_id == "100"
    assert result.url == "https://x.com/acme/status/100"
    assert seen == [(0, "100")]


def test_given_an_image_with_alt_text_when_publishing_then_it_is_uploaded_and_attached(
    adapter, api, account, creds
):
    api.post(f"{API}/2/media/upload", json={"data": {"id": "m1", "media_key": "3_m1"}})
    api.post(f"{API}/2/media/metadata", json={"data": {"associated_metadata": True}})
    tweet(api, "101")

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Bild", idempotency_key="k", media=[media(alt="A cat")]),
    )

    upload = api.calls[0].request
    assert b'name="media"' in upload.body and b"\x89PNG data" in upload.body
    assert b"tweet_image" in upload.body
    assert json.loads(api.calls[1].request.body) == {
        "id": "m1",
        "metadata": {"alt_text": {"text": "A cat"}},
    }
    assert posted(api) == [{"text": "Bild", "media": {"media_ids": ["m1"]}}]


def test_given_a_video_when_publishing_then_it_is_uploaded_in_chunks_and_processing_is_awaited(
    adapter, api, account, creds
):
    api.post(f"{API}/2/media/upload/initialize", json={"data": {"id": "v1"}})
    api.post(f"{API}/2/media/upload/v1/append", body="", status=204)
    api.post(
        f"{API}/2/media/upload/v1/finalize",
        json={"data": {"id": "v1", "processing_info": {"state": "pending", "check_after_secs": 1}}},
    )
    api.get(
        f"{API}/2/media/upload",
        json={"data": {"id": "v1", "processing_info": {"state": "in_progress"}}},
    )
    api.get(
        f"{API}/2/media/upload",
        json={"data": {"id": "v1", "processing_info": {"state": "succeeded"}}},
    )
    tweet(api, "102")

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Film", idempotency_key="k", media=[media("video", "video/mp4", b"\0" * 100)]
        ),
    )

    assert json.loads(api.calls[0].request.body) == {
        "media_type": "video/mp4",
        "total_bytes": 100,
        "media_category": "tweet_video",
    }
    assert [c.request.method for c in api.calls] == ["POST", "POST", "POST", "GET", "GET", "POST"]
    assert "command=STATUS" in api.calls[3].request.url
    assert posted(api) == [{"text": "Film", "media": {"media_ids": ["v1"]}}]


def test_given_a_failed_video_processing_when_publishing_then_permanent_error(
    adapter, api, account, creds
):
    api.post(f"{API}/2/media/upload/initialize", json={"data": {"id": "v1"}})
    api.post(f"{API}/2/media/upload/v1/append", body="", status=204)
    api.post(
        f"{API}/2/media/upload/v1/finalize",
        json={
            "data": {
                "id": "v1",
                "processing_info": {"state": "failed", "error": {"message": "InvalidMedia"}},
            }
        },
    )

    with pytest.raises(PermanentError, match="InvalidMedia"):
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(
                text="Film", idempotency_key="k", media=[media("video", "video/mp4", b"\0")]
            ),
        )
    assert posted(api) == []


def test_given_a_thread_and_first_comment_when_publishing_then_each_replies_to_the_right_post(
    adapter, api, account, creds
):
    tweet(api, "1", "2", "3", "4")
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Eins", idempotency_key="k", thread=["Zwei", "Drei"], first_comment="Link: …"
        ),
        on_part=lambda i, part: seen.append((i, part.remote_id)),
    )

    assert posted(api) == [
        {"text": "Eins"},
        {"text": "Zwei", "reply": {"in_reply_to_tweet_id": "1"}},
        {"text": "Drei", "reply": {"in_reply_to_tweet_id": "2"}},
        {"text": "Link: …", "reply": {"in_reply_to_tweet_id": "1"}},
    ]
    assert seen == [(0, "1"), (1, "2"), (2, "3"), (3, "4")]
    assert [p.remote_id for p in result.parts] == ["1", "2", "3", "4"]


def test_given_done_parts_when_publishing_again_then_it_resumes_after_them(
    adapter, api, account, creds
):
    tweet(api, "3")
    seen = []
    done = [PublishedPart("1", "https://x.com/acme/status/1"), PublishedPart("2", "u2")]

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Eins",
            idempotency_key="k",
            media=[media()],  # already attached to the main post: not uploaded again
            thread=["Zwei", "Drei"],
            done_parts=done,
        ),
        on_part=lambda i, part: seen.append((i, part.remote_id)),
    )

    assert posted(api) == [{"text": "Drei", "reply": {"in_reply_to_tweet_id": "2"}}]
    assert seen == [(2, "3")]
    assert result.remote_id == "1"
    assert result.url == "https://x.com/acme/status/1"


# -- errors ---------------------------------------------------------------------------------------


def test_given_duplicate_content_when_publishing_then_permanent_error_says_so(
    adapter, api, account, creds
):
    api.post(
        f"{API}/2/tweets",
        json={
            "detail": "You are not allowed to create a Tweet with duplicate content.",
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
        },
        status=403,
    )

    with pytest.raises(PermanentError, match="already posted") as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )
    assert caught.value.status == 403


def test_given_a_rate_limit_when_publishing_then_rate_limited_until_the_reset(
    adapter, api, account, creds
):
    reset = int(time.time()) + 60
    api.post(
        f"{API}/2/tweets",
        json={"title": "Too Many Requests", "detail": "Too Many Requests", "status": 429},
        status=429,
        headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"},
    )

    with pytest.raises(RateLimited) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )
    assert 50 < caught.value.retry_after <= 60


# -- reconciling, deleting, metrics -------------------------------------------------------------


def test_given_the_post_went_out_when_looking_for_it_then_it_is_found_despite_tco_links(
    adapter, api, account, creds
):
    api.get(
        f"{API}/2/users/42/tweets",
        json={
            "data": [
                {"id": "9", "text": "Something else"},
                {"id": "8", "text": "Neu im Blog:  https://t.co/abc"},
            ]
        },
    )

    found = adapter.find_existing(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Neu im Blog: https://example.com/post", idempotency_key="k"),
    )

    assert found.remote_id == "8"
    assert found.url == "https://x.com/acme/status/8"


def test_given_no_such_post_when_looking_for_it_then_none(adapter, api, account, creds):
    api.get(f"{API}/2/users/42/tweets", json={"meta": {"result_count": 0}})

    assert (
        adapter.find_existing(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )
        is None
    )


# The look-up pages back to the delivery's not_before (issue 20): a post that went out before a
# busy stretch used to be missed by the one page of 20 and was posted again.
NOT_BEFORE = dt.datetime(2026, 3, 2, 8, 0, 30, 500000, tzinfo=dt.UTC)


def timeline_post(remote_id, minutes, text=None):
    """A post of the user timeline created `minutes` after NOT_BEFORE (negative: before)."""
    at = NOT_BEFORE + dt.timedelta(minutes=minutes)
    return {
        "id": remote_id,
        "text": text or f"busy {remote_id}",
        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def timeline_page(api, posts, next_token=None):
    meta = {"result_count": len(posts)}
    if next_token:
        meta["next_token"] = next_token
    api.get(f"{API}/2/users/42/tweets", json={"data": posts, "meta": meta})


def timeline_queries(api):
    return [
        {k: v[0] for k, v in parse_qs(urlsplit(c.request.url).query).items()} for c in api.calls
    ]


def look_up(adapter, account, creds, text, not_before=NOT_BEFORE):
    return adapter.find_existing(
        account=account,
        credentials=creds,
        request=PublishRequest(text=text, idempotency_key="k", not_before=not_before),
    )


def test_given_our_post_on_the_third_page_when_looking_for_it_then_found_by_paging_back(
    adapter, api, account, creds
):
    timeline_page(api, [timeline_post("30", 90), timeline_post("29", 80)], next_token="t1")
    timeline_page(api, [timeline_post("28", 70), timeline_post("27", 60)], next_token="t2")
    timeline_page(api, [timeline_post("26", 50), timeline_post("25", 40, "Ours")], next_token="t3")

    found = look_up(adapter, account, creds, "Ours")

    assert found.remote_id == "25" and found.url == "https://x.com/acme/status/25"
    queries = timeline_queries(api)
    assert len(queries) == 3  # the match ends the walk: t3 is never asked for
    # X itself filters by time: start_time from not_before, whole seconds rounded down.
    assert queries[0]["start_time"] == "2026-03-02T08:00:30Z"
    assert queries[0]["max_results"] == "100"
    assert "pagination_token" not in queries[0]
    assert [q.get("pagination_token") for q in queries[1:]] == ["t1", "t2"]
    assert all(q["start_time"] == queries[0]["start_time"] for q in queries)


def test_given_a_post_older_than_not_before_on_a_page_when_looking_then_no_further_page(
    adapter, api, account, creds
):
    timeline_page(api, [timeline_post("30", 90), timeline_post("29", 80)], next_token="t1")
    timeline_page(api, [timeline_post("28", 5), timeline_post("27", -1)], next_token="t2")

    assert look_up(adapter, account, creds, "Never posted") is None
    assert len(api.calls) == 2  # t2 leads further back than the delivery: not read


def test_given_an_endless_timeline_when_looking_then_at_most_the_page_bound_is_read(
    adapter, api, account, creds
):
    served = []

    def newer_page(request):
        n = len(served)
        served.append(n)
        posts = [timeline_post(str(1000 - 2 * n), 600 - n), timeline_post(str(999 - 2 * n), 599)]
        body = {"data": posts, "meta": {"result_count": 2, "next_token": f"t{n + 1}"}}
        return 200, {}, json.dumps(body)

    api.add_callback(responses.GET, f"{API}/2/users/42/tweets", callback=newer_page)

    # 20 pages and not_before still not reached: it cannot tell, and says so (never "not out").
    with pytest.raises(LookupIncomplete, match="20 pages"):
        look_up(adapter, account, creds, "Never posted")
    assert adapter.lookup_max_pages == 20
    assert len(api.calls) == 20


def test_given_no_not_before_when_looking_then_one_page_of_20_as_before(
    adapter, api, account, creds
):
    timeline_page(api, [timeline_post("30", 90), timeline_post("29", 80)], next_token="t1")

    assert look_up(adapter, account, creds, "Ours", not_before=None) is None
    (query,) = timeline_queries(api)
    assert query == {"max_results": "20", "tweet.fields": "created_at"}


@pytest.mark.parametrize("status", [200, 404])
def test_given_a_post_when_deleting_then_a_missing_one_is_fine(
    adapter, api, account, creds, status
):
    api.delete(f"{API}/2/tweets/5", json={"data": {"deleted": status == 200}}, status=status)

    adapter.delete(account=account, credentials=creds, remote_id="5")

    assert len(api.calls) == 1


def test_given_150_posts_when_fetching_metrics_then_two_batches_are_parsed(
    adapter, api, account, creds
):
    ids = [str(i) for i in range(150)]

    def reply(request):
        asked = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
        data = [
            {
                "id": i,
                "public_metrics": {
                    "like_count": 3,
                    "reply_count": 1,
                    "retweet_count": 2,
                    "quote_count": 0,
                    "bookmark_count": 4,
                    "impression_count": 50,
                },
                "non_public_metrics": {"impression_count": 55, "url_link_clicks": 7},
            }
            for i in asked
            if i != "7"
        ]
        return 200, {}, json.dumps({"data": data, "errors": [{"resource_id": "7"}]})

    api.add_callback(responses.GET, f"{API}/2/tweets", callback=reply)

    snapshots = adapter.fetch_metrics(account=account, credentials=creds, remote_ids=ids)

    assert len(api.calls) == 2
    assert len(parse_qs(urlsplit(api.calls[0].request.url).query)["ids"][0].split(",")) == 100
    assert len(snapshots) == 149  # "7" is in "errors" (deleted), not in "data"
    assert snapshots[0].values == {
        "likes": 3,
        "comments": 1,
        "shares": 2,
        "quotes": 0,
        "saves": 4,
        "impressions": 55,
        "clicks": 7,
    }


def test_given_the_adapter_when_validating_then_the_shared_rules_apply(adapter):
    problems = adapter.validate(PublishRequest(text="x" * 281, idempotency_key="k"))

    assert problems and "280" in problems[0]


def test_given_the_settings_when_getting_the_adapter_then_the_registry_builds_it():
    from publishing.adapters.registry import get_adapter

    adapter = get_adapter("x")

    assert isinstance(adapter, XAdapter)
    assert adapter.base_url.startswith("https://")
