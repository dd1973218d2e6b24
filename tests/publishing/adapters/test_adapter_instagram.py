"""The Instagram adapter against responses shaped like the Instagram API (Instagram Login)."""

from __future__ import annotations

import datetime as dt
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

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
    TransientError,
)
from publishing.adapters.instagram import InstagramAdapter

ROOT = "https://graph.instagram.test"
API = f"{ROOT}/v25.0"
TOKEN_URL = "https://api.instagram.com/oauth/access_token"
TOKEN = "IGAA-long-lived-secret"


@pytest.fixture
def adapter():
    adapter = InstagramAdapter(base_url=API, client_id="igapp", client_secret="igsecret")
    adapter.sleep = lambda seconds: None
    return adapter


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def account():
    return Account(account_id="1784", handle="acme")


@pytest.fixture
def creds():
    return Credentials(access_token=TOKEN)


def item(kind="image", url="https://media.acme.test/a.jpg", alt=""):
    return MediaItem(
        kind=kind,
        mime_type="image/jpeg" if kind == "image" else "video/mp4",
        filename="a.jpg",
        size_bytes=3,
        open=lambda: io.BytesIO(b"abc"),
        public_url=url,
        alt_text=alt,
    )


def form(call):
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def containers(api, *ids):
    for container_id in ids:
        api.post(f"{API}/1784/media", json={"id": container_id})


def ready(api, container_id, *statuses):
    for status in statuses:
        api.get(f"{API}/{container_id}", json={"status_code": status, "id": container_id})


def published(api, media_id="M1"):
    api.post(f"{API}/1784/media_publish", json={"id": media_id})
    api.get(
        f"{API}/{media_id}",
        json={"id": media_id, "permalink": f"https://www.instagram.com/p/{media_id}/"},
    )


# -- connecting -----------------------------------------------------------------------------------


def test_given_an_app_when_building_the_authorization_url_then_business_scopes_are_asked(adapter):
    url, _account = adapter.authorization_url(
        redirect_uri="https://app.test/cb", state="st", code_verifier="v", account=Account()
    )

    query = parse_qs(urlsplit(url).query)
    assert url.startswith("https://www.instagram.com/oauth/authorize?")
    assert query["state"] == ["st"]
    assert query["response_type"] == ["code"]
    assert query["scope"] == [
        "instagram_business_basic,instagram_business_content_publish,"
        "instagram_business_manage_comments,instagram_business_manage_insights"
    ]


def test_given_a_code_when_exchanging_then_the_token_is_made_long_lived_and_the_account_read(
    adapter, api
):
    api.post(
        TOKEN_URL,
        json={
            "data": [
                {
                    "access_token": "short",
                    "user_id": "1784",
                    "permissions": "instagram_business_basic,instagram_business_content_publish",
                }
            ]
        },
    )
    api.get(
        f"{ROOT}/access_token",
        json={"access_token": TOKEN, "token_type": "bearer", "expires_in": 5184000},
    )
    api.get(
        f"{API}/me",
        json={
            "id": "app-scoped",
            "user_id": "1784",
            "username": "acme",
            "name": "Acme",
            "profile_picture_url": "https://images.platform.test/a.jpg",
            "account_type": "BUSINESS",
        },
    )

    result = adapter.exchange_code(
        code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
    )

    assert form(api.calls[0])["client_secret"] == "igsecret"
    exchange = parse_qs(urlsplit(api.calls[1].request.url).query)
    assert exchange["grant_type"] == ["ig_exchange_token"]
    assert exchange["access_token"] == ["short"]
    assert result.credentials.access_token == TOKEN
    assert result.credentials.expires_at is not None
    assert result.account.account_id == "1784"
    assert result.account.handle == "acme"
    assert result.account.config["account_type"] == "BUSINESS"
    # The permissions the person left unticked in the dialog: the channel warns about them.
    assert result.missing_permissions == (
        "instagram_business_manage_comments",
        "instagram_business_manage_insights",
    )


def test_given_a_failed_long_lived_exchange_when_connecting_then_connect_error_without_token(
    adapter, api
):
    api.post(TOKEN_URL, json={"access_token": "short-secret-token", "user_id": "1"})
    api.get(
        f"{ROOT}/access_token",
        status=400,
        json={"error": {"message": "Invalid OAuth access token", "code": 190}},
    )

    with pytest.raises(ConnectError) as caught:
        adapter.exchange_code(
            code="c", redirect_uri="https://app.test/cb", code_verifier="v", account=Account()
        )
    assert "short-secret-token" not in str(caught.value) + caught.value.detail


def test_given_a_long_lived_token_when_refreshing_then_it_is_extended(adapter, api, account, creds):
    api.get(
        f"{ROOT}/refresh_access_token",
        json={"access_token": "IGAA-extended", "token_type": "bearer", "expires_in": 5184000},
    )

    fresh = adapter.refresh(account=account, credentials=creds)

    query = parse_qs(urlsplit(api.calls[0].request.url).query)
    assert query["grant_type"] == ["ig_refresh_token"]
    assert fresh.access_token == "IGAA-extended"
    assert fresh.expires_at is not None


def test_given_an_expired_token_when_refreshing_then_auth_expired(adapter, api, account, creds):
    api.get(
        f"{ROOT}/refresh_access_token",
        status=400,
        json={"error": {"message": "Session has expired", "code": 190, "error_subcode": 463}},
    )

    with pytest.raises(AuthExpired) as caught:
        adapter.refresh(account=account, credentials=creds)
    assert TOKEN not in str(caught.value) + caught.value.detail


# -- validation -----------------------------------------------------------------------------------


def test_given_media_without_a_public_url_when_validating_then_the_setting_is_named(adapter):
    problems = adapter.validate(PublishRequest(text="a", idempotency_key="k", media=[item(url="")]))

    assert any(
        "Instagram needs a public media URL: set PUBLIC_MEDIA_BASE_URL" in p for p in problems
    )


def test_given_media_without_a_public_url_when_publishing_then_nothing_is_sent(
    adapter, api, account, creds
):
    with pytest.raises(PermanentError, match="PUBLIC_MEDIA_BASE_URL"):
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k", media=[item(url="")]),
        )
    assert len(api.calls) == 0


def test_given_eleven_items_when_validating_then_the_carousel_limit_is_named(adapter):
    problems = adapter.validate(
        PublishRequest(text="a", idempotency_key="k", media=[item() for _ in range(11)])
    )

    assert any("at most 10" in p for p in problems)


# -- publishing -----------------------------------------------------------------------------------


def test_given_an_image_when_publishing_then_container_is_awaited_and_published(
    adapter, api, account, creds
):
    containers(api, "C1")
    ready(api, "C1", "IN_PROGRESS", "FINISHED")
    published(api, "M1")
    seen = []

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Hallo #acme", idempotency_key="k", media=[item(alt="Logo")]),
        on_part=lambda i, p: seen.append((i, p.remote_id)),
    )

    assert form(api.calls[0]) == {
        "image_url": "https://media.acme.test/a.jpg",
        "alt_text": "Logo",
        "caption": "Hallo #acme",
        "access_token": TOKEN,
    }
    assert parse_qs(urlsplit(api.calls[1].request.url).query)["fields"] == ["status_code"]
    assert form(api.calls[3])["creation_id"] == "C1"
    assert result.remote_id == "M1"
    assert result.url == "https://www.instagram.com/p/M1/"
    assert seen == [(0, "M1")]


def test_given_a_video_when_publishing_then_it_becomes_a_reel(adapter, api, account, creds):
    containers(api, "C1")
    ready(api, "C1", "FINISHED")
    published(api)

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Film", idempotency_key="k", media=[item("video", "https://m.test/v.mp4")]
        ),
    )

    assert form(api.calls[0])["media_type"] == "REELS"
    assert form(api.calls[0])["video_url"] == "https://m.test/v.mp4"


def test_given_three_items_when_publishing_then_a_carousel_of_children_is_published(
    adapter, api, account, creds
):
    containers(api, "K1", "K2", "K3", "C1")
    for container in ("K1", "K2", "K3", "C1"):
        ready(api, container, "FINISHED")
    published(api)

    adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="Drei",
            idempotency_key="k",
            media=[item(), item(url="https://m.test/b.jpg"), item("video", "https://m.test/v.mp4")],
        ),
    )

    creates = [form(c) for c in api.calls if c.request.url == f"{API}/1784/media"]
    assert [c.get("is_carousel_item") for c in creates] == ["true", "true", "true", None]
    assert creates[2]["media_type"] == "VIDEO"
    assert creates[3]["media_type"] == "CAROUSEL"
    assert creates[3]["children"] == "K1,K2,K3"
    assert creates[3]["caption"] == "Drei"


def test_given_a_failed_container_when_publishing_then_permanent_error_explains(
    adapter, api, account, creds
):
    containers(api, "C1")
    ready(api, "C1", "ERROR")

    with pytest.raises(PermanentError, match="public URL"):
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k", media=[item()]),
        )


def test_given_a_first_comment_when_publishing_then_it_is_posted_under_the_media(
    adapter, api, account, creds
):
    containers(api, "C1")
    ready(api, "C1", "FINISHED")
    published(api, "M1")
    api.post(f"{API}/M1/comments", json={"id": "CM1"})

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="a", first_comment="#tags", idempotency_key="k", media=[item()]
        ),
    )

    assert form(api.calls[-1])["message"] == "#tags"
    assert [p.remote_id for p in result.parts] == ["M1", "CM1"]


def test_given_the_media_is_done_when_publishing_again_then_only_the_comment_is_posted(
    adapter, api, account, creds
):
    api.post(f"{API}/M1/comments", json={"id": "CM1"})

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(
            text="a",
            first_comment="#tags",
            idempotency_key="k",
            media=[item()],
            done_parts=[PublishedPart("M1", "https://www.instagram.com/p/M1/")],
        ),
    )

    assert len(api.calls) == 1
    assert result.url == "https://www.instagram.com/p/M1/"


def test_given_a_lost_publish_answer_when_the_container_is_published_then_the_media_is_recovered(
    adapter, api, account, creds
):
    containers(api, "C1")
    ready(api, "C1", "FINISHED")
    api.post(f"{API}/1784/media_publish", body=requests.ConnectionError("reset"))
    ready(api, "C1", "PUBLISHED")
    api.get(
        f"{API}/1784/media",
        json={"data": [{"id": "M9", "caption": "Hallo", "permalink": "https://ig.test/p/M9/"}]},
    )

    result = adapter.publish(
        account=account,
        credentials=creds,
        request=PublishRequest(text="Hallo", idempotency_key="k", media=[item()]),
    )

    assert result.remote_id == "M9"
    assert sum(c.request.url.endswith("/media_publish") for c in api.calls) == 1


def test_given_a_lost_publish_answer_when_the_container_is_not_published_then_transient(
    adapter, api, account, creds
):
    containers(api, "C1")
    ready(api, "C1", "FINISHED")
    api.post(f"{API}/1784/media_publish", status=500, json={"error": {"message": "x", "code": 1}})
    ready(api, "C1", "FINISHED")

    with pytest.raises(TransientError):
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="Hallo", idempotency_key="k", media=[item()]),
        )


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (400, {"message": "Invalid OAuth access token", "code": 190}, AuthExpired),
        (400, {"message": "Application request limit reached", "code": 4}, RateLimited),
        (400, {"message": "The media could not be fetched", "code": 9004}, PermanentError),
    ],
)
def test_given_an_error_when_creating_the_container_then_it_maps(
    adapter, api, account, creds, status, error, expected
):
    api.post(f"{API}/1784/media", status=status, json={"error": error})

    with pytest.raises(expected) as caught:
        adapter.publish(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k", media=[item()]),
        )
    assert type(caught.value) is expected
    assert TOKEN not in str(caught.value) + caught.value.detail


# -- reconciling, metrics -------------------------------------------------------------------------


def test_given_no_matching_caption_when_looking_for_a_post_then_none(adapter, api, account, creds):
    api.get(f"{API}/1784/media", json={"data": [{"id": "M1", "caption": "Other"}]})

    assert (
        adapter.find_existing(
            account=account,
            credentials=creds,
            request=PublishRequest(text="a", idempotency_key="k"),
        )
        is None
    )


# The look-up pages back to the delivery's not_before (issue 20): a post that went out before a
# busy stretch used to be missed by the one page of 25 and was posted again.
NOT_BEFORE = dt.datetime(2026, 3, 2, 8, 0, 30, tzinfo=dt.UTC)
MEDIA = f"{API}/1784/media"


def media_item(remote_id, minutes, caption=None):
    """A media of the account created `minutes` after NOT_BEFORE (negative: before)."""
    at = NOT_BEFORE + dt.timedelta(minutes=minutes)
    return {
        "id": remote_id,
        "caption": caption or f"busy {remote_id}",
        "permalink": f"https://www.instagram.com/p/{remote_id}/",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }


def media_page(api, items, after=None):
    paging = {}
    if after:
        paging = {"cursors": {"after": after}, "next": f"{MEDIA}?after={after}&access_token=x"}
    api.get(MEDIA, json={"data": items, "paging": paging})


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
    media_page(api, [media_item("M30", 90), media_item("M29", 80)], after="A1")
    media_page(api, [media_item("M28", 70), media_item("M27", 60)], after="A2")
    media_page(api, [media_item("M26", 50), media_item("M25", 40, "Ours")], after="A3")

    found = look_up(adapter, account, creds, "Ours")

    assert found.remote_id == "M25" and found.url == "https://www.instagram.com/p/M25/"
    sent = queries(api)
    assert len(sent) == 3  # the match ends the walk: A3 is never asked for
    assert sent[0]["limit"] == "50"
    assert "after" not in sent[0]
    assert [q.get("after") for q in sent[1:]] == ["A1", "A2"]
    # The media edge is not asked to filter by time (no since on it); our token only.
    assert not any("since" in q for q in sent)
    assert all(q["access_token"] == TOKEN for q in sent)


def test_given_a_media_older_than_not_before_on_a_page_when_looking_then_no_further_page(
    adapter, api, account, creds
):
    media_page(api, [media_item("M30", 90), media_item("M29", 80)], after="A1")
    media_page(api, [media_item("M28", 5), media_item("M27", -1)], after="A2")

    assert look_up(adapter, account, creds, "Never posted") is None
    assert len(api.calls) == 2  # A2 leads further back than the delivery: not read


def test_given_an_endless_account_when_looking_then_at_most_the_page_bound_is_read(
    adapter, api, account, creds
):
    served = []

    def newer_page(request):
        n = len(served)
        served.append(n)
        after = f"A{n + 1}"
        body = {
            "data": [media_item(f"M{1000 - n}", 600 - n)],
            "paging": {"cursors": {"after": after}, "next": f"{MEDIA}?after={after}"},
        }
        return 200, {}, json.dumps(body)

    api.add_callback(responses.GET, MEDIA, callback=newer_page)

    # 20 pages and not_before still not reached: it cannot tell, and says so (never "not out").
    with pytest.raises(LookupIncomplete, match="20 pages"):
        look_up(adapter, account, creds, "Never posted")
    assert adapter.lookup_max_pages == 20
    assert len(api.calls) == 20


def test_given_no_not_before_when_looking_then_one_page_of_25_as_before(
    adapter, api, account, creds
):
    media_page(api, [media_item("M30", 90), media_item("M29", 80)], after="A1")

    assert look_up(adapter, account, creds, "Ours", not_before=None) is None
    (query,) = queries(api)
    assert query == {
        "fields": "id,caption,permalink,timestamp",
        "limit": "25",
        "access_token": TOKEN,
    }


def test_given_the_settings_when_getting_the_adapter_then_the_registry_builds_it():
    from publishing.adapters.registry import get_adapter

    adapter = get_adapter("instagram")

    assert isinstance(adapter, InstagramAdapter)
    assert adapter.base_url.startswith("https://")
