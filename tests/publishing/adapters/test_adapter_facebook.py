"""The Facebook Pages adapter against responses shaped like the Graph API."""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from publishing.adapters.base import (
    Account,
    AuthExpired,
    ConnectError,
    Credentials,
    LookupIncomplete,
    MediaItem,
    PermanentError,
    PermissionMissing,
    PublishedPart,
    PublishRequest,
    RateLimited,
    TransientError,
)
from publishing.adapters.facebook import FacebookAdapter

API = "https://graph.facebook.test/v25.0"
PAGE_TOKEN = "EAAB-page-token-secret"
USER_TOKEN = "EAAB-user-token-secret"


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


def image(url="", data=b"jpg"):
    return MediaItem(
        kind="image",
        mime_type="image/jpeg",
        filename="a.jpg",
        size_bytes=len(data),
        open=lambda: io.BytesIO(data),
        public_url=url,
    )


def form(call):
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def graph_error(code, message="Error", subcode=None, status=400):
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode:
        error["error_subcode"] = subcode
    return {"json": {"error": error}, "status": status}


# -- connecting -----------------------------------------------------------------------------------


def test_given_an_app_when_building_the_authorization_url_then_page_scopes_and_state_are_in_it(
    adapter,
):
    url, _account = adapter.authorization_url(
        redirect_uri="https://app.test/cb", state="st", code_verifier="v", account=Account()
    )

    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://www.facebook.com/v25.0/dialog/oauth?")
    assert query["state"] == ["st"]
    assert query["client_id"] == ["appid"]
    assert set(query["scope"][0].split(",")) >= {"pages_manage_posts", "pages_show_list"}


def exchange_mocks(api, pages, permissions=None, *, reads_permissions=True):
    api.post(f"{API}/oauth/access_token", json={"access_token": "short", "token_type": "bearer"})
    api.get(
        f"{API}/oauth/access_token",
        json={"access_token": USER_TOKEN, "token_type": "bearer", "expires_in": 5183944},
    )
    api.get(f"{API}/me/accounts", json={"data": pages})
    if not reads_permissions:  # the connect ends before that
        return
    granted = {s: "granted" for s in FacebookAdapter.scopes} | (permissions or {})
    api.get(
        f"{API}/me/permissions",
        json={"data": [{"permission": p, "status": s} for p, s in granted.items()]},
    )


def page(page_id, name, tasks=("CREATE_CONTENT", "MANAGE")):
    return {
        "id": page_id,
        "name": name,
        "access_token": f"{PAGE_TOKEN}-{page_id}",
        "tasks": list(tasks),
        "picture": {"data": {"url": f"https://fb.test/{page_id}.jpg"}},
    }


def test_given_a_code_when_exchanging_then_the_long_lived_user_token_yields_the_first_page(
    adapter, api
):
    exchange_mocks(api, [page("111", "Acme"), page("222", "Acme Jobs")])

    result = adapter.exchange_code(
        code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
    )

    exchange = parse_qs(urlsplit(api.calls[1].request.url).query)
    assert exchange["grant_type"] == ["fb_exchange_token"]
    assert exchange["fb_exchange_token"] == ["short"]
    assert parse_qs(urlsplit(api.calls[2].request.url).query)["access_token"] == [USER_TOKEN]
    assert result.account.account_id == "111"
    assert result.account.name == "Acme"
    assert result.account.avatar_url == "https://fb.test/111.jpg"
    assert result.account.config["pages"] == [
        {"id": "111", "name": "Acme"},
        {"id": "222", "name": "Acme Jobs"},
    ]
    assert result.credentials.access_token == f"{PAGE_TOKEN}-111"
    assert result.credentials.expires_at is None
    assert result.credentials.extra["user_token"] == USER_TOKEN
    assert "access_token" not in json.dumps(result.account.config)


def test_given_permissions_unticked_in_the_dialog_when_exchanging_then_they_are_named(adapter, api):
    exchange_mocks(
        api,
        [page("111", "Acme")],
        permissions={"publish_video": "declined", "read_insights": "declined"},
    )

    result = adapter.exchange_code(
        code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
    )

    assert result.missing_permissions == ("publish_video", "read_insights")
    asked = parse_qs(urlsplit(api.calls[3].request.url).query)
    assert urlsplit(api.calls[3].request.url).path.endswith("/me/permissions")
    assert asked["access_token"] == [USER_TOKEN]


def test_given_every_permission_granted_when_exchanging_then_none_is_missing(adapter, api):
    exchange_mocks(api, [page("111", "Acme")])

    result = adapter.exchange_code(
        code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
    )

    assert result.missing_permissions == ()


def test_given_the_permissions_read_fails_when_exchanging_then_it_connects_without_a_warning(
    adapter, api
):
    api.post(f"{API}/oauth/access_token", json={"access_token": "short", "token_type": "bearer"})
    api.get(f"{API}/oauth/access_token", json={"access_token": USER_TOKEN, "token_type": "bearer"})
    api.get(f"{API}/me/accounts", json={"data": [page("111", "Acme")]})
    api.get(f"{API}/me/permissions", **graph_error(1, "An unknown error occurred", status=500))

    result = adapter.exchange_code(
        code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
    )

    assert result.account.account_id == "111" and result.missing_permissions == ()


@pytest.mark.parametrize("code", [10, 200, 283])
def test_given_a_permission_error_when_publishing_then_permission_missing(
    adapter, api, account, creds, code
):
    api.post(
        f"{API}/111/feed",
        **graph_error(code, "(#200) Requires pages_manage_posts permission", status=403),
    )

    with pytest.raises(PermissionMissing, match="lacks a permission") as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="Hallo", idempotency_key="k"),
        )

    assert PAGE_TOKEN not in caught.value.detail


def test_given_a_chosen_page_when_exchanging_then_that_page_is_connected(adapter, api):
    exchange_mocks(api, [page("111", "Acme"), page("222", "Acme Jobs")])

    result = adapter.exchange_code(
        code="c",
        redirect_uri="https://app.test/cb",
        code_verifier="v",
        account=Account(config={"page_id": "222"}),
    )

    assert result.account.account_id == "222"
    assert result.credentials.access_token == f"{PAGE_TOKEN}-222"


def test_given_no_postable_page_when_exchanging_then_connect_error_explains(adapter, api):
    exchange_mocks(api, [page("111", "Acme", tasks=("ANALYZE",))], reads_permissions=False)

    with pytest.raises(ConnectError, match="no Page"):
        adapter.exchange_code(
            code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
        )


def test_given_a_revoked_page_token_when_refreshing_then_auth_expired(adapter, api, account, creds):
    api.get(f"{API}/me", **graph_error(190, "Error validating access token", subcode=460))

    with pytest.raises(AuthExpired) as caught:
        adapter.refresh(account=account, credentials=creds)
    assert PAGE_TOKEN not in str(caught.value) + caught.value.detail


def test_given_a_valid_page_token_when_refreshing_then_it_is_kept(adapter, api, account, creds):
    api.get(f"{API}/me", json={"id": "111"})

    assert adapter.refresh(account=account, credentials=creds) is creds


# -- publishing -----------------------------------------------------------------------------------


def test_given_a_text_with_a_link_when_publishing_then_the_page_feed_gets_it(
    adapter, api, account, creds
):
    api.post(f"{API}/111/feed", json={"id": "111_999"})

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Hallo", link="https://acme.test/", idempotency_key="k"),
    )

    assert form(api.calls[0]) == {
        "message": "Hallo",
        "link": "https://acme.test/",
        "access_token": PAGE_TOKEN,
    }
    assert result.remote_id == "111_999"
    assert result.url == "https://www.facebook.com/111/posts/999"


def test_given_one_public_image_when_publishing_then_a_published_photo_post_is_made(
    adapter, api, account, creds
):
    api.post(f"{API}/111/photos", json={"id": "p1", "post_id": "111_5"})

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Bild", idempotency_key="k", media=[image("https://media.test/a.jpg")]
        ),
    )

    assert form(api.calls[0])["url"] == "https://media.test/a.jpg"
    assert form(api.calls[0])["caption"] == "Bild"
    assert form(api.calls[0])["published"] == "true"
    assert result.remote_id == "111_5"


def test_given_two_uploaded_images_when_publishing_then_unpublished_photos_are_attached(
    adapter, api, account, creds
):
    api.post(f"{API}/111/photos", json={"id": "p1"})
    api.post(f"{API}/111/photos", json={"id": "p2"})
    api.post(f"{API}/111/feed", json={"id": "111_7"})

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Zwei", idempotency_key="k", media=[image(), image()]),
    )

    upload = api.calls[0].request
    assert b'name="source"' in upload.body and b'name="published"' in upload.body
    assert b"false" in upload.body
    feed = form(api.calls[2])
    assert feed["message"] == "Zwei"
    assert json.loads(feed["attached_media[0]"]) == {"media_fbid": "p1"}
    assert json.loads(feed["attached_media[1]"]) == {"media_fbid": "p2"}


def test_given_a_first_comment_when_publishing_then_it_is_commented_and_resumable(
    adapter, api, account, creds
):
    api.post(f"{API}/111/feed", json={"id": "111_7"})
    api.post(f"{API}/111_7/comments", json={"id": "111_7_c1"})
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Post", first_comment="Mehr dazu", idempotency_key="k"),
        on_part=lambda i, p: seen.append((i, p.remote_id)),
    )

    assert form(api.calls[1])["message"] == "Mehr dazu"
    assert seen == [(0, "111_7"), (1, "111_7_c1")]
    assert len(result.parts) == 2


def test_given_the_post_is_done_when_publishing_again_then_only_the_comment_follows(
    adapter, api, account, creds
):
    api.post(f"{API}/111_7/comments", json={"id": "c2"})

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Post",
            first_comment="Mehr",
            idempotency_key="k",
            done_parts=[PublishedPart("111_7", "https://www.facebook.com/111/posts/7")],
        ),
    )

    assert len(api.calls) == 1
    assert [p.remote_id for p in result.parts] == ["111_7", "c2"]


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (190, AuthExpired),
        (102, AuthExpired),
        (4, RateLimited),
        (17, RateLimited),
        (32, RateLimited),
        (613, RateLimited),
        (80001, RateLimited),
        (2, TransientError),
        (506, PermanentError),
        (200, PermissionMissing),
        (10, PermissionMissing),
    ],
)
def test_given_a_graph_error_code_when_publishing_then_it_maps(
    adapter, api, account, creds, code, error_class
):
    api.post(f"{API}/111/feed", **graph_error(code, f"Failure with {PAGE_TOKEN}"))

    with pytest.raises(error_class) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )
    assert type(caught.value) is error_class
    assert PAGE_TOKEN not in str(caught.value) + caught.value.detail
    assert f"code {code}" in caught.value.detail


def test_given_a_duplicate_status_when_publishing_then_the_message_says_duplicate(
    adapter, api, account, creds
):
    api.post(f"{API}/111/feed", **graph_error(506, "Duplicate status message"))

    with pytest.raises(PermanentError, match="duplicate"):
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )


def test_given_a_page_throttle_when_publishing_then_retry_after_comes_from_the_usage_header(
    adapter, api, account, creds
):
    usage = {"111": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7}]}
    api.post(
        f"{API}/111/feed",
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
        **graph_error(32, "Page request limit reached"),
    )

    with pytest.raises(RateLimited) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )
    assert caught.value.retry_after == 420


# -- reconciling, deleting, metrics -------------------------------------------------------------


def test_given_the_post_went_out_when_looking_for_it_then_it_is_found_among_page_posts(
    adapter, api, account, creds
):
    api.get(
        f"{API}/111/posts",
        json={
            "data": [
                {"id": "111_1", "message": "Other"},
                {"id": "111_2", "message": "Hallo", "permalink_url": "https://fb.test/p/2"},
            ]
        },
    )

    found = adapter.find_existing(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Hallo", idempotency_key="k"),
    )

    assert found.remote_id == "111_2" and found.url == "https://fb.test/p/2"
    assert (
        adapter.find_existing(
            account=account,
            credentials=creds,
            request=PublishRequest(text="Nope", idempotency_key="k"),
        )
        is None
    )


# The look-up pages back to the delivery's not_before (issue 20): a post that went out before a
# busy stretch used to be missed by the one page of 25 and was posted again.
NOT_BEFORE = dt.datetime(2026, 3, 2, 8, 0, 30, 500000, tzinfo=dt.UTC)
POSTS = f"{API}/111/posts"


def page_post(remote_id, minutes, message=None):
    """A Page post created `minutes` after NOT_BEFORE (negative: before), as Graph shapes it."""
    at = NOT_BEFORE + dt.timedelta(minutes=minutes)
    return {
        "id": f"111_{remote_id}",
        "message": message or f"busy {remote_id}",
        "created_time": at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }


def posts_page(api, posts, after=None):
    paging = {}
    if after:
        paging = {
            "cursors": {"before": "B", "after": after},
            "next": f"{POSTS}?limit=100&after={after}&access_token=EAAB-other-token",
        }
    api.get(POSTS, json={"data": posts, "paging": paging})


def queries(api):
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
    posts_page(api, [page_post("30", 90), page_post("29", 80)], after="C1")
    posts_page(api, [page_post("28", 70), page_post("27", 60)], after="C2")
    posts_page(api, [page_post("26", 50), page_post("25", 40, "Ours")], after="C3")

    found = look_up(adapter, account, creds, "Ours")

    assert found.remote_id == "111_25"
    sent = queries(api)
    assert len(sent) == 3  # the match ends the walk: C3 is never asked for
    # Graph itself filters by time: since from not_before, whole seconds rounded down.
    assert sent[0]["since"] == str(int(NOT_BEFORE.timestamp())) == "1772438430"
    assert sent[0]["limit"] == "100"
    assert "after" not in sent[0]
    assert [q.get("after") for q in sent[1:]] == ["C1", "C2"]
    # Rebuilt from the cursor on our own request: the link's token is never sent.
    assert all(q["access_token"] == PAGE_TOKEN and q["since"] == sent[0]["since"] for q in sent)


def test_given_a_post_older_than_not_before_on_a_page_when_looking_then_no_further_page(
    adapter, api, account, creds
):
    posts_page(api, [page_post("30", 90), page_post("29", 80)], after="C1")
    posts_page(api, [page_post("28", 5), page_post("27", -1)], after="C2")

    assert look_up(adapter, account, creds, "Never posted") is None
    assert len(api.calls) == 2  # C2 leads further back than the delivery: not read


def test_given_an_endless_page_when_looking_then_at_most_the_page_bound_is_read(
    adapter, api, account, creds
):
    served = []

    def newer_page(request):
        n = len(served)
        served.append(n)
        after = f"C{n + 1}"
        body = {
            "data": [page_post(str(1000 - 2 * n), 600 - n), page_post(str(999 - 2 * n), 599)],
            "paging": {"cursors": {"after": after}, "next": f"{POSTS}?after={after}"},
        }
        return 200, {}, json.dumps(body)

    api.add_callback(responses.GET, POSTS, callback=newer_page)

    # 20 pages and not_before still not reached: it cannot tell, and says so (never "not out").
    with pytest.raises(LookupIncomplete, match="20 pages"):
        look_up(adapter, account, creds, "Never posted")
    assert adapter.lookup_max_pages == 20
    assert len(api.calls) == 20


def test_given_no_not_before_when_looking_then_one_page_of_25_as_before(
    adapter, api, account, creds
):
    posts_page(api, [page_post("30", 90), page_post("29", 80)], after="C1")

    assert look_up(adapter, account, creds, "Ours", not_before=None) is None
    (query,) = queries(api)
    assert query == {
        "fields": "id,message,permalink_url,created_time",
        "limit": "25",
        "access_token": PAGE_TOKEN,
    }


def test_given_time_based_paging_when_looking_then_the_next_link_is_rebuilt_on_our_request(
    adapter, api, account, creds
):
    # Graph pages some edges by time: a `next` link with until and __paging_token, no cursors.
    api.get(
        POSTS,
        json={
            "data": [page_post("30", 90)],
            "paging": {
                "next": f"{POSTS}?limit=100&until=1772443830&__paging_token=enc_X"
                "&access_token=EAAB-other-token"
            },
        },
    )
    api.get(POSTS, json={"data": [page_post("29", 80, "Ours")], "paging": {}})

    found = look_up(adapter, account, creds, "Ours")

    assert found.remote_id == "111_29"
    second = queries(api)[1]
    assert second["until"] == "1772443830" and second["__paging_token"] == "enc_X"
    assert second["access_token"] == PAGE_TOKEN
    assert second["fields"] == "id,message,permalink_url,created_time"


def test_given_a_next_link_to_another_host_when_looking_then_it_is_not_followed(
    adapter, api, account, creds
):
    api.get(
        POSTS,
        json={
            "data": [page_post("30", 90)],
            "paging": {"next": "https://graph.evil.test/v25.0/111/posts?until=1&__paging_token=x"},
        },
    )

    assert look_up(adapter, account, creds, "Ours") is None
    assert len(api.calls) == 1


def test_given_a_post_when_deleting_then_graph_delete_is_called(adapter, api, account, creds):
    api.delete(f"{API}/111_2", json={"success": True})

    adapter.delete(account=account, credentials=creds, remote_id="111_2")

    assert len(api.calls) == 1


def test_given_a_thread_when_validating_then_facebook_says_it_has_none(adapter):
    problems = adapter.validate(PublishRequest(text="a", idempotency_key="k", thread=["b"]))

    assert problems == ["Facebook has no threads; post the further parts separately."]


def test_given_the_settings_when_getting_the_adapter_then_the_registry_builds_it():
    from publishing.adapters.registry import get_adapter

    adapter = get_adapter("facebook")

    assert isinstance(adapter, FacebookAdapter)
    assert adapter.base_url.startswith("https://")
